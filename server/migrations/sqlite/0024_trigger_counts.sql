-- How many triggers each plugin has in each status, kept by the database itself
-- on every insert, status change and deletion, whoever writes. The log's counts
-- for no filter, a plugin or a status (`GET /api/v1/triggers/count`) read these
-- few rows instead of walking up to every trigger's index entry (SQLite at
-- 1,000,000 triggers: 44 ms for all, 84-190 ms for one plugin). One writer at a
-- time, so one row per (plugin, status) kept exact in place.
CREATE TABLE trigger_counts (
    plugin_id BLOB NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (plugin_id, status)
) WITHOUT ROWID;

INSERT INTO trigger_counts (plugin_id, status, n)
    SELECT plugin_id, status, COUNT(*) FROM triggers GROUP BY plugin_id, status;

CREATE TRIGGER triggers_counted_insert AFTER INSERT ON triggers BEGIN
    INSERT INTO trigger_counts (plugin_id, status, n) VALUES (NEW.plugin_id, NEW.status, 1)
        ON CONFLICT (plugin_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER triggers_counted_delete AFTER DELETE ON triggers BEGIN
    UPDATE trigger_counts SET n = n - 1 WHERE plugin_id = OLD.plugin_id AND status = OLD.status;
END;

CREATE TRIGGER triggers_counted_update AFTER UPDATE OF status, plugin_id ON triggers
    WHEN OLD.status IS NOT NEW.status OR OLD.plugin_id IS NOT NEW.plugin_id BEGIN
    UPDATE trigger_counts SET n = n - 1 WHERE plugin_id = OLD.plugin_id AND status = OLD.status;
    INSERT INTO trigger_counts (plugin_id, status, n) VALUES (NEW.plugin_id, NEW.status, 1)
        ON CONFLICT (plugin_id, status) DO UPDATE SET n = n + 1;
END;
