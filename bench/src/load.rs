//! The ingest load: N tasks, each with its own HTTP/1.1 keep-alive connection,
//! POSTing ~1 KB trigger bodies back to back (closed loop). A warm-up runs first
//! on the same connections; then requests are measured until the time limit or
//! the request limit, whichever comes first.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::args::Args;

/// The size every ingest body is padded to.
pub const BODY_BYTES: usize = 1024;
const PLACEHOLDER: &str = "@@@@@@@@@@";

pub struct LoadResult {
    /// Measured requests answered 201 (or 2xx for the ceiling).
    pub ok: u64,
    /// Measured requests that failed: transport error, timeout, or a non-2xx status.
    pub errors: u64,
    pub warmup_requests: u64,
    pub warmup_errors: u64,
    /// From the start of measurement to the last measured answer.
    pub elapsed: Duration,
    /// Latency of measured requests, in microseconds.
    pub hist: Histogram<u64>,
    pub statuses: BTreeMap<String, u64>,
    pub first_error: Option<String>,
    pub stopped_by_count: bool,
    /// Cores' worth of CPU during measurement: (this process, everything else).
    pub cpu: Option<(f64, f64)>,
    /// The other commands that used the most CPU meanwhile.
    pub cpu_others: Vec<(String, f64)>,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        (self.ok + self.errors) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn ok_rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// One body template per plugin, each exactly BODY_BYTES long once the
/// placeholder is replaced by a 10-digit sequence number.
fn templates() -> Vec<String> {
    let events = [
        (
            "stripe",
            "invoice.available",
            "Create invoice",
            "invoice",
            "INV",
        ),
        (
            "xero",
            "invoice.available",
            "Create invoice",
            "invoice",
            "INV",
        ),
        ("slack", "meter.alert", "Post message", "meter", "MTR"),
        (
            "hubspot",
            "contract.updated",
            "Update deal",
            "contract",
            "CON",
        ),
    ];
    events
        .iter()
        .map(|(plugin, event, action, entity, prefix)| {
            let id = format!("{prefix}-B{PLACEHOLDER}");
            let make = |notes: &str| {
                json!({
                    "plugin": plugin,
                    "event_type": event,
                    "action": action,
                    "entity": {"type": entity, "id": id},
                    "initiator": {"kind": "automation", "name": "Nightly billing run"},
                    "aggregation_key": "billing-run-2026-11-26",
                    "payload": {
                        "id": id,
                        "currency": "EUR",
                        "amount_cents": 1_234_567,
                        "due_date": "2026-12-26",
                        "customer": {
                            "id": "CUS-4711",
                            "name": "Acme Industrial Supplies GmbH",
                            "email": "billing@acme.example",
                            "vat_id": "DE123456789",
                            "address": {"line1": "Hauptstrasse 1", "city": "Berlin",
                                        "postal_code": "10115", "country": "DE"}
                        },
                        "lines": [
                            {"sku": "SKU-1001", "description": "Platform subscription, monthly",
                             "quantity": 1, "unit_price_cents": 49_900},
                            {"sku": "SKU-2002", "description": "Additional seats",
                             "quantity": 25, "unit_price_cents": 1_200},
                            {"sku": "SKU-3003", "description": "Premium support",
                             "quantity": 1, "unit_price_cents": 19_900}
                        ],
                        "metadata": {"source": "calltrail-bench", "batch": "2026-11-26"},
                        "notes": notes
                    }
                })
                .to_string()
            };
            let base = make("").len();
            assert!(
                base <= BODY_BYTES,
                "body template is {base} bytes before padding"
            );
            let t = make(&"x".repeat(BODY_BYTES - base));
            assert_eq!(t.len(), BODY_BYTES);
            t
        })
        .collect()
}

struct TaskResult {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    warmup_requests: u64,
    warmup_errors: u64,
    last_end: Option<Instant>,
    statuses: BTreeMap<String, u64>,
    first_error: Option<String>,
}

/// Drive POST /api/v1/triggers at `addr`. `key`: the Bearer key, if any.
pub async fn ingest(
    args: &Args,
    addr: SocketAddr,
    key: Option<&str>,
) -> anyhow::Result<LoadResult> {
    let templates = Arc::new(templates());
    let url = Arc::new(format!("http://{addr}/api/v1/triggers"));
    let auth = Arc::new(key.map(|k| format!("Bearer {k}")));
    let measured = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let max = args.max_requests;
    // A short pause so every task is connected and waiting before the clock starts.
    let t0 = Instant::now() + Duration::from_millis(100);
    let measure_start = t0 + args.warmup;
    let deadline = measure_start + args.duration;

    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        let (templates, url, auth, measured, seq) = (
            templates.clone(),
            url.clone(),
            auth.clone(),
            measured.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut r = TaskResult {
                hist: new_hist(),
                ok: 0,
                errors: 0,
                warmup_requests: 0,
                warmup_errors: 0,
                last_end: None,
                statuses: BTreeMap::new(),
                first_error: None,
            };
            tokio::time::sleep_until(t0.into()).await;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let measuring = now >= measure_start;
                if measuring && measured.fetch_add(1, Ordering::Relaxed) >= max {
                    break;
                }
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let body = templates[(n % templates.len() as u64) as usize].replacen(
                    PLACEHOLDER,
                    &format!("{:010}", n % 10_000_000_000),
                    2,
                );
                let mut req = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(a) = auth.as_deref() {
                    req = req.header("authorization", a);
                }
                let start = Instant::now();
                let outcome = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            Ok(_) if status.is_success() => Ok(status.as_u16()),
                            Ok(b) => Err((
                                status.as_u16().to_string(),
                                format!(
                                    "{status}: {}",
                                    String::from_utf8_lossy(&b[..b.len().min(300)])
                                ),
                            )),
                            Err(e) => Err(("body".to_string(), format!("reading the answer: {e}"))),
                        }
                    }
                    Err(e) => Err((
                        if e.is_timeout() {
                            "timeout"
                        } else {
                            "transport"
                        }
                        .to_string(),
                        format!("{e:?}"),
                    )),
                };
                let end = Instant::now();
                if measuring {
                    r.hist
                        .saturating_record((end - start).as_micros().max(1) as u64);
                    r.last_end = Some(end);
                }
                match outcome {
                    Ok(code) => {
                        if measuring {
                            r.ok += 1;
                            *r.statuses.entry(code.to_string()).or_default() += 1;
                        } else {
                            r.warmup_requests += 1;
                        }
                    }
                    Err((kind, message)) => {
                        if measuring {
                            r.errors += 1;
                            *r.statuses.entry(kind).or_default() += 1;
                        } else {
                            r.warmup_requests += 1;
                            r.warmup_errors += 1;
                        }
                        if r.first_error.is_none() {
                            r.first_error = Some(message);
                        }
                    }
                }
            }
            r
        }));
    }

    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        warmup_requests: 0,
        warmup_errors: 0,
        elapsed: Duration::ZERO,
        hist: new_hist(),
        statuses: BTreeMap::new(),
        first_error: None,
        stopped_by_count: false,
        cpu: None,
        cpu_others: Vec::new(),
    };
    // CPU use over the measured window (sampled at its start and when the last task ends).
    let cpu_at_start = {
        tokio::time::sleep_until(measure_start.into()).await;
        bench::cpu::sample()
    };
    let mut last_end = measure_start;
    let mut cpu_at_end = None;
    for task in tasks {
        let r = task.await?;
        cpu_at_end = bench::cpu::sample();
        result.hist.add(&r.hist).expect("same histogram bounds");
        result.ok += r.ok;
        result.errors += r.errors;
        result.warmup_requests += r.warmup_requests;
        result.warmup_errors += r.warmup_errors;
        if let Some(end) = r.last_end {
            last_end = last_end.max(end);
        }
        for (k, v) in r.statuses {
            *result.statuses.entry(k).or_default() += v;
        }
        if result.first_error.is_none() {
            result.first_error = r.first_error;
        }
    }
    result.elapsed = last_end.saturating_duration_since(measure_start);
    result.stopped_by_count = result.ok + result.errors >= max;
    result.cpu = bench::cpu::used(&cpu_at_start, &cpu_at_end);
    result.cpu_others = bench::cpu::top_others(&cpu_at_start, &cpu_at_end, 4);
    println!(
        "   {} ok, {} errors in {:.2} s = {:.0} req/s; p50 {} p95 {} p99 {} max {}; \
         warm-up {} requests ({} errors); statuses {:?}",
        result.ok,
        result.errors,
        result.elapsed.as_secs_f64(),
        result.rps(),
        ms(result.hist.value_at_quantile(0.50)),
        ms(result.hist.value_at_quantile(0.95)),
        ms(result.hist.value_at_quantile(0.99)),
        ms(result.hist.max()),
        result.warmup_requests,
        result.warmup_errors,
        result.statuses,
    );
    if let Some((own, other)) = result.cpu {
        println!(
            "   CPU while measuring: this process {own:.2} cores, everything else {other:.2} cores"
        );
        let top: Vec<String> = result
            .cpu_others
            .iter()
            .map(|(n, c)| format!("{n} {c:.2}"))
            .collect();
        if !top.is_empty() {
            println!("   top other processes (cores): {}", top.join(", "));
        }
    }
    if let Some(e) = &result.first_error {
        println!("   first error: {e}");
    }
    Ok(result)
}

/// Microseconds as milliseconds, for display.
pub fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}
