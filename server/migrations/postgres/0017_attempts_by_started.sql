-- The log's activity chart counts the attempts of the last day or week: it
-- reads them by start time.
CREATE INDEX attempts_by_started ON attempts (started_at);
