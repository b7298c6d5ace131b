-- How many triggers each plugin has in each status, kept by the database itself
-- on every insert, status change and deletion, whoever writes. The log's counts
-- for no filter, a plugin or a status (`GET /api/v1/triggers/count`) read these
-- rows instead of walking up to every trigger's index entry (PostgreSQL at
-- 1,000,000 triggers: 93-127 ms).
--
-- Several transactions write at once here (ingest, claims, outcomes, instances),
-- and one counter row per (plugin, status) would make each wait for the others'
-- commit. So each statement on `triggers` adds rows of differences instead (one
-- per plugin and status it changed, from its transition tables: one trigger call
-- per statement, not per row), the count is their sum, and the server folds them
-- into one row per key every few seconds (`PgStore`'s count folding).
CREATE TABLE trigger_counts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plugin_id UUID NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL
);

INSERT INTO trigger_counts (plugin_id, status, n)
    SELECT plugin_id, status, COUNT(*) FROM triggers GROUP BY plugin_id, status;

CREATE FUNCTION calltrail_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_counts (plugin_id, status, n)
        SELECT plugin_id, status, COUNT(*) FROM counted_new GROUP BY plugin_id, status;
    RETURN NULL;
END $$;

CREATE FUNCTION calltrail_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_counts (plugin_id, status, n)
        SELECT plugin_id, status, -COUNT(*) FROM counted_old GROUP BY plugin_id, status;
    RETURN NULL;
END $$;

CREATE FUNCTION calltrail_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_counts (plugin_id, status, n)
        SELECT plugin_id, status, SUM(n) FROM (
            SELECT plugin_id, status, 1 AS n FROM counted_new
            UNION ALL
            SELECT plugin_id, status, -1 AS n FROM counted_old
        ) AS changed
        GROUP BY plugin_id, status HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER triggers_counted_insert AFTER INSERT ON triggers
    REFERENCING NEW TABLE AS counted_new
    FOR EACH STATEMENT EXECUTE FUNCTION calltrail_count_inserted();
CREATE TRIGGER triggers_counted_delete AFTER DELETE ON triggers
    REFERENCING OLD TABLE AS counted_old
    FOR EACH STATEMENT EXECUTE FUNCTION calltrail_count_deleted();
CREATE TRIGGER triggers_counted_update AFTER UPDATE ON triggers
    REFERENCING OLD TABLE AS counted_old NEW TABLE AS counted_new
    FOR EACH STATEMENT EXECUTE FUNCTION calltrail_count_updated();
