//! Retention under load: 1,000,000 expired triggers removed while clients keep
//! ingesting, on SQLite and on PostgreSQL, against the release binary from outside.
//! Prints how long the removal took and ingest's p50/p99 with and without it,
//! measured in the same run.
//!
//! Three shapes of expired data (`--shape`, default all three):
//! - `whole`: finished 450 days ago and never pruned (retention switched on for the
//!   first time on a year-old database): each trigger goes whole with its payload,
//!   attempt, log line and search row;
//! - `details`: finished 100 days ago: the detail tier removes each one's payload,
//!   attempt and log line, the summary row stays;
//! - `summary`: finished 450 days ago, details already removed at 30 days (the
//!   steady state): each summary row goes.
//!
//! Who prunes (`--by`, default `server`): the server's own background retention
//! (a second `calltrail serve` on the same database with retention on, started
//! after the baseline), or `calltrail prune` as a second process beside it.
//!
//! Build the binary first: `cargo build --release -p server`.
//! Run: `cargo run --release -p bench --bin prune -- --help`.
//! Bounded: N triggers (default 1,000,000), 10 s of baseline ingest, 300 s per
//! prune; 127.0.0.1 only.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use app::domain::{EntityRef, Initiator, InitiatorKind, LogEntry, LogStep, Status};
use calltrail::storage::NewTrigger;
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::{Connection, Executor as _};
use uuid::Uuid;

const HELP: &str = "\
retention benchmark: expired triggers removed while clients ingest (127.0.0.1 only)

usage: cargo run --release -p bench --bin prune -- [options]

  --triggers N        expired triggers to remove (default 1,000,000)
  --shape S[,S...]    whole | details | summary (default: all three, in that order)
  --by WHO            server (its background retention, default) | cli (`calltrail prune`)
  --no-sqlite | --no-postgres

PostgreSQL: CALLTRAIL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432);
a fresh database per phase, dropped after it.
";

const CLIENTS: usize = 16;
const BASELINE: Duration = Duration::from_secs(10);
const PRUNE_LIMIT: Duration = Duration::from_secs(300);

/// What the expired data looks like when the removal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Whole,
    Details,
    Summary,
}

impl Shape {
    fn parse(s: &str) -> anyhow::Result<Shape> {
        Ok(match s {
            "whole" => Shape::Whole,
            "details" => Shape::Details,
            "summary" => Shape::Summary,
            other => bail!("--shape: unknown shape {other:?} (whole, details or summary)"),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Shape::Whole => "whole triggers (never pruned before)",
            Shape::Details => "details (payload, attempt, log)",
            Shape::Summary => "summary rows (details removed before)",
        }
    }

    /// Days since the triggers finished: past both tiers (400 days), or past
    /// the detail tier (30) only.
    fn age_days(self) -> i64 {
        match self {
            Shape::Details => 100,
            Shape::Whole | Shape::Summary => 450,
        }
    }
}

/// Who removes the expired triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Server,
    Cli,
}

#[derive(Debug, Clone)]
struct Args {
    triggers: usize,
    shapes: Vec<Shape>,
    by: By,
    sqlite: bool,
    postgres: bool,
}

impl Args {
    fn parse() -> anyhow::Result<Option<Args>> {
        let mut a = Args {
            triggers: 1_000_000,
            shapes: vec![Shape::Whole, Shape::Details, Shape::Summary],
            by: By::Server,
            sqlite: true,
            postgres: true,
        };
        let mut raw = std::env::args().skip(1);
        while let Some(arg) = raw.next() {
            let mut value = || raw.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--help" | "-h" => return Ok(None),
                "--triggers" => {
                    a.triggers = value()?.parse().context("--triggers: a whole number")?;
                }
                "--shape" => {
                    a.shapes = value()?
                        .split(',')
                        .map(Shape::parse)
                        .collect::<anyhow::Result<_>>()?;
                }
                "--by" => {
                    a.by = match value()?.as_str() {
                        "server" => By::Server,
                        "cli" => By::Cli,
                        other => bail!("--by: {other:?} is neither server nor cli"),
                    };
                }
                "--no-sqlite" => a.sqlite = false,
                "--no-postgres" => a.postgres = false,
                other => bail!("unknown option {other:?} (see --help)"),
            }
        }
        Ok(Some(a))
    }
}

fn calltrail(url: &str) -> anyhow::Result<Command> {
    bench::calltrail(url, &[("CALLTRAIL_EXECUTOR", "off")])
}

/// Words for the payloads' free text: the trigram index then holds as many
/// different trigrams per trigger as a real note would (a run of one letter
/// would hold one).
const WORDS: [&str; 16] = [
    "invoice",
    "customer",
    "payment",
    "refund",
    "amount",
    "overdue",
    "reminder",
    "contract",
    "meter",
    "reading",
    "billing",
    "account",
    "settled",
    "disputed",
    "quarterly",
    "service",
];

/// A payload as an ERP sends one: ids, an e-mail address, a date and a note.
fn payload(i: usize) -> String {
    let word = |k: usize| WORDS[(i.wrapping_mul(2_654_435_761) >> (k * 4)) % WORDS.len()];
    let note: Vec<&str> = (0..10).map(word).collect();
    format!(
        "{{\"id\":\"INV-{i}\",\"customer\":\"CUST-{}\",\"email\":\"billing{}@customer{}.example\",         \"amount_cents\":{},\"due\":\"2025-{:02}-{:02}\",\"note\":\"{}\"}}",
        i % 50_000,
        i % 9_973,
        i % 97,
        i * 7,
        1 + i % 12,
        1 + i % 28,
        note.join(" ")
    )
}

/// `n` finished triggers of `shape`, written through the storage layer and SQL.
async fn fill(url: &str, n: usize, shape: Shape) -> anyhow::Result<()> {
    let then = chrono::Utc::now() - chrono::Duration::days(shape.age_days());
    let secs = then.timestamp() as u64;
    let started = Instant::now();
    let plugin = json!({
        "name": "billing", "base_url": "http://127.0.0.1:9/", "timeout_ms": 5000,
        "default_route": {"method": "POST", "path": "/invoices"},
    });
    // Details removed before: no payload, no log line, no attempt (below).
    let has_details = shape != Shape::Summary;
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
        payload: if has_details {
            payload(i)
        } else {
            "null".into()
        },
        aggregation_key: None,
        idempotency: None,
        status: Status::Finished,
        scheduled_at: then,
        next_attempt_at: None,
        logs: if has_details {
            vec![LogEntry {
                at: then,
                step: LogStep::Finished,
                message: "200 OK".into(),
            }]
        } else {
            vec![]
        },
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
    let mut statements = vec![format!(
        "UPDATE triggers SET finished_at = {then_us}, triggered_at = {then_us}, attempts = 1"
    )];
    if has_details {
        // An attempt's id is a UUIDv7 made when it starts, just after its trigger's:
        // the trigger's own id stands in for it (one attempt each), so the attempts'
        // primary key is in time order as in a real database, not scattered.
        statements.push(format!(
            "INSERT INTO attempts (id, trigger_id, number, started_at, duration_ms, started_by_kind, \
             request_method, request_url, request_headers, request_body, response_status, \
             response_headers, response_body, class, decision_action, decision_reason) \
             SELECT id, id, 1, {then_us}, 120, 'executor', 'POST', \
             'https://api.example.com/invoices', '{{}}', payload, 200, '{{}}', '{{\"ok\":true}}', \
             'ok', 'finish', 'answered 200' FROM triggers"
        ));
    } else {
        statements.push(format!(
            "UPDATE triggers SET details_removed_at = {then_us}, details_removed_why = 'retention'"
        ));
    }
    if postgres {
        let mut c = sqlx::PgConnection::connect(url).await?;
        for s in &statements {
            c.execute(s.as_str()).await?;
        }
        c.execute("VACUUM ANALYZE").await?;
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        for s in &statements {
            c.execute(s.as_str()).await?;
        }
    }
    println!(
        "  filled {n} triggers, {}, finished {} days ago, in {:.1} s",
        shape.name(),
        shape.age_days(),
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

/// Rows retention has removed so far, both tiers, from the server's `/metrics`.
async fn removed_so_far(http: &reqwest::Client, base: &str) -> u64 {
    let Ok(r) = http.get(format!("{base}/metrics")).send().await else {
        return 0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("calltrail_retention_deleted_rows_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// How the removal went: its time, and what it said about itself.
enum Removal {
    Done(Duration, String),
    Failed(String),
    TimedOut(u64),
}

/// The server's background retention is done when its `/metrics` counts `n`
/// removed rows (the clock started before the server did: its first pass starts
/// with it).
async fn removed_by_server(base: &str, n: usize, started: Instant) -> Removal {
    let http = reqwest::Client::new();
    let mut removed = 0;
    while started.elapsed() < PRUNE_LIMIT {
        removed = removed_so_far(&http, base).await;
        if removed >= n as u64 {
            return Removal::Done(started.elapsed(), format!("{removed} rows removed"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Removal::TimedOut(removed)
}

/// `calltrail prune` as a second process beside the running server.
async fn prune_by_cli(url: &str) -> anyhow::Result<Removal> {
    let started = Instant::now();
    let mut prune = tokio::process::Command::from(calltrail(url)?);
    let out = tokio::time::timeout(PRUNE_LIMIT, prune.arg("prune").output()).await;
    Ok(match out {
        Ok(Ok(out)) if out.status.success() => Removal::Done(
            started.elapsed(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ),
        Ok(Ok(out)) => Removal::Failed(String::from_utf8_lossy(&out.stderr).into_owned()),
        Ok(Err(e)) => Removal::Failed(e.to_string()),
        Err(_) => Removal::TimedOut(0),
    })
}

async fn phase(name: &str, url: &str, args: &Args, shape: Shape) -> anyhow::Result<()> {
    let n = args.triggers;
    println!("\n== {name}: {}", shape.name());
    fill(url, n, shape).await?;
    let key = bench::admin_key(url)?;
    let server = bench::Server::start(url, &[("CALLTRAIL_EXECUTOR", "off")])?;
    let baseline = ingest(
        server.base.clone(),
        key.clone(),
        Arc::new(AtomicBool::new(false)),
        BASELINE,
    )
    .await;
    println!("  {}", describe("ingest alone        ", &baseline));

    let (during, removal, rss) = match args.by {
        By::Cli => {
            let stop = Arc::new(AtomicBool::new(false));
            let load = tokio::spawn(ingest(server.base.clone(), key, stop.clone(), PRUNE_LIMIT));
            let removal = prune_by_cli(url).await?;
            stop.store(true, Ordering::Relaxed);
            (load.await?, removal, server.rss_mb())
        }
        By::Server => {
            // The same database, served by an instance whose retention is on; ingest
            // starts as soon as it listens, beside its first pass.
            drop(server);
            let started = Instant::now();
            let server = bench::Server::start(
                url,
                &[
                    ("CALLTRAIL_EXECUTOR", "off"),
                    ("CALLTRAIL_RETENTION_INTERVAL_SECS", "3600"),
                ],
            )?;
            let stop = Arc::new(AtomicBool::new(false));
            let load = tokio::spawn(ingest(server.base.clone(), key, stop.clone(), PRUNE_LIMIT));
            let removal = removed_by_server(&server.base, n, started).await;
            stop.store(true, Ordering::Relaxed);
            (load.await?, removal, server.rss_mb())
        }
    };
    println!("  {}", describe("ingest during prune ", &during));
    let took = match removal {
        Removal::Done(took, said) => {
            println!("  removal: {:.1} s — {said}", took.as_secs_f64());
            Some(took)
        }
        Removal::Failed(why) => {
            println!("  removal FAILED: {why}");
            None
        }
        Removal::TimedOut(removed) => {
            println!(
                "  removal did not finish within {} s ({removed} removed)",
                PRUNE_LIMIT.as_secs()
            );
            None
        }
    };
    let ratio = during.latency.value_at_quantile(0.99) as f64
        / baseline.latency.value_at_quantile(0.99).max(1) as f64;
    let took = took.map_or_else(|| "—".to_string(), |t| format!("{:.1} s", t.as_secs_f64()));
    println!(
        "  => {name}, {}: {n} removed in {took} (goal ≤ 60 s); ingest p99 during / alone = \
         {ratio:.2} (goal ≤ 2); server RSS {rss:.0} MB",
        shape.name()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let Some(args) = Args::parse()? else {
        print!("{HELP}");
        return Ok(());
    };
    println!(
        "prune benchmark: {} expired triggers, {CLIENTS} ingest clients, removed by {:?}; \
         load average {}",
        args.triggers,
        args.by,
        bench::load_average()
    );
    for &shape in &args.shapes {
        let args = args.clone();
        bench::on_fresh_databases_of("prune", args.sqlite, args.postgres, |name, url| {
            let args = args.clone();
            async move { phase(name, &url, &args, shape).await }
        })
        .await?;
    }
    Ok(())
}
