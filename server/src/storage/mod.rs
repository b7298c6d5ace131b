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
    /// The database stayed busy (another connection held what this needs) while
    /// doing what it names.
    #[error("the database stayed busy while {0}")]
    Busy(&'static str),
    /// The lease expired and another worker took the trigger: this result is stale.
    #[error("the lease on this trigger was lost")]
    LeaseLost,
    /// A write that went well on its own but shared a transaction that failed
    /// (SQLite commits what waits together): why that transaction failed.
    #[error("{0}")]
    Shared(Arc<StoreError>),
}

impl StoreError {
    /// A failure that says nothing about the request: the database is busy,
    /// restarting or out of reach, and the same request may succeed shortly.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::WriterGone | StoreError::Busy(_) => true,
            StoreError::Shared(why) => why.is_transient(),
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

/// The first steps of removing triggers' details: their logs and attempts.
fn delete_details(d: sql::Dialect, ids: &[Uuid]) -> Vec<(sql::Sql, &'static str)> {
    vec![
        (
            sql::delete_children(d, "trigger_logs", ids),
            "removing logs",
        ),
        (
            sql::delete_children(d, "attempts", ids),
            "removing attempts",
        ),
    ]
}

/// A removal's steps, with the search index told how to forget for their
/// transaction (see `Removal` and `sql::search_index_forgets`), and where the last
/// of `steps` is among them. Routine retention lets the index keep delete markers
/// and puts the setting back before the commit, so no other writer ever sees it
/// off; an erasure sets it on first, whatever the connection may have cached.
fn forgetting(
    d: sql::Dialect,
    removal: Removal,
    steps: Vec<(sql::Sql, &'static str)>,
) -> (Vec<(sql::Sql, &'static str)>, usize) {
    let setting = |at_once| {
        sql::search_index_forgets(d, at_once).map(|s| (s, "setting how the search index forgets"))
    };
    let (before, after) = match removal {
        Removal::Erasure => (setting(true), None),
        Removal::Retention => (setting(false), setting(true)),
    };
    let last = steps.len() - 1 + usize::from(before.is_some());
    let all = before.into_iter().chain(steps).chain(after).collect();
    (all, last)
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

    /// Whether every write waits for one writer (SQLite): long background work
    /// must then leave it free between its transactions.
    fn one_writer(&self) -> bool {
        self.reads().dialect() == sql::Dialect::Sqlite
    }

    /// The one-statement writes, shared likewise.
    fn writes(&self) -> &dyn db::Writes;

    /// Users and their sessions (`accounts`).
    fn accounts(&self) -> &dyn Accounts;

    async fn migrate(&self) -> Result<(), StoreError>;

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

    /// Mark at most `claim.limit` due triggers as running under a new lease, oldest
    /// due first; triggers of inactive plugins wait. In the same transaction, running
    /// triggers whose lease expired are settled first: due again, or `erroneous` when
    /// the interrupted claim was their last allowed attempt.
    async fn claim_due_triggers(&self, claim: &Claim) -> Result<Vec<ClaimedTrigger>, StoreError>;

    /// Queue a manual or migration run of a trigger now, with its audit row, together.
    async fn request_run(
        &self,
        trigger_id: Uuid,
        run: PendingRun,
        audit: Option<AuditEntry>,
    ) -> Result<RunRequest, StoreError>;

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

    /// Remove the details of final triggers: their logs, attempts and payload, in
    /// one transaction. The trigger is marked last, so a pass cut short is simply
    /// done again.
    async fn remove_details(
        &self,
        ids: &[Uuid],
        at: chrono::DateTime<chrono::Utc>,
        removal: Removal,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let d = self.reads().dialect();
        let mut steps = delete_details(d, ids);
        steps.extend([
            (
                sql::clear_search_body(d, ids),
                "removing payload text from the search index",
            ),
            (
                sql::mark_details_removed(d, ids, at, removal.why()),
                "marking details removed",
            ),
        ]);
        let (steps, counted) = forgetting(d, removal, steps);
        Ok(self.writes().run_together(steps).await?[counted])
    }

    /// Delete final triggers with everything that refers to them (retention), in
    /// one transaction.
    async fn delete_triggers(&self, ids: &[Uuid]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let d = self.reads().dialect();
        let mut steps = delete_details(d, ids);
        steps.extend([
            (
                sql::delete_children(d, "trigger_migration_items", ids),
                "removing migration items",
            ),
            (
                sql::delete_children(d, "trigger_search", ids),
                "removing triggers from the search index",
            ),
            (sql::delete_final_triggers(d, ids), "removing triggers"),
        ]);
        let (steps, counted) = forgetting(d, Removal::Retention, steps);
        Ok(self.writes().run_together(steps).await?[counted])
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
            .run_together(vec![(
                sql::take_job_lease(d, name, owner, now, until),
                "taking a job lease",
            )])
            .await?;
        Ok(n[0] > 0)
    }

    async fn give_up_job_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let d = self.reads().dialect();
        self.writes()
            .run_together(vec![(
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
    /// Do one item under the lease, recorded with it in one transaction.
    async fn migration_step(&self, step: MigrationStep) -> Result<StepOutcome, StoreError>;

    /// Fold the kept trigger counts' rows of differences into one row per plugin
    /// and status (PostgreSQL; SQLite keeps one row each in place). The counts are
    /// exact either way; folding keeps reading them cheap. Runs every few seconds
    /// on its own; tests call it to see both sides.
    async fn fold_counts(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Tell every instance sharing this database that work became due
    /// (PostgreSQL `NOTIFY`; a no-op on SQLite, which has one instance).
    async fn announce_due(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Wake `wake` whenever another instance announces due work.
    fn subscribe_due(&self, _wake: Arc<tokio::sync::Notify>) {}

    /// A change and its audit row, in one transaction (see [`AuditedChange`]).
    /// Returns how many rows the change touched: 0 wrote nothing at all.
    async fn write_audited(
        &self,
        change: AuditedChange,
        audit: AuditEntry,
    ) -> Result<u64, StoreError>;

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
