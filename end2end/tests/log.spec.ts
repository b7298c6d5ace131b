import { test, expect, TABLE, row, rowIds, waitForHydration, type Page } from './fixtures';

const TRANSPARENT = 'rgba(0, 0, 0, 0)';

// The shared server holds other specs' triggers too: these tests look at the
// seeded ones, in the order the log shows them.
async function seededShown(page: Page, seeded: string[]): Promise<(string | null)[]> {
  return (await rowIds(page)).filter((id) => seeded.includes(id!));
}

async function pluginFilter(page: Page) {
  const details = page.getByTestId('plugin-filter');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await details.locator('summary').click();
  }
  return details;
}

const words: Record<string, string> = { 'invoice.available': 'Invoice available', 'invoice.created': 'Invoice created' };
const names: Record<string, string> = { stripe: 'Stripe', xero: 'Xero' };

test.describe('the integration log', () => {
  test('lists ingested triggers newest first with plugin, type, entity and a status badge', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);

    expect(await seededShown(page, s.newestFirst), 'rows newest first (by scheduled time)').toEqual(s.newestFirst);

    for (const t of [s.queued, s.xeroFailed, s.stripeDone, s.xeroDone]) {
      const r = row(page, t.id);
      // The plugin's display name; the type as words with the raw value on hover.
      await expect(r.locator('td.plugin')).toHaveText(names[t.plugin]);
      await expect(r.locator('td.plugin')).toHaveAttribute('title', t.plugin);
      await expect(r.locator('td.type')).toHaveText(words[t.eventType]);
      await expect(r.locator('td.type a')).toHaveAttribute('title', t.eventType);
      await expect(r.locator('td.entity')).toHaveText(t.entity);
      const badge = r.locator('span.badge');
      await expect(badge).toHaveCount(1);
      await expect(badge).toBeVisible();
      await expect(badge).toHaveText(t.word);
      await expect(badge).toHaveAttribute('data-status', t.status);
      await expect(badge).toHaveClass(new RegExp(`(^|\\s)badge-${t.status}(\\s|$)`));
    }

    // The action, initiator, duration and external id columns.
    await expect(row(page, s.queued.id).locator('td.action')).toHaveText('Create invoice');
    await expect(page.locator(`${TABLE} thead th`)).toHaveText([
      'Plugin', 'Type', 'Action', 'Entity', 'Initiator', 'Status', 'Scheduled', 'Triggered',
      'Duration', 'Attempts', 'External id', 'Details',
    ]);
    await expect(row(page, s.queued.id).locator('td.initiator')).toContainText('API key');
    await expect(row(page, s.xeroFailed.id).locator('td.duration')).toHaveText('240 ms');
    await expect(row(page, s.xeroFailed.id).locator('td.status .failure')).toHaveText('validation');
    // A trigger that has not run has no triggered time, duration or attempts; a reported call has one.
    await expect(row(page, s.queued.id).locator('td[data-label="Triggered"] time')).toHaveCount(0);
    await expect(row(page, s.queued.id).locator('td.duration')).toHaveText('—');
    await expect(row(page, s.queued.id).locator('td.attempts')).toHaveText('0');
    await expect(row(page, s.xeroFailed.id).locator('td.attempts')).toHaveText('1');
    await expect(page.getByTestId('empty')).toHaveCount(0);
  });

  test('status badges are coloured by status (finished and erroneous differ)', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await expect(row(page, s.xeroDone.id)).toHaveCount(1);
    const bg = (id: string) =>
      row(page, id).locator('span.badge').evaluate((el) => getComputedStyle(el).backgroundColor);
    const finished = await bg(s.stripeDone.id);
    const finishedToo = await bg(s.xeroDone.id);
    const erroneous = await bg(s.xeroFailed.id);
    const notYetStarted = await bg(s.queued.id);
    expect(finished, 'a finished badge has a background colour').not.toBe(TRANSPARENT);
    expect(erroneous, 'an erroneous badge has a background colour').not.toBe(TRANSPARENT);
    expect(notYetStarted, 'a not-yet-started badge has a background colour').not.toBe(TRANSPARENT);
    expect(finishedToo, 'every finished badge has the same colour').toBe(finished);
    expect(erroneous, 'erroneous and finished badges differ in colour').not.toBe(finished);
  });

  test('the plugin filter works after hydration without a page reload', async ({ page, state }) => {
    const s = state.seeded;
    const documentLoads: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'document') documentLoads.push(r.url());
    });

    await page.goto('/');
    await waitForHydration(page);
    await page.evaluate(() => {
      (window as any).__marker = 1;
    });
    const loadsBefore = documentLoads.length;

    const filter = await pluginFilter(page);
    await expect(filter.locator('.picked')).toHaveText('All');
    const boxes = filter.locator('input[type="checkbox"]');
    const values = await boxes.evaluateAll((bs) => bs.map((b) => (b as HTMLInputElement).value));
    for (const v of ['hubspot', 'stripe', 'xero']) expect(values).toContain(v);
    await expect(boxes.and(page.locator(':checked'))).toHaveCount(0);
    expect(new Set(await boxes.evaluateAll((bs) => bs.map((b) => (b as HTMLInputElement).name)))).toEqual(new Set(['plugin']));

    await filter.getByLabel('Xero', { exact: true }).check();
    await expect(page).toHaveURL(/[?&]plugin=xero(&|$)/);
    await expect.poll(() => rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(page.locator(`${TABLE} tbody td.plugin`)).toHaveText(['Xero', 'Xero']);
    await expect(filter.locator('.picked')).toHaveText('Xero');
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);

    await filter.getByLabel('Xero', { exact: true }).uncheck();
    await expect(page).not.toHaveURL(/plugin=/);
    await expect.poll(() => seededShown(page, s.newestFirst)).toEqual(s.newestFirst);
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);
    expect(documentLoads.slice(loadsBefore), 'no document was loaded while filtering').toEqual([]);
  });

  test('a filter that matches nothing says so', async ({ page }) => {
    await page.goto('/');
    await waitForHydration(page);
    await page.evaluate(() => {
      (window as any).__marker = 1;
    });
    await (await pluginFilter(page)).getByLabel('HubSpot', { exact: true }).check();
    await expect(page).toHaveURL(/[?&]plugin=hubspot(&|$)/);
    await expect(page.getByTestId('empty')).toContainText('No triggers match these filters.');
    await expect(page.getByTestId('empty-clear')).toBeVisible();
    await expect(page.locator(TABLE)).toHaveCount(0);
    await expect(page.getByTestId('match-count')).toHaveText('0 triggers match');
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);

    // And straight from the server.
    await page.goto('/?plugin=hubspot');
    await expect(page.getByTestId('empty')).toContainText('No triggers match these filters.');
    await expect(page.locator(TABLE)).toHaveCount(0);
  });

  test('opening /?plugin=xero directly shows only xero rows with Xero selected', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/?plugin=xero');
    await waitForHydration(page);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(page.locator(`${TABLE} tbody td.plugin`)).toHaveText(['Xero', 'Xero']);
    const filter = await pluginFilter(page);
    await expect(filter.locator('.picked')).toHaveText('Xero');
    await expect(filter.getByLabel('Xero', { exact: true })).toBeChecked();
    await expect(filter.getByLabel('Stripe', { exact: true })).not.toBeChecked();
  });
});

test.describe('the server-rendered page, without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  // The route renders with SsrMode::Async, so the first HTML holds the filtered log.
  test('/?plugin=xero is filtered and has Xero selected', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/?plugin=xero');
    expect(await rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(page.locator(`${TABLE} tbody td.plugin`)).toHaveText(['Xero', 'Xero']);
    await expect(page.getByTestId('plugin-filter').locator('input[value="xero"]')).toBeChecked();
    await expect(page.getByTestId('plugin-filter').locator('.picked')).toHaveText('Xero');
    // Not hydrated: times are the server's compact UTC, and the page says so.
    await expect(page.getByTestId('zone-note')).toHaveText('Times in UTC');
    const time = row(page, s.xeroFailed.id).locator('time').first();
    await expect(time).toHaveText(/^24 Nov (2026 )?10:00:00$/);
    await expect(time).toHaveAttribute('title', '2026-11-24 10:00:00 UTC');
  });
});

const zones: [string, string, string][] = [
  ['Europe/Amsterdam', '24 Nov 11:00:00', 'UTC+01:00'],
  ['Asia/Kolkata', '24 Nov 15:30:00', 'UTC+05:30'],
  ['America/New_York', '24 Nov 05:00:00', 'UTC-05:00'],
];

for (const [timezoneId, local, offset] of zones) {
  test.describe(`in ${timezoneId}`, () => {
    test.use({ timezoneId });

    test(`times are shown in the browser's time zone (${timezoneId})`, async ({ page, state }) => {
      const s = state.seeded;
      await page.goto('/');
      // The zone is named once, in the header, as the browser names it
      // (Chromium says Asia/Calcutta for Asia/Kolkata).
      const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
      await expect(page.getByTestId('zone-note')).toHaveText(`Times in ${zone}, ${offset}`, { timeout: 30_000 });
      const r = row(page, s.xeroFailed.id);
      // Scheduled and Triggered: a reported call was scheduled and triggered when it started.
      for (const cell of ['Scheduled', 'Triggered']) {
        const time = r.locator(`td[data-label="${cell}"] time`);
        await expect(time).toHaveText(local, { timeout: 30_000 });
        const title = await time.getAttribute('title');
        expect(title, 'the full local time, its zone and UTC on hover').toContain(`${zone} (${offset})`);
        expect(title).toContain('2026-11-24 10:00:00 UTC');
        const datetime = await time.getAttribute('datetime');
        expect(datetime, 'datetime is RFC 3339').toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
        expect(new Date(datetime!).toISOString()).toBe('2026-11-24T10:00:00.000Z');
      }
      // Every time on the page has switched to compact local time.
      await waitForHydration(page);
      const texts = await page.locator(`${TABLE} time`).allTextContents();
      expect(texts.length).toBeGreaterThanOrEqual(7);
      for (const t of texts) {
        expect(t.trim()).toMatch(/^\d{1,2} [A-Z][a-z]{2}( \d{4})? \d\d:\d\d:\d\d$/);
      }
    });
  });
}
