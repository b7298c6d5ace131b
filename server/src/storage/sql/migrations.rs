//! Trigger migrations and their items.

use super::*;

pub(crate) fn insert_migration(d: Dialect, m: &crate::storage::MigrationRecord) -> Sql {
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

impl TryFrom<MigrationRow> for crate::storage::MigrationRecord {
    type Error = StoreError;

    fn try_from(r: MigrationRow) -> Result<Self, StoreError> {
        Ok(crate::storage::MigrationRecord {
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

impl TryFrom<AuditRow> for crate::storage::AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(crate::storage::AuditEntry {
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
