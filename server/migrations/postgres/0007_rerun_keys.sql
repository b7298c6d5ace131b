-- How many reruns were asked for: a rerun sends the Idempotency-Key and webhook-id
-- `{trigger id}.r{reruns}`, so a provider that caches by key executes it again, and
-- the retries and re-claims of that rerun keep sending the same key.
ALTER TABLE triggers ADD COLUMN reruns BIGINT NOT NULL DEFAULT 0;
