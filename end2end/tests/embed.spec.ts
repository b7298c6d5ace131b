import { test, expect, ROWS, rowIds, row, waitForHydration } from './fixtures';
import { plugin, trigger, unique } from './log-seed';

/** A link to one entity's panel, issued as an admin. */
async function embedUrl(baseURL: string, apiKey: string, entityId: string): Promise<string> {
  const res = await fetch(`${baseURL}/api/v1/embed-tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ entity: { type: 'invoice', id: entityId } }),
  });
  expect(res.status).toBe(201);
  return (await res.json()).url;
}

test.describe('embedded entity panel', () => {
  test("shows one entity's triggers, and its dialogs read through the token", async ({ page, state }) => {
    const s = state.seeded;
    const url = await embedUrl(state.baseURL, state.apiKey, 'INV-7');
    await page.goto(url);
    await waitForHydration(page);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id]);
    await expect(page.locator('header.topbar')).toHaveCount(0);
    await expect(page.locator(`${ROWS} td.entity a`)).toHaveCount(0);
    // The dialog's server function carries the token: it answers for INV-7.
    await row(page, s.xeroFailed.id).getByTestId('open-logs').click();
    const dialog = page.getByTestId('logs-dialog');
    await expect(dialog.locator('.badge')).toHaveText('Erroneous');
  });

  test('announces a new trigger of its entity without a reload, and shows it when asked', async ({ page, state }) => {
    test.setTimeout(60_000);
    const name = unique('embed-live');
    await plugin(state, name, { baseUrl: 'https://api.example.com' });
    const entity = { type: 'invoice', id: unique('EMB') };
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString();
    const first = await trigger(state, { plugin: name, runAt: tomorrow, entity });
    const res = await fetch(`${state.baseURL}/api/v1/embed-tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${state.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ entity }),
    });
    expect(res.status).toBe(201);
    await page.goto((await res.json()).url);
    await waitForHydration(page);
    expect(await rowIds(page)).toEqual([first.id]);
    await expect(page.getByTestId('new-arrivals')).toHaveCount(0);

    const fresh = await trigger(state, { plugin: name, runAt: tomorrow, entity });
    const banner = page.getByTestId('new-arrivals');
    await expect(banner).toHaveText('1 new — show', { timeout: 20_000 });
    expect(await rowIds(page), 'the panel did not move under the reader').toEqual([first.id]);
    await banner.click();
    await expect.poll(() => rowIds(page)).toEqual([fresh.id, first.id]);
    await expect(banner).toHaveCount(0);
  });

  test('tells the page that frames it how tall it is', async ({ page, state }) => {
    const url = await embedUrl(state.baseURL, state.apiKey, 'INV-7');
    // A parent on the same origin: frame-ancestors is 'self' by default. A page of
    // ours (its CSP allows same-origin frames), not a JSON route (which allows nothing).
    await page.goto('/login');
    const height = await page.evaluate(
      (src) =>
        new Promise<number>((resolve) => {
          window.addEventListener('message', (e) => {
            if (e.data && e.data.type === 'calltrail:height') resolve(e.data.height);
          });
          const frame = document.createElement('iframe');
          frame.src = src;
          document.body.appendChild(frame);
        }),
      url,
    );
    expect(height).toBeGreaterThan(50);
  });
});
