-- People who sign in to the pages, and their server-side sessions.
-- `email_key` is the email lowercased: one account per address, whatever its case.
-- `plugins` is a JSON array of plugin ids the user may see, or NULL for all.
CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    plugins TEXT,
    disabled_at INTEGER,
    password_changed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per tower-sessions session; `user_id` lets every session of a user be
-- revoked at once (disabled, password changed).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BLOB,
    data TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
