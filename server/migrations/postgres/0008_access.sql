-- Access: who created a trigger (`key:<id>`, `user:<id>`, `system`), so an `ingest`
-- caller reads only its own, and from which address an audited action came.
-- Idempotency keys are stored prefixed with the creator, so two applications
-- using the same key do not collide.
ALTER TABLE triggers ADD COLUMN created_by TEXT;
ALTER TABLE audit_log ADD COLUMN client TEXT;
