-- Search (the list's `q`): what a trigger can be found by, lower-cased, one row per
-- trigger beside it, so that status updates (never HOT: status is indexed) do not
-- re-insert its trigrams. `head` is the action, event type and entity id; `body` the
-- text and number values of the payload as stored in clear (sealed values are not
-- there; NULL once retention or an erasure removed the details); `ext` the external
-- id. The writes keep it in step (see server/src/storage/search.rs).
--
-- pg_trgm must be allowed: the migration creates it (a superuser, the database's
-- owner on PostgreSQL 13+ where pg_trgm is trusted, or an extension created
-- beforehand by an administrator). See docs/operations.md.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE trigger_search (
    trigger_id UUID PRIMARY KEY REFERENCES triggers(id),
    head TEXT NOT NULL,
    body TEXT,
    ext TEXT
);

-- Existing triggers: the payload's string and number leaves, without the sealed
-- values' ciphertext. A payload PostgreSQL cannot read as jsonb is left unsearchable
-- by its body rather than failing the migration.
CREATE FUNCTION pg_temp.calltrail_payload_text(p TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
BEGIN
    RETURN (
        SELECT string_agg(lower(v #>> '{}'), E'\n')
        FROM (
            SELECT v FROM jsonb_path_query(p::jsonb,
                'strict $.** ? (@.type() == "string" || @.type() == "number")') v
            EXCEPT ALL
            SELECT v FROM jsonb_path_query(p::jsonb, 'lax $.**."$sealed"') v
        ) leaves
    );
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

INSERT INTO trigger_search (trigger_id, head, body, ext)
SELECT id,
       lower(coalesce(action, '') || E'\n' || event_type || E'\n' || coalesce(entity_id, '')),
       CASE WHEN details_removed_at IS NULL THEN pg_temp.calltrail_payload_text(payload) END,
       lower(external_id)
FROM triggers;

-- One trigram index over the three, as one text (the list's `q` asks for exactly
-- this expression, see server/src/storage/search.rs).
CREATE INDEX trigger_search_trgm ON trigger_search
    USING gin ((head || E'\n' || coalesce(body, '') || E'\n' || coalesce(ext, '')) gin_trgm_ops);
