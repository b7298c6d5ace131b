-- Search on PostgreSQL: the trigram index is over a key in which the characters that
-- join the parts of ids, e-mail addresses, URLs and times (and spaces) are the letter
-- `q` (see server/src/storage/sql/search.rs, `pg_search_key`). pg_trgm reads only
-- letters and digits as parts of words, so over the plain text a fragment such as
-- `inv-12` gave the index nothing but `inv`, which nearly every invoice row holds:
-- hundreds of thousands of rows rechecked per search. Over the key, `invq12` gives
-- `inv`, `nvq`, `vq1` and `q12`. The list checks the text itself after the key's
-- candidates, so what is found does not change.
DROP INDEX trigger_search_trgm;

CREATE INDEX trigger_search_key_trgm ON trigger_search
    USING gin ((replace(replace(replace(replace(replace(replace(replace(replace((head || E'\n' || coalesce(body, '') || E'\n' || coalesce(ext, '')), ' ', 'q'), E'\n', 'q'), '-', 'q'), '.', 'q'), '@', 'q'), '_', 'q'), '/', 'q'), ':', 'q')) gin_trgm_ops);
