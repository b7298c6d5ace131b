-- Bodies are bytes: a provider may answer with NUL bytes, invalid UTF-8 or a PDF, and a
-- reported call's body may hold NUL, which a TEXT column refuses here. A body that is UTF-8
-- text without NUL stays in the text column as before (readable in SQL); any other body is
-- kept byte for byte in its `_bytes` column instead, with the text column NULL. Older rows
-- need nothing.
ALTER TABLE attempts
    ADD COLUMN request_body_bytes BYTEA,
    ADD COLUMN response_body_bytes BYTEA;
