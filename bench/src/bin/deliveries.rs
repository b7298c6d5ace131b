//! End-to-end deliveries per second: claim, POST to a fast local receiver, attempt
//! row, status update — on SQLite and on PostgreSQL — and the time from `run_at`
//! to the request arriving (p50/p99) while triggers trickle in.
//!
//! Run: `cargo run --release -p bench --bin deliveries [-- --triggers N]`.
//! Bounded: N triggers (default 20,000) and 120 s per phase; 127.0.0.1 only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{
    Limits, PluginInput, Principal, SecretBox, Service, TriggerFields, TriggerInput,
};
use calltrail::storage::{self, NewTrigger};
use hdrhistogram::Histogram;
use serde_json::json;

struct Receiver {
    url: String,
    /// Microseconds from a trigger's scheduled time to its request arriving.
    latency: Arc<Mutex<Histogram<u64>>>,
    count: Arc<std::sync::atomic::AtomicU64>,
}

async fn receiver() -> anyhow::Result<Receiver> {
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (l, c) = (latency.clone(), count.clone());
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let (l, c) = (l.clone(), c.clone());
        async move {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                if let Some(at) = v["at_us"].as_i64() {
                    let now = chrono::Utc::now().timestamp_micros();
                    let _ = l.lock().unwrap().record((now - at).max(0) as u64);
                }
            }
            axum::Json(json!({"id": "r"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Receiver {
        url,
        latency,
        count,
    })
}

async fn phase(name: &str, url: &str, n: usize) -> anyhow::Result<()> {
    let store = storage::connect(url).await?;
    store.migrate().await?;
    let service = Service::new(store.clone(), SecretBox::random(), Limits::default());
    let rx = receiver().await?;
    let admin = Principal::system("bench");
    let input: PluginInput = serde_json::from_value(json!({
        "name": "receiver", "base_url": rx.url, "timeout_ms": 5000,
        "default_route": {"method": "POST", "path": "/hook"}
    }))?;
    let plugin = service
        .create_plugin(&admin, input)
        .await
        .map_err(|e| anyhow::anyhow!(e.message().to_string()))?;
    let executor = Arc::new(Executor::new(
        service.clone(),
        ExecutorConfig {
            concurrency: 64,
            allow: Arc::new(AllowList::parse("127.0.0.0/8").map_err(anyhow::Error::msg)?),
            ..Default::default()
        },
    ));

    // 1. Throughput: N due triggers, drained by one executor.
    let now = calltrail::service::now();
    let rows: Vec<NewTrigger> = (0..n)
        .map(|i| NewTrigger {
            id: uuid::Uuid::now_v7(),
            plugin_id: plugin.id,
            event_type: "bench.delivery".into(),
            action: None,
            entity: None,
            initiator: app::domain::Initiator {
                kind: app::domain::InitiatorKind::System,
                name: "bench".into(),
            },
            payload: json!({"n": i}).to_string(),
            aggregation_key: None,
            idempotency: None,
            created_by: None,
            status: app::domain::Status::NotYetStarted,
            scheduled_at: now,
            next_attempt_at: Some(now),
            logs: vec![],
        })
        .collect();
    for chunk in rows.chunks(5000) {
        store.insert_triggers(chunk.to_vec()).await?;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(executor.clone().run(stopped));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(120);
    let finished_filter = storage::StoreFilter {
        statuses: vec![app::domain::Status::Finished],
        ..Default::default()
    };
    loop {
        if store.reads().count_triggers(&finished_filter).await? as usize >= n {
            break;
        }
        if Instant::now() > deadline {
            println!("{name}: stopped at the 120 s bound");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let done = store.reads().count_triggers(&finished_filter).await?;
    println!(
        "{name:10} throughput: {done} deliveries in {secs:.2} s = {:.0} deliveries/s (receiver saw {})",
        done as f64 / secs,
        rx.count.load(std::sync::atomic::Ordering::Relaxed)
    );

    // 2. Latency: triggers created one at a time (200/s for 5 s) while the executor waits.
    rx.latency.lock().unwrap().reset();
    let trickle = 1000;
    for i in 0..trickle {
        let at = chrono::Utc::now().timestamp_micros();
        let input = TriggerInput {
            fields: TriggerFields {
                plugin: "receiver".into(),
                event_type: "bench.latency".into(),
                action: None,
                entity: None,
                initiator: None,
                payload: Some(json!({"i": i, "at_us": at})),
                aggregation_key: None,
            },
            run_at: None,
        };
        service
            .create_trigger(&admin, input, None)
            .await
            .map_err(|e| anyhow::anyhow!(e.message().to_string()))?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let h = rx.latency.lock().unwrap().clone();
    println!(
        "{name:10} run_at → request received: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    stop.send(true)?;
    let _ = worker.await;
    Ok(())
}

/// The same allocator as the `calltrail` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip_while(|a| a != "--triggers")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    println!("deliveries benchmark: {n} triggers per database, executor concurrency 64, 2 runtime threads");

    bench::on_fresh_databases("deliveries", true, |name, url| async move {
        phase(name, &url, n).await
    })
    .await
}
