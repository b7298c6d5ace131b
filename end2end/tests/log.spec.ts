import { test, expect, ROWS, TABLE, row, rowIds, waitForHydration } from './fixtures';

const TRANSPARENT = 'rgba(0, 0, 0, 0)';

test.describe('the integration log', () => {
  test('lists ingested triggers newest first with plugin, type, entity and a status badge', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);

    await expect(page.locator(ROWS)).toHaveCount(4);
    expect(await rowIds(page), 'rows newest first (by scheduled time)').toEqual(s.newestFirst);

    for (const t of [s.queued, s.xeroFailed, s.stripeDone, s.xeroDone]) {
      const r = row(page, t.id);
      await expect(r.locator('td.plugin')).toHaveText(t.plugin);
      await expect(r.locator('td.type')).toHaveText(t.eventType);
      await expect(r.locator('td.entity')).toHaveText(t.entity);
      const badge = r.locator('span.badge');
      await expect(badge).toHaveCount(1);
      await expect(badge).toBeVisible();
      await expect(badge).toHaveText(t.word);
      await expect(badge).toHaveAttribute('data-status', t.status);
      await expect(badge).toHaveClass(new RegExp(`(^|\\s)badge-${t.status}(\\s|$)`));
    }

    // The action column, and the columns around the times.
    await expect(row(page, s.queued.id).locator('td').nth(2)).toHaveText('Create invoice');
    await expect(page.locator(`${TABLE} thead th`)).toHaveText([
      'Plugin', 'Type', 'Action', 'Entity', 'Scheduled', 'Triggered', 'Payload', 'Attempts', 'Logs', 'Status',
    ]);
    // A trigger that has not run has no triggered time and no attempts; a reported call has one.
    await expect(row(page, s.queued.id).locator('td').nth(5).locator('time')).toHaveCount(0);
    await expect(row(page, s.queued.id).locator('td').nth(7)).toHaveText('0');
    await expect(row(page, s.xeroFailed.id).locator('td').nth(7)).toHaveText('1');
    await expect(page.getByTestId('empty')).toHaveCount(0);
  });

  test('status badges are coloured by status (finished and erroneous differ)', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await expect(page.locator(ROWS)).toHaveCount(4);
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

    const select = page.getByTestId('plugin-filter');
    await expect(select).toHaveAttribute('name', 'plugin');
    await expect(select).toHaveValue('');
    await expect(select.locator('option')).toHaveText(['All plugins', 'HubSpot', 'Stripe', 'Xero']);
    expect(
      await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual(['', 'hubspot', 'stripe', 'xero']);

    await select.selectOption({ label: 'Xero' });
    await expect(page).toHaveURL(/[?&]plugin=xero(&|$)/);
    await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['xero', 'xero']);
    await expect(row(page, s.queued.id)).toHaveCount(0);
    await expect(row(page, s.stripeDone.id)).toHaveCount(0);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(select).toHaveValue('xero');
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);

    await select.selectOption({ label: 'All plugins' });
    await expect(page).not.toHaveURL(/plugin=/);
    await expect(page.locator(ROWS)).toHaveCount(4);
    expect(await rowIds(page)).toEqual(s.newestFirst);
    await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['stripe', 'xero', 'stripe', 'xero']);
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);
    expect(documentLoads.slice(loadsBefore), 'no document was loaded while filtering').toEqual([]);
  });

  test('a filter that matches nothing says so', async ({ page }) => {
    await page.goto('/');
    await waitForHydration(page);
    await page.evaluate(() => {
      (window as any).__marker = 1;
    });
    await page.getByTestId('plugin-filter').selectOption({ label: 'HubSpot' });
    await expect(page).toHaveURL(/[?&]plugin=hubspot(&|$)/);
    await expect(page.getByTestId('empty')).toHaveText('No triggers match these filters.');
    await expect(page.locator(TABLE)).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__marker), 'the page was not reloaded').toBe(1);

    // And straight from the server.
    await page.goto('/?plugin=hubspot');
    await expect(page.getByTestId('empty')).toHaveText('No triggers match these filters.');
    await expect(page.locator(TABLE)).toHaveCount(0);
  });

  test('opening /?plugin=xero directly shows only xero rows with Xero selected', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/?plugin=xero');
    await waitForHydration(page);
    await expect(page.locator(ROWS)).toHaveCount(2);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['xero', 'xero']);
    const select = page.getByTestId('plugin-filter');
    await expect(select).toHaveValue('xero');
    await expect(select.locator('option:checked')).toHaveText('Xero');
  });
});

test.describe('the server-rendered page, without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  // The route renders with SsrMode::Async, so the first HTML holds the filtered log.
  test('/?plugin=xero is filtered and has Xero selected', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/?plugin=xero');
    await expect(page.locator(ROWS)).toHaveCount(2);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id, s.xeroDone.id]);
    await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['xero', 'xero']);
    const select = page.getByTestId('plugin-filter');
    await expect(select).toHaveValue('xero');
    await expect(select.locator('option:checked')).toHaveText('Xero');
    // Not hydrated: times are the server's UTC text.
    await expect(row(page, s.xeroFailed.id).locator('time').first()).toHaveText('2026-11-24 10:00:00 UTC');
  });
});

const zones: [string, string][] = [
  ['Europe/Amsterdam', '2026-11-24 11:00:00 (UTC+01:00)'],
  ['Asia/Kolkata', '2026-11-24 15:30:00 (UTC+05:30)'],
  ['America/New_York', '2026-11-24 05:00:00 (UTC-05:00)'],
];

for (const [timezoneId, local] of zones) {
  test.describe(`in ${timezoneId}`, () => {
    test.use({ timezoneId });

    test(`times are shown in the browser's time zone (${timezoneId})`, async ({ page, state }) => {
      const s = state.seeded;
      await page.goto('/');
      const r = row(page, s.xeroFailed.id);
      // Scheduled and Triggered: a reported call was scheduled and triggered when it started.
      for (const cell of [4, 5]) {
        const time = r.locator('td').nth(cell).locator('time');
        await expect(time).toHaveText(local, { timeout: 30_000 });
        await expect(time).toHaveAttribute('title', '2026-11-24 10:00:00 UTC');
        const datetime = await time.getAttribute('datetime');
        expect(datetime, 'datetime is RFC 3339').toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
        expect(new Date(datetime!).toISOString()).toBe('2026-11-24T10:00:00.000Z');
      }
      // Every time on the page has switched to local time.
      const texts = await page.locator(`${TABLE} time`).allTextContents();
      expect(texts.length).toBeGreaterThanOrEqual(7);
      for (const t of texts) {
        expect(t.trim()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC[+-]\d\d:\d\d\)$/);
      }
    });
  });
}
