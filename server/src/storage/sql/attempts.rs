//! Attempts and logs: rows, inserts, and moving a trigger after an attempt.

use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    id: Uuid,
    number: i64,
    started_at: i64,
    duration_ms: i64,
    started_by_kind: String,
    started_by_actor: Option<String>,
    request_method: String,
    request_url: String,
    request_headers: String,
    request_body: Option<String>,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    response_truncated: bool,
    class: String,
    decision_action: String,
    decision_at: Option<i64>,
    decision_reason: String,
}

pub(crate) const ATTEMPT_COLUMNS: &str = "id, number, started_at, duration_ms, \
    started_by_kind, started_by_actor, request_method, request_url, request_headers, \
    request_body, response_status, response_headers, response_body, response_truncated, \
    class, decision_action, decision_at, decision_reason";

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;

    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        let response = match r.response_status {
            Some(status) => Some(AttemptResponse {
                status: status as u16,
                headers: json(
                    "response headers",
                    r.response_headers.as_deref().unwrap_or("{}"),
                )?,
                body: r.response_body,
                truncated: r.response_truncated,
            }),
            None => None,
        };
        Ok(Attempt {
            id: r.id,
            number: r.number as u32,
            started_at: from_micros(r.started_at),
            duration_ms: r.duration_ms,
            started_by: StartedBy {
                kind: StartedByKind::parse(&r.started_by_kind)
                    .ok_or_else(|| corrupt("started by", &r.started_by_kind))?,
                actor: r.started_by_actor,
            },
            request: AttemptRequest {
                method: r.request_method,
                url: r.request_url,
                headers: json("request headers", &r.request_headers)?,
                body: r.request_body,
            },
            response,
            class: FailureClass::parse(&r.class).ok_or_else(|| corrupt("class", &r.class))?,
            decision: Decision {
                action: DecisionAction::parse(&r.decision_action)
                    .ok_or_else(|| corrupt("decision", &r.decision_action))?,
                at: r.decision_at.map(from_micros),
                reason: r.decision_reason,
            },
        })
    }
}

pub(crate) fn insert_attempt(d: Dialect, o: &AttemptOutcome) -> Sql {
    let a = &o.attempt;
    let mut sql = Sql::new(
        d,
        format!("INSERT INTO attempts (trigger_id, {ATTEMPT_COLUMNS}) VALUES "),
    );
    sql.bind_row(vec![
        o.trigger_id.into(),
        a.id.into(),
        (a.number as i64).into(),
        micros(a.started_at).into(),
        a.duration_ms.into(),
        a.started_by.kind.as_str().into(),
        a.started_by.actor.clone().into(),
        a.request.method.clone().into(),
        a.request.url.clone().into(),
        to_json(&a.request.headers).into(),
        a.request.body.clone().into(),
        a.response.as_ref().map(|r| r.status as i64).into(),
        a.response.as_ref().map(|r| to_json(&r.headers)).into(),
        a.response.as_ref().and_then(|r| r.body.clone()).into(),
        a.response.as_ref().is_some_and(|r| r.truncated).into(),
        a.class.as_str().into(),
        a.decision.action.as_str().into(),
        a.decision.at.map(micros).into(),
        a.decision.reason.clone().into(),
    ]);
    sql
}

/// Move a trigger to where an attempt left it. `triggered_at` is set once, by the first attempt.
pub(crate) fn apply_outcome(d: Dialect, o: &AttemptOutcome) -> Sql {
    let a = &o.attempt;
    let mut sql = Sql::new(d, "UPDATE triggers SET ");
    push_sets(
        &mut sql,
        vec![
            ("status", o.status.as_str().into()),
            ("attempts", (a.number as i64).into()),
            ("finished_at", o.finished_at.map(micros).into()),
            ("next_attempt_at", o.next_attempt_at.map(micros).into()),
            ("duration_ms", a.duration_ms.into()),
            (
                "last_error_class",
                o.last_error
                    .as_ref()
                    .map(|e| e.class.as_str().to_string())
                    .into(),
            ),
            (
                "last_error_message",
                o.last_error.as_ref().map(|e| e.message.clone()).into(),
            ),
            (
                "last_error_status",
                o.last_error
                    .as_ref()
                    .and_then(|e| e.status_code.map(i64::from))
                    .into(),
            ),
        ],
    );
    sql.push(", triggered_at = COALESCE(triggered_at, ")
        .bind(micros(a.started_at))
        .push("), external_id = COALESCE(")
        .bind(o.external_id.clone())
        .push(
            ", external_id), lease_owner = NULL, lease_expires_at = NULL, run_kind = NULL, \
             run_actor = NULL, run_reason = NULL, resume_retries = ",
        )
        .bind(false)
        .push(" WHERE id = ")
        .bind(o.trigger_id);
    if let Some(lease) = &o.lease {
        sql.push(" AND lease_owner = ").bind(lease.clone());
    }
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct LogRow {
    at: i64,
    step: String,
    message: String,
}

impl From<LogRow> for LogEntry {
    fn from(r: LogRow) -> Self {
        LogEntry {
            at: from_micros(r.at),
            step: r.step,
            message: r.message,
        }
    }
}
