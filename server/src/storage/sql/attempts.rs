//! Attempts and logs: rows, inserts, and moving a trigger after an attempt.

use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    id: Uuid,
    number: i64,
    started_at: Micros,
    duration_ms: i64,
    started_by_kind: String,
    started_by_actor: Option<String>,
    request_method: String,
    request_url: String,
    request_headers: String,
    request_body: Option<String>,
    request_body_bytes: Option<Vec<u8>>,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    response_body_bytes: Option<Vec<u8>>,
    response_truncated: bool,
    class: String,
    decision_action: String,
    decision_at: Option<Micros>,
    decision_reason: String,
}

pub(crate) const ATTEMPT_COLUMNS: &str = "id, number, started_at, duration_ms, \
    started_by_kind, started_by_actor, request_method, request_url, request_headers, \
    request_body, request_body_bytes, response_status, response_headers, response_body, \
    response_body_bytes, response_truncated, class, decision_action, decision_at, decision_reason";

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;

    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        let response = match r.response_status {
            Some(status) => {
                let (body, body_encoding) = match r.response_body_bytes {
                    Some(bytes) => {
                        let (body, encoding) = body_from_bytes(bytes);
                        (Some(body), encoding)
                    }
                    None => (r.response_body, None),
                };
                Some(AttemptResponse {
                    status: status as u16,
                    headers: json(
                        "response headers",
                        r.response_headers.as_deref().unwrap_or("{}"),
                    )?,
                    body,
                    body_encoding,
                    truncated: r.response_truncated,
                })
            }
            None => None,
        };
        let request_body = match r.request_body_bytes {
            // Request bodies are always text; one that held NUL is kept as bytes.
            Some(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            None => r.request_body,
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
                body: request_body,
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

/// Where a body goes: UTF-8 text without NUL into the text column (as every row
/// before migration 0004), anything else byte for byte into the bytes column
/// (PostgreSQL's TEXT cannot hold NUL; a PDF is not text at all).
fn body_columns(body: Option<&str>, encoding: Option<BodyEncoding>) -> (Arg, Arg) {
    let Some(body) = body else {
        return (Arg::Text(None), Arg::Bytes(None));
    };
    match encoding {
        None if !body.contains('\0') => (Arg::Text(Some(body.to_string())), Arg::Bytes(None)),
        None => (Arg::Text(None), Arg::Bytes(Some(body.as_bytes().to_vec()))),
        Some(BodyEncoding::Base64) => {
            use base64::Engine;
            // Only `redact::body_bytes` writes base64 bodies, so they always decode;
            // were one not to, its text is still kept rather than lost.
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_else(|_| body.as_bytes().to_vec());
            (Arg::Text(None), Arg::Bytes(Some(bytes)))
        }
    }
}

/// A body read from the bytes column: text when it is UTF-8, base64 otherwise.
fn body_from_bytes(bytes: Vec<u8>) -> (String, Option<BodyEncoding>) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(not_text) => {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(not_text.as_bytes());
            (encoded, Some(BodyEncoding::Base64))
        }
    }
}

pub(crate) fn insert_attempt(d: Dialect, o: &AttemptOutcome) -> Sql {
    insert_attempts(d, &[o])
}

/// Many attempts in one statement (a batch of outcomes).
pub(crate) fn insert_attempts(d: Dialect, outcomes: &[&AttemptOutcome]) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("INSERT INTO attempts (trigger_id, {ATTEMPT_COLUMNS}) VALUES "),
    );
    for (i, o) in outcomes.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_row(attempt_values(o));
    }
    sql
}

fn attempt_values(o: &AttemptOutcome) -> Vec<Arg> {
    let a = &o.attempt;
    let (request_body, request_body_bytes) = body_columns(a.request.body.as_deref(), None);
    let (response_body, response_body_bytes) = match &a.response {
        Some(r) => body_columns(r.body.as_deref(), r.body_encoding),
        None => body_columns(None, None),
    };
    vec![
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
        request_body,
        request_body_bytes,
        a.response.as_ref().map(|r| r.status as i64).into(),
        a.response.as_ref().map(|r| to_json(&r.headers)).into(),
        response_body,
        response_body_bytes,
        a.response.as_ref().is_some_and(|r| r.truncated).into(),
        a.class.as_str().into(),
        a.decision.action.as_str().into(),
        a.decision.at.map(micros).into(),
        a.decision.reason.clone().into(),
    ]
}

/// The columns an attempt's outcome sets on its trigger, in `outcome_values` order.
const OUTCOME_SETS: [&str; 8] = [
    "status",
    "attempts",
    "finished_at",
    "next_attempt_at",
    "duration_ms",
    "last_error_class",
    "last_error_message",
    "last_error_status",
];

fn outcome_values(o: &AttemptOutcome) -> Vec<Arg> {
    let a = &o.attempt;
    let e = o.last_error.as_ref();
    vec![
        o.status.as_str().into(),
        (a.number as i64).into(),
        o.finished_at.map(micros).into(),
        o.next_attempt_at.map(micros).into(),
        a.duration_ms.into(),
        e.map(|e| e.class.as_str().to_string()).into(),
        e.map(|e| e.message.clone()).into(),
        e.and_then(|e| e.status_code.map(i64::from)).into(),
    ]
}

/// What every outcome also does to its trigger: the first attempt sets
/// `triggered_at`, an external id is kept once known, the claim is let go.
const OUTCOME_RELEASE: &str = "lease_owner = NULL, lease_expires_at = NULL, run_kind = NULL, \
     run_actor = NULL, run_reason = NULL, resume_retries = ";

/// Move many triggers to where their attempts left them, in one statement. A row
/// whose lease is lost meanwhile is left alone: the lease is checked per row inside
/// the statement. Returns (`RETURNING`) the ids it moved.
pub(crate) fn apply_outcomes(d: Dialect, outcomes: &[&AttemptOutcome]) -> Sql {
    let mut sql = Sql::new(
        d,
        format!(
            "WITH v (id, lease, started_at, external_id, {}) AS (VALUES ",
            OUTCOME_SETS.join(", ")
        ),
    );
    for (i, o) in outcomes.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let mut row = vec![
            o.trigger_id.into(),
            o.lease.clone().into(),
            micros(o.attempt.started_at).into(),
            o.external_id.clone().into(),
        ];
        row.extend(outcome_values(o));
        sql.bind_row(row);
    }
    let sets: Vec<String> = OUTCOME_SETS
        .iter()
        .map(|c| format!("{c} = v.{c}"))
        .collect();
    sql.push(&format!(
        ") UPDATE triggers SET {}, triggered_at = COALESCE(triggers.triggered_at, v.started_at), \
         external_id = COALESCE(v.external_id, triggers.external_id), {OUTCOME_RELEASE}",
        sets.join(", ")
    ))
    .bind(false)
    .push(
        " FROM v WHERE triggers.id = v.id \
         AND (v.lease IS NULL OR triggers.lease_owner = v.lease) \
         RETURNING triggers.id, \
         (SELECT MAX(a.number) FROM attempts a WHERE a.trigger_id = triggers.id) AS number",
    );
    sql
}

/// A trigger `apply_outcomes` moved, with the highest attempt number recorded for
/// it before this outcome's (none when it has no attempts yet): read in the same
/// statement, so an interrupted attempt is noticed without a second round trip.
#[derive(sqlx::FromRow)]
pub(crate) struct MovedRow {
    pub id: Uuid,
    pub number: Option<i64>,
}

/// Move a trigger to where an attempt left it. `triggered_at` is set once, by the first attempt.
pub(crate) fn apply_outcome(d: Dialect, o: &AttemptOutcome) -> Sql {
    let mut sql = Sql::new(d, "UPDATE triggers SET ");
    push_sets(
        &mut sql,
        OUTCOME_SETS.into_iter().zip(outcome_values(o)).collect(),
    );
    sql.push(", triggered_at = COALESCE(triggered_at, ")
        .bind(micros(o.attempt.started_at))
        .push("), external_id = COALESCE(")
        .bind(o.external_id.clone())
        .push(&format!(", external_id), {OUTCOME_RELEASE}"))
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
    at: Micros,
    step: String,
    message: String,
}

impl TryFrom<LogRow> for LogEntry {
    type Error = StoreError;
    fn try_from(r: LogRow) -> Result<Self, StoreError> {
        Ok(LogEntry {
            at: from_micros(r.at),
            step: LogStep::parse(&r.step).ok_or_else(|| corrupt("log step", &r.step))?,
            message: r.message,
        })
    }
}
