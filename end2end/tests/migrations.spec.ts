import { test, expect, TABLE } from './fixtures';
import { apiOk, expectAccessible, fakeProvider, reportCall, uniqueName } from './admin-support';

test.describe('trigger migration', () => {
  test('previews, runs at a low rate with a moving progress bar, cancels, and lists it', async ({ page, state }) => {
    const provider = await fakeProvider(() => ({ status: 200, body: { id: 'ok' } }));
    try {
      const name = uniqueName('migrate');
      await apiOk(
        state,
        'POST',
        '/api/v1/plugins',
        {
          name,
          display_name: `Migrate ${name}`,
          base_url: provider.url,
          routes: { 'invoice.created': { method: 'POST', path: '/invoices/{entity_id}' } },
        },
        201,
      );
      const failed: string[] = [];
      for (let i = 0; i < 6; i++) failed.push((await reportCall(state, name, 422, (10 + i) * 60_000)).id);
      await reportCall(state, name, 200, 5 * 60_000);
      const reason = `e2e ${uniqueName('token renewed')}`;

      await page.goto('/migrations');
      const dryRun = page.getByRole('button', { name: 'Preview (dry run)' });
      await expect(dryRun).toBeEnabled();
      await expectAccessible(page);
      await page.getByLabel('Plugin').selectOption(name);
      await page.getByLabel('Erroneous').check();
      await page.getByLabel('Reason').fill(reason);
      await page.getByLabel('At most this many per second').fill('1');
      await dryRun.click();

      // The count and a sample first: exactly the six that failed.
      const preview = page.getByTestId('migration-preview');
      await expect(preview.getByTestId('migration-count')).toHaveText('This migration re-executes 6 triggers.');
      const sampleIds = await preview
        .locator(`${TABLE} tbody tr`)
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trigger-id')));
      expect(sampleIds.sort()).toEqual([...failed].sort());
      await expectAccessible(page);

      await preview.getByRole('button', { name: 'Start migration…' }).click();
      await expect(preview).toContainText('at up to 1 per second');
      await preview.getByRole('button', { name: 'Yes, start' }).click();

      const progress = page.getByTestId('migration-progress');
      const bar = progress.getByTestId('migration-bar');
      await expect(progress.getByTestId('migration-status')).toHaveText('running');
      await expect(bar).toHaveAttribute('data-total', '6');
      // The bar moves on its own (polled), one trigger a second.
      await expect.poll(async () => Number(await bar.getAttribute('data-done')), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const before = Number(await bar.getAttribute('data-done'));
      expect(before).toBeLessThan(6);

      await progress.getByRole('button', { name: 'Cancel migration' }).click();
      await expect(progress.getByTestId('migration-status')).toHaveText('cancelled');
      await expect(progress.getByRole('button', { name: 'Cancel migration' })).toHaveCount(0);

      // Listed among past migrations with its outcome.
      const listed = page.getByTestId('migrations-table').locator('tr', { hasText: reason });
      await expect(listed.getByTestId('migration-outcome')).toHaveText('cancelled');
      const m = (await apiOk(state, 'GET', '/api/v1/migrations', undefined, 200)).items.find(
        (x: any) => x.reason === reason,
      );
      expect(m.status).toBe('cancelled');
      expect(m.done).toBeLessThan(6);
    } finally {
      await provider.close();
    }
  });
});

test.describe('trigger migration, create mode', () => {
  test('creates one trigger per pasted entity id, after a dry run that counts them', async ({ page, state }) => {
    const seen: string[] = [];
    const provider = await fakeProvider((req) => {
      seen.push(req.url ?? '');
      return { status: 200, body: { id: 'created' } };
    });
    try {
      const name = uniqueName('create');
      await apiOk(
        state,
        'POST',
        '/api/v1/plugins',
        {
          name,
          display_name: `Create ${name}`,
          base_url: provider.url,
          routes: { 'invoice.created': { method: 'POST', path: '/invoices/{entity_id}' } },
        },
        201,
      );
      const ids = [uniqueName('NEW'), uniqueName('NEW'), uniqueName('NEW')];
      const reason = `e2e ${uniqueName('backfill')}`;

      await page.goto('/migrations');
      await expect(page.getByRole('button', { name: 'Preview (dry run)' })).toBeEnabled();
      await page.getByLabel('Create triggers for entity ids').check();
      await page.getByLabel('Plugin').selectOption(name);
      await page.getByLabel('Event type').fill('invoice.created');
      await page.getByRole('textbox', { name: 'Entity type' }).fill('invoice');
      // Blank lines and a comma list both count, once each.
      await page.getByRole('textbox', { name: 'Entity ids' }).fill(`${ids[0]}\n\n${ids[1]}, ${ids[2]}`);
      await page.getByLabel('Payload (JSON, the same for each)').fill('{"backfill": true}');
      await page.getByLabel('Reason').fill(reason);
      await page.getByRole('button', { name: 'Preview (dry run)' }).click();

      const preview = page.getByTestId('migration-preview');
      await expect(preview.getByTestId('migration-count')).toHaveText('This migration creates 3 triggers.');
      await preview.getByRole('button', { name: 'Start migration…' }).click();
      await preview.getByRole('button', { name: 'Yes, start' }).click();
      const progress = page.getByTestId('migration-progress');
      await expect(progress.getByTestId('migration-status')).toHaveText('completed', { timeout: 30_000 });

      // Each entity now has its trigger, and the provider got each call.
      for (const id of ids) {
        const list = await apiOk(state, 'GET', `/api/v1/triggers?entity_type=invoice&entity_id=${id}`, undefined, 200);
        expect(list.items.length, id).toBe(1);
        expect(list.items[0].plugin).toBe(name);
      }
      await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(3);
      expect(seen.sort()).toEqual(ids.map((id) => `/invoices/${id}`).sort());
    } finally {
      await provider.close();
    }
  });
});

test.describe('trigger migration for a viewer', () => {
  test.use({ role: 'viewer' });

  test('says there is no access, without calling what only admins may', async ({ page }) => {
    await page.goto('/migrations');
    await expect(page.getByTestId('no-access')).toHaveText('No access — contact your administrator.');
    await expect(page.getByTestId('migration-form')).toHaveCount(0);
    await expectAccessible(page);
  });
});
