// Time to first rows: the release binary with demo data, the log opened in Chromium
// five times (fresh page, warm server), timed from navigation start to the first row
// in the document (server-rendered), to its first paint, to the wasm downloaded, and to
// the app hydrated (`<html data-hydrated>`: the page answers clicks). The moments are
// taken inside the page (a MutationObserver installed before the document loads), not
// by polling from Playwright, which would add its own round trips.
//
// Build first: `cargo leptos build --release`; needs end2end/node_modules (npm ci).
// Run: `node bench/scripts/first-rows.mjs`. 127.0.0.1 only; bounded: 5 loads, 60 s each.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const require = createRequire(path.join(root, 'end2end/package.json'));
const { chromium } = require('@playwright/test');

const bin = path.join(root, 'target/release/calltrail');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calltrail-first-rows-'));
const env = {
  ...process.env,
  CALLTRAIL_DATABASE_URL: `sqlite://${dir}/bench.db?mode=rwc`,
  CALLTRAIL_SECRET_KEY_FILE: path.join(dir, 'calltrail.key'),
  CALLTRAIL_EMBED_KEY_FILE: path.join(dir, 'calltrail-embed.key'),
  LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
  RUST_LOG: 'warn',
};
const run = (args, input) => execFileSync(bin, args, { env, cwd: dir, input, timeout: 60_000 }).toString();

run(['migrate']);
run(['demo', '--triggers', '600']);
const password = randomBytes(12).toString('hex');
run(['user', 'add', '--email', 'bench@example.com', '--role', 'admin'], `${password}\n`);

const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--executor', 'off'], { env, cwd: dir });
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
  server.stdout.on('data', (chunk) => {
    const m = /Calltrail listening on (\S+)/.exec(chunk.toString());
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = { firstRow: [], paint: [], wasm: [], hydrated: [] };
try {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const seen = () => {
      if (window.__firstRow === undefined
        && document.querySelector('[data-testid="trigger-table"] tbody tr, [data-testid="trigger-card"]')) {
        window.__firstRow = performance.now();
      }
      if (window.__hydrated === undefined && document.documentElement.hasAttribute('data-hydrated')) {
        window.__hydrated = performance.now();
      }
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true });
  });
  const signIn = await context.request.post(`${base}/login`, {
    form: { email: 'bench@example.com', password, next: '/' },
    headers: { Origin: base },
    maxRedirects: 0,
  });
  if (signIn.status() !== 303) throw new Error(`sign-in answered ${signIn.status()}`);
  for (let i = 0; i < 6; i++) {
    const page = await context.newPage();
    await page.goto(`${base}/`, { waitUntil: 'commit', timeout: 60_000 });
    await page.waitForFunction(() => window.__firstRow !== undefined && window.__hydrated !== undefined, null, { timeout: 60_000 });
    const t = await page.evaluate(() => {
      const wasm = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm'));
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return {
        firstRow: window.__firstRow,
        paint: paint ? paint.startTime : NaN,
        wasm: wasm ? wasm.responseEnd : NaN,
        hydrated: window.__hydrated,
      };
    });
    if (i > 0) {
      // The first load fills the browser's and the server's caches: not counted.
      for (const k of Object.keys(results)) results[k].push(t[k]);
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
const ms = (x) => `${x.toFixed(0)} ms`;
console.log(`time to first rows (median of ${results.firstRow.length}, 600 demo triggers, release build):`);
console.log(`  first row in the document (server-rendered): ${ms(median(results.firstRow))}`);
console.log(`  first contentful paint:                      ${ms(median(results.paint))}`);
console.log(`  wasm downloaded:                             ${ms(median(results.wasm))}`);
console.log(`  hydrated (answers clicks):                   ${ms(median(results.hydrated))}`);
