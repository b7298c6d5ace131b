//! The executor's statements: claims, reruns, the audit trail, the next due time.

use super::*;

/// One statement claims a batch: due triggers of active plugins, oldest first, and
/// running triggers whose lease expired. PostgreSQL skips rows another instance is
/// claiming at this moment, so instances never take the same trigger.
pub(crate) fn claim(d: Dialect, c: &crate::storage::Claim) -> Sql {
    let (lock, due_index) = match d {
        // Without statistics SQLite would walk the status index and sort every due
        // row; the partial index is already in due order and holds only due rows.
        Dialect::Sqlite => ("", " INDEXED BY triggers_due"),
        Dialect::Postgres => (" FOR UPDATE OF t SKIP LOCKED", ""),
    };
    // The attempt number is taken at claim time, so a claim whose worker dies still
    // counts: the next claim records it as interrupted (see `fill_interrupted`).
    let mut sql = Sql::new(d, "UPDATE triggers SET attempts = attempts + 1, status = ");
    sql.bind("running")
        .push(", lease_owner = ")
        .bind(c.lease.clone())
        .push(", lease_expires_at = ")
        .bind(micros(c.lease_until))
        .push(" WHERE id IN (SELECT t.id FROM triggers t")
        .push(due_index)
        .push(" JOIN plugins p ON p.id = t.plugin_id WHERE p.active = ")
        .bind(true)
        .push(" AND t.status IN ('not_yet_started', 'retrying') AND t.next_attempt_at <= ")
        .bind(micros(c.now))
        .push(" ORDER BY t.next_attempt_at LIMIT ")
        .bind(c.limit as i64)
        .push(lock)
        .push(
            ") OR id IN (SELECT t.id FROM triggers t WHERE t.status = 'running' \
             AND (t.lease_expires_at IS NULL OR t.lease_expires_at < ",
        )
        .bind(micros(c.now))
        .push(") LIMIT ")
        .bind(c.limit as i64)
        .push(lock)
        .push(
            ") RETURNING id, plugin_id, event_type, entity_id, payload, attempts, run_kind, \
             run_actor, run_reason, resume_retries, lease_owner, reruns",
        );
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
}

impl From<ClaimedRow> for crate::storage::ClaimedTrigger {
    fn from(r: ClaimedRow) -> Self {
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

pub(crate) fn insert_audit(d: Dialect, a: &crate::storage::AuditEntry) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO audit_log (id, at, actor, action, target, reason, details) VALUES ",
    );
    sql.bind_row(vec![
        a.id.into(),
        micros(a.at).into(),
        a.actor.clone().into(),
        a.action.clone().into(),
        a.target.clone().into(),
        a.reason.clone().into(),
        a.details.to_string().into(),
    ]);
    sql
}

pub(crate) fn next_due(d: Dialect) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT MIN(t.next_attempt_at) AS at FROM triggers t JOIN plugins p ON p.id = t.plugin_id \
         WHERE t.status IN ('not_yet_started', 'retrying') AND p.active = ",
    );
    sql.bind(true);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct NextDueRow {
    pub at: Option<i64>,
}

pub(crate) fn select_last_attempt_number(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT MAX(number) AS at FROM attempts WHERE trigger_id = ",
    );
    sql.bind(trigger_id);
    sql
}
