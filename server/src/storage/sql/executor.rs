//! The executor's statements: claims, reruns, the next due time.

use super::*;

/// One statement claims a batch: at most `limit` due triggers of active plugins,
/// oldest first. Each active plugin's due triggers are read from
/// `triggers_due_by_plugin` in due order, at most `limit` of them, so the cost of
/// a claim is (active plugins × limit) index entries however many triggers wait
/// for a paused plugin. Expired leases are not claimed here: `settle_expired`
/// first makes them due again (or ends them), so they share the same limit as
/// every other due trigger. PostgreSQL skips rows another instance is claiming at
/// this moment, so instances never take the same trigger.
pub(crate) fn claim(d: Dialect, c: &crate::storage::Claim) -> Sql {
    // The attempt number is taken at claim time, so a claim whose worker dies still
    // counts: the rescue records it as interrupted (see `settle_expired`).
    let mut sql = Sql::new(d, "UPDATE triggers SET attempts = attempts + 1, status = ");
    sql.bind("running")
        .push(", lease_owner = ")
        .bind(c.lease.clone())
        .push(", lease_expires_at = ")
        .bind(micros(c.lease_until))
        .push(" WHERE id IN (");
    let limit = c.limit as i64;
    match d {
        // No LATERAL in SQLite: a correlated subquery per active plugin instead.
        Dialect::Sqlite => {
            sql.push(
                "SELECT t.id FROM plugins p JOIN triggers t ON t.id IN (\
                 SELECT d.id FROM triggers d INDEXED BY triggers_due_by_plugin \
                 WHERE d.plugin_id = p.id AND d.status IN ('not_yet_started', 'retrying') \
                 AND d.next_attempt_at <= ",
            )
            .bind(micros(c.now))
            .push(" ORDER BY d.next_attempt_at LIMIT ")
            .bind(limit)
            .push(") WHERE p.active = ")
            .bind(true)
            .push(" ORDER BY t.next_attempt_at LIMIT ")
            .bind(limit);
        }
        Dialect::Postgres => {
            sql.push(
                "SELECT d.id FROM plugins p CROSS JOIN LATERAL (\
                 SELECT t.id, t.next_attempt_at FROM triggers t WHERE t.plugin_id = p.id \
                 AND t.status IN ('not_yet_started', 'retrying') AND t.next_attempt_at <= ",
            )
            .bind(micros(c.now))
            .push(" ORDER BY t.next_attempt_at LIMIT ")
            .bind(limit)
            .push(" FOR UPDATE OF t SKIP LOCKED) d WHERE p.active = ")
            .bind(true)
            .push(" ORDER BY d.next_attempt_at LIMIT ")
            .bind(limit);
        }
    }
    sql.push(
        ") RETURNING id, plugin_id, event_type, entity_id, payload, attempts, run_kind, \
         run_actor, run_reason, resume_retries, lease_owner, reruns, next_attempt_at",
    );
    sql
}

/// Running triggers whose lease expired (their worker died or lost track), with
/// their plugin's retry policy. PostgreSQL locks them, skipping those another
/// instance is settling.
pub(crate) fn select_expired_leases(d: Dialect, now: DateTime<Utc>, limit: u32) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT t.id, t.attempts, p.retry_policy FROM triggers t \
         JOIN plugins p ON p.id = t.plugin_id WHERE t.status = 'running' \
         AND (t.lease_expires_at IS NULL OR t.lease_expires_at < ",
    );
    sql.bind(micros(now))
        .push(") ORDER BY t.lease_expires_at LIMIT ")
        .bind(limit as i64);
    if d == Dialect::Postgres {
        sql.push(" FOR UPDATE OF t SKIP LOCKED");
    }
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct ExpiredRow {
    pub id: Uuid,
    pub attempts: i64,
    pub retry_policy: String,
}

/// Take an expired lease back: the trigger is due again now (`retrying`, its pending
/// run kept), or, when the interrupted claim was its last allowed attempt, it ends
/// `erroneous`. Only while the lease is still expired: a worker that recorded its
/// result meanwhile wins.
pub(crate) fn settle_expired(
    d: Dialect,
    trigger_id: Uuid,
    ended: bool,
    message: &str,
    now: DateTime<Utc>,
) -> Sql {
    let (status, next, finished) = if ended {
        (Status::Erroneous, None, Some(micros(now)))
    } else {
        (Status::Retrying, Some(micros(now)), None)
    };
    let mut sql = Sql::new(d, "UPDATE triggers SET ");
    push_sets(
        &mut sql,
        vec![
            ("status", status.as_str().into()),
            ("next_attempt_at", next.into()),
            ("finished_at", finished.into()),
            ("last_error_class", FailureClass::Network.as_str().into()),
            ("last_error_message", message.into()),
            ("last_error_status", None::<i64>.into()),
        ],
    );
    sql.push(", triggered_at = COALESCE(triggered_at, ")
        .bind(micros(now))
        .push("), lease_owner = NULL, lease_expires_at = NULL");
    if ended {
        sql.push(", run_kind = NULL, run_actor = NULL, run_reason = NULL, resume_retries = ")
            .bind(false);
    }
    sql.push(" WHERE id = ")
        .bind(trigger_id)
        .push(" AND status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ")
        .bind(micros(now))
        .push(")");
    sql
}

/// Give a claim back without a call: the trigger is due again at `at` and the
/// claim's attempt number is returned, so nothing is counted. Only under its own lease.
pub(crate) fn release_claim(d: Dialect, trigger_id: Uuid, lease: &str, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE triggers SET status = CASE WHEN run_kind IS NOT NULL OR attempts <= 1 \
         THEN 'not_yet_started' ELSE 'retrying' END, attempts = attempts - 1, \
         lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ",
    );
    sql.bind(micros(at))
        .push(" WHERE id = ")
        .bind(trigger_id)
        .push(" AND status = 'running' AND lease_owner = ")
        .bind(lease.to_string());
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClaimedRow {
    id: Uuid,
    plugin_id: Uuid,
    event_type: String,
    entity_id: Option<String>,
    payload: String,
    attempts: i64,
    run_kind: Option<String>,
    run_actor: Option<String>,
    run_reason: Option<String>,
    resume_retries: bool,
    lease_owner: Option<String>,
    reruns: i64,
    next_attempt_at: Option<Micros>,
}

impl ClaimedRow {
    pub(crate) fn into_claimed(self, lease_until: DateTime<Utc>) -> crate::storage::ClaimedTrigger {
        let r = self;
        let run = r
            .run_kind
            .as_deref()
            .and_then(StartedByKind::parse)
            .map(|kind| crate::storage::PendingRun {
                kind,
                actor: r.run_actor.unwrap_or_default(),
                reason: r.run_reason.unwrap_or_default(),
                resume_retries: r.resume_retries,
            });
        crate::storage::ClaimedTrigger {
            id: r.id,
            plugin_id: r.plugin_id,
            event_type: r.event_type,
            entity_id: r.entity_id,
            payload: r.payload,
            number: r.attempts as u32,
            run,
            lease: r.lease_owner.unwrap_or_default(),
            reruns: u32::try_from(r.reruns).unwrap_or(u32::MAX),
            due_at: r.next_attempt_at.map(from_micros),
            lease_until,
        }
    }
}

/// Queue a run now, unless an attempt is in flight under a live lease.
pub(crate) fn request_run(
    d: Dialect,
    trigger_id: Uuid,
    run: &crate::storage::PendingRun,
    now: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(d, "UPDATE triggers SET ");
    push_sets(
        &mut sql,
        vec![
            ("status", Status::NotYetStarted.as_str().into()),
            ("next_attempt_at", micros(now).into()),
            ("run_kind", run.kind.as_str().into()),
            ("run_actor", run.actor.clone().into()),
            ("run_reason", run.reason.clone().into()),
            ("resume_retries", run.resume_retries.into()),
        ],
    );
    // Each rerun asked for gets its own idempotency key (see `deliver::prepare`).
    sql.push(", reruns = reruns + 1 WHERE id = ")
        .bind(trigger_id)
        .push(" AND (status <> 'running' OR lease_expires_at IS NULL OR lease_expires_at < ")
        .bind(micros(now))
        .push(")");
    sql
}

/// The earliest due time among active plugins' waiting triggers: one index
/// lookup per active plugin.
pub(crate) fn next_due(d: Dialect) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT MIN((SELECT MIN(t.next_attempt_at) FROM triggers t \
         WHERE t.plugin_id = p.id AND t.status IN ('not_yet_started', 'retrying'))) AS at \
         FROM plugins p WHERE p.active = ",
    );
    sql.bind(true);
    sql
}

/// When the next trigger is due (none when nothing is).
#[derive(sqlx::FromRow)]
pub(crate) struct NextDueRow {
    pub at: Option<Micros>,
}

/// The highest attempt number recorded for a trigger (none when it has no attempts).
pub(crate) fn select_last_attempt_number(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT MAX(number) AS number FROM attempts WHERE trigger_id = ",
    );
    sql.bind(trigger_id);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct LastAttemptNumberRow {
    pub number: Option<i64>,
}

/// The queue as `/metrics` shows it, each count served by a partial index.
pub(crate) fn queue_depth(d: Dialect, now: DateTime<Utc>) -> Sql {
    const WAITING: &str = "FROM triggers WHERE status IN ('not_yet_started', 'retrying')";
    let mut sql = Sql::new(
        d,
        format!("SELECT (SELECT COUNT(*) {WAITING} AND next_attempt_at <= "),
    );
    sql.bind(micros(now))
        .push(&format!(
            ") AS due, (SELECT COUNT(*) {WAITING} AND next_attempt_at > "
        ))
        .bind(micros(now))
        .push(&format!(
            ") AS scheduled, (SELECT COUNT(*) FROM triggers WHERE status = 'running') AS running, \
             (SELECT MIN(next_attempt_at) {WAITING}) AS oldest_due"
        ));
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct QueueRow {
    pub due: i64,
    pub scheduled: i64,
    pub running: i64,
    pub oldest_due: Option<Micros>,
}
