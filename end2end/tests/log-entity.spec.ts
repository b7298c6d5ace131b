import * as fs from 'node:fs';

import AxeBuilder from '@axe-core/playwright';

import { test, expect, row, rowIds, waitForHydration, type Page } from './fixtures';
import { plugin, report, unique } from './log-seed';
import type { E2EState } from '../seed';
import type { Role } from '../seed';

// One customer's calls, and another customer's, in our own plugin.
const name = unique('log-entity');
const customer = unique('CUST');
const ids: Record<string, string> = {};

test.beforeAll(async () => {
  const state: E2EState = JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
  await plugin(state, name, { displayName: 'Entity Co', eventTypes: ['customer.created', 'customer.updated'] });
  ids.created = (await report(state, { plugin: name, eventType: 'customer.created', entity: { type: 'customer', id: customer }, startedAt: '2026-03-01T09:00:00Z' })).id;
  ids.updated = (await report(state, { plugin: name, eventType: 'customer.updated', status: 409, entity: { type: 'customer', id: customer }, startedAt: '2026-03-02T09:00:00Z' })).id;
  ids.other = (await report(state, { plugin: name, eventType: 'customer.created', entity: { type: 'customer', id: `${customer}-OTHER` }, startedAt: '2026-03-03T09:00:00Z' })).id;
});

test("a record's page shows its activity with the log's components, the entity fixed", async ({ page }) => {
  await page.goto(`/?plugin=${name}`);
  await waitForHydration(page);
  expect(await rowIds(page)).toEqual([ids.other, ids.updated, ids.created]);
  await row(page, ids.updated).locator('td.entity a').click();
  await expect(page).toHaveURL(new RegExp(`/entities/customer/${customer}$`));
  await expect(page.getByTestId('entity-title')).toHaveText(`customer ${customer}`);
  await expect(page).toHaveTitle(`customer ${customer} · Calltrail`);
  await expect.poll(() => rowIds(page)).toEqual([ids.updated, ids.created]);
  await expect(page.getByTestId('match-count')).toHaveText('2 triggers match');
  // No entity filter here; the others work as on the log.
  await expect(page.getByTestId('entity_type')).toHaveCount(0);
  await expect(page.getByTestId('entity_id')).toHaveCount(0);
  await page.getByTestId('chip-erroneous').click();
  await expect(page).toHaveURL(new RegExp(`/entities/customer/${customer}\\?status=erroneous$`));
  await expect.poll(() => rowIds(page)).toEqual([ids.updated]);
  await expect(row(page, ids.updated).locator('td.type a')).toHaveText('Customer updated');
  await expect(row(page, ids.updated).locator('td.type a')).toHaveAttribute('title', 'customer.updated');

  // A click anywhere on a row (not on its buttons) opens the trigger's page.
  await row(page, ids.updated).locator('td.duration').click();
  await expect(page).toHaveURL(new RegExp(`/triggers/${ids.updated}$`));
});

test('a record with nothing matching says so and how to widen it', async ({ page }) => {
  await page.goto(`/entities/customer/${customer}?status=running`);
  await waitForHydration(page);
  await expect(page.getByTestId('empty')).toContainText('No triggers match these filters.');
  await page.getByTestId('empty-clear').click();
  await expect(page).toHaveURL(new RegExp(`/entities/customer/${customer}$`));
  await expect.poll(() => rowIds(page)).toEqual([ids.updated, ids.created]);
});

for (const role of ['viewer', 'operator', 'admin'] as Role[]) {
  test.describe(`signed in as ${role}`, () => {
    test.use({ role });

    test(`the log and a record's page have no serious accessibility violations (${role})`, async ({ page }) => {
      for (const path of [`/?plugin=${name}`, `/entities/customer/${customer}`]) {
        await page.goto(path);
        await waitForHydration(page);
        await expect(page.getByTestId('activity-chart')).toBeVisible();
        // The multi-selects open, so their checkboxes are checked too.
        await page.getByTestId('plugin-filter').locator('summary').click();
        await page.getByTestId('status-filter').locator('summary').click();
        await expectNoSeriousViolations(page, path);
      }
      // Re-run is offered to those who may re-run, and only to them.
      await expect(row(page, ids.updated).getByTestId('rerun')).toHaveCount(role === 'viewer' ? 0 : 1);
    });
  });
}

async function expectNoSeriousViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  expect(serious, `axe on ${what}`).toEqual([]);
}
