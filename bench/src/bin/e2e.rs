//! The product's real work, measured from outside: the release `calltrail serve`
//! accepting triggers over HTTP **and** delivering them to a local receiver at
//! once, on SQLite and on PostgreSQL (issue 15).
//!
//! For each database, on a fresh one each phase:
//! - **ingest, executor off**: what the API alone accepts (the ceiling for the rest);
//! - **ingest, executor on, plugin paused**: the executor has nothing it may run, and
//!   its claims must not cost the ingest anything (the waiting triggers pile up);
//! - **end to end**: clients post triggers due now for a bounded time while the
//!   executor delivers them to the receiver; then the queue is left to drain.
//!   Reported: accepted/s, delivered/s while ingesting and overall, what was left
//!   queued when ingest stopped, `run_at` → received p50/p99 (the payload carries
//!   the client's clock when it sent the trigger, which is its `run_at`: due now),
//!   and the server's resident memory idle and at its peak.
//!
//! An axum hello-world POST handler, driven by the same clients, is the machine's
//! ceiling in the same run.
//!
//! Run: `cargo build --release -p server -p bench && target/release/e2e
//! [--seconds N] [--clients N] [--waiting N] [--drain N] [--no-postgres]`. With
//! `--waiting N` the paused phase starts with N triggers of another paused plugin
//! already due. Last, **drain**: a queue of N due triggers (`--drain`, default
//! 50,000; 0 skips it) delivered by one instance on each database, then by two
//! instances on one PostgreSQL database. Bounded: N seconds of ingest per phase
//! (default 10), at most 2,000,000 requests, 120 s of draining; 127.0.0.1 only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

const MAX_REQUESTS: u64 = 2_000_000;
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// The payload's filler: a trigger about the size of an invoice.
const NOTE_BYTES: usize = 700;

fn micros_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The local provider: counts what arrives and how late, answers 200 at once.
#[derive(Clone)]
struct Receiver {
    received: Arc<AtomicU64>,
    /// `run_at` → received, in µs.
    late: Arc<Mutex<Histogram<u64>>>,
}

impl Receiver {
    async fn start() -> anyhow::Result<(Receiver, String)> {
        let receiver = Receiver {
            received: Arc::new(AtomicU64::new(0)),
            late: Arc::new(Mutex::new(Histogram::new(3)?)),
        };
        let r = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |body: Bytes| {
                let r = r.clone();
                async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        if let Some(sent) = v["t"].as_u64() {
                            let late = micros_now().saturating_sub(sent);
                            let _ = r.late.lock().unwrap().record(late.max(1));
                        }
                    }
                    r.received.fetch_add(1, Ordering::Relaxed);
                    (axum::http::StatusCode::OK, "{\"id\":\"ext-1\"}")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((receiver, base))
    }

    fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.late.lock().unwrap().reset();
    }
}

/// What the clients saw.
struct Ingest {
    accepted: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl Ingest {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// `clients` closed-loop connections posting to `url` for `seconds`.
async fn drive(url: String, key: String, clients: usize, seconds: u64) -> Ingest {
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let (accepted, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|lane| {
            let (latency, accepted, errors, sent, stop) = (
                latency.clone(),
                accepted.clone(),
                errors.clone(),
                sent.clone(),
                stop.clone(),
            );
            let (url, key) = (url.clone(), key.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let note = "x".repeat(NOTE_BYTES);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed)
                    && started.elapsed() < Duration::from_secs(seconds)
                    && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                {
                    i += 1;
                    let body = json!({
                        "plugin": "bench", "event_type": "invoice.created",
                        "entity": {"type": "invoice", "id": format!("E2E-{lane}-{i}")},
                        "payload": {"t": micros_now(), "amount_cents": i, "note": note},
                    });
                    let t = Instant::now();
                    match http.post(&url).bearer_auth(&key).json(&body).send().await {
                        Ok(r) if r.status().is_success() => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            let _ = latency
                                .lock()
                                .unwrap()
                                .record(t.elapsed().as_micros() as u64);
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
    stop.store(true, Ordering::Relaxed);
    let latency = latency.lock().unwrap().clone();
    Ingest {
        accepted: accepted.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        latency,
    }
}

/// The benchmark's plugin, calling the receiver; `active: false` pauses it.
async fn plugin(base: &str, key: &str, receiver: &str, active: bool) -> anyhow::Result<()> {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/plugins"))
        .bearer_auth(key)
        .json(&plugin_body(receiver, active))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "plugin: {}", r.text().await?);
    Ok(())
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

struct Run {
    seconds: u64,
    clients: usize,
    /// Triggers of a second, paused plugin already waiting in the database when
    /// the paused phase starts (`--waiting N`): claims must not pay for them.
    waiting: usize,
    /// Due triggers in the queue the drain phases deliver (`--drain N`, 0: none).
    drain: usize,
}

/// Trigger `i` of `plugin_id`, due at `due` and not yet started, as a backlog
/// written straight into the database holds it.
fn due_trigger(
    i: usize,
    plugin_id: uuid::Uuid,
    due: chrono::DateTime<chrono::Utc>,
    tag: &str,
) -> calltrail::storage::NewTrigger {
    use app::domain::{EntityRef, Initiator, InitiatorKind, Status};
    calltrail::storage::NewTrigger {
        id: uuid::Uuid::now_v7(),
        plugin_id,
        event_type: "invoice.created".into(),
        action: Some("Send invoice".into()),
        entity: Some(EntityRef {
            entity_type: "invoice".into(),
            id: format!("{tag}-{i}"),
        }),
        initiator: Initiator {
            kind: InitiatorKind::Automation,
            name: format!("bench {tag}"),
        },
        payload: format!("{{\"n\":{i}}}"),
        aggregation_key: None,
        idempotency: None,
        status: Status::NotYetStarted,
        scheduled_at: due,
        next_attempt_at: Some(due),
        logs: vec![],
        created_by: None,
    }
}

/// `n` triggers of a paused plugin, due an hour ago, waiting: what a plugin
/// paused for a long outage leaves in the due index.
async fn fill_waiting(url: &str, n: usize) -> anyhow::Result<()> {
    let due = chrono::Utc::now() - chrono::Duration::hours(1);
    let started = Instant::now();
    let plugin = json!({
        "name": "backlog", "base_url": "http://127.0.0.1:9/", "active": false,
        "default_route": {"method": "POST", "path": "/hook"},
    });
    bench::fill_triggers(url, plugin, n, |i, plugin_id| {
        due_trigger(i, plugin_id, due, "WAIT")
    })
    .await?;
    println!(
        "  {n} triggers of a paused plugin waiting (filled in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The benchmark plugin's settings: calling `receiver`, paused unless `active`.
fn plugin_body(receiver: &str, active: bool) -> Value {
    json!({
        "name": "bench", "display_name": "Bench", "base_url": receiver, "active": active,
        "routes": {"invoice.created": {"method": "POST", "path": "/hook"}},
        "retry_policy": {"schedule_secs": [1], "max_attempts": 3, "jitter_pct": 0,
                         "retry_after_cap_secs": 60},
    })
}

/// A queue of `run.drain` due triggers, delivered by `instances` servers on the one
/// database: delivered/s from the first server's start to the last delivery. With
/// two on PostgreSQL, what a second instance adds (issue 15: ≥ 1.7 × one). Each
/// trigger must arrive once: the receiver's count says if any came twice.
async fn drain(
    run: &Run,
    url: &str,
    receiver: &Receiver,
    to: &str,
    instances: usize,
) -> anyhow::Result<f64> {
    let n = run.drain;
    let due = chrono::Utc::now() - chrono::Duration::seconds(1);
    bench::fill_triggers(url, plugin_body(to, true), n, |i, plugin_id| {
        due_trigger(i, plugin_id, due, "DRAIN")
    })
    .await?;
    receiver.reset();
    let env = [
        ("CALLTRAIL_EXECUTOR", "on"),
        ("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.1/32"),
    ];
    let started = Instant::now();
    let servers = (0..instances)
        .map(|_| bench::Server::start(url, &env))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cpu_from = bench::cpu::sample();
    while receiver.received.load(Ordering::Relaxed) < n as u64 && started.elapsed() < DRAIN_LIMIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let cpu_to = bench::cpu::sample();
    let delivered = receiver.received.load(Ordering::Relaxed);
    // A second delivery of the same trigger would arrive about now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received.load(Ordering::Relaxed);
    let rate = delivered.min(n as u64) as f64 / elapsed.as_secs_f64();
    let rss: Vec<String> = servers
        .iter()
        .map(|s| format!("{:.0}", s.rss_mb()))
        .collect();
    println!(
        "  drain, {instances} instance(s): {delivered} of {n} due triggers delivered in {:.1} s: \
         {rate:.0}/s; received {received} ({} more than once); RSS {} MB",
        elapsed.as_secs_f64(),
        received.saturating_sub(n as u64),
        rss.join(" + "),
    );
    // Who used the 2 cores while it drained: what bounds a second instance.
    let (own, _) = bench::cpu::used(&cpu_from, &cpu_to).unwrap_or_default();
    let others: Vec<String> = bench::cpu::top_others(&cpu_from, &cpu_to, 3)
        .iter()
        .map(|(name, cores)| format!("{name} {cores:.2}"))
        .collect();
    println!(
        "  drain, CPU in cores: {}, benchmark and receiver {own:.2}",
        others.join(", ")
    );
    Ok(rate)
}

/// Ingest only, executor off or (with the plugin paused) on.
async fn ingest_phase(run: &Run, url: &str, executor: bool, receiver: &str) -> anyhow::Result<f64> {
    if executor && run.waiting > 0 {
        fill_waiting(url, run.waiting).await?;
    }
    let key = bench::admin_key(url)?;
    let env = [("CALLTRAIL_EXECUTOR", if executor { "on" } else { "off" })];
    let server = bench::Server::start(url, &env)?;
    plugin(&server.base, &key, receiver, !executor).await?;
    let url_triggers = format!("{}/api/v1/triggers", server.base);
    let i = drive(url_triggers, key, run.clients, run.seconds).await;
    let what = if executor {
        "ingest, executor on, plugin paused"
    } else {
        "ingest, executor off              "
    };
    println!(
        "  {what}: {:>7.0} accepted/s (p50 {:.1} ms, p99 {:.1} ms, errors {}), RSS {:.0} MB",
        i.rate(),
        ms(&i.latency, 0.5),
        ms(&i.latency, 0.99),
        i.errors,
        server.rss_mb()
    );
    Ok(i.rate())
}

/// Ingest and deliver at once, then drain.
async fn end_to_end(run: &Run, url: &str, receiver: &Receiver, to: &str) -> anyhow::Result<()> {
    let key = bench::admin_key(url)?;
    let env = [
        ("CALLTRAIL_EXECUTOR", "on"),
        ("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.1/32"),
    ];
    let server = bench::Server::start(url, &env)?;
    plugin(&server.base, &key, to, true).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_mb();
    receiver.reset();

    let pid = server.child.id();
    let peak = Arc::new(Mutex::new(idle));
    let watching = Arc::new(AtomicBool::new(true));
    let watch = {
        let (peak, watching) = (peak.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                let now = bench::rss_mb(pid);
                {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(now);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let started = Instant::now();
    let url_triggers = format!("{}/api/v1/triggers", server.base);
    let i = drive(url_triggers, key, run.clients, run.seconds).await;
    let delivered_while = receiver.received.load(Ordering::Relaxed);
    let rss_end_of_ingest = server.rss_mb();
    let drain_started = Instant::now();
    while receiver.received.load(Ordering::Relaxed) < i.accepted
        && drain_started.elapsed() < DRAIN_LIMIT
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed();
    watching.store(false, Ordering::Relaxed);
    let _ = watch.await;
    let delivered = receiver.received.load(Ordering::Relaxed);
    let late = receiver.late.lock().unwrap().clone();
    println!(
        "  end to end: {:>7.0} accepted/s (errors {}), {:>7.0} delivered/s while ingesting, \
         {} of {} delivered in {:.1} s ({:.0}/s overall; {} left queued when ingest stopped, \
         drained in {:.1} s)",
        i.rate(),
        i.errors,
        delivered_while as f64 / i.elapsed.as_secs_f64(),
        delivered,
        i.accepted,
        total.as_secs_f64(),
        delivered as f64 / total.as_secs_f64(),
        i.accepted.saturating_sub(delivered_while),
        drain_started.elapsed().as_secs_f64(),
    );
    println!(
        "  end to end: run_at → received p50 {:.1} ms, p99 {:.1} ms; ingest p99 {:.1} ms; \
         RSS idle {:.0} MB, end of ingest {:.0} MB, peak {:.0} MB",
        ms(&late, 0.5),
        ms(&late, 0.99),
        ms(&i.latency, 0.99),
        idle,
        rss_end_of_ingest,
        *peak.lock().unwrap()
    );
    Ok(())
}

/// The machine's ceiling: an axum handler that reads the body and answers 201.
async fn hello_world(run: &Run) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/api/v1/triggers",
        post(|body: Bytes| async move {
            (
                axum::http::StatusCode::CREATED,
                format!("{{\"id\":\"x\",\"len\":{}}}", body.len()),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/triggers", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let i = drive(url, "none".into(), run.clients, run.seconds).await;
    server.abort();
    println!(
        "axum hello-world (same clients, in the benchmark's process): {:.0} req/s, p99 {:.1} ms",
        i.rate(),
        ms(&i.latency, 0.99)
    );
    Ok(())
}

const USAGE: &str = "\
end-to-end benchmark of the release `calltrail serve` (everything on 127.0.0.1)

usage: target/release/e2e [options]

  --seconds N     ingest time per phase (default 10, at most 120)
  --clients N     HTTP clients, each on its own connection (default 32)
  --waiting N     due triggers of a paused plugin before the paused phase (default 0)
  --drain N       due triggers in the drain phases (default 50,000; 0 skips them)
  --no-postgres   SQLite only
  --help          this text

PostgreSQL: CALLTRAIL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432).
";

/// Options that take a number.
const NUMBERS: [&str; 4] = ["--seconds", "--clients", "--waiting", "--drain"];

/// Refuse what is not an option of this benchmark, rather than run the whole of it
/// with a typo ignored.
fn check_args(args: &[String]) -> anyhow::Result<()> {
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if NUMBERS.contains(&a.as_str()) {
            let value = rest.next().and_then(|v| v.parse::<u64>().ok());
            anyhow::ensure!(value.is_some(), "{a} takes a number\n\n{USAGE}");
        } else if a != "--no-postgres" {
            anyhow::bail!("unknown option {a}\n\n{USAGE}");
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    check_args(&args)?;
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let run = Run {
        seconds: value("--seconds").unwrap_or(10).clamp(1, 120),
        clients: value("--clients").unwrap_or(32).clamp(1, 256) as usize,
        waiting: value("--waiting").unwrap_or(0).min(5_000_000) as usize,
        drain: value("--drain").unwrap_or(50_000).min(1_000_000) as usize,
    };
    let postgres = !args.iter().any(|a| a == "--no-postgres");
    println!(
        "end-to-end benchmark: {} clients, {} s of ingest per phase, release calltrail serve; load average {}",
        run.clients,
        run.seconds,
        bench::load_average()
    );
    let (receiver, to) = Receiver::start().await?;
    hello_world(&run).await?;
    for (phase, what) in [(0, "ingest-off"), (1, "ingest-paused"), (2, "e2e")] {
        let (run, receiver, to) = (&run, &receiver, &to);
        bench::on_fresh_databases(
            &format!("e2e_{}", what.replace('-', "_")),
            postgres,
            |name, url| async move {
                println!("== {name} ({what})");
                match phase {
                    0 => ingest_phase(run, &url, false, to).await.map(|_| ()),
                    1 => ingest_phase(run, &url, true, to).await.map(|_| ()),
                    _ => end_to_end(run, &url, receiver, to).await,
                }
            },
        )
        .await?;
    }
    if run.drain > 0 {
        drain_phases(&run, postgres, &receiver, &to).await?;
    }
    Ok(())
}

/// One instance draining the queue on each database, then two on one PostgreSQL.
async fn drain_phases(
    run: &Run,
    postgres: bool,
    receiver: &Receiver,
    to: &str,
) -> anyhow::Result<()> {
    let one = Arc::new(Mutex::new(None));
    bench::on_fresh_databases("e2e_drain", postgres, |name, url| {
        let one = one.clone();
        async move {
            println!("== {name} (drain)");
            let rate = drain(run, &url, receiver, to, 1).await?;
            *one.lock().unwrap() = Some(rate);
            Ok(())
        }
    })
    .await?;
    if !postgres {
        return Ok(());
    }
    let one = one.lock().unwrap().unwrap_or(0.0);
    bench::on_fresh_databases("e2e_drain_two", true, |name, url| async move {
        if name != "PostgreSQL" {
            return Ok(());
        }
        println!("== {name} (drain, two instances on one database)");
        let two = drain(run, &url, receiver, to, 2).await?;
        println!(
            "  two instances / one: {:.2} (goal ≥ 1.7)",
            two / one.max(1.0)
        );
        Ok(())
    })
    .await
}
