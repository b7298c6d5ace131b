-- Trigger migrations run once. A running migration belongs to one instance under a
-- lease; the set of triggers a rerun re-executes is fixed when it starts; each item
-- is recorded by its position, in the same transaction as the trigger it creates or
-- re-queues, so a crash or a restart never processes it twice.
ALTER TABLE trigger_migrations ADD COLUMN owner TEXT;
ALTER TABLE trigger_migrations ADD COLUMN lease_expires_at INTEGER;

ALTER TABLE trigger_migration_items ADD COLUMN position INTEGER;
-- Items recorded before positions existed were created in order (v7 ids sort by time).
UPDATE trigger_migration_items SET position = (
    SELECT COUNT(*) FROM trigger_migration_items i
    WHERE i.migration_id = trigger_migration_items.migration_id
      AND i.trigger_id < trigger_migration_items.trigger_id);
CREATE UNIQUE INDEX trigger_migration_items_position
    ON trigger_migration_items (migration_id, position);

-- The triggers a rerun migration re-executes, in the order it re-executes them.
CREATE TABLE trigger_migration_set (
    migration_id BLOB NOT NULL REFERENCES trigger_migrations(id),
    position INTEGER NOT NULL,
    trigger_id BLOB NOT NULL,
    PRIMARY KEY (migration_id, position)
);

-- A rerun left running by an older version has no fixed set to carry on with: it
-- ends as cancelled, with what it did; start a new one for the rest.
UPDATE trigger_migrations SET status = 'cancelled', finished_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
    WHERE status = 'running' AND kind = 'rerun';
