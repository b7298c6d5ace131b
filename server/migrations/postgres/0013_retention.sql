-- Retention: when a trigger's details (payload, attempts, logs) were removed, and
-- why ('retention' after the detail TTL, 'erasure' on request); the summary row
-- stays until the summary TTL. One lease per background job, so that several
-- instances on one database do not prune at once.
ALTER TABLE triggers ADD COLUMN details_removed_at BIGINT;
ALTER TABLE triggers ADD COLUMN details_removed_why TEXT;
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- Summary deletion removes a trigger's migration items by trigger.
CREATE INDEX trigger_migration_items_by_trigger ON trigger_migration_items (trigger_id);
