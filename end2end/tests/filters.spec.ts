import { test, expect, ROWS, rowIds, waitForHydration, type Page } from './fixtures';

// The shared server holds other specs' triggers too: these tests look at the
// seeded ones among the rows.
async function seededShown(page: Page, seeded: string[]): Promise<(string | null)[]> {
  return (await rowIds(page)).filter((id) => seeded.includes(id!));
}

async function check(page: Page, filter: string, label: string, on = true) {
  const details = page.getByTestId(`${filter}-filter`);
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await details.locator('summary').click();
  }
  await details.getByLabel(label, { exact: true }).setChecked(on);
}

test('status and plugin filters combine, live in the address bar, and need no reload', async ({ page, state }) => {
  const s = state.seeded;
  await page.goto('/');
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__marker = 1));

  await check(page, 'status', 'Erroneous');
  await expect(page).toHaveURL(/status=erroneous/);
  await expect.poll(() => seededShown(page, s.newestFirst)).toEqual([s.xeroFailed.id]);
  const badges = await page.locator(`${ROWS} .badge`).allTextContents();
  expect(new Set(badges)).toEqual(new Set(['Erroneous']));

  // Cumulative: erroneous AND stripe matches nothing.
  await check(page, 'plugin', 'Stripe');
  await expect(page).toHaveURL(/status=erroneous/);
  await expect(page).toHaveURL(/plugin=stripe/);
  await expect(page.getByTestId('empty')).toBeVisible();

  await check(page, 'status', 'Erroneous', false);
  await expect(page).not.toHaveURL(/status=/);
  await expect.poll(() => rowIds(page)).toEqual([s.queued.id, s.stripeDone.id]);
  await expect(page.locator(`${ROWS} td.plugin`)).toHaveText(['Stripe', 'Stripe']);
  expect(await page.evaluate(() => (window as any).__marker)).toBe(1);
});

test.describe('date ranges in the browser time zone', () => {
  test.use({ timezoneId: 'Europe/Amsterdam' });

  test('scheduled and triggered ranges pick whole local days and combine', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);
    await expect(page.getByTestId('scheduled_from-zone')).toHaveText('Europe/Amsterdam');

    // 24 November in Amsterdam: 23:00Z on the 23rd up to 23:00Z on the 24th.
    await page.getByTestId('scheduled_from').fill('2026-11-24');
    await page.getByTestId('scheduled_to').fill('2026-11-24');
    await expect(page).toHaveURL(/scheduled_from=2026-11-23T23%3A00%3A00Z|scheduled_from=2026-11-23T23:00:00Z/);
    await expect(page).toHaveURL(/scheduled_to=2026-11-24T23%3A00%3A00Z|scheduled_to=2026-11-24T23:00:00Z/);
    await expect.poll(() => seededShown(page, s.newestFirst)).toEqual([s.xeroFailed.id]);
    await expect(page.getByTestId('scheduled_from')).toHaveValue('2026-11-24');
    await expect(page.getByTestId('scheduled_to')).toHaveValue('2026-11-24');

    // Clear the scheduled range; the triggered range for 23 November finds the Stripe call.
    await page.getByTestId('scheduled_from').fill('');
    await page.getByTestId('scheduled_to').fill('');
    await expect(page).not.toHaveURL(/scheduled_/);
    await page.getByTestId('triggered_from').fill('2026-11-23');
    await page.getByTestId('triggered_to').fill('2026-11-23');
    await expect.poll(() => seededShown(page, s.newestFirst)).toEqual([s.stripeDone.id]);
  });
});

test("an entity's own page, and free-text search", async ({ page, state }) => {
  const s = state.seeded;
  await page.goto('/');
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__marker = 1));

  await page.locator(`tr[data-trigger-id="${s.xeroFailed.id}"] td.entity a`).click();
  await expect(page).toHaveURL(/\/entities\/invoice\/INV-7$/);
  await expect(page.getByTestId('entity-title')).toHaveText('invoice INV-7');
  await expect.poll(() => rowIds(page)).toEqual([s.xeroFailed.id]);
  await page.getByRole('link', { name: 'Integration log' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect.poll(() => seededShown(page, s.newestFirst)).toEqual(s.newestFirst);

  // Two characters are too few to search for: the box says so and the log stays whole.
  await page.getByTestId('q').fill('in');
  await expect(page.getByTestId('q-hint')).toHaveText('Type at least 3 characters to search');
  await expect.poll(() => seededShown(page, s.newestFirst)).toEqual(s.newestFirst);
  await expect(page.getByTestId('error')).toHaveCount(0);

  // Applied as the reader types: no Enter needed.
  await page.getByTestId('q').fill('inv-2');
  await expect(page).toHaveURL(/q=inv-2/);
  await expect(page.getByTestId('q-hint')).toHaveCount(0);
  await expect.poll(() => seededShown(page, s.newestFirst)).toEqual([s.stripeDone.id]);
  expect(await page.evaluate(() => (window as any).__marker)).toBe(1);
});
