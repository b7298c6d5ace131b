/**
 * A fake provider for the specs that need real calls: a Node HTTP server on a
 * loopback port, answering each entity's path (`/orders/{entity_id}`) as the
 * test says, and a plugin of the spec's own pointing at it. Triggers are created
 * through the REST API with the admin key, as an application would.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

import type { E2EState } from '../seed';

export interface Answer {
  status: number;
  body: string | Buffer;
  contentType?: string;
}

export interface Provider {
  url: string;
  /** How the provider answers calls about this entity id, from now on. */
  answer(entityId: string, answer: Answer): void;
  /** The bodies it received for this entity id, in order. */
  received(entityId: string): string[];
  close(): Promise<void>;
}

export async function startProvider(): Promise<Provider> {
  const answers = new Map<string, Answer>();
  const bodies = new Map<string, string[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entityId = decodeURIComponent((req.url ?? '').split('?')[0].split('/').pop() ?? '');
      bodies.set(entityId, [...(bodies.get(entityId) ?? []), Buffer.concat(chunks).toString('utf8')]);
      const a = answers.get(entityId) ?? { status: 404, body: '{"error":"unknown entity"}' };
      res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    answer: (entityId, a) => answers.set(entityId, a),
    received: (entityId) => bodies.get(entityId) ?? [],
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      // The executor's pooled keep-alive connections (or a retry in flight) would
      // otherwise hold the close until they time out.
      server.closeAllConnections();
    }),
  };
}

/**
 * The suite's state, for `beforeAll` hooks: the `state` fixture is per test,
 * which hooks cannot use.
 */
export function loadState(): E2EState {
  return JSON.parse(fs.readFileSync(process.env.CALLTRAIL_E2E_STATE!, 'utf8'));
}

/** A name no other spec uses. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function api(state: E2EState, method: string, path: string, body?: unknown, key = state.apiKey) {
  const res = await fetch(`${state.baseURL}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** The secret the plugin sends as its bearer token: it must never reach a page. */
export const PLANTED_TOKEN = 'PLANTED_TRIGGER_PAGE_SECRET';

/** A plugin of the spec's own, calling `provider` at `/orders/{entity_id}`. */
export async function createPlugin(state: E2EState, provider: Provider, displayName: string) {
  const name = unique('trig');
  const created = await api(state, 'POST', '/plugins', {
    name,
    display_name: displayName,
    base_url: provider.url,
    routes: { 'order.sent': { method: 'POST', path: '/orders/{entity_id}' } },
    auth: { type: 'bearer', token: PLANTED_TOKEN },
    external_id_pointer: '/id',
    retry_policy: { schedule_secs: [2], max_attempts: 6, jitter_pct: 0, retry_after_cap_secs: 5 },
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return name;
}

export interface NewTrigger {
  plugin: string;
  entityId: string;
  aggregationKey?: string;
  payload?: unknown;
}

export async function createTrigger(state: E2EState, t: NewTrigger): Promise<string> {
  const created = await api(state, 'POST', '/triggers', {
    plugin: t.plugin,
    event_type: 'order.sent',
    action: 'Send order',
    entity: { type: 'order', id: t.entityId },
    initiator: { kind: 'automation', name: 'e2e run' },
    payload: t.payload ?? { amount: 1200, currency: 'EUR', paid: true, note: null },
    aggregation_key: t.aggregationKey,
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json.id;
}

/** The trigger as the REST API reads it (admin). */
export async function readTrigger(state: E2EState, id: string) {
  const got = await api(state, 'GET', `/triggers/${id}`);
  expect(got.status).toBe(200);
  return got.json as { trigger: { status: string; attempts: number }; attempts: any[]; logs: any[] };
}

/** Wait until the executor has brought the trigger to `status`. */
export async function waitForStatus(state: E2EState, id: string, status: string) {
  await expect
    .poll(async () => (await readTrigger(state, id)).trigger.status, { timeout: 20_000 })
    .toBe(status);
}

/** Open a trigger's page and wait until the browser has taken it over. */
export async function openTrigger(page: Page, id: string) {
  await page.goto(`/triggers/${id}`);
  await expect(page.getByTestId('trigger-page')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
}

/** axe-core finds nothing serious or critical on the page as it stands. */
export async function expectAccessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `accessibility of ${what}`).toEqual([]);
}

/** The badge of the trigger whose page is open. */
export function statusBadge(page: Page) {
  return page.getByTestId('trigger-status').locator('.badge');
}
