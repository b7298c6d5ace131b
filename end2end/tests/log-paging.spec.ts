import * as fs from 'node:fs';

import { test, expect, ROWS, rowIds, signIn, waitForHydration } from './fixtures';
import { minutesAfter, plugin, report, unique } from './log-seed';
import type { E2EState } from '../seed';

// Sixty reported calls of our own plugin, in January (below the shared seeded
// triggers in the unfiltered log); every fifth one failed.
const name = unique('log-paging');
let newestFirst: string[] = [];

test.beforeAll(async () => {
  const state: E2EState = JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
  await plugin(state, name, { displayName: 'Paging Co' });
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) {
    const t = await report(state, {
      plugin: name,
      entity: { type: 'invoice', id: `PG-${i}` },
      status: i % 5 === 0 ? 422 : 200,
      startedAt: minutesAfter('2026-01-10T08:00:00Z', i),
    });
    ids.push(t.id);
  }
  newestFirst = ids.reverse();
});

test('every trigger is reachable a page at a time, and the page lives in the address', async ({ page }) => {
  await page.goto(`/?plugin=${name}`);
  await waitForHydration(page);
  await expect(page.locator(ROWS)).toHaveCount(50);
  expect(await rowIds(page)).toEqual(newestFirst.slice(0, 50));
  await expect(page.getByTestId('match-count')).toHaveText('60 triggers match');
  await expect(page.getByTestId('page-range')).toHaveText('Triggers 1–50 of 60');
  await expect(page.getByTestId('first-page')).toHaveCount(0);
  await page.evaluate(() => ((window as any).__marker = 1));

  await page.getByTestId('next-page').click();
  await expect(page).toHaveURL(/[?&]cursor=/);
  await expect(page).toHaveURL(new RegExp(`plugin=${name}`));
  await expect(page.locator(ROWS)).toHaveCount(10);
  expect(await rowIds(page)).toEqual(newestFirst.slice(50));
  await expect(page.getByTestId('page-range')).toHaveText('Triggers 51–60 of 60');
  await expect(page.getByTestId('next-page')).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__marker), 'paging needs no reload').toBe(1);

  // The browser's own back and forward go between the pages.
  await page.goBack();
  await expect(page).not.toHaveURL(/cursor=/);
  await expect(page.locator(ROWS)).toHaveCount(50);
  expect(await rowIds(page)).toEqual(newestFirst.slice(0, 50));
  await page.goForward();
  await expect(page).toHaveURL(/cursor=/);
  await expect(page.locator(ROWS)).toHaveCount(10);

  // A reload (or a bookmark) opens the same page; "Newest" goes back to the first.
  await page.reload();
  await waitForHydration(page);
  expect(await rowIds(page)).toEqual(newestFirst.slice(50));
  await expect(page.getByTestId('page-range')).toHaveText('10 shown of 60');
  await page.getByTestId('first-page').click();
  await expect(page).not.toHaveURL(/cursor=/);
  expect(await rowIds(page)).toEqual(newestFirst.slice(0, 50));

  // A cursor belongs to its filter: changing a filter starts from the first page.
  await page.getByTestId('next-page').click();
  await expect(page).toHaveURL(/cursor=/);
  await page.getByTestId('chip-finished').click();
  await expect(page).toHaveURL(/status=finished/);
  await expect(page).not.toHaveURL(/cursor=/);
  await expect(page.getByTestId('page-range')).toHaveText('Triggers 1–48 of 48');
});

test('the server renders the page a cursor names, without JavaScript too', async ({ browser, state }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, state, 'viewer');
  await page.goto(`${state.baseURL}/?plugin=${name}`);
  const next = await page.getByTestId('next-page').getAttribute('href');
  expect(next).toMatch(/cursor=/);
  await page.goto(`${state.baseURL}${next}`);
  expect(await rowIds(page)).toEqual(newestFirst.slice(50));
  await context.close();
});

test('the count per status shows as chips, and a chip filters by its status', async ({ page }) => {
  await page.goto(`/?plugin=${name}`);
  await waitForHydration(page);
  await expect(page.getByTestId('chip-finished')).toHaveText('Finished 48');
  await expect(page.getByTestId('chip-erroneous')).toHaveText('Erroneous 12');
  await expect(page.getByTestId('chip-running')).toHaveText('Running 0');
  await expect(page.getByTestId('status-bar')).toHaveAttribute('aria-label', 'Triggers by status: 48 finished, 12 erroneous');

  await page.getByTestId('chip-erroneous').click();
  await expect(page).toHaveURL(/status=erroneous/);
  await expect(page.locator(ROWS)).toHaveCount(12);
  await expect(page.locator(`${ROWS} .badge`)).toHaveText(Array(12).fill('Erroneous'));
  await expect(page.getByTestId('match-count')).toHaveText('12 triggers match');
  await expect(page.getByTestId('chip-erroneous')).toHaveAttribute('aria-pressed', 'true');
  // Each chip still says what choosing it would show.
  await expect(page.getByTestId('chip-finished')).toHaveText('Finished 48');
  await expect(page.getByTestId('chip-finished')).toHaveAttribute('aria-pressed', 'false');

  // The status filter agrees, and the same chip again shows every status.
  await page.getByTestId('status-filter').locator('summary').click();
  await expect(page.getByTestId('status-filter').getByLabel('Erroneous')).toBeChecked();
  await page.getByTestId('chip-erroneous').click();
  await expect(page).not.toHaveURL(/status=/);
  await expect(page.locator(ROWS)).toHaveCount(50);
  await expect(page.getByTestId('match-count')).toHaveText('60 triggers match');
});
