/**
 * What global-setup puts in the fresh server, through the REST API, and what the
 * tests are told about it.
 */

export interface SeededTrigger {
  id: string;
  plugin: string;
  eventType: string;
  entity: string; // as the table shows it: "type / id"
  status: 'not_yet_started' | 'running' | 'retrying' | 'finished' | 'erroneous';
  word: string; // the badge's word
  startedAt?: string; // reported calls only
}

export interface Seeded {
  /** stripe trigger queued for later: not yet started. Newest (scheduled a day ahead). */
  queued: SeededTrigger;
  /** xero call reported with a 422 at 2026-11-24T10:00:00Z: erroneous. */
  xeroFailed: SeededTrigger;
  /** stripe call reported with a 200 at 2026-11-23T09:30:00Z: finished. */
  stripeDone: SeededTrigger;
  /** xero call reported with a 200 at 2026-11-22T08:00:00Z: finished. Oldest. */
  xeroDone: SeededTrigger;
  /** Ids newest first, as the log must list them. */
  newestFirst: string[];
}

export type Role = 'admin' | 'operator' | 'viewer';

export interface E2EState {
  baseURL: string;
  apiKey: string;
  /** An admin user the specs sign in as (created by `calltrail user add`). */
  user: { email: string; password: string };
  /** One user per role the UI distinguishes; `users.admin` is `user`. */
  users: Record<Role, { email: string; password: string }>;
  tmpDir: string;
  pid: number;
  logFile: string;
  seeded: Seeded;
}

async function post(baseURL: string, apiKey: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) {
    throw new Error(`POST ${path} answered ${res.status}, not 201: ${text}`);
  }
  return JSON.parse(text);
}

function expectStatus(what: string, got: unknown, want: string) {
  if (got !== want) {
    throw new Error(`${what}: the API answered status ${JSON.stringify(got)}, expected ${want}`);
  }
}

export async function seedData(baseURL: string, apiKey: string): Promise<Seeded> {
  await post(baseURL, apiKey, '/api/v1/plugins', {
    name: 'stripe',
    display_name: 'Stripe',
    base_url: 'https://api.stripe.com',
    routes: { 'invoice.available': { method: 'POST', path: '/v1/invoices' } },
  });
  await post(baseURL, apiKey, '/api/v1/plugins', {
    name: 'xero',
    display_name: 'Xero',
    base_url: 'https://api.xero.com',
    routes: { 'invoice.created': { method: 'POST', path: '/api.xro/2.0/Invoices' } },
  });

  // A plugin with no triggers, so a filter can match nothing.
  await post(baseURL, apiKey, '/api/v1/plugins', {
    name: 'hubspot',
    display_name: 'HubSpot',
    base_url: 'https://api.hubapi.com',
    routes: { 'deal.won': { method: 'POST', path: '/crm/v3/objects/deals' } },
  });

  const call = (
    plugin: string,
    eventType: string,
    entityId: string,
    url: string,
    status: number,
    startedAt: string,
  ) =>
    post(baseURL, apiKey, '/api/v1/calls', {
      plugin,
      event_type: eventType,
      action: `Send ${entityId}`,
      entity: { type: 'invoice', id: entityId },
      payload: { a: 1 },
      request: { method: 'POST', url, headers: {}, body: '{}' },
      response: {
        status,
        headers: {},
        body: status >= 400 ? '{"error":"bad"}' : '{"ok":true}',
      },
      started_at: startedAt,
      duration_ms: 240,
    });

  // Ingested in an order different from the one the log must show.
  const xeroDone = await call('xero', 'invoice.created', 'INV-8', 'https://api.xero.com/x', 200, '2026-11-22T08:00:00Z');
  expectStatus('reported 200 call', xeroDone.status, 'finished');
  const xeroFailed = await call('xero', 'invoice.created', 'INV-7', 'https://api.xero.com/x', 422, '2026-11-24T10:00:00Z');
  expectStatus('reported 422 call', xeroFailed.status, 'erroneous');

  // Scheduled a day ahead so it stays "not yet started" even once an executor runs.
  const runAt = new Date(Date.now() + 24 * 3600 * 1000);
  runAt.setUTCMilliseconds(0);
  const queued = await post(baseURL, apiKey, '/api/v1/triggers', {
    plugin: 'stripe',
    event_type: 'invoice.available',
    action: 'Create invoice',
    entity: { type: 'invoice', id: 'INV-1' },
    // The token must show as [redacted] wherever the payload is shown.
    payload: { amount: 1, card: { token: 'PLANTED_E2E_SECRET' } },
    run_at: runAt.toISOString(),
  });
  expectStatus('new trigger', queued.status, 'not_yet_started');

  const stripeDone = await call('stripe', 'invoice.available', 'INV-2', 'https://api.stripe.com/v1/invoices', 200, '2026-11-23T09:30:00Z');
  expectStatus('reported 200 call', stripeDone.status, 'finished');

  const seeded: Seeded = {
    queued: {
      id: queued.id,
      plugin: 'stripe',
      eventType: 'invoice.available',
      entity: 'invoice / INV-1',
      status: 'not_yet_started',
      word: 'Not yet started',
    },
    xeroFailed: {
      id: xeroFailed.id,
      plugin: 'xero',
      eventType: 'invoice.created',
      entity: 'invoice / INV-7',
      status: 'erroneous',
      word: 'Erroneous',
      startedAt: '2026-11-24T10:00:00Z',
    },
    stripeDone: {
      id: stripeDone.id,
      plugin: 'stripe',
      eventType: 'invoice.available',
      entity: 'invoice / INV-2',
      status: 'finished',
      word: 'Finished',
      startedAt: '2026-11-23T09:30:00Z',
    },
    xeroDone: {
      id: xeroDone.id,
      plugin: 'xero',
      eventType: 'invoice.created',
      entity: 'invoice / INV-8',
      status: 'finished',
      word: 'Finished',
      startedAt: '2026-11-22T08:00:00Z',
    },
    newestFirst: [],
  };
  seeded.newestFirst = [seeded.queued.id, seeded.xeroFailed.id, seeded.stripeDone.id, seeded.xeroDone.id];
  return seeded;
}
