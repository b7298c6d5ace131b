-- Retention deletes whole triggers by the million. With a foreign key from each of
-- `attempts`, `trigger_logs`, `trigger_search` and `trigger_migration_items` to
-- `triggers`, PostgreSQL checks every deleted trigger once per key, row by row
-- (`EXPLAIN ANALYZE` of a 500-trigger batch at 1,000,000 triggers: the deletes
-- 6 ms, the four keys' checks 24 ms). The storage layer already removes a
-- trigger's children first, in the same transaction as the trigger itself
-- (`Store::delete_triggers`); the retention tests check that nothing of a removed
-- trigger is left behind. (A migration step that finds its trigger gone records it
-- as done, which the key used to refuse.) SQLite keeps its keys: there a check is
-- an index probe inside the same call, not a trigger per row.
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_trigger_id_fkey;
ALTER TABLE trigger_logs DROP CONSTRAINT IF EXISTS trigger_logs_trigger_id_fkey;
ALTER TABLE trigger_search DROP CONSTRAINT IF EXISTS trigger_search_trigger_id_fkey;
ALTER TABLE trigger_migration_items DROP CONSTRAINT IF EXISTS trigger_migration_items_trigger_id_fkey;
