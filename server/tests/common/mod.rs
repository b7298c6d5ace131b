//! Test support: the real server on port 0 with a fresh database, real HTTP.
#![allow(dead_code)]

use std::sync::Arc;

use calltrail::service::{Limits, PluginInput, Principal, Role, SecretBox, Service};
use calltrail::storage::{self, SharedStore};
use serde_json::{json, Value};

/// Each named `async fn name(db: Db)` becomes two tests, `sqlite::name` and
/// `postgres::name`: every behaviour is checked on both databases.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Db::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Db::Postgres).await } )*
        }
    };
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Fresh {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A brand-new database: a file in a temp dir, or a new PostgreSQL database.
pub async fn fresh_db(db: Db) -> Fresh {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            Fresh {
                url,
                _dir: Some(dir),
            }
        }
        Db::Postgres => {
            let base = std::env::var("CALLTRAIL_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            let base = base.trim_end_matches('/').to_string();
            let name = format!("calltrail_test_{}", uuid::Uuid::now_v7().simple());
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
                .await
                .expect("PostgreSQL must be reachable (set CALLTRAIL_TEST_PG_URL)");
            sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            Fresh {
                url: format!("{base}/{name}"),
                _dir: None,
            }
        }
    }
}

pub async fn store(db: Db) -> (SharedStore, Fresh) {
    let fresh = fresh_db(db).await;
    let store = storage::connect(&fresh.url).await.unwrap();
    store.migrate().await.unwrap();
    (store, fresh)
}

/// The secret key test servers seal plugin credentials with.
pub const TEST_KEY: &str = "abababababababababababababababababababababababababababababababab";

pub struct TestApp {
    pub base: String,
    pub db_url: String,
    pub admin_key: String,
    pub service: Arc<Service>,
    pub http: reqwest::Client,
    _fresh: Fresh,
}

pub fn admin() -> Principal {
    Principal::system("test-admin")
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        TestApp::spawn_with(db, Limits::default()).await
    }

    pub async fn spawn_with(db: Db, limits: Limits) -> TestApp {
        TestApp::spawn_configured(db, limits, |_| {}).await
    }

    /// A server whose HTTP settings (hosts, sessions, sign-in limits) `configure` adjusts.
    pub async fn spawn_configured(
        db: Db,
        limits: Limits,
        configure: impl FnOnce(&mut calltrail::HttpSettings),
    ) -> TestApp {
        TestApp::spawn_serving(db, limits, "target/site", configure).await
    }

    /// A server whose site (the wasm, the stylesheet) is in `site_root`.
    pub async fn spawn_with_site(db: Db, site_root: &str) -> TestApp {
        TestApp::spawn_serving(db, Limits::default(), site_root, |_| {}).await
    }

    async fn spawn_serving(
        db: Db,
        limits: Limits,
        site_root: &str,
        configure: impl FnOnce(&mut calltrail::HttpSettings),
    ) -> TestApp {
        let (store, fresh) = store(db).await;
        let service = Service::new(store, SecretBox::from_hex(TEST_KEY).unwrap(), limits);
        let admin_key = service
            .create_api_key("test-admin", Role::Admin)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = calltrail::config::leptos_options(site_root, addr);
        let mut settings = calltrail::HttpSettings::local(addr);
        configure(&mut settings);
        let router = calltrail::app_with(service.clone(), options, false, &settings);
        tokio::spawn(async move {
            calltrail::serve_router(listener, router, std::future::pending())
                .await
                .unwrap()
        });
        TestApp {
            base: format!("http://{addr}"),
            db_url: fresh.url.clone(),
            admin_key,
            service,
            http: reqwest::Client::new(),
            _fresh: fresh,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn key(&self, name: &str, role: Role) -> String {
        self.service.create_api_key(name, role).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .unwrap();
        status_json(r).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.admin_key)
            .send()
            .await
            .unwrap();
        status_json(r).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(path))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .unwrap();
        status_json(r).await
    }

    /// A request with another key than the admin's: `(status, JSON body)`.
    pub async fn send_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(b) = body {
            r = r.json(b);
        }
        status_json(r.send().await.unwrap()).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> (u16, Value) {
        self.send_as(key, reqwest::Method::GET, path, None).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        self.send_as(key, reqwest::Method::POST, path, Some(body))
            .await
    }

    /// A plugin with routes for `invoice.available` and `customer.created`.
    pub async fn plugin(&self, name: &str) -> Value {
        let (status, body) = self.post("/api/v1/plugins", &plugin_body(name)).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn trigger(&self, body: &Value) -> Value {
        let (status, out) = self.post("/api/v1/triggers", body).await;
        assert_eq!(status, 201, "{out}");
        out
    }

    /// Add a user through the service; returns its id. The password is `PASSWORD`.
    pub async fn user(&self, email: &str, role: &str, plugins: Option<Vec<&str>>) -> String {
        let input: calltrail::service::UserInput = serde_json::from_value(json!({
            "email": email, "role": role, "plugins": plugins, "password": PASSWORD,
        }))
        .unwrap();
        let user = self.service.create_user(&admin(), input).await.unwrap();
        user.id.to_string()
    }

    /// Post the sign-in form as a browser on this site would.
    pub async fn post_sign_in(&self, email: &str, password: &str, next: &str) -> reqwest::Response {
        no_redirects()
            .post(self.url("/login"))
            .header("Origin", &self.base)
            .form(&[("email", email), ("password", password), ("next", next)])
            .send()
            .await
            .unwrap()
    }

    /// Sign in and keep the session cookie.
    pub async fn sign_in(&self, email: &str, password: &str) -> Browser {
        let r = self.post_sign_in(email, password, "/").await;
        assert_eq!(r.status().as_u16(), 303, "signing in as {email}");
        Browser {
            base: self.base.clone(),
            cookie: session_cookie(&r).expect("signing in sets the session cookie"),
            http: no_redirects(),
        }
    }

    /// A signed-in admin user's browser.
    pub async fn browser(&self) -> Browser {
        let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
        self.user(&email, "admin", None).await;
        self.sign_in(&email, PASSWORD).await
    }
}

/// The password `TestApp::user` gives everyone.
pub const PASSWORD: &str = "correct horse battery staple";

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the session cookie a response sets, if it sets one.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(calltrail::web::SESSION_COOKIE))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// A browser with a session: sends the cookie, and `Origin` on posts.
pub struct Browser {
    pub base: String,
    pub cookie: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// Call a server function (`app::server_fns::X::PATH`) with JSON arguments.
    pub async fn call_fn(&self, path: &str, args: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Cookie", &self.cookie)
            .header("Origin", &self.base)
            .json(args)
            .send()
            .await
            .unwrap();
        status_json(r).await
    }

    pub async fn sign_out(&self) -> reqwest::Response {
        self.http
            .post(format!("{}/logout", self.base))
            .header("Cookie", &self.cookie)
            .header("Origin", &self.base)
            .send()
            .await
            .unwrap()
    }
}

pub async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub fn plugin_body(name: &str) -> Value {
    json!({
        "name": name,
        "display_name": name.to_uppercase(),
        "base_url": "https://api.example.com",
        "routes": {
            "invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"},
            "customer.created": {"method": "POST", "path": "/v1/customers"}
        },
        "auth": {"type": "bearer", "token": "sk_live_PLANTED_MARKER"},
        "signing_secret": "whsec_PLANTED_SIGNING",
        "external_id_pointer": "/id"
    })
}

pub async fn plugin_via_service(service: &Service, name: &str) -> app::domain::Plugin {
    let input: PluginInput = serde_json::from_value(plugin_body(name)).unwrap();
    service.create_plugin(&admin(), input).await.unwrap()
}

/// The error body's parts, asserting its shape.
pub fn error_of(body: &Value) -> (String, Option<String>, String) {
    let e = &body["error"];
    assert!(e.is_object(), "expected an error body, got {body}");
    (
        e["code"].as_str().unwrap().to_string(),
        e["field"].as_str().map(str::to_string),
        e["message"].as_str().unwrap().to_string(),
    )
}

/// A server process that is stopped however the test ends, failed assertions included.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET a JSON document with an API key, for the tests that drive the real binary.
pub async fn get_json(http: &reqwest::Client, url: impl reqwest::IntoUrl, key: &str) -> Value {
    http.get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What `calltrail serve` prints on stdout, alone on its line, once it listens.
pub const LISTENING: &str = "Calltrail listening on ";

/// Start `calltrail serve` (built as `cmd`, without `--listen`) on a port of its own
/// choosing (`CALLTRAIL_LISTEN=127.0.0.1:0`) and return it with the base URL it
/// printed. Its stdout is read (and drained) here; set its stderr as you like.
pub async fn serve_binary(cmd: &mut std::process::Command) -> (KillOnDrop, String) {
    use std::io::{BufRead, BufReader};
    cmd.env("CALLTRAIL_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped());
    let mut server = KillOnDrop(cmd.spawn().expect("the binary starts"));
    let stdout = server.0.stdout.take().expect("stdout is piped");
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Read to the end, so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix(LISTENING) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(base.trim().to_string());
                }
            }
        }
    });
    let base = tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("the server says where it listens within 30 s")
        .expect("the server exited before it said where it listens");
    (server, base)
}

/// Poll `check` until it holds, failing the test after `within`.
pub async fn wait_until<F, Fut>(within: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for(within, what, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Poll `check` until it gives a value, failing the test after `within`.
pub async fn wait_for<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Wait (bounded) for a process to exit, without blocking the runtime.
pub async fn wait_for_exit(
    child: &mut std::process::Child,
    within: std::time::Duration,
) -> std::process::ExitStatus {
    wait_for(within, "the process to exit", || {
        let status = child.try_wait().expect("the process can be waited on");
        async move { status }
    })
    .await
}

/// A time as a literal of the test database's time columns: microseconds on
/// SQLite, a `timestamptz` on PostgreSQL.
pub fn time_literal(db_url: &str, t: chrono::DateTime<chrono::Utc>) -> String {
    if db_url.starts_with("sqlite:") {
        t.timestamp_micros().to_string()
    } else {
        format!("'{}'::timestamptz", t.to_rfc3339())
    }
}

/// `days` days before now, as [`time_literal`].
pub fn days_ago_literal(db_url: &str, days: i64) -> String {
    time_literal(db_url, chrono::Utc::now() - chrono::Duration::days(days))
}

/// Run one SQL statement on a test database (to plant a state a crash would leave).
pub async fn exec_sql(db_url: &str, statement: &str) -> u64 {
    use sqlx::Connection;
    if db_url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.unwrap();
        sqlx::Executor::execute(&mut c, statement)
            .await
            .unwrap()
            .rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(db_url).await.unwrap();
        sqlx::Executor::execute(&mut c, statement)
            .await
            .unwrap()
            .rows_affected()
    }
}

/// One value from a test database, read as a test would inspect it by hand.
pub async fn query_one<T>(db_url: &str, statement: &str) -> T
where
    T: Send
        + Unpin
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
{
    use sqlx::Connection;
    if db_url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(db_url).await.unwrap();
        sqlx::query_scalar(statement)
            .fetch_one(&mut c)
            .await
            .unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(db_url).await.unwrap();
        sqlx::query_scalar(statement)
            .fetch_one(&mut c)
            .await
            .unwrap()
    }
}

/// One number from a test database (`SELECT COUNT(*) …`).
pub async fn query_i64(db_url: &str, statement: &str) -> i64 {
    query_one(db_url, statement).await
}

/// One optional text from a test database.
pub async fn query_text(db_url: &str, statement: &str) -> Option<String> {
    query_one(db_url, statement).await
}

/// The database's bytes as an attacker with a copy of it would read them.
pub fn database_bytes(db: Db, url: &str) -> Vec<(String, String)> {
    match db {
        Db::Sqlite => {
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap();
            [path.to_string(), format!("{path}-wal")]
                .into_iter()
                .map(|file| {
                    let bytes = std::fs::read(&file).unwrap_or_default();
                    (file, String::from_utf8_lossy(&bytes).into_owned())
                })
                .collect()
        }
        Db::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .arg("--no-owner")
                .arg(url)
                .output()
                .expect("pg_dump runs (postgresql-client)");
            assert!(
                out.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            vec![(
                "pg_dump".to_string(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )]
        }
    }
}

/// `calltrail api-key create` for an admin key, run with `cmd` (the binary with
/// its settings): the key it prints alone on its last line.
pub fn cli_admin_key(cmd: &mut std::process::Command) -> String {
    let out = cmd
        .args(["api-key", "create", "--name", "ops", "--role", "admin"])
        .stderr(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "api-key create failed");
    String::from_utf8(out.stdout)
        .expect("the key is text")
        .lines()
        .last()
        .expect("the key is printed")
        .to_string()
}

pub const DAY: i64 = 86_400;

/// A trigger created `days_ago` (its id says so, as a real one's would), due now.
pub fn old_trigger(
    plugin_id: uuid::Uuid,
    days_ago: i64,
    entity: &str,
    payload: serde_json::Value,
) -> calltrail::storage::NewTrigger {
    let secs = (chrono::Utc::now().timestamp() - days_ago * DAY) as u64;
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, 0));
    let now = calltrail::service::now();
    calltrail::storage::NewTrigger {
        id,
        plugin_id,
        event_type: "invoice.available".into(),
        action: None,
        entity: Some(app::domain::EntityRef {
            entity_type: "invoice".into(),
            id: entity.into(),
        }),
        initiator: app::domain::Initiator {
            kind: app::domain::InitiatorKind::System,
            name: "test".into(),
        },
        payload: payload.to_string(),
        aggregation_key: None,
        idempotency: None,
        status: app::domain::Status::NotYetStarted,
        scheduled_at: now,
        next_attempt_at: Some(now),
        logs: vec![],
        created_by: None,
    }
}
