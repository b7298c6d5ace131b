import { test, expect, ROWS, rowIds, row, waitForHydration } from './fixtures';

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
