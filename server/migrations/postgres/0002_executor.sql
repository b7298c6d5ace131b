-- The executor: a pending manual or migration run waits on the trigger itself,
-- expired leases are found through their own small index, and who re-ran what is audited.
ALTER TABLE triggers ADD COLUMN run_kind TEXT;
ALTER TABLE triggers ADD COLUMN run_actor TEXT;
ALTER TABLE triggers ADD COLUMN run_reason TEXT;
ALTER TABLE triggers ADD COLUMN resume_retries BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX triggers_running_leases ON triggers (lease_expires_at) WHERE status = 'running';

CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at DESC, id DESC);
