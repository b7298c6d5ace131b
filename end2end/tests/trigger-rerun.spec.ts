import { test, expect, waitForHydration } from './fixtures';
import {
  api,
  createPlugin,
  createTrigger,
  openTrigger,
  readTrigger,
  startProvider,
  statusBadge,
  unique,
  waitForStatus,
  type Provider,
} from './trigger-support';

/**
 * Re-running from the browser, against a fake provider: an operator fixes what
 * failed and watches the trigger turn green; a viewer is offered nothing and
 * refused when forcing it.
 */

let provider: Provider;

test.beforeEach(async () => {
  provider = await startProvider();
});

test.afterEach(async () => {
  await provider?.close();
});

test.describe('an operator', () => {
  test.use({ role: 'operator' });

  test("re-runs a red trigger and watches it turn green without a reload", async ({ page, state }) => {
    const plugin = await createPlugin(state, provider, 'Ledger');
    const entity = unique('ORD');
    // A permanent failure (validation): no automatic retry, the trigger goes red.
    provider.answer(entity, { status: 422, body: '{"error":"vat id missing"}' });
    const id = await createTrigger(state, { plugin, entityId: entity });
    await waitForStatus(state, id, 'erroneous');

    // The cause is fixed at the provider.
    provider.answer(entity, { status: 200, body: '{"id":"ext-4711"}' });

    await openTrigger(page, id);
    await page.evaluate(() => ((window as any).__marker = 1));
    await expect(statusBadge(page)).toHaveText('Erroneous');
    await expect(page.getByTestId('attempts').getByTestId('attempt')).toHaveCount(1);

    await page.getByTestId('rerun').click();
    const dialog = page.getByTestId('rerun-dialog');
    await expect(dialog).toBeVisible();
    await dialog.getByTestId('rerun-reason').fill('VAT id fixed in the CRM');
    await dialog.getByTestId('rerun-confirm').click();
    await expect(dialog).toHaveCount(0);

    // Live: the badge turns green and the new attempt appears, on the same page.
    await expect(statusBadge(page)).toHaveText('Finished', { timeout: 20_000 });
    const attempts = page.getByTestId('attempts').getByTestId('attempt');
    await expect(attempts).toHaveCount(2);
    const second = attempts.nth(1);
    await expect(second).toContainText('#2');
    await expect(second).toContainText('HTTP 200');
    await expect(second.getByTestId('rerun-of')).toHaveText(
      `Re-run of attempt #1 by ${state.users.operator.email}: VAT id fixed in the CRM`,
    );
    await expect(second.getByTestId('rerun-of').getByRole('link', { name: 'attempt #1' })).toHaveAttribute('href', '#attempt-1');
    await expect(page.getByTestId('external-id')).toHaveText('ext-4711');
    await expect(page.getByTestId('log-steps')).toContainText('VAT id fixed in the CRM');
    expect(await page.evaluate(() => (window as any).__marker), 'no reload').toBe(1);

    // The server agrees, and the provider was called twice.
    const detail = await readTrigger(state, id);
    expect(detail.trigger.status).toBe('finished');
    expect(detail.attempts).toHaveLength(2);
    expect(detail.attempts[1].started_by).toEqual({ kind: 'manual', actor: state.users.operator.email });
    expect(provider.received(entity)).toHaveLength(2);
  });

  test('a re-run that asks for it resumes automatic retries', async ({ page, state }) => {
    const plugin = await createPlugin(state, provider, 'Ledger');
    const entity = unique('ORD');
    provider.answer(entity, { status: 422, body: '{"error":"bad"}' });
    const id = await createTrigger(state, { plugin, entityId: entity });
    await waitForStatus(state, id, 'erroneous');

    // Now the provider is down: the re-run fails transiently.
    provider.answer(entity, { status: 503, body: '{"error":"maintenance"}' });
    await openTrigger(page, id);
    await page.getByTestId('rerun').click();
    const dialog = page.getByTestId('rerun-dialog');
    await dialog.getByTestId('rerun-reason').fill('provider back soon');
    await dialog.getByTestId('rerun-resume').check();
    await dialog.getByTestId('rerun-confirm').click();
    await expect(dialog).toHaveCount(0);

    // Retried by the policy rather than stopped: the attempt decided "retry".
    await expect
      .poll(async () => (await readTrigger(state, id)).attempts[1]?.decision?.action, { timeout: 15_000 })
      .toBe('retry');
    provider.answer(entity, { status: 200, body: '{"id":"ext-9"}' });
    await expect(statusBadge(page)).toHaveText('Finished', { timeout: 20_000 });
    await expect(page.getByTestId('attempts').getByTestId('attempt').last()).toContainText('automatic retry');
  });

  test('re-runs the erroneous triggers of an aggregation group together', async ({ page, state }) => {
    const plugin = await createPlugin(state, provider, 'Ledger');
    const group = unique('batch');
    const [a, b, done] = [unique('ORD-A'), unique('ORD-B'), unique('ORD-OK')];
    provider.answer(a, { status: 409, body: '{"error":"duplicate"}' });
    provider.answer(b, { status: 400, body: '{"error":"bad"}' });
    provider.answer(done, { status: 200, body: '{"id":"x-1"}' });
    const ids = [
      await createTrigger(state, { plugin, entityId: a, aggregationKey: group }),
      await createTrigger(state, { plugin, entityId: b, aggregationKey: group }),
      await createTrigger(state, { plugin, entityId: done, aggregationKey: group }),
    ];
    await waitForStatus(state, ids[0], 'erroneous');
    await waitForStatus(state, ids[1], 'erroneous');
    await waitForStatus(state, ids[2], 'finished');
    provider.answer(a, { status: 200, body: '{"id":"x-a"}' });
    provider.answer(b, { status: 200, body: '{"id":"x-b"}' });

    await openTrigger(page, ids[0]);
    await page.getByTestId('rerun-group').click();
    const dialog = page.getByTestId('rerun-group-dialog');
    await dialog.getByTestId('rerun-reason').fill('duplicates cleaned up');
    await dialog.getByTestId('rerun-confirm').click();
    await expect(dialog).toHaveCount(0);
    // Only the two erroneous ones: the finished one is left as it is.
    await expect(page.getByTestId('rerun-group-queued')).toHaveText('2 triggers of the group queued');
    await expect(statusBadge(page)).toHaveText('Finished', { timeout: 20_000 });
    await waitForStatus(state, ids[1], 'finished');
    expect(provider.received(done)).toHaveLength(1);
    const second = (await readTrigger(state, ids[1])).attempts[1];
    expect(second.started_by).toEqual({ kind: 'manual', actor: state.users.operator.email });
  });

  test('an empty reason is refused with the server saying why', async ({ page, state, browserErrors }) => {
    const plugin = await createPlugin(state, provider, 'Ledger');
    const entity = unique('ORD');
    provider.answer(entity, { status: 422, body: '{"error":"bad"}' });
    const id = await createTrigger(state, { plugin, entityId: entity });
    await waitForStatus(state, id, 'erroneous');
    await openTrigger(page, id);
    await page.getByTestId('rerun').click();
    const dialog = page.getByTestId('rerun-dialog');
    // Spaces pass the browser's "required" but not the server.
    await dialog.getByTestId('rerun-reason').fill('   ');
    const refused = page.waitForResponse((r) => r.url().endsWith('/_fn/rerun_trigger'));
    await dialog.getByTestId('rerun-confirm').click();
    expect([400, 422]).toContain((await refused).status());
    await expect(dialog.getByTestId('rerun-error')).toContainText('reason');
    expect((await readTrigger(state, id)).attempts).toHaveLength(1);
    // That refusal was the point: it is not an error of the page (the browser logs it too).
    const expected = (e: string) => e.includes('/_fn/rerun_trigger') || /status of 4(00|22)/.test(e);
    expect(browserErrors.filter(expected).length).toBeGreaterThan(0);
    browserErrors.splice(0, browserErrors.length, ...browserErrors.filter((e) => !expected(e)));
  });
});

test.describe('a viewer', () => {
  test.use({ role: 'viewer' });

  test('sees no re-run button and is refused when forcing one', async ({ page, state }) => {
    const plugin = await createPlugin(state, provider, 'Ledger');
    const entity = unique('ORD');
    const group = unique('batch');
    provider.answer(entity, { status: 422, body: '{"error":"bad"}' });
    const id = await createTrigger(state, { plugin, entityId: entity, aggregationKey: group });
    await waitForStatus(state, id, 'erroneous');

    // The trigger's page: everything to read, nothing to re-run.
    await openTrigger(page, id);
    await expect(statusBadge(page)).toHaveText('Erroneous');
    await expect(page.getByTestId('open-payload')).toBeVisible();
    await expect(page.getByTestId('group-siblings').locator('li')).toHaveCount(1);
    await expect(page.getByTestId('rerun')).toHaveCount(0);
    await expect(page.getByTestId('rerun-group')).toHaveCount(0);

    // Its row in the log.
    await page.goto(`/?plugin=${plugin}`);
    await waitForHydration(page);
    await expect(page.locator(`tr[data-trigger-id="${id}"]`)).toBeVisible();
    await expect(page.getByTestId('rerun')).toHaveCount(0);

    // Forced, through the page's own server functions with the viewer's session…
    const origin = { Origin: state.baseURL };
    const forced = await page.request.post(`${state.baseURL}/_fn/rerun_trigger`, {
      data: { id, reason: 'forced by a viewer' },
      headers: origin,
    });
    expect(forced.status()).toBe(403);
    expect((await forced.json()).code).toBe('forbidden');
    const forcedGroup = await page.request.post(`${state.baseURL}/_fn/rerun_group`, {
      data: { aggregation_key: group, reason: 'forced by a viewer' },
      headers: origin,
    });
    expect(forcedGroup.status()).toBe(403);

    // …and through the REST API with a viewer's key.
    const key = await api(state, 'POST', '/api-keys', { name: unique('viewer-key'), role: 'viewer' });
    expect(key.status).toBe(201);
    const rest = await api(state, 'POST', `/triggers/${id}/rerun`, { reason: 'forced' }, key.json.key);
    expect(rest.status).toBe(403);
    const restGroup = await api(state, 'POST', `/aggregations/${group}/rerun`, { reason: 'forced' }, key.json.key);
    expect(restGroup.status).toBe(403);

    // Nothing ran again: still one attempt, still red, one call at the provider.
    await page.waitForTimeout(1_500);
    const detail = await readTrigger(state, id);
    expect(detail.trigger.status).toBe('erroneous');
    expect(detail.attempts).toHaveLength(1);
    expect(provider.received(entity)).toHaveLength(1);
  });
});
