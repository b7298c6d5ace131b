//! The WAL checkpointer: it copies what the writer committed from the WAL back
//! into the database file on a connection of its own, so the writer's commits do
//! not stop for it.
//!
//! By default (`wal_autocheckpoint`) the commit that takes the WAL past 1,000
//! pages copies them back itself: the writer's transaction, and every caller
//! waiting on it, stops for those page writes and an fsync (4–5 % of SQLite's
//! thread under the end-to-end benchmark). Here the writer only says that it
//! committed; at most every `EVERY` this task runs a PASSIVE checkpoint, which
//! neither waits for the writer or the readers nor blocks them. The writer's own
//! autocheckpoint stays, at `FALLBACK_PAGES`, should this one fall behind (or for
//! writes that do not go through the writer, such as `calltrail prune`).

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio::sync::mpsc;

/// The WAL size (in pages) at which the writer's commit checkpoints by itself.
pub(super) const FALLBACK_PAGES: u32 = 10_000;
/// The least time between two checkpoints.
const EVERY: Duration = Duration::from_millis(100);
/// Its page cache, in KiB: a checkpoint reads the WAL and writes the file directly.
pub(super) const CACHE_KIB: u32 = 256;

/// Open the checkpointer's connection and start it. The writer signals each
/// commit on the sender; the checkpointer stops when the sender is dropped.
pub(super) async fn start(options: SqliteConnectOptions) -> anyhow::Result<mpsc::Sender<()>> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(options.pragma("cache_size", format!("-{CACHE_KIB}")))
        .await?;
    // One slot: the commits made during a checkpoint ask for one more, not many.
    let (committed, signals) = mpsc::channel(1);
    tokio::spawn(run(pool, signals));
    Ok(committed)
}

async fn run(pool: SqlitePool, mut committed: mpsc::Receiver<()>) {
    while committed.recv().await.is_some() {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "checkpointing the WAL");
        }
        tokio::time::sleep(EVERY).await;
    }
    pool.close().await;
}
