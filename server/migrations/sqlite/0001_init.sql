-- Times are microseconds since the Unix epoch (UTC); ids are UUIDv7 as 16-byte blobs,
-- so keyset cursors and date ranges ride the same ordering in SQLite and PostgreSQL.

CREATE TABLE plugins (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    active INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    routes TEXT NOT NULL,
    default_route TEXT,
    headers TEXT NOT NULL,
    retry_policy TEXT NOT NULL,
    external_id_pointer TEXT,
    redact TEXT NOT NULL,
    auth_sealed BLOB,
    signing_secret_sealed BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE triggers (
    id BLOB PRIMARY KEY,
    plugin_id BLOB NOT NULL REFERENCES plugins(id),
    event_type TEXT NOT NULL,
    action TEXT,
    entity_type TEXT,
    entity_id TEXT,
    initiator_kind TEXT NOT NULL,
    initiator_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    aggregation_key TEXT,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    scheduled_at INTEGER NOT NULL,
    triggered_at INTEGER,
    finished_at INTEGER,
    next_attempt_at INTEGER,
    duration_ms INTEGER,
    external_id TEXT,
    last_error_class TEXT,
    last_error_message TEXT,
    last_error_status INTEGER,
    lease_owner TEXT,
    lease_expires_at INTEGER
);

-- Listing is newest first on (scheduled_at, id); one index per filter the UI offers.
CREATE INDEX triggers_by_scheduled ON triggers (scheduled_at DESC, id DESC);
CREATE INDEX triggers_by_plugin ON triggers (plugin_id, scheduled_at DESC, id DESC);
CREATE INDEX triggers_by_status ON triggers (status, scheduled_at DESC, id DESC);
CREATE INDEX triggers_by_event_type ON triggers (event_type, scheduled_at DESC, id DESC);
CREATE INDEX triggers_by_entity ON triggers (entity_type, entity_id, scheduled_at DESC, id DESC)
    WHERE entity_type IS NOT NULL;
CREATE INDEX triggers_by_aggregation ON triggers (aggregation_key, scheduled_at DESC, id DESC)
    WHERE aggregation_key IS NOT NULL;
CREATE INDEX triggers_by_triggered ON triggers (triggered_at DESC, id DESC)
    WHERE triggered_at IS NOT NULL;
-- The executor's due work: small, because final triggers leave it.
CREATE INDEX triggers_due ON triggers (next_attempt_at)
    WHERE status IN ('not_yet_started', 'retrying');

CREATE TABLE attempts (
    id BLOB PRIMARY KEY,
    trigger_id BLOB NOT NULL REFERENCES triggers(id),
    number INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    started_by_kind TEXT NOT NULL,
    started_by_actor TEXT,
    request_method TEXT NOT NULL,
    request_url TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT,
    response_status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    response_truncated INTEGER NOT NULL DEFAULT 0,
    class TEXT NOT NULL,
    decision_action TEXT NOT NULL,
    decision_at INTEGER,
    decision_reason TEXT NOT NULL,
    UNIQUE (trigger_id, number)
);

CREATE TABLE trigger_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger_id BLOB NOT NULL REFERENCES triggers(id),
    at INTEGER NOT NULL,
    step TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX trigger_logs_by_trigger ON trigger_logs (trigger_id, id);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
