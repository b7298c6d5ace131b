-- Claims walk each active plugin's due triggers in due order, at most one batch
-- per plugin, so a paused plugin's waiting triggers (however many) cost a claim
-- nothing. `triggers_due` stays for the queue's counts in /metrics.
CREATE INDEX triggers_due_by_plugin ON triggers (plugin_id, next_attempt_at)
    WHERE status IN ('not_yet_started', 'retrying');
