//! The one writer: every transactional write to SQLite is a job on one task.
//!
//! SQLite has one write lock, so writes queue whatever we do. Before, each write
//! (an ingest batch, a claim, a batch of outcomes) took the one write connection
//! from the pool in turn, with its own BEGIN and COMMIT; under load the executor's
//! claims and outcomes and ingest's batches took turns, each paying the hand-over
//! and a commit that rewrote the pages the others had just written (the index
//! roots, the kept counts). Now the writer takes everything waiting, runs it in one
//! `BEGIN IMMEDIATE` transaction and answers every caller once the commit is done.
//! A job that fails is taken back alone and its caller gets its own error; the
//! others commit (the transaction runs again, each job in a savepoint of its own:
//! see `commit_together`). Trigger inserts waiting together become one job
//! (multi-row statements).
//!
//! A job runs to its end even if its caller stops waiting (a client hung up), as
//! `detached` promises for the other writes. A panic in a job is its caller's panic.
//! A job may run twice, so it borrows what it writes (`Closure::input`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{insert_batch, MAX_BATCH};
use crate::storage::{Context, Inserted, NewTrigger, StoreError};

/// What callers send the writer. Most writes are inserts: boxing the trigger
/// would cost each of them an allocation to save channel slots' bytes.
#[allow(clippy::large_enum_variant)]
pub(super) enum Write {
    /// A trigger to insert; the inserts that wait together are one job.
    Insert(NewTrigger, oneshot::Sender<Result<Inserted, StoreError>>),
    Job(Box<dyn Job>),
}

/// A write run inside the shared transaction. The writer may run it twice: first
/// with the others and no savepoints, and again, each job in a savepoint of its
/// own, when one of them failed the first time (see `commit_together`).
pub(super) trait Job: Send {
    /// Run it; says whether what it wrote may stay. `careful`: the writer is
    /// running each job apart (a job with its own savepoint takes care of itself).
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection, careful: bool) -> BoxFuture<'c, bool>;
    /// Tell the caller how its transaction ended: `Ok` when it committed (the
    /// job's own result stands), or why it did not.
    fn answer(self: Box<Self>, committed: Result<(), Arc<StoreError>>);
    /// It takes back what it wrote itself when it fails (and then says `true`),
    /// so the careful pass need not wrap it in a savepoint.
    fn own_savepoint(&self) -> bool {
        false
    }
}

/// What a caller waits for: its result, or its job's panic to resume.
pub(super) type Reply<T> = std::thread::Result<Result<T, StoreError>>;

/// A caller's write: `f` over `input`, with the channel its result goes back on.
/// `f` may run twice (the second time after a rollback), so it borrows its input.
pub(super) struct Closure<I, T, F> {
    pub input: I,
    pub f: F,
    pub reply: oneshot::Sender<Reply<T>>,
    pub result: Option<Reply<T>>,
}

impl<I, T, F> Job for Closure<I, T, F>
where
    I: Send + Sync + 'static,
    F: for<'c> Fn(&'c mut SqliteConnection, &'c I) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
    T: Send + 'static,
{
    fn run<'c>(
        &'c mut self,
        conn: &'c mut SqliteConnection,
        _careful: bool,
    ) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = AssertUnwindSafe((self.f)(conn, &self.input))
                .catch_unwind()
                .await;
            let ok = matches!(result, Ok(Ok(_)));
            self.result = Some(result);
            ok
        })
    }

    fn answer(self: Box<Self>, committed: Result<(), Arc<StoreError>>) {
        let _ = self.reply.send(match self.result {
            // Its panic stands, rolled back either way.
            Some(Err(panic)) => Err(panic),
            Some(Ok(result)) => Ok(settled(Some(result), &committed)),
            None => Ok(settled(None, &committed)),
        });
    }
}

/// What a job's caller is told: its own error stands (rolled back either way);
/// a result it got stands only if the transaction committed.
fn settled<T>(
    result: Option<Result<T, StoreError>>,
    committed: &Result<(), Arc<StoreError>>,
) -> Result<T, StoreError> {
    match (result, committed) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (_, Err(why)) => Err(StoreError::Shared(why.clone())),
        // It never ran, yet the transaction committed: cannot happen.
        (None, Ok(())) => Err(StoreError::WriterGone),
    }
}

/// The trigger inserts that waited together.
struct Inserts {
    waiting: Vec<(NewTrigger, oneshot::Sender<Result<Inserted, StoreError>>)>,
    results: Vec<Result<Inserted, StoreError>>,
}

impl Job for Inserts {
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection, careful: bool) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let triggers: Vec<&NewTrigger> = self.waiting.iter().map(|(t, _)| t).collect();
            if !careful {
                // All of them at once, or the writer runs everything again, carefully.
                return match insert_batch(conn, &triggers).await {
                    Ok(results) => {
                        self.results = results.into_iter().map(Ok).collect();
                        true
                    }
                    Err(_) => false,
                };
            }
            self.results = match in_savepoint(conn, &triggers).await {
                Ok(results) => results.into_iter().map(Ok).collect(),
                // One bad row must not fail its neighbours: each alone.
                Err(_) => {
                    let mut results = Vec::with_capacity(triggers.len());
                    for t in triggers {
                        results.push(in_savepoint(conn, &[t]).await.map(|mut r| r.remove(0)));
                    }
                    results
                }
            };
            true
        })
    }

    fn own_savepoint(&self) -> bool {
        true
    }

    fn answer(self: Box<Self>, committed: Result<(), Arc<StoreError>>) {
        let mut results = self.results.into_iter();
        for (_, reply) in self.waiting {
            let _ = reply.send(settled(results.next(), &committed));
        }
    }
}

/// Insert `triggers` inside a savepoint: all of them, or none.
async fn in_savepoint(
    conn: &mut SqliteConnection,
    triggers: &[&NewTrigger],
) -> Result<Vec<Inserted>, StoreError> {
    let mut sp = conn.begin().await.context("starting a savepoint")?;
    let inserted = insert_batch(&mut sp, triggers).await?;
    sp.commit().await.context("releasing a savepoint")?;
    Ok(inserted)
}

/// Start the writer on a thread of its own, with a runtime of its own. A write is
/// a dozen statements, each a round trip to sqlx's SQLite thread; on the server's
/// runtime the writer would wait behind every HTTP request's task to be polled
/// again after each of them, and leave SQLite's one writer idle meanwhile.
pub(super) fn start(
    pool: SqlitePool,
    rx: mpsc::Receiver<Write>,
    committed_signal: mpsc::Sender<()>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || runtime.block_on(run(pool, rx, committed_signal)))?;
    Ok(())
}

/// The writer task: take what is waiting, commit it together, answer, and tell
/// the checkpointer (`checkpoint`) the WAL grew; until every sender is gone.
async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Write>, committed_signal: mpsc::Sender<()>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut inserts = Vec::new();
        let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(batch.len() + 1);
        for write in batch.drain(..) {
            match write {
                Write::Insert(t, reply) => inserts.push((t, reply)),
                Write::Job(job) => jobs.push(job),
            }
        }
        if !inserts.is_empty() {
            jobs.insert(
                0,
                Box::new(Inserts {
                    waiting: inserts,
                    results: Vec::new(),
                }),
            );
        }
        // A panic that escapes a job drops its callers' answers (they hear that
        // the writer stopped) but must not stop the writer for everyone after.
        match AssertUnwindSafe(commit_together(&pool, &mut jobs))
            .catch_unwind()
            .await
        {
            Ok(committed) => {
                if let Err(why) = &committed {
                    tracing::warn!(error = %why, writes = jobs.len(), "a shared write failed");
                }
                for job in jobs {
                    job.answer(committed.clone());
                }
                let _ = committed_signal.try_send(());
            }
            Err(_) => {
                tracing::error!("a write panicked; its callers were told the writer stopped")
            }
        }
    }
}

/// Run the jobs in one transaction and answer their callers. The first pass runs
/// them one after another with no savepoints: a savepoint costs two round trips,
/// and SQLite copies every page a job touches first into its journal. When a job
/// fails, that transaction is rolled back whole and the jobs run again, each in a
/// savepoint of its own, so the failed one rolls back alone and the others commit.
async fn commit_together(
    pool: &SqlitePool,
    jobs: &mut [Box<dyn Job>],
) -> Result<(), Arc<StoreError>> {
    let mut conn = pool
        .acquire()
        .await
        .context("taking the write connection")
        .map_err(Arc::new)?;
    let mut ended = in_one_transaction(&mut conn, jobs, false).await;
    // A lone job that failed has nothing to be kept apart from: its own error stands.
    let alone = jobs.len() == 1 && !jobs[0].own_savepoint();
    if matches!(ended, Ok(false)) && !alone {
        ended = in_one_transaction(&mut conn, jobs, true).await;
    }
    if ended.is_err() {
        settle(&mut conn).await;
    }
    ended.map(drop).map_err(Arc::new)
}

/// Run the jobs one after another in one immediate transaction; `careful`: each
/// inside a savepoint. BEGIN IMMEDIATE takes the write lock up front, so a job that
/// reads before it writes can never fail half-way with SQLITE_BUSY. Says whether it
/// committed: not when a job failed outside the careful pass (it rolled back). The
/// transaction is sqlx's: if this returns early, it rolls back before the
/// connection is used again.
async fn in_one_transaction(
    conn: &mut SqliteConnection,
    jobs: &mut [Box<dyn Job>],
    careful: bool,
) -> Result<bool, StoreError> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .context("starting a write")?;
    for job in jobs.iter_mut() {
        if !careful {
            if !job.run(&mut tx, false).await {
                tx.rollback().await.context("rolling back")?;
                return Ok(false);
            }
        } else if job.own_savepoint() {
            job.run(&mut tx, true).await;
        } else {
            let mut sp = tx.begin().await.context("starting a savepoint")?;
            if job.run(&mut sp, true).await {
                sp.commit().await.context("releasing a savepoint")?;
            } else {
                sp.rollback().await.context("rolling back a savepoint")?;
            }
        }
    }
    tx.commit().await.context("committing")?;
    Ok(true)
}

/// sqlx counts transactions itself; when SQLite has already ended one on its own
/// (a failed COMMIT), sqlx's ROLLBACK fails and its count stays up, so the next
/// BEGIN would silently become a SAVEPOINT inside nothing. Such a connection is
/// closed instead of going back to the pool; the pool opens a fresh one.
async fn settle(conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    // A statement runs after any rollback sqlx queued, so the count is settled.
    let settled = sqlx::Executor::execute(&mut **conn, "SELECT 1")
        .await
        .is_ok();
    if !settled || conn.is_in_transaction() {
        tracing::warn!("closing the write connection: its transaction state is unknown");
        conn.close_on_drop();
    }
}
