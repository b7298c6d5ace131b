import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from '@playwright/test';

import { test, expect, row as triggerRow, TABLE } from './fixtures';

/** A name no other spec (or earlier run against the same server) uses. */
function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * Wait until the page is hydrated: the server renders times in UTC, the hydrated
 * app in local time with its offset. Before that, a form would submit natively.
 */
async function waitForLocalTimes(page: Page) {
  // Hydrated, and every time on the page redrawn in the browser's zone.
  await expect(page.locator('html[data-hydrated]')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.locator('main time:not([data-local])')).toHaveCount(0, { timeout: 30_000 });
}

/**
 * A refusal this test provoked on purpose: the fixture records each answer >= 400
 * (and Chromium's console line about it) as an error; take those out, after
 * checking they are there and are the expected server function's status.
 */
function expectRefusal(browserErrors: string[], status: number) {
  const ours = (e: string) =>
    e.startsWith(`HTTP ${status}: POST `) ||
    (e.startsWith('console.error: Failed to load resource') && e.includes(`status of ${status}`));
  const refused = browserErrors.filter(ours);
  expect(refused.some((e) => e.startsWith(`HTTP ${status}: POST `) && e.includes('/_fn/'))).toBe(true);
  const others = browserErrors.filter((e) => !ours(e));
  browserErrors.splice(0, browserErrors.length, ...others);
}

/** Fail on any serious or critical accessibility violation on the page as it is now. */
async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** A second browser that signs in through the sign-in form as someone else. */
async function signInElsewhere(browser: Browser, state: { baseURL: string }, email: string, password: string) {
  const other = await browser.newContext({ baseURL: state.baseURL });
  const them = await other.newPage();
  await them.goto('/login');
  await them.getByLabel('Email').fill(email);
  await them.getByLabel('Password').fill(password);
  await them.getByRole('button', { name: 'Sign in' }).click();
  await expect(them).toHaveURL(`${state.baseURL}/`);
  return { other, them };
}

async function rest(state: { baseURL: string }, key: string, path: string, init: RequestInit = {}) {
  return fetch(`${state.baseURL}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  });
}

test.describe('API keys page (admin)', () => {
  test('a new key is shown once, works against REST, survives a reload only as a listed row, and stops working when revoked', async ({
    page,
    state,
    context,
  }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const name = unique('e2e-key');
    await page.goto('/api-keys');
    await expect(page.getByRole('heading', { name: 'API keys', level: 1 })).toBeVisible();
    await waitForLocalTimes(page);

    await page.getByLabel('Name').fill(name);
    await page.getByRole('combobox', { name: 'Role', exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByTestId('new-key');
    await expect(shown).toContainText('you will not see it again');
    const key = (await shown.getByTestId('new-key-value').textContent())!.trim();
    expect(key).toMatch(/^ct_[0-9a-f]{64}$/);
    await shown.getByRole('button', { name: 'Copy key' }).click();
    await expect(shown.getByRole('status')).toHaveText('Copied to the clipboard');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await expectAccessible(page);

    // The key works as a bearer token.
    expect((await rest(state, key, '/api/v1/plugins')).status).toBe(200);

    // The list has it by name and prefix; the key itself is gone after a reload.
    const row = page.locator(`tr[data-key-name="${name}"]`);
    await expect(row).toContainText(`${key.slice(0, 10)}…`);
    await page.reload();
    await waitForLocalTimes(page);
    await expect(page.getByTestId('new-key')).toHaveCount(0);
    await expect(page.getByText(key)).toHaveCount(0);
    expect(await page.content()).not.toContain(key);
    await expect(row).toContainText('viewer');
    await expect(row).toContainText('Active');

    // Revoking asks first; then the key is refused at once.
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(row.getByRole('group', { name: `Revoke ${name}?` })).toBeVisible();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await expect(row).toContainText('Revoked');
    expect((await rest(state, key, '/api/v1/plugins')).status).toBe(401);
    await page.reload();
    await expect(page.locator(`tr[data-key-name="${name}"]`)).toContainText('Revoked');
  });

  test('a key with a bad expiry shows the server\'s message and is not created', async ({ page, browserErrors }) => {
    const name = unique('e2e-expired');
    await page.goto('/api-keys');
    await waitForLocalTimes(page);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel(/Works until the end of/).fill('2001-01-01');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByRole('alert')).toHaveText('expires_at: the expiry is in the past; give a time to come, or none');
    expectRefusal(browserErrors, 422);
    await expect(page.getByTestId('new-key')).toHaveCount(0);
    await expect(page.locator(`tr[data-key-name="${name}"]`)).toHaveCount(0);
  });

  test('an embed link for one record comes with its iframe and opens that record\'s panel', async ({ page, state }) => {
    await page.goto('/api-keys');
    await waitForLocalTimes(page);
    const form = page.getByRole('form', { name: "Embed a record's log" });
    await form.getByLabel('Entity type').fill('invoice');
    await form.getByLabel('Entity id').fill('INV-7');
    await form.getByLabel('Link works for').selectOption({ label: '1 hour' });
    await form.getByRole('button', { name: 'Create embed link' }).click();

    const link = page.getByTestId('embed-link');
    const url = await link.getByTestId('embed-url').inputValue();
    expect(url.startsWith(`${state.baseURL}/embed/invoice/INV-7?token=v4.local.`)).toBe(true);
    await expect(link.getByTestId('embed-snippet')).toHaveValue(`<iframe src="${url}" title="Calltrail log" style="width:100%;border:0" loading="lazy"></iframe>`);
    await expectAccessible(page);

    // The link opens INV-7's panel (its seeded failed Xero call), without the app's chrome.
    await page.goto(url);
    await expect(triggerRow(page, state.seeded.xeroFailed.id)).toBeVisible();
    await expect(page.locator('header.topbar')).toHaveCount(0);
  });
});

test.describe('users page (admin)', () => {
  test('an admin adds an operator who can then sign in and sees the operator\'s pages', async ({ page, browser, state }) => {
    const email = `${unique('e2e-user')}@example.com`;
    const password = 'a long enough password';
    await page.goto('/users');
    await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
    await waitForLocalTimes(page);
    await expectAccessible(page);

    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Email').fill(email);
    await form.getByRole('combobox', { name: 'Role', exact: true }).selectOption('operator');
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect(form.getByRole('status')).toHaveText(`Added ${email} as operator.`);
    // The password is gone from the form and from the page.
    await expect(form.getByLabel('Password')).toHaveValue('');
    expect(await page.content()).not.toContain(password);
    const row = page.locator(`tr[data-email="${email}"]`);
    await expect(row).toContainText('Active');
    await expect(row.getByRole('combobox', { name: `Role of ${email}` })).toHaveValue('operator');

    const { other, them } = await signInElsewhere(browser, state, email, password);
    await expect(them.getByTestId('who')).toContainText(email);
    await expect(them.getByTestId('who')).toContainText('operator');
    const nav = them.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'Log' })).toBeVisible();
    await expect(nav.getByRole('link', { name: 'Audit' })).toHaveCount(0);
    await other.close();
  });

  test('a short password shows the server\'s message, and nobody is added', async ({ page, browserErrors }) => {
    const email = `${unique('e2e-short')}@example.com`;
    await page.goto('/users');
    await waitForLocalTimes(page);
    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill('short');
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect(form.getByRole('alert')).toHaveText('password: a password needs 12 to 1024 characters');
    expectRefusal(browserErrors, 422);
    await expect(page.locator(`tr[data-email="${email}"]`)).toHaveCount(0);
  });

  test('an admin changes a role, resets a password, disables and enables a user, but cannot disable themselves', async ({
    page,
    state,
    browserErrors,
  }) => {
    const email = `${unique('e2e-change')}@example.com`;
    const res = await rest(state, state.apiKey, '/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({ email, role: 'viewer', password: 'the first password' }),
    });
    expect(res.status).toBe(201);

    await page.goto('/users');
    await waitForLocalTimes(page);
    const row = page.locator(`tr[data-email="${email}"]`);
    await row.getByRole('combobox', { name: `Role of ${email}` }).selectOption('operator');
    await row.getByRole('button', { name: 'Change role' }).click();
    await expect(row.getByRole('status')).toHaveText(`Saved ${email}.`);

    await row.getByText('Reset password').click();
    await row.getByLabel(`New password for ${email}`).fill('the second password');
    await row.getByRole('button', { name: 'Set password' }).click();
    await expect(row.getByLabel(`New password for ${email}`)).toHaveValue('');

    await row.getByRole('button', { name: 'Disable' }).click();
    await expect(row.locator('td.status')).toContainText('Disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await expect(row.locator('td.status')).toHaveText('Active');

    // What the server now holds: the new role, enabled, the new password.
    const users = await (await rest(state, state.apiKey, '/api/v1/users')).json();
    const user = users.items.find((u: any) => u.email === email);
    expect([user.role, user.disabled]).toEqual(['operator', false]);
    const signIn = await fetch(`${state.baseURL}/login`, {
      method: 'POST',
      headers: { origin: state.baseURL, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password: 'the second password', next: '/' }),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(303);

    const me = page.locator(`tr[data-email="${state.users.admin.email}"]`);
    await expect(me).toContainText('(you)');
    await me.getByRole('button', { name: 'Disable' }).click();
    await expect(me.getByRole('alert')).toHaveText('disabled: you cannot disable your own account; ask another admin');
    expectRefusal(browserErrors, 409);
    await expect(me.locator('td.status')).toHaveText('Active');
  });
});

test.describe('users: plugin scope and last sign-in', () => {
  test('an admin limits a user to one plugin; signed in they see only its triggers, and their last sign-in shows', async ({
    page,
    browser,
    state,
  }) => {
    const email = `${unique('e2e-scope')}@example.com`;
    const password = 'a long enough password';
    const res = await rest(state, state.apiKey, '/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({ email, role: 'viewer', password }),
    });
    expect(res.status).toBe(201);

    await page.goto('/users');
    await waitForLocalTimes(page);
    const row = page.locator(`tr[data-email="${email}"]`);
    await expect(row.locator('td.plugins .scope-now')).toHaveText('all plugins');
    await expect(row.locator('td.last-sign-in')).toHaveText('never');
    await row.getByLabel(`Change the plugins ${email} may see`).click();
    await row.getByRole('checkbox', { name: 'Xero' }).check();
    await row.getByRole('button', { name: 'Save plugins' }).click();
    await expect(row.getByRole('status')).toHaveText(`Saved ${email}.`);
    await expect(row.locator('td.plugins .scope-now')).toHaveText('xero');
    await expectAccessible(page);

    // What the server holds, and what the user now sees: Xero's triggers only.
    const users = await (await rest(state, state.apiKey, '/api/v1/users')).json();
    expect(users.items.find((u: any) => u.email === email).plugins).toEqual(['xero']);
    const { other, them } = await signInElsewhere(browser, state, email, password);
    const plugins = them.locator(`${TABLE} tbody td.plugin`);
    await expect(plugins.first()).toBeVisible();
    expect(new Set(await plugins.allTextContents())).toEqual(new Set(['Xero']));
    await other.close();

    // Unticking every box lifts the limit again.
    await page.reload();
    await waitForLocalTimes(page);
    await expect(row.locator('td.last-sign-in time')).toHaveCount(1);
    await row.getByLabel(`Change the plugins ${email} may see`).click();
    await row.getByRole('checkbox', { name: 'Xero' }).uncheck();
    await row.getByRole('button', { name: 'Save plugins' }).click();
    await expect(row.locator('td.plugins .scope-now')).toHaveText('all plugins');
  });
});

test.describe('audit page (admin)', () => {
  test('shows who created and revoked a key, narrows by actor and action, and keeps the filters across a reload', async ({
    page,
    state,
  }) => {
    // A key created and revoked in the browser, so the admin user is the actor.
    const name = unique('e2e-audited');
    await page.goto('/api-keys');
    await waitForLocalTimes(page);
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByTestId('new-key')).toBeVisible();
    const row = page.locator(`tr[data-key-name="${name}"]`);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await expect(row).toContainText('Revoked');
    const admin = state.users.admin.email;

    await page.goto('/audit');
    await expect(page.getByRole('heading', { name: 'Audit trail', level: 1 })).toBeVisible();
    await waitForLocalTimes(page);
    await expectAccessible(page);

    await page.getByTestId('actor-filter').fill(admin);
    await page.getByTestId('actor-filter').press('Enter');
    await expect(page).toHaveURL(/actor=/);
    const ours = page.locator('[data-testid="audit-table"] tbody tr', { hasText: name });
    await expect(ours).toHaveCount(2);
    // Newest first: the revocation above the creation, both by the admin.
    await expect(ours.nth(0).locator('td.action')).toHaveText('api_key.revoke');
    await expect(ours.nth(1).locator('td.action')).toHaveText('api_key.create');
    await expect(ours.nth(0).locator('td.actor')).toHaveText(admin);
    await expect(ours.nth(1).locator('td.details')).toContainText(`name: ${name}`);
    await expect(ours.nth(0).locator('td.target')).toContainText('api_key:');

    await page.getByTestId('action-filter').fill('api_key.revoke');
    await page.getByTestId('action-filter').press('Enter');
    await expect(page).toHaveURL(/action=api_key\.revoke/);
    await expect(ours).toHaveCount(1);
    const actions = page.locator('[data-testid="audit-table"] tbody td.action');
    expect(new Set(await actions.allTextContents())).toEqual(new Set(['api_key.revoke']));

    await page.reload();
    await waitForLocalTimes(page);
    await expect(page.getByTestId('actor-filter')).toHaveValue(admin);
    await expect(page.getByTestId('action-filter')).toHaveValue('api_key.revoke');
    await expect(ours).toHaveCount(1);
    expect(new Set(await actions.allTextContents())).toEqual(new Set(['api_key.revoke']));

    // A day range that ended long ago holds none of it, and says so.
    await page.getByTestId('from').fill('2001-01-01');
    await page.getByTestId('to').fill('2001-01-02');
    await expect(page).toHaveURL(/to=2001-01-0/);
    await expect(page.getByTestId('audit-empty')).toContainText('No audit entries match these filters');
    await page.getByRole('link', { name: 'Clear filters' }).click();
    await expect(page).toHaveURL(/\/audit$/);
  });

  test('pages through the trail with next and first', async ({ page }) => {
    // Every test signs in, so there are sign-ins enough for pages of two.
    const action = 'user.signed_in';
    await page.goto(`/audit?action=${action}&limit=2`);
    await waitForLocalTimes(page);
    const rows = page.locator('[data-testid="audit-table"] tbody tr');
    await expect(rows).toHaveCount(2);
    const first = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-audit-id')));
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect(page).toHaveURL(/cursor=/);
    await expect(rows.first()).not.toHaveAttribute('data-audit-id', first[0]!);
    const second = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-audit-id')));
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    await expect(page.getByTestId('action-filter')).toHaveValue(action);
    await page.getByRole('link', { name: 'First page' }).click();
    await expect(rows.first()).toHaveAttribute('data-audit-id', first[0]!);
    await expect(page).not.toHaveURL(/cursor=/);
  });
});

for (const role of ['viewer', 'operator'] as const) {
  test.describe(`as ${role}`, () => {
    test.use({ role });

    test('the admin pages say "No access" without asking the server, and the nav does not offer them', async ({ page }) => {
      for (const path of ['/audit', '/users', '/api-keys']) {
        await page.goto(path);
        await expect(page.getByTestId('no-access')).toContainText('No access — contact your administrator');
        await expect(page.getByTestId('who')).toContainText(role);
        const nav = page.getByRole('navigation', { name: 'Main' });
        await expect(nav.getByRole('link', { name: 'Log' })).toBeVisible();
        for (const link of ['Audit', 'Users', 'API keys']) {
          await expect(nav.getByRole('link', { name: link })).toHaveCount(0);
        }
        await expect(page.locator('table')).toHaveCount(0);
      }
      if (role === 'viewer') await expectAccessible(page);
    });
  });
}
