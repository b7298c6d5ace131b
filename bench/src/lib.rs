//! What the stand-alone benchmarks (`src/bin/`) share: a fresh database of each
//! kind for a phase, removed afterwards, and the real `calltrail` binary run from
//! outside.

pub mod cpu;

use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    on_fresh_databases_of(what, true, postgres, phase).await
}

/// As [`on_fresh_databases`], choosing each database.
pub async fn on_fresh_databases_of<F, Fut>(
    what: &str,
    sqlite: bool,
    postgres: bool,
    phase: F,
) -> anyhow::Result<()>
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let pid = std::process::id();
    if sqlite {
        let dir = std::env::temp_dir().join(format!("calltrail-{what}-{pid}"));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}/{what}.db?mode=rwc", dir.display());
        let result = phase("SQLite", url).await;
        let _ = std::fs::remove_dir_all(&dir);
        result?;
    }
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

/// The secret key every benchmark server seals with (never a real one).
pub const SECRET_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

/// `target/release/calltrail`, next to the benchmark's own executable.
pub fn binary() -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe()?;
    here.parent()
        .map(|d| d.join("calltrail"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build the binary first: cargo build --release -p server"))
}

/// `calltrail` on database `url`, quiet, with no retention passes and no
/// throttling of the benchmark's own key; `env` on top.
pub fn calltrail(url: &str, env: &[(&str, &str)]) -> anyhow::Result<Command> {
    let mut cmd = Command::new(binary()?);
    cmd.env("CALLTRAIL_DATABASE_URL", url)
        .env("CALLTRAIL_SECRET_KEY", SECRET_KEY)
        .env("CALLTRAIL_RETENTION_INTERVAL_SECS", "0")
        .env("CALLTRAIL_AUTH_FAILURES_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .env_remove("CALLTRAIL_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// A new admin API key on database `url` (made by `calltrail api-key create`).
pub fn admin_key(url: &str) -> anyhow::Result<String> {
    let out = calltrail(url, &[])?
        .args(["api-key", "create", "--name", "bench", "--role", "admin"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "api-key create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .last()
        .unwrap_or_default()
        .to_string())
}

/// A running `calltrail serve`, killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Server {
    /// `calltrail serve` on a free port, once it says it listens.
    pub fn start(url: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        use std::io::{BufRead, BufReader};
        let mut child = calltrail(url, env)?
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(Ok(line)) = lines.next() {
                if let Some(base) = line.strip_prefix("Calltrail listening on ") {
                    let base = base.trim().to_string();
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return Ok(Server { child, base });
                }
            }
        }
        let _ = child.kill();
        anyhow::bail!("calltrail serve did not start")
    }

    /// Its resident memory now, in MB (from /proc).
    pub fn rss_mb(&self) -> f64 {
        rss_mb(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid`, in MB (0 when it cannot be read).
pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The machine's load average, as /proc says it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Straight into the database at `url` (migrated first): a plugin from `plugin`
/// (the JSON of `POST /api/v1/plugins`), then `n` triggers `make(i, plugin_id)`,
/// written through the storage layer in chunks. The plugin's id.
pub async fn fill_triggers(
    url: &str,
    plugin: serde_json::Value,
    n: usize,
    make: impl Fn(usize, uuid::Uuid) -> calltrail::storage::NewTrigger,
) -> anyhow::Result<uuid::Uuid> {
    use calltrail::service::{Limits, Principal, SecretBox, Service};
    const CHUNK: usize = 5_000;
    let store = calltrail::storage::connect(url).await?;
    store.migrate().await?;
    let service = Service::new(
        store.clone(),
        SecretBox::from_hex(SECRET_KEY)?,
        Limits::default(),
    );
    let plugin = service
        .create_plugin(&Principal::system("bench"), serde_json::from_value(plugin)?)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    for first in (0..n).step_by(CHUNK) {
        let chunk = (first..(first + CHUNK).min(n))
            .map(|i| make(i, plugin.id))
            .collect();
        store.insert_triggers(chunk).await?;
    }
    Ok(plugin.id)
}
