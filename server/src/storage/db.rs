//! Running shared `Sql` statements on either database, and the reads both
//! implementations answer the same way.

use std::collections::HashMap;

use sqlx::{Arguments, Database, Executor, FromRow, Pool};
use uuid::Uuid;

use app::domain::{Attempt, LogEntry, Trigger, TriggerDetail, TriggerWithPayload};

use super::sql::{self, Arg, AttemptRow, Dialect, LogRow, PluginRow, Sql, TriggerRow};
use super::{ApiKeyRecord, Context, Cursor, PluginKey, PluginRecord, StoreError, StoreFilter};

/// A database our `Sql` can be bound to.
pub(crate) trait SqlDatabase: Database + sqlx::database::HasStatementCache {
    const DIALECT: Dialect;
    /// How a write transaction starts. SQLite's takes the write lock first
    /// (`IMMEDIATE`): a deferred one that reads before it writes cannot wait for
    /// another process's writer and fails at once with "database is locked".
    const BEGIN: &'static str;
    type Args<'q>: sqlx::IntoArguments<'q, Self> + Send;
    fn arguments<'q>(args: Vec<Arg>) -> Self::Args<'q>;
}

macro_rules! bind_all {
    ($args:expr, $values:expr) => {{
        let mut out = $args;
        for value in $values {
            let added = match value {
                Arg::Uuid(v) => out.add(v),
                Arg::Int(v) => out.add(v),
                Arg::Text(v) => out.add(v),
                Arg::Bytes(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
                Arg::Time(v) => out.add(v),
            };
            added.expect("encoding a plain value cannot fail");
        }
        out
    }};
}

impl SqlDatabase for sqlx::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    type Args<'q> = sqlx::sqlite::SqliteArguments<'q>;
    fn arguments<'q>(args: Vec<Arg>) -> Self::Args<'q> {
        bind_all!(sqlx::sqlite::SqliteArguments::default(), args)
    }
}

impl SqlDatabase for sqlx::Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    const BEGIN: &'static str = "BEGIN";
    type Args<'q> = sqlx::postgres::PgArguments;
    fn arguments<'q>(args: Vec<Arg>) -> Self::Args<'q> {
        bind_all!(sqlx::postgres::PgArguments::default(), args)
    }
}

pub(crate) async fn execute<'c, DB, E>(
    executor: E,
    sql: Sql,
    context: &'static str,
) -> Result<u64, StoreError>
where
    DB: SqlDatabase,
    E: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    let args = DB::arguments(sql.args);
    let result = sqlx::query_with::<DB, DB::Args<'_>>(&sql.text, args)
        .persistent(sql.kept)
        .execute(executor)
        .await
        .context(context)?;
    Ok(result.rows_affected())
}

pub(crate) async fn fetch_all<'c, DB, E, R>(
    executor: E,
    sql: Sql,
    context: &'static str,
) -> Result<Vec<R>, StoreError>
where
    DB: SqlDatabase,
    E: Executor<'c, Database = DB>,
    R: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
{
    let args = DB::arguments(sql.args);
    sqlx::query_as_with::<DB, R, DB::Args<'_>>(&sql.text, args)
        .persistent(sql.kept)
        .fetch_all(executor)
        .await
        .context(context)
}

pub(crate) async fn fetch_optional<'c, DB, E, R>(
    executor: E,
    sql: Sql,
    context: &'static str,
) -> Result<Option<R>, StoreError>
where
    DB: SqlDatabase,
    E: Executor<'c, Database = DB>,
    R: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
{
    let args = DB::arguments(sql.args);
    sqlx::query_as_with::<DB, R, DB::Args<'_>>(&sql.text, args)
        .persistent(sql.kept)
        .fetch_optional(executor)
        .await
        .context(context)
}

/// `rows_affected` is inherent on each database's result type; this names it once.
pub(crate) trait HasRowsAffected {
    fn rows_affected(&self) -> u64;
}

impl HasRowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl HasRowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// The reads, identical on both databases.
pub(crate) struct Reader<DB: Database> {
    pub pool: Pool<DB>,
}

/// The reads, identical on both databases: each store hands out its `Reader`
/// and the `Store` trait's read methods go through it.
#[async_trait::async_trait]
pub trait Reads: Send + Sync {
    /// Newest first, strictly after `after` in that order.
    async fn list_triggers(
        &self,
        filter: &StoreFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Trigger>, StoreError>;
    async fn get_trigger_detail(&self, id: Uuid) -> Result<Option<TriggerDetail>, StoreError>;
    async fn get_plugin(&self, key: &PluginKey) -> Result<Option<PluginRecord>, StoreError>;
    async fn list_plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;
    /// When the next trigger is due, to sleep exactly until then.
    async fn next_due_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>;
    /// How many triggers a filter matches.
    async fn count_triggers(&self, filter: &StoreFilter) -> Result<u64, StoreError>;
    /// With `succeeded`/`failed` counted from its triggers' statuses now.
    async fn get_migration(&self, id: Uuid) -> Result<Option<super::MigrationRecord>, StoreError>;
    /// Migrations still running (whoever holds them).
    async fn running_migrations(&self) -> Result<Vec<Uuid>, StoreError>;
    /// The ids of the newest `limit` migrations, newest first.
    async fn recent_migrations(&self, limit: u32) -> Result<Vec<Uuid>, StoreError>;
    /// Positions of the items a migration has done.
    async fn migration_done_positions(&self, id: Uuid) -> Result<Vec<u64>, StoreError>;
    /// A page of the set a rerun migration re-executes: (position, trigger id).
    async fn migration_set(
        &self,
        id: Uuid,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, Uuid)>, StoreError>;
    /// The key with this hash, revoked and expired ones included.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn get_api_key(&self, id: Uuid) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Every key, revoked ones too, newest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// A page of the audit trail, newest first, strictly after `after` in that order.
    async fn audit_page(
        &self,
        filter: &super::AuditFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<super::AuditEntry>, StoreError>;
    /// How many triggers a filter matches, per status (statuses with none are absent).
    async fn count_by_status(
        &self,
        filter: &StoreFilter,
    ) -> Result<Vec<(app::domain::Status, u64)>, StoreError>;
    /// Who created a trigger (`key:<id>`, `user:<id>`, `system`), if recorded.
    async fn trigger_creator(&self, id: Uuid) -> Result<Option<String>, StoreError>;
    /// How many triggers wait, are scheduled, run; since when the oldest is due.
    async fn queue_depth(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<super::QueueDepth, StoreError>;
    /// The audit trail, newest first.
    async fn list_audit(&self, limit: u32) -> Result<Vec<super::AuditEntry>, StoreError>;
    /// Ids a statement selects (read into `IdRow`); statements are built inside `storage`.
    #[allow(private_interfaces)]
    async fn trigger_ids(&self, sql: Sql, context: &'static str) -> Result<Vec<Uuid>, StoreError>;
    /// The database the statements are written for.
    #[allow(private_interfaces)]
    fn dialect(&self) -> Dialect;
    /// Triggers whose payload holds a sealed value, in id order after `after`
    /// (key rotation): (id, payload).
    async fn sealed_payloads(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError>;
    /// Trigger migrations whose spec holds a sealed value (their `create` items),
    /// likewise: (id, spec).
    async fn sealed_migration_specs(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError>;
    /// Every plugin's failed attempts since `since`, and when it last succeeded;
    /// counting only the triggers `created_by` made, when given.
    async fn plugin_activity(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        created_by: Option<&str>,
    ) -> Result<Vec<super::PluginActivity>, StoreError>;
    /// Attempts per period and class (see `sql::count_attempt_activity`).
    async fn attempt_activity(
        &self,
        filter: &StoreFilter,
        from: chrono::DateTime<chrono::Utc>,
        bucket: chrono::Duration,
        buckets: u32,
    ) -> Result<Vec<(u32, app::domain::FailureClass, u64)>, StoreError>;
}

#[async_trait::async_trait]
impl<DB> Reads for Reader<DB>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    TriggerRow: for<'r> FromRow<'r, DB::Row>,
    AttemptRow: for<'r> FromRow<'r, DB::Row>,
    LogRow: for<'r> FromRow<'r, DB::Row>,
    PluginRow: for<'r> FromRow<'r, DB::Row>,
    sql::ApiKeyRow: for<'r> FromRow<'r, DB::Row>,
    sql::NextDueRow: for<'r> FromRow<'r, DB::Row>,
    sql::CountRow: for<'r> FromRow<'r, DB::Row>,
    sql::PositionRow: for<'r> FromRow<'r, DB::Row>,
    sql::MigrationRow: for<'r> FromRow<'r, DB::Row>,
    sql::StatusCountRow: for<'r> FromRow<'r, DB::Row>,
    sql::IdRow: for<'r> FromRow<'r, DB::Row>,
    sql::SetRow: for<'r> FromRow<'r, DB::Row>,
    sql::AuditRow: for<'r> FromRow<'r, DB::Row>,
    sql::CreatorRow: for<'r> FromRow<'r, DB::Row>,
    sql::QueueRow: for<'r> FromRow<'r, DB::Row>,
    sql::SealedTextRow: for<'r> FromRow<'r, DB::Row>,
    sql::WindowActivityRow: for<'r> FromRow<'r, DB::Row>,
    sql::LastFinishedRow: for<'r> FromRow<'r, DB::Row>,
    sql::ActivityRow: for<'r> FromRow<'r, DB::Row>,
{
    async fn plugin_activity(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        created_by: Option<&str>,
    ) -> Result<Vec<super::PluginActivity>, StoreError> {
        let finished: Vec<sql::LastFinishedRow> = fetch_all(
            &self.pool,
            sql::select_last_finished(DB::DIALECT, created_by),
            "finding each plugin's last finished trigger",
        )
        .await?;
        let window: Vec<sql::WindowActivityRow> = fetch_all(
            &self.pool,
            sql::select_window_activity(DB::DIALECT, since, created_by),
            "counting plugins' recent attempts",
        )
        .await?;
        Ok(finished
            .into_iter()
            .map(|f| {
                let recent = window.iter().find(|w| w.plugin_id == f.plugin_id);
                let last_success = f
                    .last_success
                    .max(recent.and_then(|w| w.last_success))
                    .map(sql::from_micros);
                super::PluginActivity {
                    plugin_id: f.plugin_id,
                    failures: recent.map_or(0, |w| w.failures.max(0) as u64),
                    last_success_at: last_success,
                }
            })
            .collect())
    }

    async fn sealed_payloads(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        let sql = sql::select_sealed_payloads(DB::DIALECT, after, limit);
        let rows: Vec<sql::SealedTextRow> =
            fetch_all(&self.pool, sql, "reading sealed payloads").await?;
        Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
    }

    async fn sealed_migration_specs(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        let sql = sql::select_sealed_migration_specs(DB::DIALECT, after, limit);
        let rows: Vec<sql::SealedTextRow> =
            fetch_all(&self.pool, sql, "reading sealed migration items").await?;
        Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
    }

    async fn attempt_activity(
        &self,
        filter: &StoreFilter,
        from: chrono::DateTime<chrono::Utc>,
        bucket: chrono::Duration,
        buckets: u32,
    ) -> Result<Vec<(u32, app::domain::FailureClass, u64)>, StoreError> {
        let sql = sql::count_attempt_activity(DB::DIALECT, filter, from, bucket, buckets);
        let rows: Vec<sql::ActivityRow> =
            fetch_all(&self.pool, sql, "counting attempts per period").await?;
        rows.into_iter()
            .map(|r| {
                let class = app::domain::FailureClass::parse(&r.class)
                    .ok_or_else(|| StoreError::Corrupt(format!("attempt class {:?}", r.class)))?;
                let bucket = u32::try_from(r.bucket)
                    .map_err(|_| StoreError::Corrupt(format!("activity period {}", r.bucket)))?;
                Ok((bucket, class, r.n as u64))
            })
            .collect()
    }

    async fn list_triggers(
        &self,
        filter: &StoreFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Trigger>, StoreError> {
        let rows = match search_listing(&self.pool, filter, after, limit).await? {
            Listing::Rows(rows) => rows,
            Listing::Run(sql) => fetch_all(&self.pool, sql, "listing triggers").await?,
        };
        rows.into_iter().map(Trigger::try_from).collect()
    }

    async fn get_trigger_detail(&self, id: Uuid) -> Result<Option<TriggerDetail>, StoreError> {
        let sql = sql::select_trigger(DB::DIALECT, id);
        let Some(mut row): Option<TriggerRow> =
            fetch_optional(&self.pool, sql, "reading a trigger").await?
        else {
            return Ok(None);
        };
        let payload_text = row.payload.take().unwrap_or_else(|| "null".into());
        let details_removed_at = row.details_removed_at.take().map(sql::from_micros);
        let payload = serde_json::from_str(&payload_text)
            .map_err(|_| StoreError::Corrupt(format!("payload of trigger {id}")))?;
        let attempts: Vec<AttemptRow> = fetch_all(
            &self.pool,
            sql::select_attempts(DB::DIALECT, id),
            "reading attempts",
        )
        .await?;
        let logs: Vec<LogRow> = fetch_all(
            &self.pool,
            sql::select_logs(DB::DIALECT, id),
            "reading logs",
        )
        .await?;
        Ok(Some(TriggerDetail {
            trigger: TriggerWithPayload {
                trigger: Trigger::try_from(row)?,
                payload,
                details_removed_at,
            },
            attempts: attempts
                .into_iter()
                .map(Attempt::try_from)
                .collect::<Result<_, _>>()?,
            logs: logs
                .into_iter()
                .map(LogEntry::try_from)
                .collect::<Result<_, _>>()?,
        }))
    }

    async fn get_plugin(&self, key: &PluginKey) -> Result<Option<PluginRecord>, StoreError> {
        let row: Option<PluginRow> = fetch_optional(
            &self.pool,
            sql::select_plugin(DB::DIALECT, key),
            "reading a plugin",
        )
        .await?;
        row.map(PluginRecord::try_from).transpose()
    }

    async fn list_plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let sql = Sql::new(
            DB::DIALECT,
            format!("SELECT {} FROM plugins ORDER BY name", sql::PLUGIN_COLUMNS),
        );
        let rows: Vec<PluginRow> = fetch_all(&self.pool, sql, "listing plugins").await?;
        rows.into_iter().map(PluginRecord::try_from).collect()
    }

    async fn next_due_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let row: Option<sql::NextDueRow> = fetch_optional(
            &self.pool,
            sql::next_due(DB::DIALECT),
            "finding the next due trigger",
        )
        .await?;
        Ok(row.and_then(|r| r.at).map(sql::from_micros))
    }

    async fn count_triggers(&self, filter: &StoreFilter) -> Result<u64, StoreError> {
        if sql::counted_in_totals(filter) {
            let by_status = self.count_by_status(filter).await?;
            return Ok(by_status.iter().map(|(_, n)| n).sum());
        }
        let row: Option<sql::CountRow> = fetch_optional(
            &self.pool,
            sql::count_triggers(DB::DIALECT, filter),
            "counting triggers",
        )
        .await?;
        Ok(row.map(|r| r.n as u64).unwrap_or(0))
    }

    async fn get_migration(&self, id: Uuid) -> Result<Option<super::MigrationRecord>, StoreError> {
        let row: Option<sql::MigrationRow> = fetch_optional(
            &self.pool,
            sql::select_migration(DB::DIALECT, id),
            "reading a migration",
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut m = super::MigrationRecord::try_from(row)?;
        let counts: Vec<sql::StatusCountRow> = fetch_all(
            &self.pool,
            sql::count_migration_outcomes(DB::DIALECT, id),
            "counting a migration's outcomes",
        )
        .await?;
        for c in counts {
            match c.status.as_str() {
                "finished" => m.succeeded = c.n as u64,
                "erroneous" => m.failed = c.n as u64,
                _ => {}
            }
        }
        Ok(Some(m))
    }

    async fn recent_migrations(&self, limit: u32) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<sql::IdRow> = fetch_all(
            &self.pool,
            sql::select_recent_migrations(DB::DIALECT, limit),
            "listing migrations",
        )
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn running_migrations(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<sql::IdRow> = fetch_all(
            &self.pool,
            sql::select_running_migrations(DB::DIALECT),
            "listing running migrations",
        )
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn migration_done_positions(&self, id: Uuid) -> Result<Vec<u64>, StoreError> {
        let rows: Vec<sql::PositionRow> = fetch_all(
            &self.pool,
            sql::select_done_positions(DB::DIALECT, id),
            "listing what a migration has done",
        )
        .await?;
        Ok(rows.into_iter().map(|r| r.position as u64).collect())
    }

    async fn migration_set(
        &self,
        id: Uuid,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, Uuid)>, StoreError> {
        let rows: Vec<sql::SetRow> = fetch_all(
            &self.pool,
            sql::select_migration_set(DB::DIALECT, id, after, limit),
            "reading the set a migration re-executes",
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.position as u64, r.trigger_id))
            .collect())
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<super::AuditEntry>, StoreError> {
        let rows: Vec<sql::AuditRow> = fetch_all(
            &self.pool,
            sql::select_audit(DB::DIALECT, limit),
            "reading the audit trail",
        )
        .await?;
        rows.into_iter().map(super::AuditEntry::try_from).collect()
    }

    async fn count_by_status(
        &self,
        filter: &StoreFilter,
    ) -> Result<Vec<(app::domain::Status, u64)>, StoreError> {
        let statement = if sql::counted_in_totals(filter) {
            sql::count_totals_by_status(DB::DIALECT, filter)
        } else {
            sql::count_triggers_by_status(DB::DIALECT, filter)
        };
        let rows: Vec<sql::StatusCountRow> =
            fetch_all(&self.pool, statement, "counting triggers by status").await?;
        rows.into_iter()
            .map(|r| {
                let status = app::domain::Status::parse(&r.status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", r.status)))?;
                Ok((status, r.n as u64))
            })
            .collect()
    }

    fn dialect(&self) -> Dialect {
        DB::DIALECT
    }

    async fn trigger_ids(&self, sql: Sql, context: &'static str) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<sql::IdRow> = fetch_all(&self.pool, sql, context).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn queue_depth(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<super::QueueDepth, StoreError> {
        let row: Option<sql::QueueRow> = fetch_optional(
            &self.pool,
            sql::queue_depth(DB::DIALECT, now),
            "reading the queue depth",
        )
        .await?;
        let r = row.ok_or_else(|| StoreError::Corrupt("no queue depth row".into()))?;
        Ok(super::QueueDepth {
            due: r.due as u64,
            scheduled: r.scheduled as u64,
            running: r.running as u64,
            oldest_due: r.oldest_due.map(sql::from_micros),
        })
    }

    async fn trigger_creator(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let row: Option<sql::CreatorRow> = fetch_optional(
            &self.pool,
            sql::select_trigger_creator(DB::DIALECT, id),
            "reading who created a trigger",
        )
        .await?;
        Ok(row.and_then(|r| r.created_by))
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row: Option<sql::ApiKeyRow> = fetch_optional(
            &self.pool,
            sql::select_api_key(DB::DIALECT, key_hash),
            "looking up an api key",
        )
        .await?;
        row.map(ApiKeyRecord::try_from).transpose()
    }

    async fn get_api_key(&self, id: Uuid) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row: Option<sql::ApiKeyRow> = fetch_optional(
            &self.pool,
            sql::select_api_key_by_id(DB::DIALECT, id),
            "reading an api key",
        )
        .await?;
        row.map(ApiKeyRecord::try_from).transpose()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<sql::ApiKeyRow> = fetch_all(
            &self.pool,
            sql::select_api_keys(DB::DIALECT),
            "listing api keys",
        )
        .await?;
        rows.into_iter().map(ApiKeyRecord::try_from).collect()
    }

    async fn audit_page(
        &self,
        filter: &super::AuditFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<super::AuditEntry>, StoreError> {
        let rows: Vec<sql::AuditRow> = fetch_all(
            &self.pool,
            sql::select_audit_page(DB::DIALECT, filter, after, limit),
            "reading the audit trail",
        )
        .await?;
        rows.into_iter().map(super::AuditEntry::try_from).collect()
    }
}

/// A list page: rows already read, or the statement that reads them.
enum Listing {
    Rows(Vec<TriggerRow>),
    Run(Sql),
}

/// How a list page is read, `q` asked for as its text's commonness says (see
/// `sql::search`). On PostgreSQL, text that many triggers hold fills the page
/// from the first rows of the list's own order. Otherwise the index is asked for
/// the matches, up to a bound: on PostgreSQL their ids, a page of fewer being
/// read from those; on SQLite their number, a page of fewer starting from the
/// index's matches. Past the bound the list walks its own order to the end if
/// need be.
async fn search_listing<DB>(
    pool: &Pool<DB>,
    filter: &StoreFilter,
    after: Option<Cursor>,
    limit: u32,
) -> Result<Listing, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    TriggerRow: for<'r> FromRow<'r, DB::Row>,
    sql::CountRow: for<'r> FromRow<'r, DB::Row>,
    sql::IdRow: for<'r> FromRow<'r, DB::Row>,
{
    let d = DB::DIALECT;
    let Some(q) = filter.q.as_deref().map(sql::fold).filter(|q| !q.is_empty()) else {
        let plan = sql::QPlan::Index;
        return Ok(Listing::Run(sql::select_triggers(
            d, filter, after, limit, plan,
        )));
    };
    // SQLite's index counts a common text's first matches as it finds them; the
    // probe would cost it more (it reads every probed row before the page).
    let probe = (d == Dialect::Postgres)
        .then(|| sql::select_triggers_probe(d, filter, after, limit, sql::SEARCH_PROBE_ROWS))
        .flatten();
    if let Some(probe) = probe {
        let rows: Vec<TriggerRow> = fetch_all(pool, probe, "listing triggers (first rows)").await?;
        if rows.len() >= limit as usize {
            return Ok(Listing::Rows(rows));
        }
    }
    let cap = sql::SEARCH_SCAN_FROM;
    let common = match d {
        Dialect::Postgres => {
            let matches = sql::select_pg_matches(&q, cap);
            let found: Vec<sql::IdRow> = fetch_all(pool, matches, "finding search matches").await?;
            if found.is_empty() {
                return Ok(Listing::Rows(Vec::new()));
            }
            if found.len() < cap as usize {
                let ids: Vec<Uuid> = found.into_iter().map(|r| r.id).collect();
                let among = sql::select_triggers_among(d, filter, after, limit, &ids);
                return Ok(Listing::Run(among));
            }
            true
        }
        Dialect::Sqlite => {
            let count = sql::count_search_matches(d, &q, cap);
            let counted: Option<sql::CountRow> =
                fetch_optional(pool, count, "counting search matches").await?;
            counted.is_some_and(|r| r.n >= i64::from(cap))
        }
    };
    let plan = if common {
        sql::QPlan::Scan
    } else {
        sql::QPlan::Index
    };
    Ok(Listing::Run(sql::select_triggers(
        d, filter, after, limit, plan,
    )))
}

/// Store one attempt and move its trigger, on a connection inside a transaction.
/// The trigger first: under a lost lease nothing of this attempt is written.
pub(crate) async fn write_outcome<DB>(
    conn: &mut DB::Connection,
    o: &super::AttemptOutcome,
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
{
    let moved = execute(
        &mut *conn,
        sql::apply_outcome(DB::DIALECT, o),
        "updating a trigger",
    )
    .await?;
    if moved == 0 {
        return Err(not_moved(o));
    }
    fill_interrupted::<DB>(&mut *conn, o).await?;
    write_attempt_rows::<DB>(conn, &[o]).await
}

/// What outcomes add once their triggers have moved: their attempts, their logs,
/// and any external id into the search index. One round trip on SQLite.
async fn write_attempt_rows<DB>(
    conn: &mut DB::Connection,
    outcomes: &[&super::AttemptOutcome],
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    let mut statements = vec![sql::insert_attempts(DB::DIALECT, outcomes)];
    let logs = outcomes
        .iter()
        .flat_map(|o| o.logs.iter().map(|l| (o.trigger_id, l)));
    statements.extend(sql::insert_logs(DB::DIALECT, logs));
    statements.extend(outcomes.iter().filter_map(|o| {
        let external_id = o.external_id.as_ref()?;
        Some(sql::set_search_ext(DB::DIALECT, o.trigger_id, external_id))
    }));
    execute_together(
        conn,
        statements,
        "storing attempts, their logs and external ids",
    )
    .await
}

/// Run statements one after another on one connection: on SQLite as one query (one
/// round trip to its thread; `Sql::then`), on PostgreSQL each on its own (its
/// numbered placeholders do not join).
async fn execute_together<DB>(
    conn: &mut DB::Connection,
    statements: Vec<Sql>,
    context: &'static str,
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    let mut statements = statements.into_iter();
    if DB::DIALECT == Dialect::Sqlite {
        let Some(mut all) = statements.next() else {
            return Ok(());
        };
        for next in statements {
            all.then(next);
        }
        execute(&mut *conn, all, context).await?;
        return Ok(());
    }
    for statement in statements {
        execute(&mut *conn, statement, context).await?;
    }
    Ok(())
}

/// Outcomes recorded by one statement of each kind; bounded so that no statement
/// nears either database's limit on bound values (21 per attempt row).
const OUTCOME_CHUNK: usize = 200;

/// A batch of outcomes inside one transaction, set-based: one `UPDATE … FROM
/// (VALUES …)` moves every trigger whose lease still holds (checked per row inside
/// the statement) and reads back each one's last recorded attempt number, then the
/// attempts and their logs go in (one round trip on SQLite). An outcome whose lease
/// was lost gets `LeaseLost` and writes nothing; any other failure fails the batch
/// (the executor then records each alone).
pub(crate) async fn write_outcomes<DB>(
    conn: &mut DB::Connection,
    outcomes: &[super::AttemptOutcome],
) -> Result<Vec<Result<(), StoreError>>, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
    sql::MovedRow: for<'r> FromRow<'r, DB::Row>,
{
    if !each_trigger_once(outcomes) {
        return Err(StoreError::Corrupt(
            "one trigger twice in a batch of outcomes".into(),
        ));
    }
    let mut moved = std::collections::HashSet::new();
    for chunk in outcomes.chunks(OUTCOME_CHUNK) {
        let chunk: Vec<&super::AttemptOutcome> = chunk.iter().collect();
        let rows: Vec<sql::MovedRow> = fetch_all(
            &mut *conn,
            sql::apply_outcomes(DB::DIALECT, &chunk),
            "updating triggers",
        )
        .await?;
        let last: HashMap<Uuid, i64> = rows.iter().map(|r| (r.id, r.number.unwrap_or(0))).collect();
        moved.extend(last.keys().copied());
        let kept: Vec<&super::AttemptOutcome> = chunk
            .into_iter()
            .filter(|o| last.contains_key(&o.trigger_id))
            .collect();
        if kept.is_empty() {
            continue;
        }
        for o in &kept {
            if i64::from(o.attempt.number) > last[&o.trigger_id] + 1 {
                fill_interrupted::<DB>(&mut *conn, o).await?;
            }
        }
        write_attempt_rows::<DB>(&mut *conn, &kept).await?;
    }
    Ok(outcomes
        .iter()
        .map(|o| match moved.contains(&o.trigger_id) {
            true => Ok(()),
            false => Err(not_moved(o)),
        })
        .collect())
}

/// Whether no trigger has two outcomes in the batch (which one moved it could not be told).
fn each_trigger_once(outcomes: &[super::AttemptOutcome]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(outcomes.len());
    outcomes.iter().all(|o| seen.insert(o.trigger_id))
}

/// Why an outcome moved no trigger: its lease was lost, or the trigger is gone.
fn not_moved(o: &super::AttemptOutcome) -> StoreError {
    if o.lease.is_some() {
        StoreError::LeaseLost
    } else {
        StoreError::Corrupt(format!("trigger {} does not exist", o.trigger_id))
    }
}

/// Claims whose worker died before recording anything still made (or may have made)
/// a call: give each its own attempt row, so the history never shows fewer attempts
/// than the provider saw. (The rescue of expired leases records them first; this
/// fills whatever gap is left.)
async fn fill_interrupted<DB>(
    conn: &mut DB::Connection,
    o: &super::AttemptOutcome,
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
{
    let retry = crate::outcome::interrupted_retry(o.attempt.started_at);
    insert_interrupted::<DB>(
        conn,
        o.trigger_id,
        o.attempt.number.saturating_sub(1),
        o.attempt.started_at,
        &o.attempt.request,
        &retry,
    )
    .await
}

/// Attempt rows for every number after the last recorded one up to `through`,
/// each an interrupted call deciding `decision`.
async fn insert_interrupted<DB>(
    conn: &mut DB::Connection,
    trigger_id: Uuid,
    through: u32,
    at: chrono::DateTime<chrono::Utc>,
    request: &app::domain::AttemptRequest,
    decision: &app::domain::Decision,
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
{
    let last: Option<sql::LastAttemptNumberRow> = fetch_optional(
        &mut *conn,
        sql::select_last_attempt_number(DB::DIALECT, trigger_id),
        "reading attempt numbers",
    )
    .await?;
    let last = last.and_then(|r| r.number).unwrap_or(0) as u32;
    for number in last + 1..=through {
        let gap = super::AttemptOutcome {
            trigger_id,
            attempt: app::domain::Attempt {
                id: Uuid::now_v7(),
                number,
                started_at: at,
                duration_ms: 0,
                started_by: app::domain::StartedBy {
                    kind: app::domain::StartedByKind::Automatic,
                    actor: None,
                },
                request: app::domain::AttemptRequest {
                    method: request.method.clone(),
                    url: request.url.clone(),
                    headers: Default::default(),
                    body: None,
                },
                response: None,
                class: app::domain::FailureClass::Network,
                decision: decision.clone(),
            },
            status: app::domain::Status::Retrying,
            next_attempt_at: None,
            finished_at: None,
            external_id: None,
            last_error: None,
            logs: Vec::new(),
            lease: None,
        };
        execute(
            &mut *conn,
            sql::insert_attempt(DB::DIALECT, &gap),
            "recording an interrupted attempt",
        )
        .await?;
    }
    Ok(())
}

/// Expired leases settled per claim at most; the rest wait for the next claim.
const RESCUE_BATCH: u32 = 100;

/// Claim a batch inside a transaction: first settle expired leases, then take at
/// most `limit` due triggers (see `sql::claim`).
pub(crate) async fn claim<DB>(
    conn: &mut DB::Connection,
    c: &super::Claim,
) -> Result<Vec<super::ClaimedTrigger>, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
    sql::ExpiredRow: for<'r> FromRow<'r, DB::Row>,
    sql::ClaimedRow: for<'r> FromRow<'r, DB::Row>,
{
    settle_expired::<DB>(conn, c.now).await?;
    let rows: Vec<sql::ClaimedRow> = fetch_all(
        &mut *conn,
        sql::claim(DB::DIALECT, c),
        "claiming due triggers",
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_claimed(c.lease_until))
        .collect())
}

/// The rescue of expired leases, bounded like any claim. The interrupted claim
/// counted as an attempt (numbers are taken at claim time) and gets its row now.
/// If it was the last attempt the plugin's retry policy allows, the trigger ends
/// `erroneous` and the log says why; otherwise it is due again at once, and waits
/// like every due trigger while its plugin is inactive. Nothing is called here.
async fn settle_expired<DB>(
    conn: &mut DB::Connection,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::LastAttemptNumberRow: for<'r> FromRow<'r, DB::Row>,
    sql::ExpiredRow: for<'r> FromRow<'r, DB::Row>,
{
    use app::domain::RetryPolicy;
    let expired: Vec<sql::ExpiredRow> = fetch_all(
        &mut *conn,
        sql::select_expired_leases(DB::DIALECT, now, RESCUE_BATCH),
        "finding expired leases",
    )
    .await?;
    for e in expired {
        let max = serde_json::from_str::<RetryPolicy>(&e.retry_policy)
            .unwrap_or_default()
            .max_attempts;
        let number = e.attempts.max(0) as u32;
        let ended = number >= max;
        let (decision, step) = crate::outcome::lease_expired(number, max, now);
        let moved = execute(
            &mut *conn,
            sql::settle_expired(DB::DIALECT, e.id, ended, &decision.reason, now),
            "settling an expired lease",
        )
        .await?;
        if moved == 0 {
            continue;
        }
        let unknown = app::domain::AttemptRequest {
            method: "-".into(),
            url: "-".into(),
            headers: Default::default(),
            body: None,
        };
        insert_interrupted::<DB>(conn, e.id, number, now, &unknown, &decision).await?;
        crate::metrics::lease_rescues(1);
        let logs = crate::outcome::lease_expired_lines(now, number, &decision, step);
        if let Some(sql) = sql::insert_logs(DB::DIALECT, logs.iter().map(|l| (e.id, l))) {
            execute(&mut *conn, sql, "logging an expired lease").await?;
        }
    }
    Ok(())
}

/// Queue a manual or migration run with its audit row, inside a transaction.
pub(crate) async fn queue_run<DB>(
    conn: &mut DB::Connection,
    trigger_id: Uuid,
    run: &super::PendingRun,
    audit: Option<&super::AuditEntry>,
) -> Result<super::RunRequest, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::IdRow: for<'r> FromRow<'r, DB::Row>,
{
    let sql = sql::request_run(DB::DIALECT, trigger_id, run, crate::clock::now());
    if execute(&mut *conn, sql, "queueing a run").await? == 0 {
        let exists: Option<sql::IdRow> = fetch_optional(
            &mut *conn,
            sql::select_trigger_exists(DB::DIALECT, trigger_id),
            "reading a trigger",
        )
        .await?;
        return Ok(if exists.is_some() {
            super::RunRequest::Running
        } else {
            super::RunRequest::NotFound
        });
    }
    if let Some(audit) = audit {
        execute(
            &mut *conn,
            sql::insert_audit(DB::DIALECT, audit),
            "writing the audit trail",
        )
        .await?;
    }
    Ok(super::RunRequest::Queued)
}

/// A change and its audit row, inside a transaction. Returns how many rows the
/// change touched; when none (a key revoked already), no audit row is written.
pub(crate) async fn apply_audited<DB>(
    conn: &mut DB::Connection,
    change: &super::AuditedChange,
    audit: &super::AuditEntry,
) -> Result<u64, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    use super::AuditedChange::*;
    let (sql, context) = match change {
        InsertPlugin(p) => (sql::insert_plugin(DB::DIALECT, p), "inserting a plugin"),
        UpdatePlugin(p) => (sql::update_plugin(DB::DIALECT, p), "updating a plugin"),
        InsertApiKey(k) => (sql::insert_api_key(DB::DIALECT, k), "inserting an api key"),
        RevokeApiKey { id, at } => (
            sql::revoke_api_key(DB::DIALECT, *id, *at),
            "revoking an api key",
        ),
    };
    let changed = execute(&mut *conn, sql, context).await?;
    if changed > 0 {
        execute(
            &mut *conn,
            sql::insert_audit(DB::DIALECT, audit),
            "writing the audit trail",
        )
        .await?;
    }
    Ok(changed)
}

/// A new migration, its audit row and (for a rerun) its fixed set, inside a
/// transaction. Returns how many items it has.
pub(crate) async fn begin_migration<DB>(
    conn: &mut DB::Connection,
    m: &super::MigrationRecord,
    audit: &super::AuditEntry,
    rerun_set: Option<&StoreFilter>,
) -> Result<u64, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    execute(
        &mut *conn,
        sql::insert_migration(DB::DIALECT, m),
        "inserting a migration",
    )
    .await?;
    execute(
        &mut *conn,
        sql::insert_audit(DB::DIALECT, audit),
        "writing the audit trail",
    )
    .await?;
    let Some(filter) = rerun_set else {
        return Ok(m.total);
    };
    let total = execute(
        &mut *conn,
        sql::snapshot_migration_set(DB::DIALECT, m.id, filter),
        "fixing the set a migration re-executes",
    )
    .await?;
    execute(
        &mut *conn,
        sql::set_migration_total(DB::DIALECT, m.id, total),
        "counting a migration's set",
    )
    .await?;
    Ok(total)
}

/// One migration item, inside a transaction: the lease first (a lost lease or a
/// cancel writes nothing), then whether this position is done already, then the
/// trigger it creates or re-queues together with the row that records it.
pub(crate) async fn migration_step<DB>(
    conn: &mut DB::Connection,
    step: &super::MigrationStep,
) -> Result<super::StepOutcome, StoreError>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    sql::IdRow: for<'r> FromRow<'r, DB::Row>,
{
    let id = step.migration_id;
    let renewed = execute(
        &mut *conn,
        sql::renew_migration(DB::DIALECT, id, &step.owner, step.lease_until),
        "renewing a migration's lease",
    )
    .await?;
    if renewed == 0 {
        return Ok(super::StepOutcome::Stopped);
    }
    let done: Option<sql::IdRow> = fetch_optional(
        &mut *conn,
        sql::select_migration_item(DB::DIALECT, id, step.position),
        "reading a migration item",
    )
    .await?;
    if done.is_some() {
        return Ok(super::StepOutcome::AlreadyDone);
    }
    let trigger_id = match &step.work {
        super::MigrationWork::Rerun { trigger_id, run } => {
            // Queued, in flight (it is being executed anyway) or gone: each is done.
            queue_run::<DB>(&mut *conn, *trigger_id, run, None).await?;
            *trigger_id
        }
        super::MigrationWork::Create(trigger) => {
            let key = trigger
                .idempotency
                .as_ref()
                .map(|i| i.key.clone())
                .ok_or_else(|| StoreError::Corrupt("a migration trigger without a key".into()))?;
            let earlier: Option<sql::IdRow> = fetch_optional(
                &mut *conn,
                sql::select_trigger_id_by_key(DB::DIALECT, &key),
                "checking a migration item's key",
            )
            .await?;
            match earlier {
                Some(row) => row.id,
                None => {
                    execute(
                        &mut *conn,
                        sql::insert_triggers(DB::DIALECT, std::slice::from_ref(trigger)),
                        "creating a migration trigger",
                    )
                    .await?;
                    let search = sql::insert_search(DB::DIALECT, std::slice::from_ref(trigger));
                    if let Some(search) = search {
                        execute(&mut *conn, search, "indexing a trigger for search").await?;
                    }
                    let logs = trigger.logs.iter().map(|l| (trigger.id, l));
                    if let Some(logs) = sql::insert_logs(DB::DIALECT, logs) {
                        execute(&mut *conn, logs, "inserting logs").await?;
                    }
                    trigger.id
                }
            }
        }
    };
    execute(
        &mut *conn,
        sql::insert_migration_item(DB::DIALECT, id, trigger_id, step.position),
        "recording a migration item",
    )
    .await?;
    execute(
        &mut *conn,
        sql::count_migration_progress(DB::DIALECT, id),
        "counting a migration's progress",
    )
    .await?;
    Ok(super::StepOutcome::Done)
}

/// Writes that are one statement, identical on both databases (each store hands
/// out a `Writer` on the pool it writes through).
#[async_trait::async_trait]
pub trait Writes: Send + Sync {
    async fn insert_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError>;
    async fn update_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError>;
    /// Give a claim back uncounted (see `sql::release_claim`); false when the lease was lost.
    async fn release_claim(
        &self,
        trigger_id: Uuid,
        lease: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
    /// Take a running migration's lease until `until`: true when it was free, had
    /// expired or was already `owner`'s. Its `done` is recounted from its items.
    async fn claim_migration(
        &self,
        id: Uuid,
        owner: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
    /// Give the lease up (shutdown): another instance may take it at once.
    async fn release_migration(&self, id: Uuid, owner: &str) -> Result<(), StoreError>;
    /// Mark it completed, if `owner` still holds it and nobody cancelled it.
    async fn complete_migration(&self, id: Uuid, owner: &str) -> Result<bool, StoreError>;
    /// False when it had already ended.
    async fn cancel_migration(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// Note that a key was used at `at` (never moves the time backwards).
    async fn touch_api_key(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;
    /// An audit row on its own (sign-ins, key and user changes, embed tokens);
    /// actions with their own writes record theirs in the same transaction.
    async fn insert_audit(&self, entry: &super::AuditEntry) -> Result<(), StoreError>;
    /// Statements run one after another in one transaction; the rows each one
    /// changed. Statements are built inside `storage`.
    #[allow(private_interfaces)]
    async fn run_together(&self, steps: Vec<(Sql, &'static str)>) -> Result<Vec<u64>, StoreError>;
    /// Replace a trigger's payload if it is still `old`; false when it changed.
    async fn replace_payload(&self, id: Uuid, old: &str, new: &str) -> Result<bool, StoreError>;
    /// Replace a migration's spec if it is still `old`; false when it changed.
    async fn replace_migration_spec(
        &self,
        id: Uuid,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;
    /// Write a plugin's sealed columns and headers unless it was updated since it
    /// was read (`read_at`, its `updated_at` then); false when it was.
    async fn replace_plugin_secrets(
        &self,
        plugin: &PluginRecord,
        read_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
}

pub(crate) struct Writer<DB: Database> {
    pub pool: Pool<DB>,
}

impl<DB> Writer<DB>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    /// One statement, run to its end on a task of its own (see `detached`).
    async fn run(&self, sql: Sql, context: &'static str) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        super::detached(async move { execute(&pool, sql, context).await }).await
    }
}

#[async_trait::async_trait]
impl<DB> Writes for Writer<DB>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    async fn insert_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError> {
        let sql = sql::insert_plugin(DB::DIALECT, plugin);
        self.run(sql, "inserting a plugin").await.map(drop)
    }

    async fn update_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError> {
        let sql = sql::update_plugin(DB::DIALECT, plugin);
        self.run(sql, "updating a plugin").await.map(drop)
    }

    async fn release_claim(
        &self,
        trigger_id: Uuid,
        lease: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let sql = sql::release_claim(DB::DIALECT, trigger_id, lease, at);
        Ok(self.run(sql, "releasing a claim").await? > 0)
    }

    async fn claim_migration(
        &self,
        id: Uuid,
        owner: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let now = crate::clock::now();
        let sql = sql::claim_migration(DB::DIALECT, id, owner, until, now);
        Ok(self.run(sql, "claiming a migration").await? > 0)
    }

    async fn release_migration(&self, id: Uuid, owner: &str) -> Result<(), StoreError> {
        let sql = sql::release_migration(DB::DIALECT, id, owner);
        self.run(sql, "releasing a migration").await.map(drop)
    }

    async fn complete_migration(&self, id: Uuid, owner: &str) -> Result<bool, StoreError> {
        let sql = sql::complete_migration(DB::DIALECT, id, owner, crate::clock::now());
        Ok(self.run(sql, "completing a migration").await? > 0)
    }

    async fn cancel_migration(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let sql = sql::cancel_migration(DB::DIALECT, id, at);
        Ok(self.run(sql, "cancelling a migration").await? > 0)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let sql = sql::insert_api_key(DB::DIALECT, key);
        self.run(sql, "inserting an api key").await.map(drop)
    }

    async fn touch_api_key(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let sql = sql::touch_api_key(DB::DIALECT, id, at);
        self.run(sql, "noting when an api key was used")
            .await
            .map(drop)
    }

    async fn insert_audit(&self, entry: &super::AuditEntry) -> Result<(), StoreError> {
        let sql = sql::insert_audit(DB::DIALECT, entry);
        self.run(sql, "writing an audit row").await.map(drop)
    }

    async fn run_together(&self, steps: Vec<(Sql, &'static str)>) -> Result<Vec<u64>, StoreError> {
        let pool = self.pool.clone();
        super::detached(async move {
            let mut tx = pool
                .begin_with(DB::BEGIN)
                .await
                .context("starting a transaction")?;
            let mut changed = Vec::with_capacity(steps.len());
            for (sql, context) in steps {
                changed.push(execute(&mut *tx, sql, context).await?);
            }
            tx.commit().await.context("committing")?;
            Ok(changed)
        })
        .await
    }

    async fn replace_payload(&self, id: Uuid, old: &str, new: &str) -> Result<bool, StoreError> {
        let sql = sql::replace_payload(DB::DIALECT, id, old, new);
        Ok(self.run(sql, "re-sealing a payload").await? > 0)
    }

    async fn replace_migration_spec(
        &self,
        id: Uuid,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let sql = sql::replace_migration_spec(DB::DIALECT, id, old, new);
        Ok(self.run(sql, "re-sealing a migration's items").await? > 0)
    }

    async fn replace_plugin_secrets(
        &self,
        plugin: &PluginRecord,
        read_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let sql = sql::replace_plugin_secrets(DB::DIALECT, plugin, sql::micros(read_at));
        Ok(self.run(sql, "re-sealing a plugin's secrets").await? > 0)
    }
}

/// An earlier trigger under the same idempotency key.
#[derive(sqlx::FromRow)]
pub(crate) struct IdempotentRow {
    pub id: Uuid,
    pub request_hash: Option<String>,
}
