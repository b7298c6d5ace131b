//! Triggers: rows, inserts, and the filtered, keyset-paginated list.

use super::*;

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
    scheduled_at: Micros,
    triggered_at: Option<Micros>,
    finished_at: Option<Micros>,
    next_attempt_at: Option<Micros>,
    duration_ms: Option<i64>,
    external_id: Option<String>,
    last_error_class: Option<String>,
    last_error_message: Option<String>,
    last_error_status: Option<i64>,
    #[sqlx(default)]
    pub(crate) payload: Option<String>,
    #[sqlx(default)]
    pub(crate) details_removed_at: Option<Micros>,
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
         request_hash, status, attempts, scheduled_at, next_attempt_at, created_by) VALUES ",
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
            t.created_by.clone().into(),
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
            log.step.as_str().into(),
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
    plan: QPlan,
) -> Sql {
    let mut sql = Sql::new(d, format!("SELECT {TRIGGER_COLUMNS}"));
    push_filtered_from(&mut sql, f, plan, true);
    push_after(&mut sql, after);
    sql.push(LIST_ORDER).push(" LIMIT ").bind(limit as i64);
    sql
}

/// A search's page taken from `ids`, the triggers its text matches (as
/// `select_pg_matches` found them): every other filter, the cursor and the order
/// apply to those. PostgreSQL reads them by primary key.
pub(crate) fn select_triggers_among(
    d: Dialect,
    f: &StoreFilter,
    after: Option<Cursor>,
    limit: u32,
    ids: &[Uuid],
) -> Sql {
    let rest = without_text(f);
    let mut sql = Sql::new(d, format!("SELECT {TRIGGER_COLUMNS}"));
    push_filtered_from(&mut sql, &rest, QPlan::Index, true);
    let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    sql.push(" AND t.id = ANY(CAST(")
        .bind(format!("{{{}}}", list.join(",")))
        .push(" AS uuid[]))");
    push_after(&mut sql, after);
    sql.push(LIST_ORDER).push(" LIMIT ").bind(limit as i64);
    sql
}

/// `f` without its text (`q`): what is left when the text is asked for apart.
fn without_text(f: &StoreFilter) -> StoreFilter {
    StoreFilter {
        q: None,
        ..f.clone()
    }
}

/// The list's order, newest first.
const LIST_ORDER: &str = " ORDER BY t.scheduled_at DESC, t.id DESC";

/// ` AND …` the trigger comes after the cursor in the list's order.
fn push_after(sql: &mut Sql, after: Option<Cursor>) {
    if let Some(c) = after {
        // Row-value comparison: both databases walk the (scheduled_at, id) index from here.
        sql.push(" AND (t.scheduled_at, t.id) < (")
            .bind(micros(c.scheduled_at))
            .push(", ")
            .bind(c.id)
            .push(")");
    }
}

/// A search's page taken from the first `rows` triggers of the list's own order
/// (every filter but `q`), each tested for `q`. When that yields `limit` triggers,
/// they are the page exactly (the walk is a prefix of the order); fewer say nothing
/// about the rest, and the caller asks otherwise. Text that many triggers hold is
/// found here without asking the index how many hold it (on PostgreSQL that count
/// reads the index's whole bitmap).
pub(crate) fn select_triggers_probe(
    d: Dialect,
    f: &StoreFilter,
    after: Option<Cursor>,
    limit: u32,
    rows: u32,
) -> Option<Sql> {
    let folded = f.q.as_deref().map(fold).filter(|q| !q.is_empty())?;
    let rest = without_text(f);
    let mut sql = Sql::new(d, format!("SELECT {TRIGGER_COLUMNS} FROM (SELECT t.*"));
    sql.push(TRIGGERS_COUNT_FROM);
    push_trigger_filter_with(&mut sql, &rest, QPlan::Scan);
    push_after(&mut sql, after);
    sql.push(LIST_ORDER)
        .push(" LIMIT ")
        .bind(i64::from(rows))
        .push(") t JOIN plugins p ON p.id = t.plugin_id WHERE 1=1");
    push_search(&mut sql, &folded, QPlan::Scan);
    sql.push(LIST_ORDER).push(" LIMIT ").bind(i64::from(limit));
    Some(sql)
}

/// What the list, its count and a rerun's set all select from; a filter's
/// conditions follow as ` AND …`.
pub(crate) const TRIGGERS_FROM: &str =
    " FROM triggers t JOIN plugins p ON p.id = t.plugin_id WHERE 1=1";

/// What counts select from: no plugin columns are read, so no join (every trigger
/// has its plugin), and the count is served by an index of `triggers` alone.
pub(crate) const TRIGGERS_COUNT_FROM: &str = " FROM triggers t WHERE 1=1";

/// ` FROM … WHERE …` the triggers `f` matches (`p` the plugin, with `with_plugins`).
/// On SQLite a search through the index starts from the index's matches (see
/// `push_sqlite_matches_from`); otherwise `q` is one more condition.
pub(crate) fn push_filtered_from(sql: &mut Sql, f: &StoreFilter, plan: QPlan, with_plugins: bool) {
    let folded = f.q.as_deref().map(fold).filter(|q| !q.is_empty());
    if let (Dialect::Sqlite, QPlan::Index, Some(q)) = (sql.dialect, plan, &folded) {
        if push_sqlite_matches_from(sql, q, with_plugins) {
            let rest = without_text(f);
            push_trigger_filter_with(sql, &rest, plan);
            return;
        }
    }
    sql.push(if with_plugins {
        TRIGGERS_FROM
    } else {
        TRIGGERS_COUNT_FROM
    });
    push_trigger_filter_with(sql, f, plan);
}

/// The filter's conditions, each ` AND …`, after `TRIGGERS_FROM`; `q` through its index.
pub(crate) fn push_trigger_filter(sql: &mut Sql, f: &StoreFilter) {
    push_trigger_filter_with(sql, f, QPlan::Index)
}

/// The filter's conditions, with `q` asked for as `plan` says (see `sql::search`).
pub(crate) fn push_trigger_filter_with(sql: &mut Sql, f: &StoreFilter, plan: QPlan) {
    match &f.visible_plugin_ids {
        None => {}
        Some(ids) if ids.is_empty() => {
            sql.push(" AND 1=0");
        }
        Some(ids) => {
            sql.push(" AND t.plugin_id IN ")
                .bind_row(ids.iter().map(|id| Arg::from(*id)).collect());
        }
    }
    if let Some(creator) = &f.created_by {
        sql.push(" AND t.created_by = ").bind(creator.clone());
    }
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
    if let Some(q) = f.q.as_deref().map(fold).filter(|q| !q.is_empty()) {
        push_search(sql, &q, plan);
    }
}
