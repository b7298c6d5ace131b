//! The one writer: every transactional write to SQLite is a job on one task.
//!
//! SQLite has one write lock, so writes queue whatever we do. Before, each write
//! (an ingest batch, a claim, a batch of outcomes) took the one write connection
//! from the pool in turn, with its own BEGIN and COMMIT; under load the executor's
//! claims and outcomes and ingest's batches took turns, each paying the hand-over
//! and a commit that rewrote the pages the others had just written (the index
//! roots, the kept counts). Now the writer takes everything waiting, runs it in one
//! `BEGIN IMMEDIATE` transaction, each job inside a savepoint of its own, and
//! answers every caller once the commit is done. A job that fails rolls back to its
//! savepoint alone and its caller gets its own error; the others commit. Trigger
//! inserts waiting together become one job (multi-row statements).
//!
//! A job runs to its end even if its caller stops waiting (a client hung up), as
//! `detached` promises for the other writes. A panic in a job is its caller's panic.

use std::collections::VecDeque;
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

/// How a caller is told once the transaction its job ran in has ended: `Ok` when
/// it committed, or why it did not.
type Answer = Box<dyn FnOnce(Result<(), Arc<StoreError>>) + Send>;

/// A write run inside the shared transaction (its savepoint is the writer's).
pub(super) trait Job: Send {
    /// Run it; `ok` says whether what it wrote may stay.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;
    /// Tell the caller it did not run: the shared transaction failed first.
    fn refuse(self: Box<Self>, why: Arc<StoreError>);
    /// It takes back what it wrote itself when it fails (and then says `ok`), so
    /// the writer need not wrap it in a savepoint: two round trips fewer.
    fn own_savepoint(&self) -> bool {
        false
    }
}

pub(super) struct Ran {
    ok: bool,
    answer: Answer,
}

/// What a caller waits for: its result, or its job's panic to resume.
pub(super) type Reply<T> = std::thread::Result<Result<T, StoreError>>;

/// A caller's closure with the channel its result goes back on.
pub(super) struct Closure<T, F> {
    pub f: F,
    pub reply: oneshot::Sender<Reply<T>>,
}

impl<T, F> Job for Closure<T, F>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
    T: Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        let Closure { f, reply } = *self;
        Box::pin(async move {
            let result = AssertUnwindSafe(f(conn)).catch_unwind().await;
            let ok = matches!(result, Ok(Ok(_)));
            let answer: Answer = Box::new(move |committed| {
                let _ = reply.send(match (result, committed) {
                    (Ok(Ok(_)), Err(why)) => Ok(Err(StoreError::Shared(why))),
                    // Committed; or its own error or panic, rolled back either way.
                    (result, _) => result,
                });
            });
            Ran { ok, answer }
        })
    }

    fn refuse(self: Box<Self>, why: Arc<StoreError>) {
        let _ = self.reply.send(Ok(Err(StoreError::Shared(why))));
    }
}

/// The trigger inserts that waited together.
struct Inserts(Vec<(NewTrigger, oneshot::Sender<Result<Inserted, StoreError>>)>);

impl Job for Inserts {
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        Box::pin(async move {
            let (triggers, replies): (Vec<_>, Vec<_>) = self.0.into_iter().unzip();
            let results = match in_savepoint(conn, triggers.clone()).await {
                Ok(results) => results.into_iter().map(Ok).collect(),
                // One bad row must not fail its neighbours: each alone.
                Err(_) => {
                    let mut results = Vec::with_capacity(triggers.len());
                    for t in triggers {
                        results.push(in_savepoint(conn, vec![t]).await.map(|mut r| r.remove(0)));
                    }
                    results
                }
            };
            let answer: Answer = Box::new(move |committed| {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(match (result, &committed) {
                        (Ok(_), Err(why)) => Err(StoreError::Shared(why.clone())),
                        (result, _) => result,
                    });
                }
            });
            Ran { ok: true, answer }
        })
    }

    fn own_savepoint(&self) -> bool {
        true
    }

    fn refuse(self: Box<Self>, why: Arc<StoreError>) {
        for (_, reply) in self.0 {
            let _ = reply.send(Err(StoreError::Shared(why.clone())));
        }
    }
}

/// Insert `triggers` inside a savepoint: all of them, or none.
async fn in_savepoint(
    conn: &mut SqliteConnection,
    triggers: Vec<NewTrigger>,
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
pub(super) fn start(pool: SqlitePool, rx: mpsc::Receiver<Write>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || runtime.block_on(run(pool, rx)))?;
    Ok(())
}

/// The writer task: take what is waiting, commit it together, answer; until
/// every sender is gone.
async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut inserts = Vec::new();
        let mut jobs: VecDeque<Box<dyn Job>> = VecDeque::with_capacity(batch.len());
        for write in batch.drain(..) {
            match write {
                Write::Insert(t, reply) => inserts.push((t, reply)),
                Write::Job(job) => jobs.push_back(job),
            }
        }
        if !inserts.is_empty() {
            jobs.push_front(Box::new(Inserts(inserts)));
        }
        // A panic that escapes a job drops its callers' answers (they hear that
        // the writer stopped) but must not stop the writer for everyone after.
        if AssertUnwindSafe(commit_together(&pool, jobs))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!("a write panicked; its callers were told the writer stopped");
        }
    }
}

async fn commit_together(pool: &SqlitePool, mut jobs: VecDeque<Box<dyn Job>>) {
    let mut answers = Vec::with_capacity(jobs.len());
    let committed = match pool.acquire().await.context("taking the write connection") {
        Ok(mut conn) => {
            let result = in_one_transaction(&mut conn, &mut jobs, &mut answers).await;
            if result.is_err() {
                settle(&mut conn).await;
            }
            result
        }
        Err(e) => Err(e),
    };
    let committed = committed.map_err(Arc::new);
    if let Err(why) = &committed {
        tracing::warn!(error = %why, writes = answers.len() + jobs.len(), "a shared write failed");
        for job in jobs {
            job.refuse(why.clone());
        }
    }
    for answer in answers {
        answer(committed.clone());
    }
}

/// Run the jobs one after another in one immediate transaction, each inside a
/// savepoint. BEGIN IMMEDIATE takes the write lock up front, so a job that reads
/// before it writes can never fail half-way with SQLITE_BUSY. The transaction is
/// sqlx's: if this returns early, it rolls back before the connection is used again.
async fn in_one_transaction(
    conn: &mut SqliteConnection,
    jobs: &mut VecDeque<Box<dyn Job>>,
    answers: &mut Vec<Answer>,
) -> Result<(), StoreError> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .context("starting a write")?;
    while let Some(job) = jobs.front() {
        if job.own_savepoint() {
            let job = jobs.pop_front().expect("not empty");
            answers.push(job.run(&mut tx).await.answer);
            continue;
        }
        let mut sp = tx.begin().await.context("starting a savepoint")?;
        let job = jobs.pop_front().expect("not empty");
        let ran = job.run(&mut sp).await;
        answers.push(ran.answer);
        if ran.ok {
            sp.commit().await.context("releasing a savepoint")?;
        } else {
            sp.rollback().await.context("rolling back a savepoint")?;
        }
    }
    tx.commit().await.context("committing")
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
