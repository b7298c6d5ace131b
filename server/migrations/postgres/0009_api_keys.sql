-- API keys that can be managed: a plugin scope (a JSON list of plugin ids, so a
-- rename keeps it; NULL is every plugin), an expiry, when the key was last used
-- (written at most once a minute per key) and who created it. `revoked_at` exists
-- since 0001; a revoked key stays, so the audit trail and the list can name it.
ALTER TABLE api_keys ADD COLUMN plugins TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
-- The audit trail filtered by who or by what, newest first.
CREATE INDEX audit_log_by_actor ON audit_log (actor, at DESC, id DESC);
CREATE INDEX audit_log_by_action ON audit_log (action, at DESC, id DESC);
