//! Several server instances on one PostgreSQL database share the work and never
//! execute the same trigger twice at the same time.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use common::KillOnDrop;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
const TRIGGERS: usize = 600;

#[derive(Default)]
struct Receiver {
    in_flight: HashSet<String>,
    seen: HashMap<String, u32>,
    overlaps: Vec<String>,
}

/// One instance on the shared database, on a port of its own choosing.
async fn start(db_url: &str) -> (KillOnDrop, String) {
    common::serve_binary(
        Command::new(BIN)
            .arg("serve")
            .env("CALLTRAIL_DATABASE_URL", db_url)
            .env("CALLTRAIL_SECRET_KEY", "22".repeat(32))
            .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env("CALLTRAIL_WORKERS", "8")
            .env("CALLTRAIL_DB_POOL", "6")
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_never_run_one_trigger_twice_at_once() {
    let fresh = common::fresh_db(common::Db::Postgres).await;
    let state: Arc<Mutex<Receiver>> = Arc::default();
    let s = state.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let s = s.clone();
        async move {
            let id = headers
                .get("webhook-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            {
                let mut r = s.lock().unwrap();
                if !r.in_flight.insert(id.clone()) {
                    r.overlaps.push(id.clone());
                }
                *r.seen.entry(id.clone()).or_default() += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            s.lock().unwrap().in_flight.remove(&id);
            axum::Json(json!({"id": "ok"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let key_out = Command::new(BIN)
        .args(["api-key", "create", "--name", "cluster", "--role", "admin"])
        .env("CALLTRAIL_DATABASE_URL", &fresh.url)
        .env("CALLTRAIL_SECRET_KEY", "22".repeat(32))
        .output()
        .unwrap();
    assert!(
        key_out.status.success(),
        "{}",
        String::from_utf8_lossy(&key_out.stderr)
    );
    let key = String::from_utf8(key_out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();

    // Stopped however the test ends.
    let mut servers = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..3 {
        let (server, base) = start(&fresh.url).await;
        servers.push(server);
        bases.push(base);
    }
    let http = reqwest::Client::new();
    let base = |i: usize| bases[i % 3].clone();
    let r = http
        .post(format!("{}/api/v1/plugins", base(0)))
        .bearer_auth(&key)
        .json(
            &json!({"name": "receiver", "base_url": provider, "timeout_ms": 2000,
                      "default_route": {"method": "POST", "path": "/hook"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Ingest round-robin across the instances.
    let lanes: Vec<_> = (0..6)
        .map(|lane| {
            let (http, key) = (http.clone(), key.clone());
            let bases: Vec<String> = (0..3).map(base).collect();
            tokio::spawn(async move {
                for i in (lane..TRIGGERS).step_by(6) {
                    let r = http
                        .post(format!("{}/api/v1/triggers", bases[i % 3]))
                        .bearer_auth(&key)
                        .json(&json!({"plugin": "receiver", "event_type": "e.created", "payload": {"n": i}}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                }
            })
        })
        .collect();
    for l in lanes {
        l.await.unwrap();
    }

    common::wait_until(
        Duration::from_secs(60),
        "every trigger to finish",
        || async {
            let done = common::get_json(
                &http,
                format!("{}/api/v1/triggers?status=finished&limit=500", base(1)),
                &key,
            )
            .await;
            let page = done["items"].as_array().unwrap().len();
            let seen = state.lock().unwrap().seen.len();
            if seen != TRIGGERS || page != 500 {
                return false;
            }
            let open = common::get_json(
                &http,
                format!(
                "{}/api/v1/triggers?status=not_yet_started&status=running&status=retrying&limit=1",
                base(2)
            ),
                &key,
            )
            .await;
            open["items"].as_array().unwrap().is_empty()
        },
    )
    .await;

    {
        let r = state.lock().unwrap();
        assert!(
            r.overlaps.is_empty(),
            "executed twice at the same time: {:?}",
            r.overlaps
        );
        assert_eq!(r.seen.len(), TRIGGERS);
        assert!(
            r.seen.values().all(|n| *n == 1),
            "without crashes each trigger is delivered once"
        );
    }

    // The work was shared: claims in the logs name more than one worker.
    let page = common::get_json(&http, format!("{}/api/v1/triggers?limit=60", base(0)), &key).await;
    let mut workers = HashSet::new();
    for t in page["items"].as_array().unwrap() {
        let d = common::get_json(
            &http,
            format!("{}/api/v1/triggers/{}", base(0), t["id"].as_str().unwrap()),
            &key,
        )
        .await;
        for l in d["logs"].as_array().unwrap() {
            if l["step"] == "claimed" {
                let m = l["message"].as_str().unwrap();
                workers.insert(m.split(',').next().unwrap().to_string());
            }
        }
    }
    assert!(
        workers.len() >= 2,
        "one instance did all the work: {workers:?}"
    );
}
