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

test.describe('date ranges in the browser time zone', () => {
  test.use({ timezoneId: 'Europe/Amsterdam' });

  test('scheduled and triggered ranges pick whole local days and combine', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);

    // 24 November in Amsterdam: 23:00Z on the 23rd up to 23:00Z on the 24th.
    await page.getByTestId('scheduled_from').fill('2026-11-24');
    await page.getByTestId('scheduled_to').fill('2026-11-24');
    await expect(page).toHaveURL(/scheduled_from=2026-11-23T23%3A00%3A00Z|scheduled_from=2026-11-23T23:00:00Z/);
    await expect(page).toHaveURL(/scheduled_to=2026-11-24T23%3A00%3A00Z|scheduled_to=2026-11-24T23:00:00Z/);
    await expect(page.locator(ROWS)).toHaveCount(1);
    expect(await rowIds(page)).toEqual([s.xeroFailed.id]);
    await expect(page.getByTestId('scheduled_from')).toHaveValue('2026-11-24');
    await expect(page.getByTestId('scheduled_to')).toHaveValue('2026-11-24');

    // Clear the scheduled range; the triggered range for 23 November finds the Stripe call.
    await page.getByTestId('scheduled_from').fill('');
    await page.getByTestId('scheduled_to').fill('');
    await expect(page).not.toHaveURL(/scheduled_/);
    await page.getByTestId('triggered_from').fill('2026-11-23');
    await page.getByTestId('triggered_to').fill('2026-11-23');
    await expect(page.locator(ROWS)).toHaveCount(1);
    expect(await rowIds(page)).toEqual([s.stripeDone.id]);
  });
});

test("an entity's own log, and free-text search", async ({ page, state }) => {
  const s = state.seeded;
  await page.goto('/');
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__marker = 1));

  await page.locator(`tr[data-trigger-id="${s.xeroFailed.id}"] td.entity a`).click();
  await expect(page).toHaveURL(/entity_type=invoice&entity_id=INV-7/);
  expect(await rowIds(page)).toEqual([s.xeroFailed.id]);
  await expect(page.getByTestId('entity-chip')).toContainText('invoice / INV-7');
  await page.getByTestId('entity-chip').getByRole('button', { name: 'show all' }).click();
  await expect(page.locator(ROWS)).toHaveCount(4);

  await page.getByTestId('search').fill('inv-2');
  await page.getByTestId('search').press('Enter');
  await expect(page).toHaveURL(/q=inv-2/);
  expect(await rowIds(page)).toEqual([s.stripeDone.id]);
  expect(await page.evaluate(() => (window as any).__marker)).toBe(1);
});
