import * as fs from 'node:fs';

import { test, expect, ROWS, TABLE, row, waitForHydration, type Page } from './fixtures';
import { plugin, report, trigger, unique } from './log-seed';
import type { E2EState } from '../seed';

// Realistic, longish values in every column, and every kind of status cell.
const name = unique('log-layout');
let failed: string;

test.beforeAll(async () => {
  const state: E2EState = JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
  await plugin(state, name, { displayName: 'Layout Billing Provider', eventTypes: ['subscription.renewal_invoice.available'] });
  const common = {
    plugin: name,
    eventType: 'subscription.renewal_invoice.available',
    action: 'Create renewal invoice for subscription',
    aggregationKey: 'billing-run-2026-11-24',
  };
  for (let i = 0; i < 4; i++) {
    await report(state, { ...common, entity: { type: 'subscription', id: `SUB-2026-000${i}-ACME-GMBH` }, startedAt: `2026-11-2${i}T09:30:00Z` });
  }
  failed = (await report(state, { ...common, status: 422, entity: { type: 'subscription', id: 'SUB-2026-0009-ACME-GMBH' }, startedAt: '2025-11-25T09:30:00Z' })).id;
  await trigger(state, { plugin: name, eventType: common.eventType, runAt: new Date(Date.now() + 2 * 86400_000).toISOString(), entity: { type: 'subscription', id: 'SUB-2026-0010-ACME-GMBH' } });
});

async function noHorizontalScroll(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, 'the page does not scroll sideways').toBeLessThanOrEqual(client);
}

test.describe('at 1280 px, signed in as an admin (every column, re-run included)', () => {
  test.use({ viewport: { width: 1280, height: 900 } });

  test('the table fits without horizontal scrolling, status and actions in view', async ({ page }) => {
    await page.goto(`/?plugin=${name}`);
    await waitForHydration(page);
    await expect(page.locator(ROWS)).toHaveCount(6);
    await expect(page.locator(`${TABLE} thead th`)).toHaveText([
      'Plugin', 'Type', 'Action', 'Entity', 'Initiator', 'Status', 'Scheduled', 'Triggered',
      'Duration', 'Attempts', 'External id', 'Details',
    ]);
    await noHorizontalScroll(page);
    for (const cell of ['td.status .badge', 'td.actions [data-testid="open-logs"]', 'td.actions [data-testid="rerun"]']) {
      const box = await page.locator(`${ROWS} ${cell}`).first().boundingBox();
      expect(box, cell).not.toBeNull();
      expect(box!.x + box!.width, `${cell} is within the window`).toBeLessThanOrEqual(1280);
    }
    // Compact times: the year only when it is not this year.
    const time = row(page, failed).locator('td[data-label="Scheduled"] time');
    await expect(time).toHaveText(/^25 Nov 2025 \d\d:\d\d:\d\d$/);
  });
});

test.describe('at 375 px', () => {
  test.use({ viewport: { width: 375, height: 800 } });

  test('each trigger is a card led by its status, and nothing scrolls sideways', async ({ page }) => {
    await page.goto(`/?plugin=${name}`);
    await waitForHydration(page);
    await noHorizontalScroll(page);
    const card = row(page, failed);
    await expect(card).toHaveCSS('display', 'grid');
    const status = await card.locator('td.status').boundingBox();
    const plugin = await card.locator('td.plugin').boundingBox();
    expect(status!.y, 'the status leads the card').toBeLessThan(plugin!.y);
    await expect(card.locator('td.status .badge')).toHaveText('Erroneous');
    await expect(card.locator('td.status .failure')).toHaveText('validation');
    // The cells say what they are, as the hidden header would.
    const label = await card.locator('td[data-label="Entity"]').evaluate((td) => getComputedStyle(td, '::before').content);
    expect(label).toBe('"Entity"');
    const head = await page.locator(`${TABLE} thead`).boundingBox();
    expect(head!.height, 'the column headers are hidden (each cell names itself)').toBeLessThanOrEqual(1);
    // Filters and the dialogs stay usable.
    await expect(page.getByTestId('q')).toBeInViewport();
    await card.getByTestId('open-logs').click();
    await expect(page.getByTestId('logs-dialog')).toBeVisible();
  });
});
