-- Trigger migrations: re-execute what matches a filter, or create triggers that never
-- existed, as a background job with a reason, progress and an audit row.
CREATE TABLE trigger_migrations (
    id UUID PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT
);

CREATE TABLE trigger_migration_items (
    migration_id UUID NOT NULL REFERENCES trigger_migrations(id),
    trigger_id UUID NOT NULL REFERENCES triggers(id),
    PRIMARY KEY (migration_id, trigger_id)
);
