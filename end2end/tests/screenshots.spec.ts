import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { test, expect, type Page } from '@playwright/test';

import { ROWS, waitForHydration } from './fixtures';

/**
 * The README's screenshots, taken from what ships: a server of this spec's own,
 * seeded with `calltrail demo` (the data `./scripts/run` shows), its executor off so
 * nothing moves while the picture is taken. Saved to docs/screenshots/ — commit them
 * when they change. The shared server of the other specs is not used: its log holds
 * whatever the specs before this one left there.
 */

const ROOT = path.resolve(__dirname, '../..');
const SHOTS = path.join(ROOT, 'docs/screenshots');
const BIN = path.resolve(__dirname, '..', process.env.CALLTRAIL_BIN || '../target/debug/calltrail');

let server: ChildProcess | undefined;
let tmpDir = '';
let baseURL = '';
const user = { email: 'readme@example.com', password: randomBytes(18).toString('base64url') };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

test.beforeAll(async () => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'calltrail-shots-'));
  const env = {
    ...process.env,
    CALLTRAIL_DATABASE_URL: `sqlite://${path.join(tmpDir, 'demo.db')}?mode=rwc`,
    CALLTRAIL_SECRET_KEY: randomBytes(32).toString('hex'),
    LEPTOS_SITE_ROOT: path.join(ROOT, 'target/site'),
    RUST_LOG: 'warn',
  };
  const run = (args: string[], input?: string) => execFileSync(BIN, args, { env, cwd: tmpDir, input, timeout: 60_000 });
  run(['migrate']);
  run(['demo', '--triggers', '300']);
  run(['user', 'add', '--email', user.email, '--role', 'admin'], `${user.password}\n`);

  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--executor', 'off'], { env, cwd: tmpDir, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) })).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('the demo server did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
});

test.afterAll(async () => {
  server?.kill('SIGKILL');
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

// Desktop width, one fixed zone and language, so the pictures read the same for everyone.
test.use({ viewport: { width: 1440, height: 900 }, timezoneId: 'Europe/Berlin', locale: 'en-GB', colorScheme: 'light' });

async function signIn(page: Page) {
  const res = await page.request.post(`${baseURL}/login`, {
    form: { email: user.email, password: user.password, next: '/' },
    headers: { Origin: baseURL },
    maxRedirects: 0,
  });
  expect(res.status(), 'signing in to the demo server').toBe(303);
}

test('the README screenshots: the log and a failed trigger, on demo data', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location()?.url?.endsWith('/favicon.ico')) errors.push(m.text());
  });
  await signIn(page);
  fs.mkdirSync(SHOTS, { recursive: true });

  await page.goto(`${baseURL}/`);
  await waitForHydration(page);
  await expect(page.locator(ROWS)).toHaveCount(50);
  await page.screenshot({ path: path.join(SHOTS, 'log.png'), animations: 'disabled' });

  // A failed call: its page shows the attempt, the hint and the decision.
  await page.goto(`${baseURL}/?status=erroneous`);
  await waitForHydration(page);
  const id = await page.locator(ROWS).first().getAttribute('data-trigger-id');
  expect(id, 'the demo data holds a failed trigger').toBeTruthy();
  await page.goto(`${baseURL}/triggers/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('trigger-summary')).toBeVisible();
  await page.screenshot({ path: path.join(SHOTS, 'trigger.png'), animations: 'disabled' });

  expect(errors, 'errors in the browser console').toEqual([]);
  for (const f of ['log.png', 'trigger.png']) {
    expect(fs.statSync(path.join(SHOTS, f)).size, `${f} written`).toBeGreaterThan(20_000);
  }
});
