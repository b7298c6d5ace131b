import { test, expect, row, waitForHydration } from './fixtures';
import { erase, plugin, report, unique } from './log-seed';

test.describe('read-only dialogs', () => {
  test('the payload dialog shows the data sent, with secrets redacted, and closes', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);
    await row(page, s.queued.id).getByTestId('open-payload').click();
    const dialog = page.getByTestId('payload-dialog');
    await expect(dialog).toBeVisible();
    const json = dialog.getByTestId('payload-json');
    await expect(json).toContainText('"amount": 1');
    await expect(json).toContainText('"token": "[redacted]"');
    await expect(dialog).toContainText('Read-only');
    expect(await page.content()).not.toContain('PLANTED_E2E_SECRET');
    // Nothing in it can be edited.
    await expect(dialog.locator('input, textarea, [contenteditable="true"]')).toHaveCount(0);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('the logs dialog shows the processing steps and each attempt with its outcome', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);
    await row(page, s.xeroFailed.id).getByTestId('open-logs').click();
    const dialog = page.getByTestId('logs-dialog');
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.badge')).toHaveText('Erroneous');
    await expect(dialog).toContainText('validation');
    const steps = dialog.getByTestId('log-steps').locator('li .step');
    await expect(steps).toHaveText(['reported', 'failed']);
    const attempts = dialog.getByTestId('attempts').locator('li');
    await expect(attempts).toHaveCount(1);
    await expect(attempts.first()).toContainText('#1');
    await expect(attempts.first()).toContainText('422');
    await expect(attempts.first()).toContainText('reported by');
    await attempts.first().locator('summary').click();
    await expect(attempts.first().locator('pre.json').last()).toHaveText('{"error":"bad"}');
    // Escape hatch: clicking outside closes it.
    await page.mouse.click(5, 5);
    await expect(dialog).toHaveCount(0);
  });

  test('a queued trigger has no attempts yet', async ({ page, state }) => {
    const s = state.seeded;
    await page.goto('/');
    await waitForHydration(page);
    await row(page, s.queued.id).getByTestId('open-logs').click();
    const dialog = page.getByTestId('logs-dialog');
    await expect(dialog).toContainText('Not executed yet.');
    await expect(dialog.getByTestId('log-steps').locator('li .step')).toHaveText(['queued']);
  });

  test('after an erasure the dialogs say when the details were removed instead of showing nothing', async ({ page, state }) => {
    const name = unique('erased');
    await plugin(state, name);
    const entity = { type: 'invoice', id: unique('ERASE') };
    const call = await report(state, { plugin: name, entity, startedAt: new Date(Date.now() - 60_000).toISOString() });
    await erase(state, entity, 'customer asked to be forgotten');

    await page.goto(`/?plugin=${name}`);
    await waitForHydration(page);
    await row(page, call.id).getByTestId('open-payload').click();
    const payload = page.getByTestId('payload-dialog');
    await expect(payload.getByTestId('details-removed')).toContainText('Details removed on');
    await expect(payload.getByTestId('payload-json')).toHaveCount(0);
    await payload.getByRole('button', { name: 'Close' }).click();

    await row(page, call.id).getByTestId('open-logs').click();
    const logs = page.getByTestId('logs-dialog');
    await expect(logs.getByTestId('details-removed')).toContainText('no longer kept');
    await expect(logs.locator('.badge')).toHaveText('Finished');
  });
});
