//! Several server instances on one PostgreSQL database share the work and never
//! execute the same trigger twice at the same time, while retention runs on them
//! too: nothing is lost, and summaries outlive their details.

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
const INSTANCES: usize = 4;
/// Finished long ago: 90 days (their details go) and 450 days (they go whole).
const OLD: usize = 60;
const ANCIENT: usize = 20;

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
            .env("CALLTRAIL_DB_POOL", "5")
            // Retention passes all the time, on whichever instance holds its lease.
            .env("CALLTRAIL_RETENTION_INTERVAL_SECS", "1")
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_instances_ingest_deliver_and_prune_at_once_and_lose_nothing() {
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
    for _ in 0..INSTANCES {
        let (server, base) = start(&fresh.url).await;
        servers.push(server);
        bases.push(base);
    }
    let http = reqwest::Client::new();
    let base = |i: usize| bases[i % INSTANCES].clone();
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
    let plugin_id: uuid::Uuid = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (old, ancient) = plant_finished_long_ago(&fresh.url, plugin_id).await;

    // Ingest round-robin across the instances.
    let lanes: Vec<_> = (0..6)
        .map(|lane| {
            let (http, key) = (http.clone(), key.clone());
            let bases: Vec<String> = (0..INSTANCES).map(base).collect();
            tokio::spawn(async move {
                for i in (lane..TRIGGERS).step_by(6) {
                    let r = http
                        .post(format!("{}/api/v1/triggers", bases[i % INSTANCES]))
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

    // Retention ran meanwhile: the old triggers lost their details but kept their
    // rows, the ancient ones are gone, and no delivered trigger lost anything.
    common::wait_until(
        Duration::from_secs(30),
        "retention to reach the old triggers",
        || async {
            details_removed(&fresh.url, &old).await == OLD as i64
                && still_there(&fresh.url, &ancient).await == 0
        },
    )
    .await;
    assert_eq!(
        still_there(&fresh.url, &old).await,
        OLD as i64,
        "summaries stay"
    );
    let delivered_without_details = common::query_i64(
        &fresh.url,
        "SELECT COUNT(*) FROM triggers WHERE details_removed_at IS NOT NULL \
         AND finished_at > now() - INTERVAL '1 day'",
    )
    .await;
    assert_eq!(
        delivered_without_details, 0,
        "retention took something recent"
    );
    let attempts = common::query_i64(
        &fresh.url,
        "SELECT COUNT(*) FROM attempts a JOIN triggers t ON t.id = a.trigger_id \
         WHERE t.details_removed_at IS NULL",
    )
    .await;
    assert_eq!(attempts, TRIGGERS as i64, "every delivery kept its attempt");

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

/// Finished triggers from long ago, put straight into the database: `OLD` that
/// finished 90 days ago and `ANCIENT` 450 days ago.
async fn plant_finished_long_ago(
    db_url: &str,
    plugin_id: uuid::Uuid,
) -> (Vec<uuid::Uuid>, Vec<uuid::Uuid>) {
    let store = calltrail::storage::open(db_url, 2).await.unwrap();
    let mut planted = Vec::new();
    let mut ids = (Vec::new(), Vec::new());
    for (n, days) in [(OLD, 90), (ANCIENT, 450)] {
        for i in 0..n {
            let mut t =
                common::old_trigger(plugin_id, days, &format!("OLD-{days}-{i}"), json!({"n": i}));
            t.status = app::domain::Status::Finished;
            t.next_attempt_at = None;
            if days == 90 {
                ids.0.push(t.id)
            } else {
                ids.1.push(t.id)
            }
            planted.push(t);
        }
    }
    store.insert_triggers(planted).await.unwrap();
    for (list, days) in [(&ids.0, 90), (&ids.1, 450)] {
        let then = common::days_ago_literal(db_url, days);
        let n = common::exec_sql(
            db_url,
            &format!(
                "UPDATE triggers SET finished_at = {then} WHERE id IN ({})",
                in_list(list)
            ),
        )
        .await;
        assert_eq!(n as usize, list.len());
    }
    ids
}

fn in_list(ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'::uuid"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn details_removed(db_url: &str, ids: &[uuid::Uuid]) -> i64 {
    common::query_i64(
        db_url,
        &format!(
            "SELECT COUNT(*) FROM triggers WHERE details_removed_at IS NOT NULL AND id IN ({})",
            in_list(ids)
        ),
    )
    .await
}

async fn still_there(db_url: &str, ids: &[uuid::Uuid]) -> i64 {
    common::query_i64(
        db_url,
        &format!(
            "SELECT COUNT(*) FROM triggers WHERE id IN ({})",
            in_list(ids)
        ),
    )
    .await
}
