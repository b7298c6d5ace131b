import * as fs from 'node:fs';

import { test, expect, rowIds, row, waitForHydration } from './fixtures';
import { plugin, report, unique } from './log-seed';
import type { E2EState } from '../seed';

// Auckland is 13 hours ahead in November (daylight time): 10:30Z on the 24th is
// 23:30 there, 11:30Z is already 00:30 on the 25th.
const name = unique('log-tz');
let late: string; // 23:30 on 24 Nov in Auckland
let early: string; // 00:30 on 25 Nov in Auckland

test.beforeAll(async () => {
  const state: E2EState = JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
  await plugin(state, name, { displayName: 'Midnight Ltd' });
  late = (await report(state, { plugin: name, startedAt: '2026-11-24T10:30:00Z' })).id;
  early = (await report(state, { plugin: name, startedAt: '2026-11-24T11:30:00Z' })).id;
});

test.describe('in Pacific/Auckland', () => {
  test.use({ timezoneId: 'Pacific/Auckland' });

  test('a day filter picks the local day across UTC midnight and sends exact UTC instants', async ({ page }) => {
    await page.goto(`/?plugin=${name}`);
    await waitForHydration(page);
    await expect(page.getByTestId('zone-note')).toHaveText('Times in Pacific/Auckland, UTC+13:00');
    await expect(page.getByTestId('scheduled_from-zone')).toHaveText('Pacific/Auckland');
    expect(await rowIds(page)).toEqual([early, late]);

    // Compact local times in the cells; the full local time and UTC on hover.
    const time = row(page, early).locator('td[data-label="Scheduled"] time');
    await expect(time).toHaveText('25 Nov 00:30:00');
    await expect(time).toHaveAttribute('title', 'Wed 25 Nov 2026 00:30:00 Pacific/Auckland (UTC+13:00) · 2026-11-24 11:30:00 UTC');
    await expect(row(page, late).locator('td[data-label="Scheduled"] time')).toHaveText('24 Nov 23:30:00');

    // 25 November in Auckland: from 11:00Z on the 24th (inclusive) to 11:00Z on the 25th (exclusive).
    await page.getByTestId('scheduled_from').fill('2026-11-25');
    await page.getByTestId('scheduled_to').fill('2026-11-25');
    const url = () => new URL(page.url()).searchParams;
    await expect.poll(() => url().get('scheduled_to')).toBe('2026-11-25T11:00:00Z');
    expect(url().get('scheduled_from')).toBe('2026-11-24T11:00:00Z');
    await expect.poll(() => rowIds(page)).toEqual([early]);

    // The day before holds the other call, though both are the 24th in UTC.
    await page.getByTestId('scheduled_from').fill('2026-11-24');
    await page.getByTestId('scheduled_to').fill('2026-11-24');
    await expect.poll(() => url().get('scheduled_from')).toBe('2026-11-23T11:00:00Z');
    await expect.poll(() => url().get('scheduled_to')).toBe('2026-11-24T11:00:00Z');
    await expect.poll(() => rowIds(page)).toEqual([late]);

    // The triggered range reads the same local days.
    await page.goto(`/?plugin=${name}&triggered_from=2026-11-24T11:00:00Z&triggered_to=2026-11-25T11:00:00Z`);
    await waitForHydration(page);
    expect(await rowIds(page)).toEqual([early]);
    await expect(page.getByTestId('triggered_from')).toHaveValue('2026-11-25');
    await expect(page.getByTestId('triggered_to')).toHaveValue('2026-11-25');
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server renders compact UTC times and says so', async ({ page }) => {
    await page.goto(`/?plugin=${name}`);
    await expect(page.getByTestId('zone-note')).toHaveText('Times in UTC');
    const time = row(page, early).locator('td[data-label="Scheduled"] time');
    await expect(time).toHaveText(/^24 Nov (2026 )?11:30:00$/);
    await expect(time).toHaveAttribute('title', '2026-11-24 11:30:00 UTC');
    await expect(time).not.toHaveAttribute('data-local', /.*/);
  });
});
