-- A plugin's static headers whose names look like credentials (`authorization`,
-- `*-token`, `*-key`, `cookie`…), sealed like its auth: JSON `{"name": "value"}`
-- under the secret key. The `headers` column keeps their names with `[redacted]`.
ALTER TABLE plugins ADD COLUMN headers_sealed BYTEA;
