//! Storage: one narrow trait named by intent, one implementation per database.
//!
//! `sqlite` is the default (one file, one writer task that group-commits);
//! `postgres` is the scale-out database. Both share the row types and query
//! builders in `sql` and every read in `db` (the trait's read methods default to
//! it), so each implementation holds only what differs: how it writes. Both pass
//! the conformance suite in `tests/storage.rs`.

pub mod accounts;
pub mod copy;
mod db;
mod records;
mod sql;

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use app::domain::{Trigger, TriggerDetail};

pub use accounts::{Accounts, SessionRecord, UserRecord};
pub use records::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint said no: the name of what was duplicated.
    #[error("a {0} with this value already exists")]
    Duplicate(&'static str),
    #[error("database error while {context}: {source}")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored row is unreadable: {0}")]
    Corrupt(String),
    #[error("running migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the storage writer has stopped")]
    WriterGone,
    /// The lease expired and another worker took the trigger: this result is stale.
    #[error("the lease on this trigger was lost")]
    LeaseLost,
}

impl StoreError {
    /// A failure that says nothing about the request: the database is busy,
    /// restarting or out of reach, and the same request may succeed shortly.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::WriterGone => true,
            StoreError::Database { source, .. } => match source {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // SQLite: busy, locked. PostgreSQL: connection exceptions (08…),
                    // too many connections, shutting down, cannot connect now.
                    matches!(
                        code.as_ref(),
                        "5" | "6" | "517" | "53300" | "57P01" | "57P02" | "57P03"
                    ) || code.starts_with("08")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Attach what we were doing to a database error.
pub(crate) trait Context<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| match &source {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Duplicate(unique_what(db.message()))
            }
            _ => StoreError::Database { context, source },
        })
    }
}

/// Run a write to its end on a task of its own. A request whose client hangs up
/// is dropped at whatever `.await` it reached; the write it started is not: it
/// commits, or its transaction rolls back, as one unit either way. A panic in the
/// write is the caller's panic.
pub(crate) async fn detached<T, W>(write: W) -> Result<T, StoreError>
where
    W: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(write).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels the task.
        Err(_) => Err(StoreError::WriterGone),
    }
}

fn unique_what(message: &str) -> &'static str {
    if message.contains("idempotency_key") {
        "trigger with this idempotency key"
    } else if message.contains("name") {
        "plugin name"
    } else if message.contains("key_hash") {
        "api key"
    } else {
        "row"
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The reads, shared by both implementations; the read methods below use it.
    fn reads(&self) -> &dyn db::Reads;

    /// The one-statement writes, shared likewise.
    fn writes(&self) -> &dyn db::Writes;

    /// Users and their sessions (`accounts`).
    fn accounts(&self) -> &dyn Accounts;

    async fn migrate(&self) -> Result<(), StoreError>;

    async fn insert_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError> {
        self.writes().insert_plugin(plugin).await
    }
    async fn update_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError> {
        self.writes().update_plugin(plugin).await
    }
    async fn get_plugin(&self, key: &PluginKey) -> Result<Option<PluginRecord>, StoreError> {
        self.reads().get_plugin(key).await
    }
    async fn list_plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.reads().list_plugins().await
    }

    /// Insert one trigger with its `queued` log. With an idempotency key, a
    /// second insert under the same key returns the first trigger instead.
    async fn insert_trigger(&self, trigger: NewTrigger) -> Result<Inserted, StoreError>;

    /// Insert many triggers at once (demo data, benchmarks, migrations). No idempotency keys.
    async fn insert_triggers(&self, triggers: Vec<NewTrigger>) -> Result<(), StoreError>;

    /// A call the application made itself: the trigger and its one attempt, together.
    async fn insert_reported_call(
        &self,
        trigger: NewTrigger,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError>;

    /// Store one attempt and move the trigger to where the attempt left it.
    async fn record_attempt(&self, outcome: AttemptOutcome) -> Result<(), StoreError>;

    /// Many attempts in one transaction (the executor's group commit). Each is
    /// applied or refused on its own (a lost lease refuses only its own result).
    async fn record_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError>;

    /// Newest first, strictly after `after` in that order.
    async fn list_triggers(
        &self,
        filter: &StoreFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Trigger>, StoreError> {
        self.reads().list_triggers(filter, after, limit).await
    }

    async fn get_trigger_detail(&self, id: Uuid) -> Result<Option<TriggerDetail>, StoreError> {
        self.reads().get_trigger_detail(id).await
    }

    /// Mark at most `claim.limit` due triggers as running under a new lease, oldest
    /// due first; triggers of inactive plugins wait. In the same transaction, running
    /// triggers whose lease expired are settled first: due again, or `erroneous` when
    /// the interrupted claim was their last allowed attempt.
    async fn claim_due_triggers(&self, claim: &Claim) -> Result<Vec<ClaimedTrigger>, StoreError>;

    /// Give a claim back without counting it: the trigger is due again at `at`.
    /// False when the lease was already lost.
    async fn release_claim(
        &self,
        trigger_id: Uuid,
        lease: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.writes().release_claim(trigger_id, lease, at).await
    }

    /// Queue a manual or migration run of a trigger now, with its audit row, together.
    async fn request_run(
        &self,
        trigger_id: Uuid,
        run: PendingRun,
        audit: Option<AuditEntry>,
    ) -> Result<RunRequest, StoreError>;

    /// How many triggers a filter matches.
    async fn count_triggers(&self, filter: &StoreFilter) -> Result<u64, StoreError> {
        self.reads().count_triggers(filter).await
    }

    /// How many triggers a filter matches, per status (statuses with none are absent).
    async fn count_by_status(
        &self,
        filter: &StoreFilter,
    ) -> Result<Vec<(app::domain::Status, u64)>, StoreError> {
        self.reads().count_by_status(filter).await
    }

    /// Every plugin's failed attempts since `since`, and when it last succeeded;
    /// counting only the triggers `created_by` made, when given.
    async fn plugin_activity(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        created_by: Option<&str>,
    ) -> Result<Vec<PluginActivity>, StoreError> {
        self.reads().plugin_activity(since, created_by).await
    }

    /// Attempts started in `buckets` periods of `bucket` from `from`, of the
    /// triggers `filter` matches: (period index, class, how many), periods and
    /// classes with none absent.
    async fn attempt_activity(
        &self,
        filter: &StoreFilter,
        from: chrono::DateTime<chrono::Utc>,
        bucket: chrono::Duration,
        buckets: u32,
    ) -> Result<Vec<(u32, app::domain::FailureClass, u64)>, StoreError> {
        self.reads()
            .attempt_activity(filter, from, bucket, buckets)
            .await
    }

    /// How many triggers wait, are scheduled, run; since when the oldest is due.
    async fn queue_depth(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<QueueDepth, StoreError> {
        self.reads().queue_depth(now).await
    }

    /// Final triggers whose `tier` is due for removal (see `sql::retention`), oldest first.
    async fn expired_triggers(
        &self,
        tier: RetentionTier,
        cutoff: chrono::DateTime<chrono::Utc>,
        not_before: Option<chrono::DateTime<chrono::Utc>>,
        plugins: Option<&[Uuid]>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Uuid>, StoreError> {
        let r = self.reads();
        let tier = match tier {
            RetentionTier::Details => sql::Tier::Details,
            RetentionTier::Summary => sql::Tier::Summary,
        };
        let sql = sql::select_expired(r.dialect(), tier, cutoff, not_before, plugins, after, limit);
        r.trigger_ids(sql, "finding expired triggers").await
    }

    /// One entity's triggers, by id, a page at a time (erasure).
    async fn entity_triggers(
        &self,
        entity_type: &str,
        entity_id: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Uuid>, StoreError> {
        let r = self.reads();
        let sql = sql::select_entity_triggers(r.dialect(), entity_type, entity_id, after, limit);
        r.trigger_ids(sql, "finding an entity's triggers").await
    }

    /// Remove the details of final triggers: their logs, attempts and payload. The
    /// trigger is marked last, so a pass cut short is simply done again.
    async fn remove_details(
        &self,
        ids: &[Uuid],
        at: chrono::DateTime<chrono::Utc>,
        why: &str,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let d = self.reads().dialect();
        self.writes()
            .run_each(vec![
                (
                    sql::delete_children(d, "trigger_logs", ids),
                    "removing logs",
                ),
                (
                    sql::delete_children(d, "attempts", ids),
                    "removing attempts",
                ),
                (
                    sql::clear_search_body(d, ids),
                    "removing payload text from the search index",
                ),
                (
                    sql::mark_details_removed(d, ids, at, why),
                    "marking details removed",
                ),
            ])
            .await
    }

    /// Delete final triggers with everything that refers to them.
    async fn delete_triggers(&self, ids: &[Uuid]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let d = self.reads().dialect();
        self.writes()
            .run_each(vec![
                (
                    sql::delete_children(d, "trigger_logs", ids),
                    "removing logs",
                ),
                (
                    sql::delete_children(d, "attempts", ids),
                    "removing attempts",
                ),
                (
                    sql::delete_children(d, "trigger_migration_items", ids),
                    "removing migration items",
                ),
                (
                    sql::delete_children(d, "trigger_search", ids),
                    "removing triggers from the search index",
                ),
                (sql::delete_final_triggers(d, ids), "removing triggers"),
            ])
            .await
    }

    /// Take or renew a background job's lease until `until`; false while another holds it.
    async fn take_job_lease(
        &self,
        name: &str,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let d = self.reads().dialect();
        let n = self
            .writes()
            .run_each(vec![(
                sql::take_job_lease(d, name, owner, now, until),
                "taking a job lease",
            )])
            .await?;
        Ok(n > 0)
    }

    async fn give_up_job_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let d = self.reads().dialect();
        self.writes()
            .run_each(vec![(
                sql::give_up_job_lease(d, name, owner),
                "giving up a job lease",
            )])
            .await
            .map(drop)
    }

    /// After an erasure: make the removed bytes unrecoverable from the files where
    /// this database can (SQLite checkpoints its WAL into the zeroed main file and
    /// truncates it). PostgreSQL keeps dead rows until VACUUM: see the operator's guide.
    async fn flush_erased(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Who created a trigger (`key:<id>`, `user:<id>`, `system`), if recorded.
    async fn trigger_creator(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        self.reads().trigger_creator(id).await
    }

    /// A new trigger migration and its audit row, together.
    async fn insert_migration(
        &self,
        migration: &MigrationRecord,
        audit: AuditEntry,
    ) -> Result<(), StoreError> {
        self.begin_migration(migration, audit, None).await.map(drop)
    }
    /// A new trigger migration, its audit row and, for a rerun, the set of triggers
    /// it will re-execute (what `rerun_set` matches now, fixed), together. Returns
    /// how many items it has (for a rerun, the size of that set).
    async fn begin_migration(
        &self,
        migration: &MigrationRecord,
        audit: AuditEntry,
        rerun_set: Option<&StoreFilter>,
    ) -> Result<u64, StoreError>;
    /// With `succeeded`/`failed` counted from its triggers' statuses now.
    async fn get_migration(&self, id: Uuid) -> Result<Option<MigrationRecord>, StoreError> {
        self.reads().get_migration(id).await
    }
    /// False when it had already ended.
    async fn cancel_migration(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.writes().cancel_migration(id, at).await
    }
    /// The ids of the newest `limit` migrations, newest first.
    async fn recent_migrations(&self, limit: u32) -> Result<Vec<Uuid>, StoreError> {
        self.reads().recent_migrations(limit).await
    }
    /// Migrations still running (whoever holds them).
    async fn running_migrations(&self) -> Result<Vec<Uuid>, StoreError> {
        self.reads().running_migrations().await
    }
    /// Take a running migration's lease until `until`: true when it was free, had
    /// expired or was already `owner`'s. Its `done` is recounted from its items.
    async fn claim_migration(
        &self,
        id: Uuid,
        owner: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.writes().claim_migration(id, owner, until).await
    }
    /// Give the lease up (shutdown): another instance may take it at once.
    async fn release_migration(&self, id: Uuid, owner: &str) -> Result<(), StoreError> {
        self.writes().release_migration(id, owner).await
    }
    /// Mark it completed, if `owner` still holds it and nobody cancelled it.
    async fn complete_migration(&self, id: Uuid, owner: &str) -> Result<bool, StoreError> {
        self.writes().complete_migration(id, owner).await
    }
    /// Positions of the items a migration has done.
    async fn migration_done_positions(&self, id: Uuid) -> Result<Vec<u64>, StoreError> {
        self.reads().migration_done_positions(id).await
    }
    /// A page of the set a rerun migration re-executes: (position, trigger id).
    async fn migration_set(
        &self,
        id: Uuid,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, Uuid)>, StoreError> {
        self.reads().migration_set(id, after, limit).await
    }
    /// Do one item under the lease, recorded with it in one transaction.
    async fn migration_step(&self, step: MigrationStep) -> Result<StepOutcome, StoreError>;

    /// Tell every instance sharing this database that work became due
    /// (PostgreSQL `NOTIFY`; a no-op on SQLite, which has one instance).
    async fn announce_due(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Wake `wake` whenever another instance announces due work.
    fn subscribe_due(&self, _wake: Arc<tokio::sync::Notify>) {}

    /// When the next trigger is due, to sleep exactly until then.
    async fn next_due_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.reads().next_due_at().await
    }

    /// The audit trail, newest first.
    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.reads().list_audit(limit).await
    }

    /// An audit row on its own (sign-ins, key and user changes, embed tokens);
    /// actions with their own writes record theirs in the same transaction.
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.writes().insert_audit(entry).await
    }

    /// A page of the audit trail, newest first, strictly after `after` in that order.
    async fn audit_page(
        &self,
        filter: &AuditFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.reads().audit_page(filter, after, limit).await
    }

    /// A change and its audit row, in one transaction (see [`AuditedChange`]).
    /// Returns how many rows the change touched: 0 wrote nothing at all.
    async fn write_audited(
        &self,
        change: AuditedChange,
        audit: AuditEntry,
    ) -> Result<u64, StoreError>;

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.writes().insert_api_key(key).await
    }
    /// The key with this hash, revoked and expired ones included.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.reads().find_api_key(key_hash).await
    }

    /// Triggers whose payload holds a sealed value, in id order after `after`
    /// (key rotation): (id, payload).
    async fn sealed_payloads(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        self.reads().sealed_payloads(after, limit).await
    }
    /// Trigger migrations whose spec holds a sealed value (their `create` items),
    /// likewise: (id, spec).
    async fn sealed_migration_specs(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        self.reads().sealed_migration_specs(after, limit).await
    }
    /// Replace a trigger's payload if it is still `old`; false when it changed.
    async fn replace_payload(&self, id: Uuid, old: &str, new: &str) -> Result<bool, StoreError> {
        self.writes().replace_payload(id, old, new).await
    }
    /// Replace a migration's spec if it is still `old`; false when it changed.
    async fn replace_migration_spec(
        &self,
        id: Uuid,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.writes().replace_migration_spec(id, old, new).await
    }
    /// Write a plugin's sealed columns and headers unless it was updated since it
    /// was read (`read_at`, its `updated_at` then); false when it was.
    async fn replace_plugin_secrets(
        &self,
        plugin: &PluginRecord,
        read_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.writes().replace_plugin_secrets(plugin, read_at).await
    }
    async fn get_api_key(&self, id: Uuid) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.reads().get_api_key(id).await
    }
    /// Every key, revoked ones too, newest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.reads().list_api_keys().await
    }
    /// Note that a key was used at `at` (never moves the time backwards).
    async fn touch_api_key(
        &self,
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.writes().touch_api_key(id, at).await
    }

    /// Tell every instance sharing this database that a key was revoked, so each
    /// drops it from its cache at once (PostgreSQL `NOTIFY`).
    async fn announce_key_revoked(&self, _id: Uuid) -> Result<(), StoreError> {
        Ok(())
    }

    /// Call `revoked` with a key's id whenever one is revoked elsewhere, or with
    /// `None` when revocations may have been missed (drop every cached key).
    fn subscribe_key_revocations(&self, _revoked: KeyRevoked) {}
}

/// What a store calls when a key was revoked by another instance or process.
pub type KeyRevoked = Arc<dyn Fn(Option<Uuid>) + Send + Sync>;

pub type SharedStore = Arc<dyn Store>;

/// PostgreSQL connections per instance unless `CALLTRAIL_DB_POOL` says otherwise.
pub const DEFAULT_PG_POOL: u32 = 16;

/// Open the database a URL names: `sqlite://…` or `postgres://…` (with
/// `DEFAULT_PG_POOL` connections).
pub async fn connect(url: &str) -> anyhow::Result<SharedStore> {
    open(url, DEFAULT_PG_POOL).await
}

/// Open the database a URL names, with at most `pg_pool` connections when it is
/// PostgreSQL (SQLite has its own: one writer and a few readers).
pub async fn open(url: &str, pg_pool: u32) -> anyhow::Result<SharedStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(url, pg_pool).await?))
    } else {
        anyhow::bail!(
            "CALLTRAIL_DATABASE_URL must start with sqlite:// or postgres://, got {url:?}"
        )
    }
}
