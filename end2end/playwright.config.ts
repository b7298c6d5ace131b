import { defineConfig, devices } from '@playwright/test';

/**
 * Calltrail's browser tests.
 *
 * global-setup.ts starts a fresh `calltrail serve` on a free loopback port with
 * its own SQLite file in a temp dir, creates an admin API key and seeds plugins
 * and triggers through the REST API; global-teardown.ts stops it. The tests read
 * the server's address and the seeded ids from the JSON file named by
 * CALLTRAIL_E2E_STATE (see tests/fixtures.ts).
 *
 * Build first: `cd .. && cargo leptos build` (binary in ../target/debug/calltrail,
 * site in ../target/site). Then: `npx playwright test`.
 *
 * Browsers are not downloaded: Debian's Chromium is used (override with CHROMIUM_BIN).
 */
export default defineConfig({
  testDir: './tests',
  globalSetup: require.resolve('./global-setup'),
  globalTeardown: require.resolve('./global-teardown'),
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'chromium',
      use: { ...devices['Desktop Chrome'] },
    },
  ],
});
