//! One trigger, one call in flight: the real binary with 2 workers and a 4 s lease
//! calls a provider that answers in about 3 s, is killed with SIGKILL while two calls
//! hang, and is started again once their leases expired. The provider sees every
//! trigger, and never two requests for the same trigger at once.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use common::{Db, KillOnDrop};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
const TRIGGERS: usize = 6;
const LEASE: Duration = Duration::from_secs(4);
/// How long the provider takes, request after request: about 3 s, uneven, so slots
/// free up while other calls are still running.
const DELAYS_MS: [u64; 4] = [3000, 2000, 3000, 2500];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trigger_is_called_twice_at_once_across_a_kill_on_sqlite() {
    one_call_in_flight(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trigger_is_called_twice_at_once_across_a_kill_on_postgres() {
    one_call_in_flight(Db::Postgres).await;
}

/// One request as the provider saw it: from its arrival until it answered (or the
/// caller went away).
#[derive(Debug, Clone)]
struct Call {
    trigger: String,
    start: Instant,
    end: Option<Instant>,
}

#[derive(Default)]
struct Provider {
    calls: Mutex<Vec<Call>>,
}

impl Provider {
    fn in_flight(&self) -> Vec<Call> {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.end.is_none()).cloned().collect()
    }
}

/// Marks a call ended when the handler finishes or is dropped.
struct Ended(Arc<Provider>, usize);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.calls.lock().unwrap()[self.1].end = Some(Instant::now());
    }
}

async fn provider() -> (String, Arc<Provider>) {
    let state = Arc::new(Provider::default());
    let s = state.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let s = s.clone();
        async move {
            let trigger = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            let index = {
                let mut calls = s.calls.lock().unwrap();
                calls.push(Call {
                    trigger,
                    start: Instant::now(),
                    end: None,
                });
                calls.len() - 1
            };
            let _ended = Ended(s.clone(), index);
            let delay = DELAYS_MS[index % DELAYS_MS.len()];
            tokio::time::sleep(Duration::from_millis(delay)).await;
            axum::Json(json!({"id": "ext_1"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn env<'c>(cmd: &'c mut Command, db_url: &str) -> &'c mut Command {
    cmd.env("CALLTRAIL_DATABASE_URL", db_url)
        .env("CALLTRAIL_SECRET_KEY", "11".repeat(32))
}

/// The binary on port 0; its address is read from what it prints.
fn start(db_url: &str) -> (KillOnDrop, String) {
    let mut child = env(&mut Command::new(BIN), db_url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CALLTRAIL_WORKERS", "2")
        .env("CALLTRAIL_LEASE_SECS", LEASE.as_secs().to_string())
        .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading, so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let addr = line[at + "listening on ".len()..].trim().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server printed its address");
    (KillOnDrop(child), base)
}

async fn post(http: &reqwest::Client, url: String, key: &str, body: Value) -> Value {
    let r = http
        .post(url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

/// Wait until `ready` holds, checking every 50 ms, for at most `limit`.
async fn until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn one_call_in_flight(db: Db) {
    let fresh = common::fresh_db(db).await;
    let (provider_url, provider) = provider().await;
    let key_out = env(&mut Command::new(BIN), &fresh.url)
        .args(["api-key", "create", "--name", "lease", "--role", "admin"])
        .output()
        .unwrap();
    assert!(key_out.status.success(), "{key_out:?}");
    let key = String::from_utf8(key_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();

    let (mut server, base) = start(&fresh.url);
    post(
        &http,
        format!("{base}/api/v1/plugins"),
        &key,
        json!({
            "name": "slow", "base_url": provider_url, "timeout_ms": 3500,
            "default_route": {"method": "POST", "path": "/hook"},
            "retry_policy": {"schedule_secs": [1], "max_attempts": 10, "jitter_pct": 0,
                             "retry_after_cap_secs": 5}
        }),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..TRIGGERS {
        let t = post(
            &http,
            format!("{base}/api/v1/triggers"),
            &key,
            json!({"plugin": "slow", "event_type": "e.x", "payload": {"n": i}}),
        )
        .await;
        ids.push(t["id"].as_str().unwrap().to_string());
    }

    // Kill it while two calls hang, and start it again once their leases expired.
    until(Duration::from_secs(20), "two calls hang", || {
        provider.in_flight().len() == 2
    })
    .await;
    let hanging = provider.in_flight();
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    let expired =
        hanging.iter().map(|c| c.start).max().unwrap() + LEASE + Duration::from_millis(500);
    until(Duration::from_secs(10), "their leases expired", || {
        Instant::now() >= expired
    })
    .await;
    let (_server, base) = start(&fresh.url);

    // Every trigger ends.
    let deadline = Instant::now() + Duration::from_secs(90);
    let triggers = loop {
        let page = common::get_json(&http, format!("{base}/api/v1/triggers?limit=100"), &key).await;
        let items = page["items"].as_array().unwrap().clone();
        if items.iter().all(|t| t["status"] == "finished") {
            break items;
        }
        assert!(Instant::now() < deadline, "triggers still open: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(triggers.len(), TRIGGERS);

    // Never two requests for the same trigger at once.
    let calls = provider.calls.lock().unwrap().clone();
    let mut by_trigger: HashMap<String, Vec<Call>> = HashMap::new();
    for c in calls {
        by_trigger.entry(c.trigger.clone()).or_default().push(c);
    }
    for id in &ids {
        let msg = format!("msg_{}", id.replace('-', ""));
        let calls = by_trigger
            .get_mut(&msg)
            .unwrap_or_else(|| panic!("{msg} was never called"));
        calls.sort_by_key(|c| c.start);
        for pair in calls.windows(2) {
            let end = pair[0].end.expect("every call ended");
            assert!(
                pair[1].start >= end,
                "{msg} was called again {:?} before its previous call ended",
                end - pair[1].start
            );
        }
    }
}
