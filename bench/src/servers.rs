//! The servers under test, run in-process on the servers' own runtime, and the
//! databases they use (a temp SQLite file; a fresh PostgreSQL database).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::json;
use sqlx::{Connection, Executor};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use app::domain::Plugin;
use calltrail::service::{Limits, PluginInput, Principal, Role, SecretBox, Service};
use calltrail::storage::SharedStore;

/// An event a benchmark plugin receives: event type, action, entity type, entity id prefix.
pub type BenchEvent = (&'static str, &'static str, &'static str, &'static str);

/// The plugins every benchmark database gets: name, share of the rows, events.
pub const PLUGINS: [(&str, u32, &[BenchEvent]); 4] = [
    (
        "stripe",
        40,
        &[
            ("invoice.available", "Create invoice", "invoice", "INV"),
            ("customer.created", "Push customer", "customer", "CUS"),
        ],
    ),
    (
        "xero",
        30,
        &[
            ("invoice.available", "Create invoice", "invoice", "INV"),
            ("contract.updated", "Update contact", "contract", "CON"),
        ],
    ),
    (
        "slack",
        20,
        &[("meter.alert", "Post message", "meter", "MTR")],
    ),
    (
        "hubspot",
        10,
        &[("contract.updated", "Update deal", "contract", "CON")],
    ),
];

/// Calltrail itself, serving on 127.0.0.1 with an admin key and the plugins above.
pub struct Backend {
    pub addr: SocketAddr,
    pub key: String,
    pub store: SharedStore,
    pub plugins: Vec<Plugin>,
    shutdown: oneshot::Sender<()>,
    join: JoinHandle<std::io::Result<()>>,
}

impl Backend {
    pub async fn start(srv: &Handle, url: &str) -> anyhow::Result<Backend> {
        let url = url.to_string();
        // Built on the servers' runtime: the SQLite store spawns its writer task there.
        srv.spawn(async move {
            let store = calltrail::storage::connect(&url).await?;
            store.migrate().await?;
            let service = Service::new(store.clone(), SecretBox::random(), Limits::default());
            let key = service
                .create_api_key("bench", Role::Admin)
                .await
                .map_err(|e| anyhow::anyhow!("creating an api key: {}", e.message()))?;
            let admin = Principal::system("bench");
            let mut plugins = Vec::new();
            for (name, _, events) in PLUGINS {
                let routes: serde_json::Map<String, serde_json::Value> = events
                    .iter()
                    .map(|(event, _, entity, _)| {
                        (
                            event.to_string(),
                            json!({"method": "POST", "path": format!("/v1/{entity}s")}),
                        )
                    })
                    .collect();
                let input: PluginInput = serde_json::from_value(json!({
                    "name": name,
                    "base_url": "http://127.0.0.1:9",
                    "routes": routes,
                    // Nothing in this process executes triggers; the port is discard anyway.
                    "active": true,
                }))?;
                let plugin = service
                    .create_plugin(&admin, input)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating plugin {name}: {}", e.message()))?;
                plugins.push(plugin);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = calltrail::app(
                service,
                calltrail::config::leptos_options("target/site", addr),
            );
            let (shutdown, rx) = oneshot::channel::<()>();
            let join = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await
            });
            anyhow::Ok(Backend {
                addr,
                key,
                store,
                plugins,
                shutdown,
                join,
            })
        })
        .await?
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.join).await;
    }
}

/// The ceiling: an axum handler that reads the body and answers 201 with a little JSON.
pub struct Hello {
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    join: JoinHandle<std::io::Result<()>>,
}

pub async fn start_hello(srv: &Handle) -> anyhow::Result<Hello> {
    srv.spawn(async {
        let app = Router::new().route(
            "/api/v1/triggers",
            post(|body: Bytes| async move {
                (
                    StatusCode::CREATED,
                    [("content-type", "application/json")],
                    format!("{{\"hello\":\"world\",\"received\":{}}}", body.len()),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        anyhow::Ok(Hello {
            addr,
            shutdown,
            join,
        })
    })
    .await?
}

impl Hello {
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.join).await;
    }
}

/// What this run created, so an interrupted run (Ctrl-C, SIGTERM) still removes it.
enum Created {
    File(PathBuf),
    Database { base: String, name: String },
}

static CREATED: std::sync::Mutex<Vec<Created>> = std::sync::Mutex::new(Vec::new());

fn forget(pred: impl Fn(&Created) -> bool) {
    if let Ok(mut c) = CREATED.lock() {
        c.retain(|x| !pred(x));
    }
}

/// Remove every file and database this run created and has not removed yet.
pub async fn cleanup_all() {
    let created = CREATED
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    for c in created {
        match c {
            Created::File(path) => SqliteFile { path }.remove(false),
            Created::Database { base, name } => {
                PgDatabase {
                    url: String::new(),
                    base,
                    name,
                }
                .drop_db(false)
                .await
            }
        }
    }
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// A fresh SQLite file in the temp directory.
pub struct SqliteFile {
    pub path: PathBuf,
}

impl SqliteFile {
    pub fn new(what: &str) -> anyhow::Result<SqliteFile> {
        let path =
            std::env::temp_dir().join(format!("calltrail_bench_{what}_{}.db", unique_suffix()));
        anyhow::ensure!(!path.exists(), "{} already exists", path.display());
        if let Ok(mut c) = CREATED.lock() {
            c.push(Created::File(path.clone()));
        }
        Ok(SqliteFile { path })
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }

    pub fn remove(&self, keep: bool) {
        forget(|c| matches!(c, Created::File(p) if *p == self.path));
        if keep {
            return;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A fresh PostgreSQL database, created through the `postgres` database.
pub struct PgDatabase {
    base: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(base: &str, what: &str) -> anyhow::Result<PgDatabase> {
        let base = base.trim_end_matches('/').to_string();
        let name = format!("calltrail_bench_{what}_{}", unique_suffix());
        let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
            .await
            .with_context(|| format!("connecting to {base}/postgres"))?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let _ = admin.close().await;
        if let Ok(mut c) = CREATED.lock() {
            c.push(Created::Database {
                base: base.clone(),
                name: name.clone(),
            });
        }
        Ok(PgDatabase {
            url: format!("{base}/{name}"),
            base,
            name,
        })
    }

    pub async fn analyze(&self) -> anyhow::Result<()> {
        let mut conn = sqlx::PgConnection::connect(&self.url).await?;
        conn.execute("ANALYZE").await?;
        let _ = conn.close().await;
        Ok(())
    }

    pub async fn drop_db(&self, keep: bool) {
        forget(|c| matches!(c, Created::Database { name, .. } if *name == self.name));
        if keep {
            return;
        }
        let result = async {
            let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", self.base)).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await?;
            let _ = admin.close().await;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            println!("!! could not drop database {}: {e:#}", self.name);
        }
    }
}

/// The search index (issue 15) seen from outside the server, on the database at `url`.
pub mod search {
    use sqlx::{Connection, Executor, Row};

    fn is_sqlite(url: &str) -> bool {
        url.starts_with("sqlite:")
    }

    /// Give about 1 trigger in 500 an external id (`ch_` + 8 hex digits) straight in
    /// `trigger_search`, the column a provider's answer fills; return one of them.
    pub async fn set_external_ids(url: &str) -> anyhow::Result<Option<String>> {
        let (update, pick) = if is_sqlite(url) {
            (
                "UPDATE trigger_search SET ext = printf('ch_%08x', (id * 2654435761) % 4294967296) \
                 WHERE id % 500 = 0",
                "SELECT ext FROM trigger_search WHERE ext IS NOT NULL ORDER BY id LIMIT 1 OFFSET 700",
            )
        } else {
            (
                "UPDATE trigger_search SET ext = 'ch_' || substr(md5(trigger_id::text), 1, 8) \
                 WHERE get_byte(uuid_send(trigger_id), 15) = 7 AND get_byte(uuid_send(trigger_id), 14) < 128",
                "SELECT ext FROM trigger_search WHERE ext IS NOT NULL ORDER BY trigger_id LIMIT 1 OFFSET 700",
            )
        };
        if is_sqlite(url) {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            c.execute(update).await?;
            let row = sqlx::query(pick).fetch_optional(&mut c).await?;
            Ok(row.map(|r| r.get::<String, _>(0)))
        } else {
            let mut c = sqlx::PgConnection::connect(url).await?;
            c.execute(update).await?;
            let row = sqlx::query(pick).fetch_optional(&mut c).await?;
            Ok(row.map(|r| r.get::<String, _>(0)))
        }
    }

    /// The search table and its index on disk, beside the triggers table.
    pub async fn sizes(url: &str) -> anyhow::Result<String> {
        let mb = |b: i64| format!("{:.0} MB", b as f64 / 1_048_576.0);
        if is_sqlite(url) {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            let q = |names: &'static str| {
                format!("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name {names}")
            };
            let mut out = Vec::new();
            for (what, names) in [
                (
                    "trigger_search (text + unique index)",
                    "IN ('trigger_search', 'sqlite_autoindex_trigger_search_1')",
                ),
                ("FTS5 trigram index", "LIKE 'trigger_search_fts%'"),
                (
                    "triggers (table + indexes)",
                    "IN (SELECT name FROM sqlite_master WHERE tbl_name = 'triggers')",
                ),
                ("whole file", "IS NOT NULL"),
            ] {
                let n: i64 = sqlx::query_scalar(&q(names)).fetch_one(&mut c).await?;
                out.push(format!("{what} {}", mb(n)));
            }
            Ok(out.join(", "))
        } else {
            let mut c = sqlx::PgConnection::connect(url).await?;
            let row = sqlx::query(
                "SELECT pg_relation_size('trigger_search'), pg_relation_size('trigger_search_pkey'), \
                 pg_relation_size('trigger_search_key_trgm'), pg_total_relation_size('triggers'), \
                 pg_database_size(current_database())",
            )
            .fetch_one(&mut c)
            .await?;
            Ok(format!(
                "trigger_search table {}, its primary key {}, GIN trigram index {}, \
                 triggers (table + indexes + TOAST) {}, whole database {}",
                mb(row.get(0)),
                mb(row.get(1)),
                mb(row.get(2)),
                mb(row.get(3)),
                mb(row.get(4))
            ))
        }
    }

    /// Stop maintaining the index (for the ingest baseline): the search row is still
    /// written, its trigrams are not.
    pub async fn drop_index(url: &str) -> anyhow::Result<()> {
        if is_sqlite(url) {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            c.execute("DROP TRIGGER trigger_search_insert").await?;
        } else {
            let mut c = sqlx::PgConnection::connect(url).await?;
            c.execute("DROP INDEX trigger_search_key_trgm").await?;
        }
        Ok(())
    }
}
