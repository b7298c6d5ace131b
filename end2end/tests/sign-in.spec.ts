import * as fs from 'node:fs';

// The plain Playwright test: these pages start without a session, and a refused
// sign-in answers 401 on purpose (the shared fixture treats that as an error).
import { test, expect } from '@playwright/test';

import type { E2EState } from '../seed';

function state(): E2EState {
  return JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
}

test('a browser without a session is sent to sign in, and comes back where it was going', async ({ page }) => {
  const { baseURL, user } = state();
  await page.goto(`${baseURL}/?status=erroneous`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('That email and password do not match an account.');

  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/?status=erroneous`);
  await expect(page.locator('[data-testid="trigger-table"]')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${baseURL}/login`);
  await page.goto(`${baseURL}/`);
  await expect(page).toHaveURL(/\/login/);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the sign-in form works as a plain form', async ({ page }) => {
    const { baseURL, user } = state();
    await page.goto(`${baseURL}/login`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(`${baseURL}/`);
    await expect(page.locator('[data-testid="trigger-table"]')).toBeVisible();
  });
});
