//! SQL shared by both databases: row structs, their mapping to domain types,
//! and query builders. Both schemas store times as microseconds and ids as
//! UUIDs, so one builder (with the database's own placeholders) serves both.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use app::domain::{
    Attempt, AttemptRequest, AttemptResponse, Decision, DecisionAction, EntityRef, FailureClass,
    Initiator, InitiatorKind, LastError, LogEntry, Plugin, StartedBy, StartedByKind, Status,
    Trigger,
};

use super::{
    ApiKeyRecord, AttemptOutcome, Cursor, NewTrigger, PluginRecord, StoreError, StoreFilter,
};

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// Which database a statement is written for: placeholders and LIKE differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value. Both schemas use the same handful of column types.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Uuid),
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(bool),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// A statement being written: text with the dialect's placeholders, and its arguments.
pub(crate) struct Sql {
    pub dialect: Dialect,
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(dialect: Dialect, text: impl Into<String>) -> Sql {
        Sql {
            dialect,
            text: text.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.args.len().to_string());
            }
        }
        self
    }

    /// `(?, ?, …)` for a row of values.
    pub fn bind_row(&mut self, row: Vec<Arg>) -> &mut Self {
        self.push("(");
        for (i, arg) in row.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self.push(")")
    }

    fn ilike(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }
}

// ---------------------------------------------------------------- plugins

#[derive(sqlx::FromRow)]
pub(crate) struct PluginRow {
    id: Uuid,
    name: String,
    display_name: String,
    kind: String,
    base_url: String,
    active: bool,
    timeout_ms: i64,
    routes: String,
    default_route: Option<String>,
    headers: String,
    retry_policy: String,
    external_id_pointer: Option<String>,
    redact: String,
    auth_sealed: Option<Vec<u8>>,
    signing_secret_sealed: Option<Vec<u8>>,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const PLUGIN_COLUMNS: &str = "id, name, display_name, kind, base_url, active, \
    timeout_ms, routes, default_route, headers, retry_policy, external_id_pointer, redact, \
    auth_sealed, signing_secret_sealed, created_at, updated_at";

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what, text))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types serialise")
}

impl TryFrom<PluginRow> for PluginRecord {
    type Error = StoreError;

    fn try_from(r: PluginRow) -> Result<Self, StoreError> {
        Ok(PluginRecord {
            plugin: Plugin {
                id: r.id,
                name: r.name,
                display_name: r.display_name,
                kind: r.kind,
                base_url: r.base_url,
                active: r.active,
                timeout_ms: r.timeout_ms as u64,
                routes: json("plugin routes", &r.routes)?,
                default_route: r
                    .default_route
                    .as_deref()
                    .map(|d| json("plugin default route", d))
                    .transpose()?,
                headers: json("plugin headers", &r.headers)?,
                retry_policy: json("plugin retry policy", &r.retry_policy)?,
                external_id_pointer: r.external_id_pointer,
                redact: json("plugin redaction", &r.redact)?,
                has_auth: r.auth_sealed.is_some(),
                has_signing_secret: r.signing_secret_sealed.is_some(),
                created_at: from_micros(r.created_at),
                updated_at: from_micros(r.updated_at),
            },
            auth_sealed: r.auth_sealed,
            signing_secret_sealed: r.signing_secret_sealed,
        })
    }
}

pub(crate) fn insert_plugin(d: Dialect, p: &PluginRecord) -> Sql {
    let pl = &p.plugin;
    let mut sql = Sql::new(d, format!("INSERT INTO plugins ({PLUGIN_COLUMNS}) VALUES "));
    sql.bind_row(vec![
        pl.id.into(),
        pl.name.clone().into(),
        pl.display_name.clone().into(),
        pl.kind.clone().into(),
        pl.base_url.clone().into(),
        pl.active.into(),
        (pl.timeout_ms as i64).into(),
        to_json(&pl.routes).into(),
        pl.default_route.as_ref().map(to_json).into(),
        to_json(&pl.headers).into(),
        to_json(&pl.retry_policy).into(),
        pl.external_id_pointer.clone().into(),
        to_json(&pl.redact).into(),
        p.auth_sealed.clone().into(),
        p.signing_secret_sealed.clone().into(),
        micros(pl.created_at).into(),
        micros(pl.updated_at).into(),
    ]);
    sql
}

pub(crate) fn update_plugin(d: Dialect, p: &PluginRecord) -> Sql {
    let pl = &p.plugin;
    let mut sql = Sql::new(d, "UPDATE plugins SET ");
    let sets: Vec<(&str, Arg)> = vec![
        ("name", pl.name.clone().into()),
        ("display_name", pl.display_name.clone().into()),
        ("base_url", pl.base_url.clone().into()),
        ("active", pl.active.into()),
        ("timeout_ms", (pl.timeout_ms as i64).into()),
        ("routes", to_json(&pl.routes).into()),
        (
            "default_route",
            pl.default_route.as_ref().map(to_json).into(),
        ),
        ("headers", to_json(&pl.headers).into()),
        ("retry_policy", to_json(&pl.retry_policy).into()),
        ("external_id_pointer", pl.external_id_pointer.clone().into()),
        ("redact", to_json(&pl.redact).into()),
        ("auth_sealed", p.auth_sealed.clone().into()),
        (
            "signing_secret_sealed",
            p.signing_secret_sealed.clone().into(),
        ),
        ("updated_at", micros(pl.updated_at).into()),
    ];
    push_sets(&mut sql, sets);
    sql.push(" WHERE id = ").bind(pl.id);
    sql
}

fn push_sets(sql: &mut Sql, sets: Vec<(&str, Arg)>) {
    for (i, (column, value)) in sets.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(column).push(" = ").bind(value);
    }
}

// ---------------------------------------------------------------- triggers

#[derive(sqlx::FromRow)]
pub(crate) struct TriggerRow {
    id: Uuid,
    plugin_id: Uuid,
    plugin_name: String,
    event_type: String,
    action: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    initiator_kind: String,
    initiator_name: String,
    aggregation_key: Option<String>,
    status: String,
    attempts: i64,
    scheduled_at: i64,
    triggered_at: Option<i64>,
    finished_at: Option<i64>,
    next_attempt_at: Option<i64>,
    duration_ms: Option<i64>,
    external_id: Option<String>,
    last_error_class: Option<String>,
    last_error_message: Option<String>,
    last_error_status: Option<i64>,
    #[sqlx(default)]
    pub(crate) payload: Option<String>,
}

pub(crate) const TRIGGER_COLUMNS: &str = "t.id, t.plugin_id, p.name AS plugin_name, \
    t.event_type, t.action, t.entity_type, t.entity_id, t.initiator_kind, t.initiator_name, \
    t.aggregation_key, t.status, t.attempts, t.scheduled_at, t.triggered_at, t.finished_at, \
    t.next_attempt_at, t.duration_ms, t.external_id, t.last_error_class, \
    t.last_error_message, t.last_error_status";

impl TryFrom<TriggerRow> for Trigger {
    type Error = StoreError;

    fn try_from(r: TriggerRow) -> Result<Self, StoreError> {
        let status = Status::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?;
        let kind = InitiatorKind::parse(&r.initiator_kind)
            .ok_or_else(|| corrupt("initiator kind", &r.initiator_kind))?;
        let last_error = match r.last_error_class {
            Some(class) => Some(LastError {
                class: FailureClass::parse(&class).ok_or_else(|| corrupt("class", &class))?,
                message: r.last_error_message.unwrap_or_default(),
                status_code: r.last_error_status.map(|s| s as u16),
            }),
            None => None,
        };
        Ok(Trigger {
            id: r.id,
            plugin: r.plugin_name,
            plugin_id: r.plugin_id,
            event_type: r.event_type,
            action: r.action,
            entity: match (r.entity_type, r.entity_id) {
                (Some(entity_type), Some(id)) => Some(EntityRef { entity_type, id }),
                _ => None,
            },
            initiator: Initiator {
                kind,
                name: r.initiator_name,
            },
            aggregation_key: r.aggregation_key,
            status,
            attempts: r.attempts as u32,
            scheduled_at: from_micros(r.scheduled_at),
            triggered_at: r.triggered_at.map(from_micros),
            finished_at: r.finished_at.map(from_micros),
            next_attempt_at: r.next_attempt_at.map(from_micros),
            duration_ms: r.duration_ms,
            external_id: r.external_id,
            last_error,
        })
    }
}

/// Multi-row insert of triggers.
pub(crate) fn insert_triggers(d: Dialect, rows: &[NewTrigger]) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO triggers (id, plugin_id, event_type, action, entity_type, entity_id, \
         initiator_kind, initiator_name, payload, aggregation_key, idempotency_key, \
         request_hash, status, attempts, scheduled_at, next_attempt_at) VALUES ",
    );
    for (i, t) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_row(vec![
            t.id.into(),
            t.plugin_id.into(),
            t.event_type.clone().into(),
            t.action.clone().into(),
            t.entity.as_ref().map(|e| e.entity_type.clone()).into(),
            t.entity.as_ref().map(|e| e.id.clone()).into(),
            t.initiator.kind.as_str().into(),
            t.initiator.name.clone().into(),
            t.payload.clone().into(),
            t.aggregation_key.clone().into(),
            t.idempotency.as_ref().map(|i| i.key.clone()).into(),
            t.idempotency
                .as_ref()
                .map(|i| i.request_hash.clone())
                .into(),
            t.status.as_str().into(),
            0i64.into(),
            micros(t.scheduled_at).into(),
            t.next_attempt_at.map(micros).into(),
        ]);
    }
    sql
}

/// Multi-row insert of log lines for one or many triggers. `None` when there are none.
pub(crate) fn insert_logs<'a>(
    d: Dialect,
    logs: impl IntoIterator<Item = (Uuid, &'a LogEntry)>,
) -> Option<Sql> {
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_logs (trigger_id, at, step, message) VALUES ",
    );
    let mut any = false;
    for (trigger_id, log) in logs {
        if any {
            sql.push(", ");
        }
        any = true;
        sql.bind_row(vec![
            trigger_id.into(),
            micros(log.at).into(),
            log.step.clone().into(),
            log.message.clone().into(),
        ]);
    }
    any.then_some(sql)
}

/// Triggers matching a filter, newest first, after a cursor.
pub(crate) fn select_triggers(
    d: Dialect,
    f: &StoreFilter,
    after: Option<Cursor>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(
        d,
        format!(
            "SELECT {TRIGGER_COLUMNS} FROM triggers t JOIN plugins p ON p.id = t.plugin_id \
             WHERE 1=1"
        ),
    );
    if !f.plugin_ids.is_empty() {
        sql.push(" AND t.plugin_id IN ")
            .bind_row(f.plugin_ids.iter().map(|id| Arg::from(*id)).collect());
    }
    if !f.statuses.is_empty() {
        sql.push(" AND t.status IN ")
            .bind_row(f.statuses.iter().map(|s| Arg::from(s.as_str())).collect());
    }
    let equals = [
        ("t.event_type", &f.event_type),
        ("t.entity_type", &f.entity_type),
        ("t.entity_id", &f.entity_id),
        ("t.aggregation_key", &f.aggregation_key),
    ];
    for (column, value) in equals {
        if let Some(v) = value {
            sql.push(" AND ").push(column).push(" = ").bind(v.clone());
        }
    }
    let ranges = [
        ("t.scheduled_at >= ", f.scheduled_from),
        ("t.scheduled_at < ", f.scheduled_to),
        ("t.triggered_at >= ", f.triggered_from),
        ("t.triggered_at < ", f.triggered_to),
    ];
    for (op, value) in ranges {
        if let Some(v) = value {
            sql.push(" AND ").push(op).bind(micros(v));
        }
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(q));
        let like = sql.ilike();
        sql.push(" AND (");
        for (i, column) in ["t.action", "t.event_type", "t.entity_id", "t.external_id"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push(column)
                .push(" ")
                .push(like)
                .push(" ")
                .bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
    if let Some(c) = after {
        // Row-value comparison: both databases walk the (scheduled_at, id) index from here.
        sql.push(" AND (t.scheduled_at, t.id) < (")
            .bind(micros(c.scheduled_at))
            .push(", ")
            .bind(c.id)
            .push(")");
    }
    sql.push(" ORDER BY t.scheduled_at DESC, t.id DESC LIMIT ")
        .bind(limit as i64);
    sql
}

fn escape_like(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------- attempts and logs

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

// ---------------------------------------------------------------- api keys

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: Uuid,
    name: String,
    role: String,
    key_hash: String,
    prefix: String,
    created_at: i64,
}

impl From<ApiKeyRow> for ApiKeyRecord {
    fn from(r: ApiKeyRow) -> Self {
        ApiKeyRecord {
            id: r.id,
            name: r.name,
            role: r.role,
            key_hash: r.key_hash,
            prefix: r.prefix,
            created_at: from_micros(r.created_at),
        }
    }
}

pub(crate) fn insert_api_key(d: Dialect, k: &ApiKeyRecord) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) VALUES ",
    );
    sql.bind_row(vec![
        k.id.into(),
        k.name.clone().into(),
        k.role.clone().into(),
        k.key_hash.clone().into(),
        k.prefix.clone().into(),
        micros(k.created_at).into(),
    ]);
    sql
}

// ---------------------------------------------------------------- reads shared by both

pub(crate) fn select_trigger(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        format!(
            "SELECT {TRIGGER_COLUMNS}, t.payload FROM triggers t \
             JOIN plugins p ON p.id = t.plugin_id WHERE t.id = "
        ),
    );
    sql.bind(id);
    sql
}

pub(crate) fn select_attempts(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE trigger_id = "),
    );
    sql.bind(trigger_id).push(" ORDER BY number");
    sql
}

pub(crate) fn select_logs(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT at, step, message FROM trigger_logs WHERE trigger_id = ",
    );
    sql.bind(trigger_id).push(" ORDER BY id");
    sql
}

pub(crate) fn select_plugin(d: Dialect, key: &super::PluginKey) -> Sql {
    let mut sql = Sql::new(d, format!("SELECT {PLUGIN_COLUMNS} FROM plugins WHERE "));
    match key {
        super::PluginKey::Id(id) => sql.push("id = ").bind(*id),
        super::PluginKey::Name(name) => sql.push("name = ").bind(name.clone()),
    };
    sql
}

pub(crate) fn select_api_key(d: Dialect, key_hash: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, name, role, key_hash, prefix, created_at FROM api_keys \
         WHERE revoked_at IS NULL AND key_hash = ",
    );
    sql.bind(key_hash);
    sql
}

/// `id` and a null `request_hash`, to say whether a trigger exists.
pub(crate) fn select_trigger_exists(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(d, "SELECT id, request_hash FROM triggers WHERE id = ");
    sql.bind(id);
    sql
}

pub(crate) fn select_idempotent(d: Dialect, key: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, request_hash FROM triggers WHERE idempotency_key = ",
    );
    sql.bind(key);
    sql
}

// ---------------------------------------------------------------- the executor's statements

/// One statement claims a batch: due triggers of active plugins, oldest first, and
/// running triggers whose lease expired. PostgreSQL skips rows another instance is
/// claiming at this moment, so instances never take the same trigger.
pub(crate) fn claim(d: Dialect, c: &super::Claim) -> Sql {
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
             run_actor, run_reason, resume_retries, lease_owner",
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
}

impl From<ClaimedRow> for super::ClaimedTrigger {
    fn from(r: ClaimedRow) -> Self {
        let run = r
            .run_kind
            .as_deref()
            .and_then(StartedByKind::parse)
            .map(|kind| super::PendingRun {
                kind,
                actor: r.run_actor.unwrap_or_default(),
                reason: r.run_reason.unwrap_or_default(),
                resume_retries: r.resume_retries,
            });
        super::ClaimedTrigger {
            id: r.id,
            plugin_id: r.plugin_id,
            event_type: r.event_type,
            entity_id: r.entity_id,
            payload: r.payload,
            number: r.attempts as u32,
            run,
            lease: r.lease_owner.unwrap_or_default(),
        }
    }
}

/// Queue a run now, unless an attempt is in flight under a live lease.
pub(crate) fn request_run(
    d: Dialect,
    trigger_id: Uuid,
    run: &super::PendingRun,
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
    sql.push(" WHERE id = ")
        .bind(trigger_id)
        .push(" AND (status <> 'running' OR lease_expires_at IS NULL OR lease_expires_at < ")
        .bind(micros(now))
        .push(")");
    sql
}

pub(crate) fn insert_audit(d: Dialect, a: &super::AuditEntry) -> Sql {
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

// ---------------------------------------------------------------- trigger migrations

pub(crate) fn insert_migration(d: Dialect, m: &super::MigrationRecord) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_migrations (id, created_at, actor, reason, kind, spec, status, \
         total, done) VALUES ",
    );
    sql.bind_row(vec![
        m.id.into(),
        micros(m.created_at).into(),
        m.actor.clone().into(),
        m.reason.clone().into(),
        m.kind.clone().into(),
        m.spec.to_string().into(),
        m.status.clone().into(),
        (m.total as i64).into(),
        (m.done as i64).into(),
    ]);
    sql
}

/// Progress, and the end state — which never overrides a cancel that came first.
pub(crate) fn update_migration(
    d: Dialect,
    id: Uuid,
    done: u64,
    status: &str,
    finished_at: Option<DateTime<Utc>>,
) -> Sql {
    let mut sql = Sql::new(d, "UPDATE trigger_migrations SET done = ");
    sql.bind(done as i64)
        .push(", status = CASE WHEN status = 'running' THEN ")
        .bind(status)
        .push(" ELSE status END, finished_at = CASE WHEN status = 'running' THEN ")
        .bind(finished_at.map(micros))
        .push(" ELSE finished_at END WHERE id = ")
        .bind(id);
    sql
}

/// Cancel, unless it already ended.
pub(crate) fn cancel_migration(d: Dialect, id: Uuid, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE trigger_migrations SET status = 'cancelled', finished_at = ",
    );
    sql.bind(micros(at))
        .push(" WHERE status = 'running' AND id = ")
        .bind(id);
    sql
}

pub(crate) fn insert_migration_item(d: Dialect, migration_id: Uuid, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_migration_items (migration_id, trigger_id) VALUES ",
    );
    sql.bind_row(vec![migration_id.into(), trigger_id.into()]);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct MigrationRow {
    id: Uuid,
    created_at: i64,
    actor: String,
    reason: String,
    kind: String,
    spec: String,
    status: String,
    total: i64,
    done: i64,
    finished_at: Option<i64>,
}

pub(crate) fn select_migration(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, created_at, actor, reason, kind, spec, status, total, done, finished_at \
         FROM trigger_migrations WHERE id = ",
    );
    sql.bind(id);
    sql
}

impl TryFrom<MigrationRow> for super::MigrationRecord {
    type Error = StoreError;

    fn try_from(r: MigrationRow) -> Result<Self, StoreError> {
        Ok(super::MigrationRecord {
            id: r.id,
            created_at: from_micros(r.created_at),
            actor: r.actor,
            reason: r.reason,
            kind: r.kind,
            spec: json("migration spec", &r.spec)?,
            status: r.status,
            total: r.total as u64,
            done: r.done as u64,
            finished_at: r.finished_at.map(from_micros),
            succeeded: 0,
            failed: 0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StatusCountRow {
    pub status: String,
    pub n: i64,
}

pub(crate) fn count_migration_outcomes(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT t.status AS status, COUNT(*) AS n FROM trigger_migration_items m \
         JOIN triggers t ON t.id = m.trigger_id WHERE m.migration_id = ",
    );
    sql.bind(id).push(" GROUP BY t.status");
    sql
}

/// How many triggers a filter matches (a dry run's count).
pub(crate) fn count_triggers(d: Dialect, f: &StoreFilter) -> Sql {
    let mut sql = select_triggers(d, f, None, 0);
    // Reuse the filter; count instead of listing.
    let from = sql.text.find(" FROM ").expect("select has FROM");
    let order = sql.text.rfind(" ORDER BY ").expect("select has ORDER BY");
    sql.text = format!("SELECT COUNT(*) AS n{}", &sql.text[from..order]);
    sql.args.pop(); // the LIMIT
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct CountRow {
    pub n: i64,
}

pub(crate) fn select_running_migrations(d: Dialect) -> Sql {
    Sql::new(
        d,
        "SELECT id FROM trigger_migrations WHERE status = 'running' ORDER BY created_at",
    )
}

pub(crate) fn select_migration_items(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT trigger_id AS id FROM trigger_migration_items WHERE migration_id = ",
    );
    sql.bind(id);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub id: Uuid,
}

pub(crate) fn select_audit(d: Dialect, limit: u32) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, at, actor, action, target, reason, details FROM audit_log \
         ORDER BY at DESC, id DESC LIMIT ",
    );
    sql.bind(limit as i64);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    at: i64,
    actor: String,
    action: String,
    target: String,
    reason: String,
    details: String,
}

impl TryFrom<AuditRow> for super::AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(super::AuditEntry {
            id: r.id,
            at: from_micros(r.at),
            actor: r.actor,
            action: r.action,
            target: r.target,
            reason: r.reason,
            details: json("audit details", &r.details)?,
        })
    }
}
