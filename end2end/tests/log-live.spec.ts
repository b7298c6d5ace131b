import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { test, expect, ROWS, row, rowIds, waitForHydration } from './fixtures';
import { plugin, report, trigger, unique } from './log-seed';

/** A provider that answers every call with 200 and an id. */
async function fakeProvider(): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id":"ext-live"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

test('a new trigger is announced instead of moving the list, and shown when asked', async ({ page, state }) => {
  test.setTimeout(90_000);
  const name = unique('log-live');
  const provider = await fakeProvider();
  try {
    await plugin(state, name, { displayName: 'Live Co', baseUrl: provider.url });
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const first = await report(state, { plugin: name, startedAt: hourAgo });
    const second = await report(state, { plugin: name, status: 503, startedAt: new Date(Date.now() - 3 * 3600_000).toISOString() });

    await page.goto(`/?plugin=${name}`);
    await waitForHydration(page);
    await page.evaluate(() => ((window as any).__marker = 1));
    expect(await rowIds(page)).toEqual([first.id, second.id]);
    await expect(page.getByTestId('new-arrivals')).toHaveCount(0);
    // How fresh the log is, in words.
    await expect(page.getByTestId('latest')).toContainText('(1 h ago)');

    // Created through the API while the page is open (due tomorrow: it waits).
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString();
    const fresh = await trigger(state, { plugin: name, runAt: tomorrow, entity: { type: 'invoice', id: 'LIVE-1' } });
    const banner = page.getByTestId('new-arrivals');
    await expect(banner).toHaveText('1 new — show', { timeout: 20_000 });
    expect(await rowIds(page), 'the list did not move under the reader').toEqual([first.id, second.id]);
    await expect(page.getByTestId('chip-not_yet_started')).toHaveText('Not yet started 1');

    await banner.click();
    await expect.poll(() => rowIds(page)).toEqual([fresh.id, first.id, second.id]);
    await expect(banner).toHaveCount(0);
    await expect(page.getByTestId('match-count')).toHaveText('3 triggers match');

    // A trigger due in a few seconds: shown waiting, then its row changes in place
    // once the executor has run it (the provider answers, or the outbound guard
    // refuses loopback: either way it is no longer waiting).
    const soon = new Date(Date.now() + 12_000).toISOString();
    const due = await trigger(state, { plugin: name, runAt: soon });
    await expect(banner).toHaveText('1 new — show', { timeout: 20_000 });
    await banner.click();
    await expect.poll(() => rowIds(page)).toEqual([fresh.id, due.id, first.id, second.id]);
    const badge = row(page, due.id).locator('.badge');
    await expect(badge).toHaveAttribute('data-status', /^(not_yet_started|running)$/);
    await expect(badge).toHaveAttribute('data-status', /^(finished|erroneous|retrying)$/, { timeout: 40_000 });
    await expect(row(page, due.id).locator('td.attempts')).toHaveText('1');
    expect(await rowIds(page), 'rows keep their places').toEqual([fresh.id, due.id, first.id, second.id]);
    expect(await page.evaluate(() => (window as any).__marker), 'no reload').toBe(1);
  } finally {
    provider.close();
  }
});

test('the activity chart draws the last day’s attempts by outcome, and the week’s', async ({ page, state }) => {
  const name = unique('log-chart');
  await plugin(state, name, { displayName: 'Chart Co' });
  await report(state, { plugin: name, startedAt: new Date(Date.now() - 2 * 3600_000).toISOString() });
  await report(state, { plugin: name, status: 503, startedAt: new Date(Date.now() - 4 * 3600_000).toISOString() });
  await report(state, { plugin: name, status: 422, startedAt: new Date(Date.now() - 4 * 3600_000).toISOString() });
  await report(state, { plugin: name, startedAt: new Date(Date.now() - 3 * 86400_000).toISOString() });

  await page.goto(`/?plugin=${name}`);
  await waitForHydration(page);
  const chart = page.getByTestId('activity-chart');
  await expect(chart).toHaveAttribute(
    'aria-label',
    'Attempts per hour over the last 24 hours: 1 succeeded, 1 failed and retried, 1 failed',
  );
  await expect(chart.locator('g.bar')).toHaveCount(24);
  await expect(chart.locator('g.bar[data-total="1"]')).toHaveCount(1);
  await expect(chart.locator('g.bar[data-total="2"]')).toHaveCount(1);
  await expect(chart.locator('rect.out-succeeded')).toHaveCount(1);
  await expect(chart.locator('rect.out-transient')).toHaveCount(1);
  await expect(chart.locator('rect.out-failed')).toHaveCount(1);
  await expect(chart.locator('g.bar[data-total="2"] title')).toContainText('0 succeeded, 1 failed and retried, 1 failed');

  await page.getByTestId('activity-7d').click();
  await expect(page.getByTestId('activity-7d')).toHaveAttribute('aria-pressed', 'true');
  await expect(chart).toHaveAttribute(
    'aria-label',
    'Attempts per day over the last 7 days: 2 succeeded, 1 failed and retried, 1 failed',
  );
  await expect(chart.locator('g.bar')).toHaveCount(7);

  // The chart follows the filters.
  await page.getByTestId('chip-finished').click();
  await expect(chart).toHaveAttribute(
    'aria-label',
    'Attempts per day over the last 7 days: 2 succeeded, 0 failed and retried, 0 failed',
  );
});
