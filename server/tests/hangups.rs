//! A client that hangs up never wedges the database: requests dropped half-way,
//! over real HTTP and in process, on SQLite (one write connection) and PostgreSQL.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{CallInput, PluginPatch, RerunInput, Service, TriggerInput};
use common::{admin, Db, TestApp};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Requests whose clients hang up, per test.
const HANGUPS: usize = 300;
/// How many of them are on the wire at once.
const AT_ONCE: usize = 50;
/// Each kind of write is dropped at each of its await points this many times over.
const ROUNDS: usize = 20;
/// Most writes the busy writer makes (it stops when the drops are done).
const BUSY_WRITES: usize = 100_000;
/// More await points than any one write has.
const MAX_AWAITS: usize = 500;
/// How long a write may take once the hang-ups are over: "at once", with room for a slow CI.
const PROMPTLY: Duration = Duration::from_secs(20);

on_both_databases!(
    clients_that_hang_up_right_after_sending_leave_every_write_working,
    writes_dropped_at_any_await_point_leave_every_write_working,
);

async fn provider_plugin(app: &TestApp, name: &str, base: &str) {
    let body = json!({
        "name": name,
        "base_url": base,
        "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
        "timeout_ms": 2000,
        "retry_policy": {"schedule_secs": [0], "max_attempts": 3, "jitter_pct": 0, "retry_after_cap_secs": 3600}
    });
    let (status, out) = app.post("/api/v1/plugins", &body).await;
    assert_eq!(status, 201, "{out}");
}

fn invoice(plugin: &str, id: &str) -> Value {
    json!({"plugin": plugin, "event_type": "invoice.available",
           "entity": {"type": "invoice", "id": id}, "payload": {"amount": 1200}})
}

fn reported_call(plugin: &str, id: &str) -> Value {
    json!({"plugin": plugin, "event_type": "invoice.available",
           "entity": {"type": "invoice", "id": id}, "payload": {"amount": 1200},
           "request": {"method": "POST", "url": "https://api.example.com/v1/invoices", "body": "{}"},
           "response": {"status": 200, "body": "{\"id\":\"ext\"}"},
           "duration_ms": 12})
}

/// A whole HTTP/1.1 request as bytes, the way a client writes it.
fn raw_post(host: &str, path: &str, key: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Write the full request, then close the socket without reading the answer:
/// at once, or after letting other tasks run a few times, so that the server
/// notices at every point of its handling across the whole run.
async fn send_and_hang_up(addr: &str, request: Vec<u8>, jitter: usize) {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(&request).await.unwrap();
    for _ in 0..jitter {
        tokio::task::yield_now().await;
    }
    drop(socket);
}

async fn with_deadline<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PROMPTLY, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {PROMPTLY:?}"))
}

/// Every kind of write the API offers succeeds, and the executor records an outcome.
async fn every_kind_of_write_succeeds(app: &TestApp, plugin: &str, label: &str) {
    let (s, created) = with_deadline(
        "creating a trigger",
        app.post("/api/v1/triggers", &invoice(plugin, label)),
    )
    .await;
    assert_eq!(s, 201, "creating a trigger after hang-ups: {created}");
    let (s, call) = with_deadline(
        "reporting a call",
        app.post("/api/v1/calls", &reported_call(plugin, label)),
    )
    .await;
    assert_eq!(s, 201, "reporting a call after hang-ups: {call}");
    let (s, rerun) = with_deadline(
        "a rerun",
        app.post(
            &format!("/api/v1/triggers/{}/rerun", call["id"].as_str().unwrap()),
            &json!({"reason": "after the hang-ups"}),
        ),
    )
    .await;
    assert_eq!(s, 202, "a rerun after hang-ups: {rerun}");
    let (s, patched) = with_deadline(
        "a plugin PATCH",
        app.patch(
            &format!("/api/v1/plugins/{plugin}"),
            &json!({"display_name": format!("patched {label}")}),
        ),
    )
    .await;
    assert_eq!(s, 200, "a plugin PATCH after hang-ups: {patched}");

    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    let id = created["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    loop {
        with_deadline("an executor step", ex.step()).await.unwrap();
        let (_, d) = app.get(&format!("/api/v1/triggers/{id}")).await;
        if d["trigger"]["status"] == "finished" {
            assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the trigger never finished: {d}"
        );
    }
}

/// Another writer that keeps the write path busy while requests are dropped, so
/// each step of their writes really waits (an idle SQLite worker often answers
/// before it is asked twice, and a write that never waits cannot be dropped mid-way).
struct BusyWriter {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl BusyWriter {
    async fn start(app: &TestApp, provider: &str) -> BusyWriter {
        provider_plugin(app, "busy", provider).await;
        let stop = Arc::new(AtomicBool::new(false));
        let service = app.service.clone();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            for i in 0..BUSY_WRITES {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let patch: PluginPatch =
                    serde_json::from_value(json!({"display_name": format!("busy {i}")})).unwrap();
                let _ = service.update_plugin(&admin(), "busy", patch).await;
            }
        });
        BusyWriter { stop, task }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
    }
}

async fn clients_that_hang_up_right_after_sending_leave_every_write_working(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "in_1"})))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri()).await;
    let (s, target) = app
        .post("/api/v1/calls", &reported_call("stripe", "T"))
        .await;
    assert_eq!(s, 201, "{target}");
    let rerun_path = format!("/api/v1/triggers/{}/rerun", target["id"].as_str().unwrap());

    let busy = BusyWriter::start(&app, &provider.uri()).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let requests: Vec<Vec<u8>> = (0..HANGUPS)
        .map(|i| match i % 3 {
            0 => raw_post(
                &addr,
                "/api/v1/calls",
                &app.admin_key,
                &reported_call("stripe", &format!("C{i}")),
            ),
            1 => raw_post(
                &addr,
                &rerun_path,
                &app.admin_key,
                &json!({"reason": "hang up"}),
            ),
            _ => raw_post(
                &addr,
                "/api/v1/triggers",
                &app.admin_key,
                &invoice("stripe", &format!("T{i}")),
            ),
        })
        .collect();
    futures::stream::iter(requests.into_iter().enumerate())
        .map(|(i, r)| send_and_hang_up(&addr, r, i % 64))
        .buffer_unordered(AT_ONCE)
        .collect::<Vec<()>>()
        .await;
    busy.stop().await;

    every_kind_of_write_succeeds(&app, "stripe", "after").await;
}

fn service_call(i: usize) -> CallInput {
    serde_json::from_value(reported_call("stripe", &format!("C{i}"))).unwrap()
}

/// Poll `write` until it has waited `n` times, then drop it there, at its `n`th
/// await point. True when it finished before that.
async fn drop_at_await_point<T>(n: usize, write: impl std::future::Future<Output = T>) -> bool {
    let mut write = std::pin::pin!(write);
    let mut waited = 0;
    std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
        Poll::Ready(_) => Poll::Ready(true),
        Poll::Pending if waited + 1 >= n => Poll::Ready(false),
        Poll::Pending => {
            waited += 1;
            Poll::Pending
        }
    })
    .await
}

/// Drop one kind of write at its first, second, … await point until one finishes.
async fn drop_at_every_await_point<F, W, T>(kind: &str, mut start: F)
where
    F: FnMut(usize) -> W,
    W: std::future::Future<Output = T>,
{
    for n in 1..=MAX_AWAITS {
        if drop_at_await_point(n, start(n)).await {
            return;
        }
    }
    panic!("{kind} was still waiting after {MAX_AWAITS} await points");
}

async fn writes_dropped_at_any_await_point_leave_every_write_working(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "in_1"})))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri()).await;
    let service: &Service = &app.service;
    let who = admin();
    let target = service
        .report_call(&who, service_call(0))
        .await
        .unwrap()
        .id
        .to_string();

    let busy = BusyWriter::start(&app, &provider.uri()).await;
    for round in 0..ROUNDS {
        drop_at_every_await_point("reporting a call", |n| {
            service.report_call(&who, service_call(round * MAX_AWAITS + n))
        })
        .await;
        drop_at_every_await_point("a rerun", |_| {
            let rerun = RerunInput {
                reason: Some("dropped".into()),
                resume_retries: false,
            };
            service.rerun(&who, &target, rerun)
        })
        .await;
        drop_at_every_await_point("creating a trigger", |n| {
            let input: TriggerInput =
                serde_json::from_value(invoice("stripe", &format!("T{round}.{n}"))).unwrap();
            service.create_trigger(&who, input, None)
        })
        .await;
        drop_at_every_await_point("a plugin PATCH", |n| {
            let patch: PluginPatch =
                serde_json::from_value(json!({"display_name": format!("dropped {round}.{n}")}))
                    .unwrap();
            service.update_plugin(&who, "stripe", patch)
        })
        .await;
    }
    busy.stop().await;

    // Each reported call that was dropped is there whole (its trigger with its one
    // attempt) or not at all.
    let (s, page) = app.get("/api/v1/triggers?limit=500").await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert!(items.len() < 500, "one page holds them all");
    for t in items {
        let entity = t["entity"]["id"].as_str().unwrap();
        if entity.starts_with('C') && t["id"].as_str() != Some(target.as_str()) {
            assert_eq!(t["status"], "finished", "{t}");
            let (_, d) = app
                .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
                .await;
            assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
        }
    }

    every_kind_of_write_succeeds(&app, "stripe", "after").await;
}
