-- The count per status for one plugin's triggers (the log's counts, `GET
-- /api/v1/triggers/count?plugin=…`) is read from this index alone: with the status
-- in it, counting a plugin's 300,000 triggers no longer reads each one's row
-- (SQLite: 670 ms at 1,000,000 triggers). The list's order for a plugin is the same.
DROP INDEX triggers_by_plugin;
CREATE INDEX triggers_by_plugin ON triggers (plugin_id, scheduled_at DESC, id DESC, status);
