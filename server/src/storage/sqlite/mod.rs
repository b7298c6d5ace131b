//! SQLite: the default database, one file and nothing to install.
//!
//! SQLite has one write lock. Rather than let a pool of writers fight over it
//! ("database is locked"), every write runs on a single write connection, and
//! the transactional ones (trigger inserts, claims, outcomes, reruns…) go through
//! one writer task that commits whatever is waiting in one transaction (`writer`).
//! Reads use their own pool of connections (WAL).

mod checkpoint;
mod page_cache;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::db::{
    apply_audited, begin_migration, claim, execute, fetch_optional, migration_step, queue_run,
    write_outcome, write_outcomes, IdempotentRow, Reader, Writer,
};
use super::sql::{self, Dialect};
use writer::Write;

use super::{
    AttemptOutcome, AuditEntry, AuditedChange, Claim, ClaimedTrigger, Inserted, KeyRevoked,
    MigrationRecord, MigrationStep, NewTrigger, PendingRun, RunRequest, StepOutcome, Store,
    StoreError, StoreFilter,
};

const D: Dialect = Dialect::Sqlite;
/// Most writes (a trigger insert, a claim, a batch of outcomes…) one transaction
/// commits. Bigger batches amortise the commit further but make each request wait
/// longer for its batch.
const MAX_BATCH: usize = 512;
/// SQLite's page caches together, in KiB: the process's memory must not grow
/// with the database (each connection has its own cache).
const CACHE_BUDGET_KIB: u32 = 48 * 1024;
/// Connections that read (WAL lets them read beside the writer).
const READERS: u32 = 8;

/// Rows per multi-row INSERT, well under SQLite's bound-variable limit.
const ROWS_PER_STATEMENT: usize = 256;

pub struct SqliteStore {
    reader: Reader<sqlx::Sqlite>,
    /// Every write goes through the one write connection.
    writer: Writer<sqlx::Sqlite>,
    write: SqlitePool,
    writes: mpsc::Sender<Write>,
    accounts: super::accounts::AccountsDb<sqlx::Sqlite>,
}

impl SqliteStore {
    pub async fn open(url: &str) -> anyhow::Result<SqliteStore> {
        if !page_cache::install() {
            tracing::debug!("SQLite was in use before the page-cache layer could be installed");
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // Deleted content is overwritten with zeros, so retention and erasure
            // leave no readable bytes behind in the file's free pages.
            .pragma("secure_delete", "ON");
        // One page-cache budget for the whole pool (SQLite's cache is per
        // connection): half for the writer, the rest shared by the readers and the
        // checkpointer.
        let per_reader = (CACHE_BUDGET_KIB / 2 - checkpoint::CACHE_KIB) / READERS;
        // No ping before each use: a local file's connection does not go stale,
        // and one that fails mid-write is closed (see `writer::settle`).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", format!("-{}", CACHE_BUDGET_KIB / 2))
                    .pragma("wal_autocheckpoint", checkpoint::FALLBACK_PAGES.to_string()),
            )
            .await?;
        let checkpoints = checkpoint::start(options.clone()).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.pragma("cache_size", format!("-{per_reader}")))
            .await?;
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        writer::start(write.clone(), rx, checkpoints)?;
        Ok(SqliteStore {
            reader: Reader { pool: read.clone() },
            writer: Writer {
                pool: write.clone(),
            },
            accounts: super::accounts::AccountsDb {
                read,
                write: write.clone(),
            },
            write,
            writes: tx,
        })
    }

    /// Run `f` over `input` in the writer's next transaction (see `writer`; it may
    /// run twice, after a rollback): a request dropped half-way (its client hung
    /// up) neither stops the write nor leaves the one write connection inside an
    /// open transaction.
    async fn write_tx<I, T, F>(&self, input: I, f: F) -> Result<T, StoreError>
    where
        I: Send + Sync + 'static,
        F: for<'c> Fn(
                &'c mut SqliteConnection,
                &'c I,
            ) -> futures::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = writer::Closure {
            input,
            f,
            reply,
            result: None,
        };
        self.writes
            .send(Write::Job(Box::new(job)))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        match answer.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

async fn insert_batch(
    conn: &mut SqliteConnection,
    triggers: &[&NewTrigger],
) -> Result<Vec<Inserted>, StoreError> {
    let mut results = Vec::with_capacity(triggers.len());
    let mut fresh: Vec<&NewTrigger> = Vec::with_capacity(triggers.len());
    for &t in triggers {
        if let Some(idem) = &t.idempotency {
            // Earlier in this batch?
            if let Some(prev) = fresh
                .iter()
                .find(|p| p.idempotency.as_ref().is_some_and(|i| i.key == idem.key))
            {
                let same =
                    prev.idempotency.as_ref().map(|i| &i.request_hash) == Some(&idem.request_hash);
                results.push(Inserted::Existing {
                    id: prev.id,
                    same_request: same,
                });
                continue;
            }
            let existing: Option<IdempotentRow> = fetch_optional(
                &mut *conn,
                sql::select_idempotent(D, &idem.key),
                "checking an idempotency key",
            )
            .await?;
            if let Some(row) = existing {
                results.push(Inserted::Existing {
                    id: row.id,
                    same_request: row.request_hash.as_deref() == Some(&idem.request_hash),
                });
                continue;
            }
        }
        results.push(Inserted::Created(t.id));
        fresh.push(t);
    }
    insert_rows(conn, fresh).await?;
    Ok(results)
}

/// Chunks of 256, 128, …, 1 rows: a handful of distinct statements, so SQLite's
/// prepared-statement cache keeps them all however big each batch is.
fn pow2_chunks<T>(mut rows: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    while !rows.is_empty() {
        let size = 1usize << rows.len().min(ROWS_PER_STATEMENT).ilog2();
        let (head, tail) = rows.split_at(size);
        out.push(head);
        rows = tail;
    }
    out
}

async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: Vec<&NewTrigger>,
) -> Result<(), StoreError> {
    for chunk in pow2_chunks(&rows) {
        let owned: Vec<NewTrigger> = chunk.iter().map(|t| (*t).clone()).collect();
        // The triggers, their search text and their logs in one round trip to
        // SQLite's thread: the writer's transaction waits on each round trip.
        let mut sql = sql::insert_triggers(D, &owned);
        if let Some(search) = sql::insert_search(D, &owned) {
            sql.then(search);
        }
        let logs = owned
            .iter()
            .flat_map(|t| t.logs.iter().map(move |l| (t.id, l)));
        if let Some(logs) = sql::insert_logs(D, logs) {
            sql.then(logs);
        }
        execute(
            &mut *conn,
            sql,
            "inserting triggers with their search text and logs",
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn accounts(&self) -> &dyn super::Accounts {
        &self.accounts
    }

    fn writes(&self) -> &dyn super::db::Writes {
        &self.writer
    }

    fn reads(&self) -> &dyn super::db::Reads {
        &self.reader
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.write)
            .await?;
        Ok(())
    }

    /// Checkpoint the WAL into the file and truncate it, so the erased pages leave
    /// no copy in the log. The checkpointer (`checkpoint`) may be running a passive
    /// checkpoint at this moment, and SQLite then reports this one blocked rather
    /// than waiting: try again until it completes.
    async fn flush_erased(&self) -> Result<(), StoreError> {
        const CONTEXT: &str = "checkpointing the WAL after an erasure";
        let pool = self.write.clone();
        super::detached(async move {
            let until = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let (blocked, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(&pool)
                        .await
                        .map_err(|source| StoreError::Database {
                            context: CONTEXT,
                            source,
                        })?;
                if blocked == 0 {
                    return Ok(());
                }
                if std::time::Instant::now() >= until {
                    return Err(StoreError::Busy(CONTEXT));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    async fn insert_trigger(&self, trigger: NewTrigger) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .send(Write::Insert(trigger, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    async fn insert_triggers(&self, triggers: Vec<NewTrigger>) -> Result<(), StoreError> {
        self.write_tx(triggers, |c, triggers| {
            Box::pin(insert_rows(c, triggers.iter().collect()))
        })
        .await
    }

    async fn insert_reported_call(
        &self,
        trigger: NewTrigger,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        self.write_tx((trigger, outcome), |c, (trigger, outcome)| {
            Box::pin(async move {
                insert_rows(c, vec![trigger]).await?;
                write_outcome::<sqlx::Sqlite>(c, outcome).await
            })
        })
        .await
    }

    async fn record_attempt(&self, outcome: AttemptOutcome) -> Result<(), StoreError> {
        self.write_tx(outcome, |c, o| {
            Box::pin(write_outcome::<sqlx::Sqlite>(c, o))
        })
        .await
    }

    async fn record_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.write_tx(outcomes, |c, o| {
            Box::pin(write_outcomes::<sqlx::Sqlite>(c, o))
        })
        .await
    }

    async fn claim_due_triggers(&self, c: &Claim) -> Result<Vec<ClaimedTrigger>, StoreError> {
        self.write_tx(c.clone(), |conn, c| {
            Box::pin(claim::<sqlx::Sqlite>(conn, c))
        })
        .await
    }

    async fn request_run(
        &self,
        trigger_id: Uuid,
        run: PendingRun,
        audit: Option<AuditEntry>,
    ) -> Result<RunRequest, StoreError> {
        self.write_tx((run, audit), move |c, (run, audit)| {
            Box::pin(queue_run::<sqlx::Sqlite>(
                c,
                trigger_id,
                run,
                audit.as_ref(),
            ))
        })
        .await
    }

    async fn begin_migration(
        &self,
        migration: &MigrationRecord,
        audit: AuditEntry,
        rerun_set: Option<&StoreFilter>,
    ) -> Result<u64, StoreError> {
        let input = (migration.clone(), audit, rerun_set.cloned());
        self.write_tx(input, |c, (m, audit, f)| {
            Box::pin(begin_migration::<sqlx::Sqlite>(c, m, audit, f.as_ref()))
        })
        .await
    }

    async fn migration_step(&self, step: MigrationStep) -> Result<StepOutcome, StoreError> {
        self.write_tx(step, |c, step| {
            Box::pin(migration_step::<sqlx::Sqlite>(c, step))
        })
        .await
    }

    async fn write_audited(
        &self,
        change: AuditedChange,
        audit: AuditEntry,
    ) -> Result<u64, StoreError> {
        self.write_tx((change, audit), |c, (change, audit)| {
            Box::pin(apply_audited::<sqlx::Sqlite>(c, change, audit))
        })
        .await
    }

    /// SQLite has one server, but the command line (`calltrail api-key revoke`) is
    /// another process: a second's poll of the latest revocation notices it.
    fn subscribe_key_revocations(&self, revoked: KeyRevoked) {
        let pool = self.reader.pool.clone();
        tokio::spawn(async move {
            let latest = || async {
                fetch_optional::<_, _, sql::NextDueRow>(
                    &pool,
                    sql::select_last_revocation(D),
                    "reading the latest revocation",
                )
                .await
                .map(|row| row.and_then(|r| r.at))
            };
            let mut seen = latest().await.ok().flatten();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match latest().await {
                    Ok(now) if now != seen => {
                        seen = now;
                        revoked(None);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "watching for revoked keys"),
                }
            }
        });
    }
}
