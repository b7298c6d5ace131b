//! What the stand-alone benchmarks (`src/bin/`) share: a fresh database of each
//! kind for a phase, removed afterwards.

use std::future::Future;

use sqlx::{Connection, Executor as _};

/// Run `phase(name, url)` on a fresh SQLite file, then, when `postgres`, on a
/// fresh PostgreSQL database (`CALLTRAIL_TEST_PG_URL`, default the local server
/// with trust auth) named after `what` and this process. Each is removed after
/// its phase, whether it succeeded or not; the first failure stops the run.
pub async fn on_fresh_databases<F, Fut>(what: &str, postgres: bool, phase: F) -> anyhow::Result<()>
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("calltrail-{what}-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let sqlite = format!("sqlite://{}/{what}.db?mode=rwc", dir.display());
    let result = phase("SQLite", sqlite).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    if !postgres {
        return Ok(());
    }
    let base = std::env::var("CALLTRAIL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let base = base.trim_end_matches('/');
    let name = format!("calltrail_bench_{what}_{pid}");
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let result = phase("PostgreSQL", format!("{base}/{name}")).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    result
}
