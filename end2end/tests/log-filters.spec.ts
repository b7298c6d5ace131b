import * as fs from 'node:fs';

import { test, expect, ROWS, rowIds, waitForHydration, type Page } from './fixtures';
import { plugin, report, unique } from './log-seed';
import type { E2EState } from '../seed';

// Two plugins of our own and eight calls that differ from the one we look for
// (r1) in exactly one way each, so that every filter visibly narrows the list.
const alpha = unique('log-f-alpha');
const beta = unique('log-f-beta');
const alphaName = `Alpha ${alpha.slice(-8)}`;
const betaName = `Beta ${beta.slice(-8)}`;
const r: Record<string, string> = {};

test.use({ timezoneId: 'UTC' });

test.beforeAll(async () => {
  const state: E2EState = JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
  await plugin(state, alpha, { displayName: alphaName, eventTypes: ['invoice.created', 'customer.updated'] });
  await plugin(state, beta, { displayName: betaName, eventTypes: ['deal.won'] });
  const base = { plugin: alpha, eventType: 'invoice.created', entity: { type: 'invoice', id: 'F-1' }, aggregationKey: 'run-1', action: 'Send' };
  const calls: Record<string, any> = {
    r1: { ...base, action: 'Send first', startedAt: '2026-02-10T10:00:00Z' },
    r2: { ...base, status: 422, startedAt: '2026-02-10T11:00:00Z' },
    r3: { ...base, eventType: 'customer.updated', startedAt: '2026-02-10T12:00:00Z' },
    r4: { ...base, entity: { type: 'invoice', id: 'F-2' }, startedAt: '2026-02-10T13:00:00Z' },
    r5: { ...base, aggregationKey: 'run-2', startedAt: '2026-02-10T14:00:00Z' },
    r6: { ...base, startedAt: '2026-02-12T10:00:00Z' },
    r7: { ...base, plugin: beta, eventType: 'deal.won', startedAt: '2026-02-10T15:00:00Z' },
    r8: { ...base, action: 'Send other', startedAt: '2026-02-10T16:00:00Z' },
  };
  for (const [key, call] of Object.entries(calls)) r[key] = (await report(state, call)).id;
});

/** The rows shown, as r1…r8, newest first. */
async function shown(page: Page): Promise<string[]> {
  const names = Object.fromEntries(Object.entries(r).map(([k, v]) => [v, k]));
  return (await rowIds(page)).map((id) => names[id!] ?? `other:${id}`);
}

async function pick(page: Page, filter: string, label: string) {
  const details = page.getByTestId(`${filter}-filter`);
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await details.locator('summary').click();
  }
  await details.getByLabel(label, { exact: true }).check();
}

test('every filter narrows the list, lives in the address, and survives reload, back and forward', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__marker = 1));

  await pick(page, 'plugin', alphaName);
  await expect(page).toHaveURL(new RegExp(`plugin=${alpha}`));
  await pick(page, 'plugin', betaName);
  await expect(page).toHaveURL(new RegExp(`plugin=${alpha}&plugin=${beta}`));
  await expect.poll(() => shown(page)).toEqual(['r6', 'r8', 'r7', 'r5', 'r4', 'r3', 'r2', 'r1']);
  await expect(page.getByTestId('plugin-filter').locator('.picked')).toHaveText(`${alphaName}, ${betaName}`);

  await pick(page, 'status', 'Finished');
  await expect(page).toHaveURL(/status=finished/);
  await expect.poll(() => shown(page)).toEqual(['r6', 'r8', 'r7', 'r5', 'r4', 'r3', 'r1']);

  // The types of the chosen plugins, read as words; the raw value on hover.
  const types = page.getByTestId('event_type-filter');
  await expect(types.locator('option')).toHaveText(['All types', 'Customer updated', 'Deal won', 'Invoice created']);
  await expect(types.locator('option[value="invoice.created"]')).toHaveAttribute('title', 'invoice.created');
  await types.selectOption({ label: 'Invoice created' });
  await expect(page).toHaveURL(/event_type=invoice\.created/);
  await expect.poll(() => shown(page)).toEqual(['r6', 'r8', 'r5', 'r4', 'r1']);

  await page.getByTestId('entity_type').fill('invoice');
  await expect(page).toHaveURL(/entity_type=invoice/);
  await page.getByTestId('entity_id').fill('F-1');
  await expect(page).toHaveURL(/entity_id=F-1/);
  await expect.poll(() => shown(page)).toEqual(['r6', 'r8', 'r5', 'r1']);

  await page.getByTestId('aggregation_key').fill('run-1');
  await expect(page).toHaveURL(/aggregation_key=run-1/);
  await expect.poll(() => shown(page)).toEqual(['r6', 'r8', 'r1']);

  await page.getByTestId('scheduled_from').fill('2026-02-10');
  await page.getByTestId('scheduled_to').fill('2026-02-10');
  await expect(page).toHaveURL(/scheduled_to=2026-02-11T00(%3A|:)00(%3A|:)00Z/);
  await expect.poll(() => shown(page)).toEqual(['r8', 'r1']);
  await page.getByTestId('triggered_from').fill('2026-02-10');
  await page.getByTestId('triggered_to').fill('2026-02-10');
  await expect(page).toHaveURL(/triggered_from=2026-02-10T00(%3A|:)00(%3A|:)00Z/);
  await expect(page).toHaveURL(/triggered_to=2026-02-11T00(%3A|:)00(%3A|:)00Z/);

  // "/" puts the cursor in the search box; typing applies without Enter.
  await page.locator('h1').click();
  await page.keyboard.press('/');
  await expect(page.getByTestId('q')).toBeFocused();
  await page.keyboard.type('first');
  await expect(page).toHaveURL(/[?&]q=first/);
  await expect.poll(() => shown(page)).toEqual(['r1']);
  expect(await page.evaluate(() => (window as any).__marker), 'no filter reloaded the page').toBe(1);
  const everything = page.url();
  for (const p of ['plugin', 'status', 'event_type', 'entity_type', 'entity_id', 'aggregation_key',
    'scheduled_from', 'scheduled_to', 'triggered_from', 'triggered_to', 'q']) {
    expect(new URL(everything).searchParams.has(p), p).toBe(true);
  }

  // Reload: the same rows, and every control says what the address says.
  await page.reload();
  await waitForHydration(page);
  await expect.poll(() => shown(page)).toEqual(['r1']);
  await expectControls(page, { q: 'first' });

  // Back: the search goes, the rest stays; forward: it is back.
  await page.goBack();
  await expect(page).not.toHaveURL(/[?&]q=/);
  await expect.poll(() => shown(page)).toEqual(['r8', 'r1']);
  await expect(page.getByTestId('q')).toHaveValue('');
  await page.goForward();
  await expect(page).toHaveURL(/[?&]q=first/);
  await expect.poll(() => shown(page)).toEqual(['r1']);
  await expectControls(page, { q: 'first' });

  // Clear all: every filter goes at once.
  await page.getByTestId('clear-filters').click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('q')).toHaveValue('');
  await expect(page.getByTestId('entity_type')).toHaveValue('');
  await expect(page.getByTestId('scheduled_from')).toHaveValue('');
  await expect(page.getByTestId('plugin-filter').locator('.picked')).toHaveText('All');
  await expect(page.getByTestId('clear-filters')).toBeDisabled();
});

async function expectControls(page: Page, { q }: { q: string }) {
  await expect(page.getByTestId('plugin-filter').locator('.picked')).toHaveText(`${alphaName}, ${betaName}`);
  await expect(page.getByTestId('plugin-filter').getByLabel(alphaName)).toBeChecked();
  await expect(page.getByTestId('plugin-filter').getByLabel(betaName)).toBeChecked();
  await expect(page.getByTestId('status-filter').getByLabel('Finished')).toBeChecked();
  await expect(page.getByTestId('status-filter').getByLabel('Erroneous')).not.toBeChecked();
  await expect(page.getByTestId('event_type-filter')).toHaveValue('invoice.created');
  await expect(page.getByTestId('entity_type')).toHaveValue('invoice');
  await expect(page.getByTestId('entity_id')).toHaveValue('F-1');
  await expect(page.getByTestId('aggregation_key')).toHaveValue('run-1');
  for (const p of ['scheduled_from', 'scheduled_to', 'triggered_from', 'triggered_to']) {
    await expect(page.getByTestId(p)).toHaveValue('2026-02-10');
  }
  await expect(page.getByTestId('q')).toHaveValue(q);
}

test('a filter the list refuses says why and how to get out', async ({ page }) => {
  // An entity id needs its type: the server's own message is shown.
  await page.goto('/?entity_id=F-1');
  await expect(page.getByTestId('error')).toContainText('entity_id needs entity_type beside it');
  await expect(page.getByTestId('error')).toContainText('Change that filter, or clear all filters.');
  await waitForHydration(page);
  await page.getByTestId('error').getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('error')).toHaveCount(0);
  await expect(page.locator(ROWS).first()).toBeVisible();
});
