import { test, expect, ROWS, rowIds, waitForHydration } from './fixtures';

test('status and plugin filters combine, live in the address bar, and need no reload', async ({ page, state }) => {
  const s = state.seeded;
  await page.goto('/');
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__marker = 1));

  await page.getByTestId('status-filter').selectOption('erroneous');
  await expect(page).toHaveURL(/status=erroneous/);
  await expect(page.locator(ROWS)).toHaveCount(1);
  expect(await rowIds(page)).toEqual([s.xeroFailed.id]);
  await expect(page.locator(`${ROWS} .badge`)).toHaveText(['Erroneous']);

  // Cumulative: erroneous AND stripe matches nothing.
  await page.getByTestId('plugin-filter').selectOption('stripe');
  await expect(page).toHaveURL(/status=erroneous/);
  await expect(page).toHaveURL(/plugin=stripe/);
  await expect(page.getByTestId('empty')).toBeVisible();

  await page.getByTestId('status-filter').selectOption('');
  await expect(page).not.toHaveURL(/status=/);
  await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['stripe', 'stripe']);
  expect(await page.evaluate(() => (window as any).__marker)).toBe(1);
});
