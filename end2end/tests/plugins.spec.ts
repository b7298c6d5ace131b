import { test, expect, TABLE } from './fixtures';
import {
  api,
  apiOk,
  expectAccessible,
  expectProvokedErrors,
  fakeProvider,
  reportCall,
  uniqueName,
  waitForStatus,
} from './admin-support';

const ROUTES = { 'invoice.created': { method: 'POST', path: '/invoices/{entity_id}' } };

async function createPlugin(state: any, name: string, extra: Record<string, unknown> = {}) {
  return apiOk(
    state,
    'POST',
    '/api/v1/plugins',
    { name, display_name: `Display ${name}`, base_url: 'https://provider.example', routes: ROUTES, ...extra },
    201,
  );
}

test.describe('plugins list', () => {
  test('shows whether each plugin is active, its failures in 24 h and its last success', async ({ page, state }) => {
    const name = uniqueName('health');
    const idle = uniqueName('idle');
    await createPlugin(state, name);
    await createPlugin(state, idle, { active: false });
    const success = await reportCall(state, name, 200, 60 * 60_000);
    await reportCall(state, name, 422, 30 * 60_000);
    await reportCall(state, name, 500, 10 * 60_000);

    await page.goto('/plugins');
    const row = page.locator(`tr[data-plugin="${name}"]`);
    await expect(row.getByRole('link', { name: `Display ${name}` })).toHaveAttribute('href', `/plugins/${name}`);
    await expect(row.getByTestId('plugin-state')).toHaveText('Active');
    await expect(row.getByTestId('plugin-failures')).toHaveText('2');
    // The last success is when that call ended, shown in the browser's zone.
    const ended = new Date(success.startedAt.getTime() + 200);
    const time = row.getByTestId('plugin-last-success').locator('time');
    await expect(time).toHaveAttribute('data-local', /.*/);
    expect(new Date((await time.getAttribute('datetime'))!).getTime()).toBe(ended.getTime());

    const idleRow = page.locator(`tr[data-plugin="${idle}"]`);
    await expect(idleRow.getByTestId('plugin-state')).toHaveText('Inactive');
    await expect(idleRow.getByTestId('plugin-failures')).toHaveText('0');
    await expect(idleRow.getByTestId('plugin-last-success')).toHaveText('never');
  });
});

test.describe("a plugin's page", () => {
  test('reconnects a plugin after a 401, never showing the secret', async ({ page, state }) => {
    const provider = await fakeProvider((req) =>
      req.headers.authorization === 'Bearer new-secret'
        ? { status: 200, body: { id: 'ext-42' } }
        : { status: 401, body: { error: 'token expired' } },
    );
    try {
      const name = uniqueName('reconnect');
      await createPlugin(state, name, {
        base_url: provider.url,
        auth: { type: 'bearer', token: 'old-secret' },
        external_id_pointer: '/id',
      });
      const trigger = await apiOk(
        state,
        'POST',
        '/api/v1/triggers',
        { plugin: name, event_type: 'invoice.created', entity: { type: 'invoice', id: 'INV-401' }, payload: { a: 1 } },
        201,
      );
      await waitForStatus(state, trigger.id, 'erroneous');
      const detail = (await api(state, 'GET', `/api/v1/triggers/${trigger.id}`)).json;
      expect(detail.attempts.map((a: any) => a.class)).toEqual(['auth']);

      await page.goto(`/plugins/${name}`);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Display ${name}`);
      await expect(page.getByTestId('has-auth')).toHaveText('set');
      // Its own log, beside the settings, and the way to the whole log.
      await expect(page.locator(`${TABLE} tbody tr[data-trigger-id="${trigger.id}"] .badge`)).toHaveText('Erroneous');
      await expect(page.getByTestId('open-in-log')).toHaveAttribute('href', `/?plugin=${name}`);

      await page.getByLabel('New token').fill('new-secret');
      await page.getByRole('button', { name: 'Save new credentials' }).click();
      await expect(page.getByTestId('reconnected')).toContainText('Reconnected');
      await expect(page.getByLabel('New token')).toHaveValue('');
      for (const secret of ['new-secret', 'old-secret']) {
        expect(await page.content(), 'the page never holds a credential').not.toContain(secret);
      }

      await apiOk(state, 'POST', `/api/v1/triggers/${trigger.id}/rerun`, { reason: 'reconnected' }, 202);
      await waitForStatus(state, trigger.id, 'finished');
      await page.reload();
      await expect(page.locator(`${TABLE} tbody tr[data-trigger-id="${trigger.id}"] .badge`)).toHaveText('Finished');
      expect(await page.content()).not.toContain('new-secret');
    } finally {
      await provider.close();
    }
  });

  test("saves settings, and shows the server's message naming a bad field", async ({ page, state, browserErrors }) => {
    const name = uniqueName('settings');
    await createPlugin(state, name);
    await page.goto(`/plugins/${name}`);

    // What the form cannot read is refused before anything is sent.
    await page.getByLabel('Delays between attempts (seconds)').fill('5, soon');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('plugin-settings-form').getByRole('alert')).toContainText(
      'retry_policy.schedule_secs',
    );

    // What the server refuses comes back in its words, with the field.
    await page.getByLabel('Delays between attempts (seconds)').fill('5, 60');
    await page.getByLabel('Most attempts').fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('plugin-settings-form').getByRole('alert')).toHaveText(
      'retry_policy.max_attempts: from 1 to 100 attempts',
    );
    expectProvokedErrors(browserErrors, /422/);

    await page.getByLabel('Most attempts').fill('3');
    await page.getByLabel('Display name').fill('Renamed plugin');
    await page.getByLabel('Active (its triggers run)').uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('settings-saved')).toHaveText('Settings saved.');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Renamed plugin');
    await expect(page.getByTestId('plugin-state')).toHaveText('Inactive');

    const saved = (await api(state, 'GET', `/api/v1/plugins/${name}`)).json;
    expect([saved.display_name, saved.active, saved.retry_policy.schedule_secs, saved.retry_policy.max_attempts]).toEqual([
      'Renamed plugin',
      false,
      [5, 60],
      3,
    ]);
    // Audited by the service, naming what changed.
    const audit = (await api(state, 'GET', '/api/v1/audit?action=plugin.update')).json;
    const entry = audit.items.find((e: any) => e.target === `plugin:${saved.id}`);
    expect(entry, JSON.stringify(audit.items.slice(0, 3))).toBeTruthy();
  });

  test('is accessible to an admin', async ({ page, state }) => {
    await page.goto('/plugins');
    await expect(page.locator('[data-testid="plugins-table"]')).toBeVisible();
    await expectAccessible(page);
    await page.goto(`/plugins/${state.seeded.stripeDone.plugin}`);
    await expect(page.getByRole('button', { name: 'Save settings' })).toBeEnabled();
    await expectAccessible(page);
  });
});

test.describe('a viewer', () => {
  test.use({ role: 'viewer' });

  test('reads plugins without any way to change them', async ({ page, state }) => {
    const plugin = state.seeded.stripeDone.plugin;
    await page.goto('/plugins');
    await expect(page.locator(`tr[data-plugin="${plugin}"]`).getByTestId('plugin-state')).toHaveText('Active');
    await expectAccessible(page);

    await page.goto(`/plugins/${plugin}`);
    await expect(page.getByTestId('plugin-settings-readonly')).toContainText('Invoice available');
    await expect(page.locator(`${TABLE} tbody tr[data-trigger-id="${state.seeded.stripeDone.id}"]`)).toBeVisible();
    await expect(page.locator('form.settings')).toHaveCount(0);
    await expect(page.locator('main input, main select, main textarea')).toHaveCount(0);
    await expect(page.getByRole('button', { name: /save/i })).toHaveCount(0);
    await expectAccessible(page);
  });
});
