//! Retention under load: `calltrail prune` removes 1,000,000 expired triggers
//! (each with an attempt and a log line) while clients keep ingesting, on SQLite
//! and on PostgreSQL. Prints how long the prune took and ingest's p50/p99 with
//! and without the prune running, measured in the same run, against the release
//! binary from outside (`calltrail serve` and `calltrail prune` as processes).
//!
//! Build the binary first: `cargo build --release -p server`.
//! Run: `cargo run --release -p bench --bin prune [-- --triggers N] [--no-postgres]`.
//! Bounded: N triggers (default 1,000,000), 10 s of baseline ingest, 300 s per prune;
//! 127.0.0.1 only.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::domain::{EntityRef, Initiator, InitiatorKind, LogEntry, LogStep, Status};
use calltrail::storage::NewTrigger;
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::{Connection, Executor as _};
use uuid::Uuid;

const CLIENTS: usize = 16;
const BASELINE: Duration = Duration::from_secs(10);
const PRUNE_LIMIT: Duration = Duration::from_secs(300);
/// Old enough for the summary tier (400 days): each trigger goes whole.
const AGE_DAYS: i64 = 450;

fn calltrail(url: &str) -> anyhow::Result<Command> {
    bench::calltrail(url, &[("CALLTRAIL_EXECUTOR", "off")])
}

/// `n` finished triggers created and finished `AGE_DAYS` ago, each with one
/// attempt and one log line, written through the storage layer and SQL.
async fn fill(url: &str, n: usize) -> anyhow::Result<()> {
    let then = chrono::Utc::now() - chrono::Duration::days(AGE_DAYS);
    let secs = then.timestamp() as u64;
    let started = Instant::now();
    let plugin = json!({
        "name": "billing", "base_url": "http://127.0.0.1:9/", "timeout_ms": 5000,
        "default_route": {"method": "POST", "path": "/invoices"},
    });
    bench::fill_triggers(url, plugin, n, |i, plugin_id| NewTrigger {
        id: Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            secs,
            (i % 1_000_000_000) as u32,
        )),
        plugin_id,
        event_type: "invoice.available".into(),
        action: Some("Send invoice".into()),
        entity: Some(EntityRef {
            entity_type: "invoice".into(),
            id: format!("INV-{i}"),
        }),
        initiator: Initiator {
            kind: InitiatorKind::Automation,
            name: "Nightly billing run".into(),
        },
        payload: format!(
            "{{\"id\":\"INV-{i}\",\"amount_cents\":{},\"note\":\"{}\"}}",
            i * 7,
            "x".repeat(160)
        ),
        aggregation_key: None,
        idempotency: None,
        status: Status::Finished,
        scheduled_at: then,
        next_attempt_at: None,
        logs: vec![LogEntry {
            at: then,
            step: LogStep::Finished,
            message: "200 OK".into(),
        }],
        created_by: None,
    })
    .await?;
    let postgres = url.starts_with("postgres");
    // Times are microseconds on SQLite and `timestamptz` on PostgreSQL.
    let then_us = if postgres {
        format!("'{}'::timestamptz", then.to_rfc3339())
    } else {
        then.timestamp_micros().to_string()
    };
    let statements = [
        format!("UPDATE triggers SET finished_at = {then_us}, triggered_at = {then_us}, attempts = 1"),
        // An attempt's id is a UUIDv7 made when it starts, just after its trigger's:
        // the trigger's own id stands in for it (one attempt each), so the attempts'
        // primary key is in time order as in a real database, not scattered.
        format!(
            "INSERT INTO attempts (id, trigger_id, number, started_at, duration_ms, started_by_kind, \
             request_method, request_url, request_headers, request_body, response_status, \
             response_headers, response_body, class, decision_action, decision_reason) \
             SELECT id, id, 1, {then_us}, 120, 'executor', 'POST', \
             'https://api.example.com/invoices', '{{}}', payload, 200, '{{}}', '{{\"ok\":true}}', \
             'ok', 'finish', 'answered 200' FROM triggers"
        ),
    ];
    if postgres {
        let mut c = sqlx::PgConnection::connect(url).await?;
        for s in &statements {
            c.execute(s.as_str()).await?;
        }
        c.execute("ANALYZE").await?;
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        for s in &statements {
            c.execute(s.as_str()).await?;
        }
    }
    println!(
        "  filled {n} triggers aged {AGE_DAYS} days (attempt + log each) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Load {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    elapsed: Duration,
}

/// Ingest from `CLIENTS` connections until `stop` is set (or `limit` passes).
async fn ingest(base: String, key: String, stop: Arc<AtomicBool>, limit: Duration) -> Load {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|lane| {
            let (hist, ok, errors, stop) = (hist.clone(), ok.clone(), errors.clone(), stop.clone());
            let (url, key) = (format!("{base}/api/v1/triggers"), key.to_string());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) && started.elapsed() < limit {
                    i += 1;
                    let body = json!({"plugin": "billing", "event_type": "invoice.available",
                        "run_at": "2099-01-01T00:00:00Z",
                        "entity": {"type": "invoice", "id": format!("NEW-{lane}-{i}")},
                        "payload": {"amount_cents": i, "note": "y".repeat(900)}});
                    let t = Instant::now();
                    let r = http.post(&url).bearer_auth(&key).json(&body).send().await;
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            let _ = hist.lock().unwrap().record(t.elapsed().as_micros() as u64);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let latency = hist.lock().unwrap().clone();
    Load {
        latency,
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

fn describe(what: &str, l: &Load) -> String {
    format!(
        "{what}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, errors {}",
        l.ok as f64 / l.elapsed.as_secs_f64(),
        l.latency.value_at_quantile(0.5) as f64 / 1000.0,
        l.latency.value_at_quantile(0.99) as f64 / 1000.0,
        l.errors
    )
}

async fn phase(name: &str, url: &str, n: usize) -> anyhow::Result<()> {
    println!("\n== {name}");
    fill(url, n).await?;
    let key = bench::admin_key(url)?;
    let server = bench::Server::start(url, &[("CALLTRAIL_EXECUTOR", "off")])?;
    let base = server.base.clone();

    let baseline = ingest(
        base.clone(),
        key.clone(),
        Arc::new(AtomicBool::new(false)),
        BASELINE,
    )
    .await;
    println!("  {}", describe("ingest alone        ", &baseline));

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(ingest(base.clone(), key.clone(), stop.clone(), PRUNE_LIMIT));
    let started = Instant::now();
    let mut prune = tokio::process::Command::from(calltrail(url)?);
    let pruned = tokio::time::timeout(PRUNE_LIMIT, prune.arg("prune").output()).await;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = load.await?;
    println!("  {}", describe("ingest during prune ", &during));
    match pruned {
        Ok(Ok(out)) if out.status.success() => println!(
            "  prune: {:.1} s — {}",
            took.as_secs_f64(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        Ok(Ok(out)) => println!("  prune FAILED: {}", String::from_utf8_lossy(&out.stderr)),
        Ok(Err(e)) => println!("  prune did not run: {e}"),
        Err(_) => println!("  prune did not finish within {} s", PRUNE_LIMIT.as_secs()),
    }
    let ratio = during.latency.value_at_quantile(0.99) as f64
        / baseline.latency.value_at_quantile(0.99).max(1) as f64;
    println!(
        "  => {n} triggers pruned in {:.1} s (goal ≤ 60 s); ingest p99 during / alone = {ratio:.2} (goal ≤ 2)",
        took.as_secs_f64()
    );
    drop(server);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--triggers")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let postgres = !args.iter().any(|a| a == "--no-postgres");
    println!(
        "prune benchmark: {n} expired triggers, {CLIENTS} ingest clients; load average {}",
        bench::load_average()
    );

    bench::on_fresh_databases("prune", postgres, |name, url| async move {
        phase(name, &url, n).await
    })
    .await
}
