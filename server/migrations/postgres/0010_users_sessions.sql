-- People who sign in to the pages, and their server-side sessions.
-- `email_key` is the email lowercased: one account per address, whatever its case.
-- `plugins` is a JSON array of plugin ids the user may see, or NULL for all.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    plugins TEXT,
    disabled_at BIGINT,
    password_changed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per tower-sessions session; `user_id` lets every session of a user be
-- revoked at once (disabled, password changed).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id UUID,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
