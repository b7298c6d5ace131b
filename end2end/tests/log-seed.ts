/**
 * Data the log's specs make for themselves through the REST API: their own
 * plugins (unique names) and triggers, so that what they assert does not depend
 * on what other specs put in the shared server.
 */
import { randomBytes } from 'node:crypto';

import type { E2EState } from '../seed';

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

async function api(state: E2EState, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${state.baseURL}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.apiKey}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) {
    throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  }
  return JSON.parse(text);
}

/** A plugin of our own with routes for `eventTypes`; one attempt, no retries. */
export async function plugin(
  state: E2EState,
  name: string,
  opts: { displayName?: string; eventTypes?: string[]; baseUrl?: string } = {},
): Promise<any> {
  const routes: Record<string, { method: string; path: string }> = {};
  for (const t of opts.eventTypes ?? ['invoice.created']) routes[t] = { method: 'POST', path: '/hook' };
  return api(state, 'POST', '/api/v1/plugins', {
    name,
    display_name: opts.displayName ?? name,
    base_url: opts.baseUrl ?? 'https://provider.example.com',
    routes,
    retry_policy: { schedule_secs: [5], max_attempts: 1, jitter_pct: 0, retry_after_cap_secs: 60 },
  });
}

export interface Call {
  plugin: string;
  eventType?: string;
  entity?: { type: string; id: string };
  action?: string;
  aggregationKey?: string;
  status?: number;
  startedAt: string;
}

/** A call the application made itself: finished on 2xx, erroneous otherwise. */
export async function report(state: E2EState, c: Call): Promise<any> {
  return api(state, 'POST', '/api/v1/calls', {
    plugin: c.plugin,
    event_type: c.eventType ?? 'invoice.created',
    action: c.action,
    entity: c.entity,
    aggregation_key: c.aggregationKey,
    initiator: { kind: 'automation', name: 'Nightly billing run' },
    payload: { n: 1 },
    request: { method: 'POST', url: 'https://provider.example.com/hook', headers: {}, body: '{}' },
    response: { status: c.status ?? 200, headers: {}, body: c.status && c.status >= 400 ? '{"error":"bad"}' : '{"id":"ext-1"}' },
    started_at: c.startedAt,
    duration_ms: 240,
  });
}

/** Erase every payload, body and log line of one entity's triggers now (admin). */
export async function erase(state: E2EState, entity: { type: string; id: string }, reason: string): Promise<any> {
  return api(state, 'DELETE', `/api/v1/entities/${entity.type}/${entity.id}/data`, { reason });
}

/** A trigger for the executor, due at `runAt`. */
export async function trigger(
  state: E2EState,
  t: { plugin: string; eventType?: string; entity?: { type: string; id: string }; runAt: string; action?: string },
): Promise<any> {
  return api(state, 'POST', '/api/v1/triggers', {
    plugin: t.plugin,
    event_type: t.eventType ?? 'invoice.created',
    action: t.action,
    entity: t.entity,
    payload: { n: 1 },
    run_at: t.runAt,
  });
}

/** `at` plus `minutes`, as RFC 3339. */
export function minutesAfter(at: string, minutes: number): string {
  return new Date(Date.parse(at) + minutes * 60_000).toISOString();
}
