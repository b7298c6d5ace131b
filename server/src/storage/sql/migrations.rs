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

/// Fix the set a rerun migration re-executes: every trigger the filter matches now,
/// numbered in the list's order (newest first).
pub(crate) fn snapshot_migration_set(d: Dialect, id: Uuid, f: &StoreFilter) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_migration_set (migration_id, position, trigger_id) SELECT ",
    );
    sql.bind(id)
        .push(", ROW_NUMBER() OVER (ORDER BY t.scheduled_at DESC, t.id DESC) - 1, t.id")
        .push(TRIGGERS_FROM);
    push_trigger_filter(&mut sql, f);
    sql
}

pub(crate) fn set_migration_total(d: Dialect, id: Uuid, total: u64) -> Sql {
    let mut sql = Sql::new(d, "UPDATE trigger_migrations SET total = ");
    sql.bind(total as i64).push(" WHERE id = ").bind(id);
    sql
}

/// Take (or take back) a running migration whose lease is free or expired; its
/// progress is recounted from its items, whatever the last writer left.
pub(crate) fn claim_migration(
    d: Dialect,
    id: Uuid,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(d, "UPDATE trigger_migrations SET owner = ");
    sql.bind(owner)
        .push(", lease_expires_at = ")
        .bind(micros(until))
        .push(", done = (SELECT COUNT(*) FROM trigger_migration_items WHERE migration_id = ")
        .bind(id)
        .push(") WHERE id = ")
        .bind(id)
        .push(" AND status = 'running' AND (owner IS NULL OR owner = ")
        .bind(owner)
        .push(" OR lease_expires_at IS NULL OR lease_expires_at < ")
        .bind(micros(now))
        .push(")");
    sql
}

/// Renew the lease, only while `owner` holds it and the migration still runs.
pub(crate) fn renew_migration(d: Dialect, id: Uuid, owner: &str, until: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(d, "UPDATE trigger_migrations SET lease_expires_at = ");
    sql.bind(micros(until))
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND owner = ")
        .bind(owner)
        .push(" AND status = 'running'");
    sql
}

/// Let go of the lease (shutdown, an error), so another instance takes it at once.
pub(crate) fn release_migration(d: Dialect, id: Uuid, owner: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE trigger_migrations SET owner = NULL, lease_expires_at = NULL WHERE id = ",
    );
    sql.bind(id).push(" AND owner = ").bind(owner);
    sql
}

/// The end of a migration its owner ran through; never overrides a cancel.
pub(crate) fn complete_migration(d: Dialect, id: Uuid, owner: &str, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE trigger_migrations SET status = 'completed', owner = NULL, \
         lease_expires_at = NULL, finished_at = ",
    );
    sql.bind(micros(at))
        .push(", done = (SELECT COUNT(*) FROM trigger_migration_items WHERE migration_id = ")
        .bind(id)
        .push(") WHERE id = ")
        .bind(id)
        .push(" AND owner = ")
        .bind(owner)
        .push(" AND status = 'running'");
    sql
}

pub(crate) fn count_migration_progress(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE trigger_migrations SET done = done + 1 WHERE id = ",
    );
    sql.bind(id);
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

pub(crate) fn insert_migration_item(
    d: Dialect,
    migration_id: Uuid,
    trigger_id: Uuid,
    position: u64,
) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_migration_items (migration_id, trigger_id, position) VALUES ",
    );
    sql.bind_row(vec![
        migration_id.into(),
        trigger_id.into(),
        (position as i64).into(),
    ]);
    sql
}

pub(crate) fn select_migration_item(d: Dialect, migration_id: Uuid, position: u64) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT trigger_id AS id FROM trigger_migration_items WHERE migration_id = ",
    );
    sql.bind(migration_id)
        .push(" AND position = ")
        .bind(position as i64);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct MigrationRow {
    id: Uuid,
    created_at: Micros,
    actor: String,
    reason: String,
    kind: String,
    spec: String,
    status: String,
    total: i64,
    done: i64,
    finished_at: Option<Micros>,
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

/// The newest migrations first, whatever their status.
pub(crate) fn select_recent_migrations(d: Dialect, limit: u32) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id FROM trigger_migrations ORDER BY created_at DESC, id DESC LIMIT ",
    );
    sql.bind(limit as i64);
    sql
}

pub(crate) fn select_running_migrations(d: Dialect) -> Sql {
    Sql::new(
        d,
        "SELECT id FROM trigger_migrations WHERE status = 'running' ORDER BY created_at",
    )
}

/// The positions of a migration's items that are done.
pub(crate) fn select_done_positions(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT position FROM trigger_migration_items WHERE position IS NOT NULL \
         AND migration_id = ",
    );
    sql.bind(id);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct PositionRow {
    pub position: i64,
}

/// A page of the set a rerun migration re-executes, after `after` (exclusive).
pub(crate) fn select_migration_set(d: Dialect, id: Uuid, after: Option<u64>, limit: u32) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT position, trigger_id FROM trigger_migration_set WHERE migration_id = ",
    );
    sql.bind(id)
        .push(" AND position > ")
        .bind(after.map(|a| a as i64).unwrap_or(-1))
        .push(" ORDER BY position LIMIT ")
        .bind(limit as i64);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct SetRow {
    pub position: i64,
    pub trigger_id: Uuid,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub id: Uuid,
}
