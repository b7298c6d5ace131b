import * as fs from 'node:fs';

import { test as base, expect, type Page } from '@playwright/test';

import type { E2EState, Role } from '../seed';

function readState(): E2EState {
  const file = process.env.CALLTRAIL_E2E_STATE;
  if (!file || !fs.existsSync(file)) {
    throw new Error('CALLTRAIL_E2E_STATE is not set: run the suite with `npx playwright test` so global-setup starts the server');
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

type Fixtures = {
  state: E2EState;
  /** Who the page signs in as: `test.use({ role: 'viewer' })` in a describe block. */
  role: Role;
  /** Console errors and uncaught exceptions seen on `page`; the test fails if any. */
  browserErrors: string[];
};

export const test = base.extend<Fixtures>({
  state: async ({}, use) => {
    await use(readState());
  },
  role: ['admin', { option: true }],
  baseURL: async ({ state }, use) => {
    await use(state.baseURL);
  },
  browserErrors: async ({}, use) => {
    await use([]);
  },
  page: async ({ page, state, role, browserErrors, javaScriptEnabled }, use, testInfo) => {
    // Every page needs a session: sign in before the test opens any.
    await signIn(page, state, role);
    page.on('pageerror', (e) => browserErrors.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = m.location()?.url;
      // The browser asks for /favicon.ico by itself; the app ships none (yet).
      if (where?.endsWith('/favicon.ico')) return;
      browserErrors.push(`console.error: ${m.text()}${where ? ` (${where})` : ''}`);
    });
    page.on('requestfailed', (r) => {
      const why = r.failure()?.errorText ?? '';
      // A request cut short by a later navigation is not an error a user sees.
      if (why.includes('ERR_ABORTED')) return;
      // With JavaScript off, Playwright blocks scripts through CSP.
      if (!javaScriptEnabled && why === 'csp') return;
      browserErrors.push(`request failed: ${r.method()} ${r.url()} (${why})`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) browserErrors.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
    await use(page);
    if (browserErrors.length > 0) {
      await testInfo.attach('browser-errors', { body: browserErrors.join('\n'), contentType: 'text/plain' });
    }
    expect(browserErrors, 'errors in the browser console').toEqual([]);
  },
});

export { expect };

/**
 * Sign in as the suite's user, as the sign-in form would: the session cookie
 * lands in the page's browser context, so every page the test opens is signed in.
 */
export async function signIn(page: Page, state: E2EState, role: Role = 'admin') {
  const user = state.users[role];
  const res = await page.request.post(`${state.baseURL}/login`, {
    form: { email: user.email, password: user.password, next: '/' },
    headers: { Origin: state.baseURL },
    maxRedirects: 0,
  });
  if (res.status() !== 303) {
    throw new Error(`signing in as ${user.email} answered ${res.status()}: ${await res.text()}`);
  }
}

export const TABLE = '[data-testid="trigger-table"]';
export const ROWS = `${TABLE} tbody tr`;

export function row(page: Page, id: string) {
  return page.locator(`${TABLE} tbody tr[data-trigger-id="${id}"]`);
}

/** The ids of the table's rows, top to bottom. */
export async function rowIds(page: Page): Promise<(string | null)[]> {
  return page.locator(ROWS).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trigger-id')));
}

/**
 * Wait until the wasm app has hydrated: the app marks `<html data-hydrated>`,
 * and every time the server rendered in UTC has switched to the browser's zone
 * (`<time data-local>`).
 */
export async function waitForHydration(page: Page) {
  await expect(page.locator('html[data-hydrated]')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.locator('time:not([data-local])')).toHaveCount(0, { timeout: 30_000 });
}
