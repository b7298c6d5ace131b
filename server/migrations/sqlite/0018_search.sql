-- Search (the list's `q`): what a trigger can be found by, lower-cased, one row per
-- trigger beside it, so that status updates never touch the index. `head` is the
-- action, event type and entity id; `body` the text and number values of the payload
-- as stored in clear (sealed values are not there; NULL once retention or an erasure
-- removed the details); `ext` the external id. The writes keep it in step (see
-- server/src/storage/search.rs); an FTS5 trigram index over it, kept in step by
-- the triggers below, finds fragments of 3 characters or more. `id` is the FTS
-- rowid: an INTEGER PRIMARY KEY, so VACUUM never renumbers it.
CREATE TABLE trigger_search (
    id INTEGER PRIMARY KEY,
    trigger_id BLOB NOT NULL UNIQUE REFERENCES triggers(id),
    head TEXT NOT NULL,
    body TEXT,
    ext TEXT
);

-- Already lower-cased in Rust, so case_sensitive 1: no second folding that could
-- disagree with the query's. detail=none: the index keeps which rows hold each
-- trigram, not where (no position lists), so it is smaller and cheaper to write;
-- the query asks for rows holding all of the text's trigrams and then checks the
-- text itself (see server/src/storage/sql/search.rs).
CREATE VIRTUAL TABLE trigger_search_fts USING fts5(
    head, body, ext,
    content = 'trigger_search', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1', detail = none
);
-- A removed row leaves the index at once (not as a delete marker merged later):
-- erased text must not stay readable in the file.
INSERT INTO trigger_search_fts (trigger_search_fts, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER trigger_search_insert AFTER INSERT ON trigger_search BEGIN
    INSERT INTO trigger_search_fts (rowid, head, body, ext)
    VALUES (new.id, new.head, new.body, new.ext);
END;
CREATE TRIGGER trigger_search_delete AFTER DELETE ON trigger_search BEGIN
    INSERT INTO trigger_search_fts (trigger_search_fts, rowid, head, body, ext)
    VALUES ('delete', old.id, old.head, old.body, old.ext);
END;
CREATE TRIGGER trigger_search_update AFTER UPDATE ON trigger_search BEGIN
    INSERT INTO trigger_search_fts (trigger_search_fts, rowid, head, body, ext)
    VALUES ('delete', old.id, old.head, old.body, old.ext);
    INSERT INTO trigger_search_fts (rowid, head, body, ext)
    VALUES (new.id, new.head, new.body, new.ext);
END;

-- Existing triggers. SQLite's lower() folds ASCII only (the writes fold all of
-- Unicode); old rows with other capitals are found by their lower-case ASCII parts.
INSERT INTO trigger_search (trigger_id, head, body, ext)
SELECT t.id,
       lower(coalesce(t.action, '') || char(10) || t.event_type || char(10)
             || coalesce(t.entity_id, '')),
       CASE WHEN t.details_removed_at IS NULL THEN (
           SELECT group_concat(lower(j.atom), char(10))
           FROM json_tree(t.payload) j
           WHERE j.type IN ('text', 'integer', 'real') AND j.key IS NOT '$sealed'
       ) END,
       lower(t.external_id)
FROM triggers t
ORDER BY t.id;
