-- Times are microseconds since the Unix epoch (UTC), as in the SQLite schema, so both
-- implementations share row mapping; ids are UUIDv7, so keyset cursors ride the key.

CREATE TABLE plugins (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    timeout_ms BIGINT NOT NULL,
    routes TEXT NOT NULL,
    default_route TEXT,
    headers TEXT NOT NULL,
    retry_policy TEXT NOT NULL,
    external_id_pointer TEXT,
    redact TEXT NOT NULL,
    auth_sealed BYTEA,
    signing_secret_sealed BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE triggers (
    id UUID PRIMARY KEY,
    plugin_id UUID NOT NULL REFERENCES plugins(id),
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
    attempts BIGINT NOT NULL DEFAULT 0,
    scheduled_at BIGINT NOT NULL,
    triggered_at BIGINT,
    finished_at BIGINT,
    next_attempt_at BIGINT,
    duration_ms BIGINT,
    external_id TEXT,
    last_error_class TEXT,
    last_error_message TEXT,
    last_error_status BIGINT,
    lease_owner TEXT,
    lease_expires_at BIGINT
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
    id UUID PRIMARY KEY,
    trigger_id UUID NOT NULL REFERENCES triggers(id),
    number BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    started_by_kind TEXT NOT NULL,
    started_by_actor TEXT,
    request_method TEXT NOT NULL,
    request_url TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT,
    response_status BIGINT,
    response_headers TEXT,
    response_body TEXT,
    response_truncated BOOLEAN NOT NULL DEFAULT FALSE,
    class TEXT NOT NULL,
    decision_action TEXT NOT NULL,
    decision_at BIGINT,
    decision_reason TEXT NOT NULL,
    UNIQUE (trigger_id, number)
);

CREATE TABLE trigger_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger_id UUID NOT NULL REFERENCES triggers(id),
    at BIGINT NOT NULL,
    step TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX trigger_logs_by_trigger ON trigger_logs (trigger_id, id);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
