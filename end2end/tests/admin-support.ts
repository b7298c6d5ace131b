/**
 * What the plugins and migration specs share: their own data through the REST
 * API (as the admin key), a fake provider on loopback, and the accessibility check.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

import { expect } from './fixtures';

/** A name no other spec uses: `prefix-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Call the REST API as the suite's admin key; the answer's JSON and status. */
export async function api(
  state: { baseURL: string; apiKey: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${state.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${state.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Like `api`, failing the test unless the answer has `want` as its status. */
export async function apiOk(
  state: { baseURL: string; apiKey: string },
  method: string,
  path: string,
  body: unknown,
  want: number,
): Promise<any> {
  const { status, json } = await api(state, method, path, body);
  expect(status, `${method} ${path}: ${JSON.stringify(json)}`).toBe(want);
  return json;
}

/** A provider on 127.0.0.1 answering each request with what `answer` says. */
export async function fakeProvider(
  answer: (req: http.IncomingMessage) => { status: number; body: unknown },
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(req);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      // The executor's pooled keep-alive connections (or a retry in flight) would
      // otherwise hold the close until they time out.
      server.closeAllConnections();
    }),
  };
}

/** Report a call the application made itself, `agoMs` before now, for `plugin`. */
export async function reportCall(
  state: { baseURL: string; apiKey: string },
  plugin: string,
  status: number,
  agoMs: number,
  entityId = uniqueName('INV'),
): Promise<{ id: string; startedAt: Date }> {
  const startedAt = new Date(Date.now() - agoMs);
  startedAt.setUTCMilliseconds(0);
  const trigger = await apiOk(
    state,
    'POST',
    '/api/v1/calls',
    {
      plugin,
      event_type: 'invoice.created',
      entity: { type: 'invoice', id: entityId },
      payload: { n: 1 },
      request: { method: 'POST', url: 'https://provider.example/invoices', headers: {} },
      response: { status, headers: {}, body: '{}' },
      started_at: startedAt.toISOString(),
      duration_ms: 200,
    },
    201,
  );
  return { id: trigger.id, startedAt };
}

/** Wait until a trigger has `status`, read through the REST API. */
export async function waitForStatus(state: { baseURL: string; apiKey: string }, id: string, status: string) {
  await expect
    .poll(async () => (await api(state, 'GET', `/api/v1/triggers/${id}`)).json?.trigger?.status, { timeout: 20_000 })
    .toBe(status);
}

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, 'serious or critical accessibility violations').toEqual([]);
}

/**
 * Take out of the fixture's error list the entries a test provoked on purpose
 * (a refusal the page must show), failing if they are not there.
 */
export function expectProvokedErrors(errors: string[], pattern: RegExp) {
  const provoked = errors.filter((e) => pattern.test(e));
  expect(provoked.length, `expected errors matching ${pattern} in ${JSON.stringify(errors)}`).toBeGreaterThan(0);
  const rest = errors.filter((e) => !pattern.test(e));
  errors.splice(0, errors.length, ...rest);
}
