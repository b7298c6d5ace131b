//! PostgreSQL: the scale-out database. Many connections, row locks, and
//! `ON CONFLICT` for idempotency, so several server instances can share it.

use std::time::Duration;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::db::{
    apply_audited, begin_migration, claim, execute, fetch_optional, migration_step, queue_run,
    write_outcome, write_outcomes, IdempotentRow, Reader, Writer,
};
use super::sql::{self, Dialect};
use super::{
    detached, AttemptOutcome, AuditEntry, AuditedChange, Claim, ClaimedTrigger, Context, Inserted,
    KeyRevoked, MigrationRecord, MigrationStep, NewTrigger, PendingRun, RunRequest, StepOutcome,
    Store, StoreError, StoreFilter,
};

const D: Dialect = Dialect::Postgres;
/// `LISTEN`/`NOTIFY` channel: new or rescheduled work, across instances.
const DUE_CHANNEL: &str = "calltrail_due";
/// `LISTEN`/`NOTIFY` channel: an API key was revoked (its id), so every instance
/// drops it from its cache at once.
const KEYS_CHANNEL: &str = "calltrail_keys";
/// Rows per multi-row INSERT, well under PostgreSQL's 65535 bind parameters.
const ROWS_PER_STATEMENT: usize = 1000;
/// How often the kept trigger counts are folded (see `sql::fold_trigger_counts`):
/// a few hundred rows of differences at most, summed in well under a millisecond.
const FOLD_COUNTS_EVERY: Duration = Duration::from_secs(5);

pub struct PgStore {
    reader: Reader<sqlx::Postgres>,
    writer: Writer<sqlx::Postgres>,
    ingest: mpsc::Sender<IngestOp>,
    accounts: super::accounts::AccountsDb<sqlx::Postgres>,
    /// Who hears the notifications; one listening connection serves them all.
    subscribers: Arc<std::sync::Mutex<Subscribers>>,
    listening: std::sync::Once,
    /// The kept counts are folded from the first migration on (before it, the
    /// table may not exist yet).
    folding: std::sync::Once,
}

#[derive(Default)]
struct Subscribers {
    due: Vec<Arc<tokio::sync::Notify>>,
    keys: Vec<KeyRevoked>,
}

impl Subscribers {
    fn hear(&self, n: &sqlx::postgres::PgNotification) {
        match n.channel() {
            DUE_CHANNEL => self.due.iter().for_each(|w| w.notify_one()),
            KEYS_CHANNEL => {
                let id = n.payload().parse::<Uuid>().ok();
                self.keys.iter().for_each(|f| f(id));
            }
            _ => {}
        }
    }

    /// Notifications sent while nobody listened are lost: drop every cached key,
    /// and look for due work.
    fn missed(&self) {
        self.due.iter().for_each(|w| w.notify_one());
        self.keys.iter().for_each(|f| f(None));
    }
}

struct IngestOp {
    trigger: NewTrigger,
    reply: oneshot::Sender<Result<Inserted, StoreError>>,
}

/// Most inserts one transaction commits.
const MAX_BATCH: usize = 256;
/// Writers taking turns at the ingest queue.
const WRITERS: usize = 3;

impl PgStore {
    pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        let queue = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(group_commit(pool.clone(), queue.clone()));
        }
        Ok(PgStore {
            writer: Writer { pool: pool.clone() },
            accounts: super::accounts::AccountsDb {
                read: pool.clone(),
                write: pool.clone(),
            },
            reader: Reader { pool },
            ingest: tx,
            subscribers: Default::default(),
            listening: std::sync::Once::new(),
            folding: std::sync::Once::new(),
        })
    }

    /// Listen on every channel, once per store, on one connection that is taken
    /// again after it drops.
    fn listen(&self) {
        self.listening.call_once(|| {
            let pool = self.pool().clone();
            let subscribers = self.subscribers.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listen_until_lost(&pool, &subscribers).await {
                        tracing::warn!(error = %e, "listening for notifications");
                    }
                    // Polling covers the gap; reconnect after a pause.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        });
    }

    fn pool(&self) -> &PgPool {
        &self.reader.pool
    }

    /// Run `f` in a transaction on a task of its own: a request dropped half-way
    /// (its client hung up) does not stop the write, and a transaction that does
    /// not reach COMMIT rolls back (sqlx's `Transaction` on drop).
    async fn write_tx<T, F>(&self, context: &'static str, f: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(
                &'c mut PgConnection,
            ) -> futures::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let pool = self.pool().clone();
        detached(async move {
            let mut tx = pool.begin().await.context(context)?;
            let value = f(&mut tx).await?;
            tx.commit().await.context(context)?;
            Ok(value)
        })
        .await
    }
}

/// Fold the kept counts every few seconds for as long as the store is open
/// (its ingest queue's sender is alive). Every instance does it; folds at once
/// are safe, and a failed one leaves the rows for the next.
async fn fold_counts_while_open(pool: PgPool, open: mpsc::WeakSender<IngestOp>) {
    loop {
        tokio::time::sleep(FOLD_COUNTS_EVERY).await;
        if open.upgrade().is_none() {
            return;
        }
        if let Err(e) = fold_counts(&pool).await {
            tracing::warn!(error = %e, "folding the trigger counts");
        }
    }
}

async fn fold_counts(pool: &PgPool) -> Result<(), StoreError> {
    execute(
        pool,
        sql::fold_trigger_counts(),
        "folding the trigger counts",
    )
    .await?;
    Ok(())
}

/// Hand every notification to its subscribers until the listening connection
/// fails for good.
async fn listen_until_lost(
    pool: &PgPool,
    subscribers: &std::sync::Mutex<Subscribers>,
) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    // One channel at a time, due work last: the connection then shows
    // `LISTEN "calltrail_due"` in pg_stat_activity, as it did with one channel.
    listener.listen(KEYS_CHANNEL).await?;
    listener.listen(DUE_CHANNEL).await?;
    let hear = || subscribers.lock().expect("subscribers");
    hear().missed();
    loop {
        // `None`: the connection dropped; the next call reconnects, having
        // missed whatever was sent meanwhile.
        match listener.try_recv().await? {
            Some(n) => hear().hear(&n),
            None => hear().missed(),
        }
    }
}

/// Keyed inserts one by one (their conflicts wait on each other); the rest as one
/// multi-row transaction. Several writers take turns at the queue, so a batch is
/// being committed while the next one gathers.
async fn group_commit(pool: PgPool, queue: Arc<tokio::sync::Mutex<mpsc::Receiver<IngestOp>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let got = queue.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if got == 0 {
            return;
        }
        let (keyed, plain): (Vec<IngestOp>, Vec<IngestOp>) = batch
            .drain(..)
            .partition(|op| op.trigger.idempotency.is_some());
        for op in keyed {
            let _ = op.reply.send(insert_one(&pool, op.trigger).await);
        }
        if plain.is_empty() {
            continue;
        }
        let rows: Vec<NewTrigger> = plain.iter().map(|op| op.trigger.clone()).collect();
        let together = async {
            let mut tx = pool.begin().await.context("starting a batch")?;
            insert_rows(&mut tx, &rows).await?;
            tx.commit().await.context("committing a batch")
        };
        match together.await {
            Ok(()) => {
                for op in plain {
                    let _ = op.reply.send(Ok(Inserted::Created(op.trigger.id)));
                }
            }
            // One bad row must not fail its neighbours: retry each on its own.
            Err(_) => {
                for op in plain {
                    let _ = op.reply.send(insert_one(&pool, op.trigger).await);
                }
            }
        }
    }
}

async fn insert_one(pool: &PgPool, trigger: NewTrigger) -> Result<Inserted, StoreError> {
    let mut tx = pool.begin().await.context("starting an insert")?;
    let mut sql = sql::insert_triggers(D, std::slice::from_ref(&trigger));
    if trigger.idempotency.is_some() {
        // Concurrent inserts under one key wait on each other here; all but one do nothing.
        sql.push(" ON CONFLICT (idempotency_key) DO NOTHING");
    }
    let inserted = execute(&mut *tx, sql, "inserting a trigger").await?;
    if inserted == 0 {
        let idem = trigger
            .idempotency
            .as_ref()
            .expect("only keyed inserts conflict");
        let row: Option<IdempotentRow> = fetch_optional(
            &mut *tx,
            sql::select_idempotent(D, &idem.key),
            "reading an idempotent trigger",
        )
        .await?;
        let row = row.ok_or(StoreError::Duplicate("trigger with this idempotency key"))?;
        tx.commit().await.context("committing")?;
        return Ok(Inserted::Existing {
            id: row.id,
            same_request: row.request_hash.as_deref() == Some(&idem.request_hash),
        });
    }
    if let Some(sql) = sql::insert_search(D, std::slice::from_ref(&trigger)) {
        execute(&mut *tx, sql, "indexing a trigger for search").await?;
    }
    if let Some(logs) = sql::insert_logs(D, trigger.logs.iter().map(|l| (trigger.id, l))) {
        execute(&mut *tx, logs, "inserting logs").await?;
    }
    tx.commit().await.context("committing a trigger")?;
    Ok(Inserted::Created(trigger.id))
}

async fn insert_rows(conn: &mut PgConnection, rows: &[NewTrigger]) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        execute(
            &mut *conn,
            sql::insert_triggers(D, chunk),
            "inserting triggers",
        )
        .await?;
        if let Some(sql) = sql::insert_search(D, chunk) {
            execute(&mut *conn, sql, "indexing triggers for search").await?;
        }
        let logs = chunk
            .iter()
            .flat_map(|t| t.logs.iter().map(move |l| (t.id, l)));
        if let Some(sql) = sql::insert_logs(D, logs) {
            execute(&mut *conn, sql, "inserting logs").await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
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
        sqlx::migrate!("./migrations/postgres")
            .run(self.pool())
            .await?;
        self.folding.call_once(|| {
            tokio::spawn(fold_counts_while_open(
                self.pool().clone(),
                self.ingest.downgrade(),
            ));
        });
        Ok(())
    }

    async fn insert_trigger(&self, trigger: NewTrigger) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ingest
            .send(IngestOp { trigger, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    async fn insert_triggers(&self, triggers: Vec<NewTrigger>) -> Result<(), StoreError> {
        self.write_tx("inserting triggers in bulk", |c| {
            Box::pin(async move { insert_rows(c, &triggers).await })
        })
        .await
    }

    async fn insert_reported_call(
        &self,
        trigger: NewTrigger,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        self.write_tx("recording a reported call", |c| {
            Box::pin(async move {
                insert_rows(c, std::slice::from_ref(&trigger)).await?;
                write_outcome::<sqlx::Postgres>(c, &outcome).await
            })
        })
        .await
    }

    async fn record_attempt(&self, outcome: AttemptOutcome) -> Result<(), StoreError> {
        self.write_tx("recording an attempt", |c| {
            Box::pin(async move { write_outcome::<sqlx::Postgres>(c, &outcome).await })
        })
        .await
    }

    async fn record_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.write_tx("recording attempts", |c| {
            Box::pin(async move { write_outcomes::<sqlx::Postgres>(c, &outcomes).await })
        })
        .await
    }

    async fn claim_due_triggers(&self, c: &Claim) -> Result<Vec<ClaimedTrigger>, StoreError> {
        let mut tx = self.pool().begin().await.context("starting a claim")?;
        let claimed = claim::<sqlx::Postgres>(&mut tx, c).await?;
        tx.commit().await.context("committing a claim")?;
        Ok(claimed)
    }

    async fn request_run(
        &self,
        trigger_id: Uuid,
        run: PendingRun,
        audit: Option<AuditEntry>,
    ) -> Result<RunRequest, StoreError> {
        self.write_tx("queueing a run", move |c| {
            Box::pin(async move {
                queue_run::<sqlx::Postgres>(c, trigger_id, &run, audit.as_ref()).await
            })
        })
        .await
    }

    async fn begin_migration(
        &self,
        migration: &MigrationRecord,
        audit: AuditEntry,
        rerun_set: Option<&StoreFilter>,
    ) -> Result<u64, StoreError> {
        let (m, f) = (migration.clone(), rerun_set.cloned());
        self.write_tx("starting a migration", move |c| {
            Box::pin(
                async move { begin_migration::<sqlx::Postgres>(c, &m, &audit, f.as_ref()).await },
            )
        })
        .await
    }

    async fn migration_step(&self, step: MigrationStep) -> Result<StepOutcome, StoreError> {
        self.write_tx("a migration step", move |c| {
            Box::pin(async move { migration_step::<sqlx::Postgres>(c, &step).await })
        })
        .await
    }

    async fn fold_counts(&self) -> Result<(), StoreError> {
        fold_counts(self.pool()).await
    }

    async fn announce_due(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(DUE_CHANNEL)
            .execute(self.pool())
            .await
            .context("announcing due work")?;
        Ok(())
    }

    fn subscribe_due(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        self.subscribers.lock().expect("subscribers").due.push(wake);
        self.listen();
    }

    async fn write_audited(
        &self,
        change: AuditedChange,
        audit: AuditEntry,
    ) -> Result<u64, StoreError> {
        self.write_tx("an audited change", move |c| {
            Box::pin(async move { apply_audited::<sqlx::Postgres>(c, &change, &audit).await })
        })
        .await
    }

    async fn announce_key_revoked(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(KEYS_CHANNEL)
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .context("announcing a revoked key")?;
        Ok(())
    }

    fn subscribe_key_revocations(&self, revoked: KeyRevoked) {
        self.subscribers
            .lock()
            .expect("subscribers")
            .keys
            .push(revoked);
        self.listen();
    }
}
