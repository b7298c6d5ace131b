import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import type { FullConfig } from '@playwright/test';

import { E2EState, seedData } from './seed';

const execFileAsync = promisify(execFile);

const HEALTH_TIMEOUT_MS = 30_000;

export const STATE_ENV = 'CALLTRAIL_E2E_STATE';

/** Ask the kernel for a free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not get a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

export default async function globalSetup(_config: FullConfig) {
  const bin = path.resolve(__dirname, process.env.CALLTRAIL_BIN || '../target/debug/calltrail');
  const siteRoot = path.resolve(__dirname, '../target/site');
  if (!fs.existsSync(bin)) {
    throw new Error(
      `calltrail binary not found at ${bin}; build it with \`cargo leptos build\` in the repository root, or set CALLTRAIL_BIN`,
    );
  }
  if (!fs.existsSync(path.join(siteRoot, 'pkg'))) {
    throw new Error(`no site at ${siteRoot}/pkg; build it with \`cargo leptos build\` in the repository root`);
  }

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'calltrail-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CALLTRAIL_DATABASE_URL: `sqlite://${path.join(tmpDir, 'e2e.db')}?mode=rwc`,
    CALLTRAIL_SECRET_KEY: randomBytes(32).toString('hex'),
    LEPTOS_SITE_ROOT: siteRoot,
    // Specs start fake providers on loopback ports; the SSRF guard lets only these through.
    CALLTRAIL_OUTBOUND_ALLOW: '127.0.0.1/32',
    RUST_LOG: process.env.RUST_LOG || 'info,sqlx=warn',
  };

  // The key is printed alone on the last line of stdout.
  const created = await execFileAsync(bin, ['api-key', 'create', '--name', 'e2e', '--role', 'admin'], {
    env,
    cwd: tmpDir,
    timeout: 30_000,
  });
  const lines = created.stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const apiKey = lines[lines.length - 1];
  if (!apiKey || /\s/.test(apiKey)) {
    throw new Error(`could not read the API key from \`calltrail api-key create\`:\n${created.stdout}\n${created.stderr}`);
  }

  // Every page needs a session: a user the specs sign in as (see signIn in tests/fixtures.ts).
  // `calltrail user add` reads the password from stdin when it is not a terminal.
  const users = {} as E2EState['users'];
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    const user = { email: role === 'admin' ? 'e2e@example.com' : `e2e-${role}@example.com`, password: randomBytes(18).toString('base64url') };
    execFileSync(bin, ['user', 'add', '--email', user.email, '--role', role], {
      env,
      cwd: tmpDir,
      input: `${user.password}\n`,
      timeout: 30_000,
    });
    users[role] = user;
  }
  const user = users.admin;

  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const logFile = path.join(tmpDir, 'server.log');
  const logFd = fs.openSync(logFile, 'a');
  const server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], {
    env,
    cwd: tmpDir,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited: string | null = null;
  server.on('exit', (code, signal) => {
    exited = `exited with code ${code} signal ${signal}`;
  });
  server.on('error', (e) => {
    exited = `failed to start: ${e.message}`;
  });
  // Don't keep the runner alive for the server's sake; teardown kills it.
  server.unref();

  const stop = () => {
    if (exited === null && server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };

  try {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    for (;;) {
      if (exited !== null) {
        throw new Error(`calltrail serve ${exited}; log:\n${tail(logFile)}`);
      }
      try {
        const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        throw new Error(`calltrail serve did not answer /healthz with 200 within ${HEALTH_TIMEOUT_MS / 1000}s; log:\n${tail(logFile)}`);
      }
      await sleep(200);
    }

    const seeded = await seedData(baseURL, apiKey);
    const state: E2EState = { baseURL, apiKey, user, users, tmpDir, pid: server.pid!, logFile, seeded };
    const stateFile = path.join(tmpDir, 'state.json');
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
    // Workers inherit the runner's environment.
    process.env[STATE_ENV] = stateFile;
  } catch (e) {
    stop();
    throw e;
  }
}
