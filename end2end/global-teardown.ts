import * as fs from 'node:fs';

import type { E2EState } from './seed';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop the server global-setup started, and remove its temp dir. */
export default async function globalTeardown() {
  const stateFile = process.env.CALLTRAIL_E2E_STATE;
  if (!stateFile || !fs.existsSync(stateFile)) return;
  const state: E2EState = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (alive(state.pid) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
  }
  if (process.env.CALLTRAIL_E2E_KEEP_TMP) {
    console.log(`calltrail e2e: kept ${state.tmpDir} (server log: ${state.logFile})`);
  } else {
    fs.rmSync(state.tmpDir, { recursive: true, force: true });
  }
}
