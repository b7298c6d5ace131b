-- When each user last signed in (the Users page shows it; NULL: never).
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
