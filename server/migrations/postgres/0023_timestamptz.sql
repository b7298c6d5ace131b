-- Times become `timestamptz`: what an operator querying by hand reads as a time,
-- and what partitioning a table by time needs. They were microseconds since the
-- Unix epoch in a BIGINT; `timestamptz` is microseconds too (since 2000), so the
-- conversion is exact and every index keeps its order. The interval arithmetic
-- (not `to_timestamp`, which goes through a double) keeps every microsecond.
-- Each table is rewritten once, with its indexes; on a large `triggers` table
-- this takes a while (see docs/operations.md, "Upgrades").
CREATE FUNCTION pg_temp.calltrail_time(us BIGINT) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'epoch'::timestamptz + us * INTERVAL '1 microsecond' $$;

ALTER TABLE plugins
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.calltrail_time(created_at),
    ALTER COLUMN updated_at TYPE timestamptz USING pg_temp.calltrail_time(updated_at);

ALTER TABLE triggers
    ALTER COLUMN scheduled_at TYPE timestamptz USING pg_temp.calltrail_time(scheduled_at),
    ALTER COLUMN triggered_at TYPE timestamptz USING pg_temp.calltrail_time(triggered_at),
    ALTER COLUMN finished_at TYPE timestamptz USING pg_temp.calltrail_time(finished_at),
    ALTER COLUMN next_attempt_at TYPE timestamptz USING pg_temp.calltrail_time(next_attempt_at),
    ALTER COLUMN lease_expires_at TYPE timestamptz USING pg_temp.calltrail_time(lease_expires_at),
    ALTER COLUMN details_removed_at TYPE timestamptz USING pg_temp.calltrail_time(details_removed_at);

ALTER TABLE attempts
    ALTER COLUMN started_at TYPE timestamptz USING pg_temp.calltrail_time(started_at),
    ALTER COLUMN decision_at TYPE timestamptz USING pg_temp.calltrail_time(decision_at);

ALTER TABLE trigger_logs
    ALTER COLUMN at TYPE timestamptz USING pg_temp.calltrail_time(at);

ALTER TABLE api_keys
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.calltrail_time(created_at),
    ALTER COLUMN revoked_at TYPE timestamptz USING pg_temp.calltrail_time(revoked_at),
    ALTER COLUMN expires_at TYPE timestamptz USING pg_temp.calltrail_time(expires_at),
    ALTER COLUMN last_used_at TYPE timestamptz USING pg_temp.calltrail_time(last_used_at);

ALTER TABLE audit_log
    ALTER COLUMN at TYPE timestamptz USING pg_temp.calltrail_time(at);

ALTER TABLE trigger_migrations
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.calltrail_time(created_at),
    ALTER COLUMN finished_at TYPE timestamptz USING pg_temp.calltrail_time(finished_at),
    ALTER COLUMN lease_expires_at TYPE timestamptz USING pg_temp.calltrail_time(lease_expires_at);

ALTER TABLE users
    ALTER COLUMN disabled_at TYPE timestamptz USING pg_temp.calltrail_time(disabled_at),
    ALTER COLUMN password_changed_at TYPE timestamptz USING pg_temp.calltrail_time(password_changed_at),
    ALTER COLUMN created_at TYPE timestamptz USING pg_temp.calltrail_time(created_at),
    ALTER COLUMN updated_at TYPE timestamptz USING pg_temp.calltrail_time(updated_at),
    ALTER COLUMN last_sign_in_at TYPE timestamptz USING pg_temp.calltrail_time(last_sign_in_at);

ALTER TABLE sessions
    ALTER COLUMN expires_at TYPE timestamptz USING pg_temp.calltrail_time(expires_at);

ALTER TABLE job_leases
    ALTER COLUMN expires_at TYPE timestamptz USING pg_temp.calltrail_time(expires_at);
