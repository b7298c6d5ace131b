//! Never lose a trigger: the real binary is killed with SIGKILL several times while
//! it ingests and delivers 1,000 triggers; after a restart every trigger is final,
//! and the receiver saw each webhook-id at least once and at most once per recorded
//! attempt.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use common::KillOnDrop;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
const TRIGGERS: usize = 1000;

type Seen = Arc<Mutex<HashMap<String, u32>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let s = s.clone();
        async move {
            if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                *s.lock().unwrap().entry(id.to_string()).or_default() += 1;
            }
            // Slow enough that kills land mid-delivery.
            tokio::time::sleep(Duration::from_millis(5)).await;
            axum::Json(json!({"id": "ext_1"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// `calltrail serve` on the test's database, with a 2 s lease.
fn command(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("serve")
        .env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/crash.db?mode=rwc", dir.display()),
        )
        .env("CALLTRAIL_SECRET_KEY", "11".repeat(32))
        .env("CALLTRAIL_LEASE_SECS", "2")
        .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    c
}

/// The server on a port of its own choosing, and its base URL.
async fn serve(dir: &std::path::Path) -> (KillOnDrop, String) {
    common::serve_binary(&mut command(dir)).await
}

/// Picks its port up front; prefer `serve`, which lets the binary choose. Kept for
/// tests written against it.
#[allow(dead_code)]
fn start(dir: &std::path::Path, port: u16) -> KillOnDrop {
    KillOnDrop(
        command(dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[allow(dead_code)]
async fn wait_ready(http: &reqwest::Client, base: &str) {
    common::wait_until(Duration::from_secs(30), "the server to come up", || async {
        http.get(format!("{base}/readyz")).send().await.is_ok()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_delivery_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (provider, seen) = receiver().await;
    let key_out = Command::new(BIN)
        .args(["api-key", "create", "--name", "crash", "--role", "admin"])
        .env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/crash.db?mode=rwc", dir.path().display()),
        )
        .env("CALLTRAIL_SECRET_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let key = String::from_utf8(key_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();

    let http = reqwest::Client::new();
    let (mut server, first_base) = serve(dir.path()).await;
    // Where the server listens now: each restart picks a new port.
    let current = Arc::new(std::sync::RwLock::new(first_base));
    let base = current.read().unwrap().clone();
    let plugin = json!({
        "name": "receiver", "base_url": provider, "timeout_ms": 1000,
        "default_route": {"method": "POST", "path": "/hook"},
        "retry_policy": {"schedule_secs": [1], "max_attempts": 20, "jitter_pct": 0, "retry_after_cap_secs": 5}
    });
    let r = http
        .post(format!("{base}/api/v1/plugins"))
        .bearer_auth(&key)
        .json(&plugin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Ingest with an Idempotency-Key per trigger, retrying through the kills.
    let ingest = {
        let (http, current, key) = (http.clone(), current.clone(), key.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut tasks = Vec::new();
            for lane in 0..8 {
                let (http, current, key) = (http.clone(), current.clone(), key.clone());
                tasks.push(tokio::spawn(async move {
                    for i in (lane..TRIGGERS).step_by(8) {
                        let body = json!({"plugin": "receiver", "event_type": "invoice.available",
                                          "entity": {"type": "invoice", "id": format!("INV-{i}")},
                                          "payload": {"n": i}});
                        loop {
                            assert!(Instant::now() < deadline, "ingest did not finish");
                            let base = current.read().unwrap().clone();
                            let sent = http
                                .post(format!("{base}/api/v1/triggers"))
                                .bearer_auth(&key)
                                .header("Idempotency-Key", format!("crash-{i}"))
                                .json(&body)
                                .send()
                                .await;
                            match sent {
                                Ok(r) if r.status().is_success() => break,
                                _ => tokio::time::sleep(Duration::from_millis(50)).await,
                            }
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        })
    };

    for _ in 0..3 {
        // The scenario, not a synchronisation: let it ingest and deliver a while.
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        let (restarted, base) = serve(dir.path()).await;
        server = restarted;
        *current.write().unwrap() = base;
    }
    ingest.await.unwrap();
    let base = current.read().unwrap().clone();

    // Everything reaches a final state (expired leases are claimed again).
    common::wait_until(
        Duration::from_secs(60),
        "every trigger to reach a final state",
        || async {
            let open = common::get_json(&http, format!("{base}/api/v1/triggers?status=not_yet_started&status=running&status=retrying&limit=1"), &key).await;
            open["items"].as_array().unwrap().is_empty()
        },
    )
    .await;

    let mut triggers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/triggers?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = common::get_json(&http, url, &key).await;
        triggers.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        triggers.len(),
        TRIGGERS,
        "exactly one trigger per idempotency key"
    );
    let seen = seen.lock().unwrap().clone();
    let mut redelivered = 0;
    for t in &triggers {
        assert_eq!(t["status"], "finished", "{t}");
        let id = format!("msg_{}", t["id"].as_str().unwrap().replace('-', ""));
        let got = seen.get(&id).copied().unwrap_or(0);
        let attempts = t["attempts"].as_u64().unwrap() as u32;
        assert!(got >= 1, "{id} was never delivered");
        assert!(
            got <= attempts,
            "{id} delivered {got} times but {attempts} attempts recorded"
        );
        redelivered += (got > 1) as u32;
    }
    eprintln!("{redelivered} triggers were delivered more than once (at-least-once)");
}

/// SIGTERM stops claiming new work but lets the call in flight finish and be
/// recorded before the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_call_in_flight_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let a = arrived.clone();
    let app = axum::Router::new().fallback(move || {
        let a = a.clone();
        async move {
            a.notify_one();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            axum::Json(json!({"id": "slow_1"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let key_out = Command::new(BIN)
        .args(["api-key", "create", "--name", "term", "--role", "admin"])
        .env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/crash.db?mode=rwc", dir.path().display()),
        )
        .env("CALLTRAIL_SECRET_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let key = String::from_utf8(key_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let (mut server, base) = serve(dir.path()).await;
    let r = http
        .post(format!("{base}/api/v1/plugins"))
        .bearer_auth(&key)
        .json(
            &json!({"name": "slow", "base_url": provider, "timeout_ms": 1900, "external_id_pointer": "/id",
                      "default_route": {"method": "POST", "path": "/hook"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = http
        .post(format!("{base}/api/v1/triggers"))
        .bearer_auth(&key)
        .json(&json!({"plugin": "slow", "event_type": "e.x", "payload": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), arrived.notified())
        .await
        .expect("the call started");
    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let start_wait = Instant::now();
    let status = common::wait_for_exit(&mut server.0, Duration::from_secs(15)).await;
    assert!(status.success());
    assert!(
        start_wait.elapsed() >= Duration::from_millis(800),
        "it waited for the call in flight"
    );

    // Read what was recorded, with a server that executes nothing.
    let (_reader, base) =
        common::serve_binary(command(dir.path()).env("CALLTRAIL_EXECUTOR", "off")).await;
    let d = common::get_json(
        &http,
        format!("{base}/api/v1/triggers/{}", t["id"].as_str().unwrap()),
        &key,
    )
    .await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["trigger"]["external_id"], "slow_1");
}
