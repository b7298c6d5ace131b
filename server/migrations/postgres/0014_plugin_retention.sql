-- A plugin may keep its log shorter or longer than the global retention:
-- {"detail_days": 7, "summary_days": 90}; an absent key follows the global setting.
ALTER TABLE plugins ADD COLUMN retention TEXT NOT NULL DEFAULT '{}';
