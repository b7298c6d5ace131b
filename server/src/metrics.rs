//! What an operator watches: Prometheus metrics at `/metrics`.
//!
//! Counters and histograms are recorded where things happen (a trigger created,
//! an attempt decided, a lease rescued, a request answered) through the `metrics`
//! facade; queue depths are read from the database when `/metrics` is scraped,
//! at most once a second, so a busy scraper costs nothing extra.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `calltrail_triggers_created_total` | counter | plugin |
//! | `calltrail_attempts_total` | counter | plugin, class |
//! | `calltrail_delivery_delay_seconds` | histogram | plugin — due (`run_at`/retry time) → sent |
//! | `calltrail_provider_response_seconds` | histogram | plugin — sent → answered |
//! | `calltrail_lease_rescues_total` | counter | — expired leases taken back |
//! | `calltrail_queue_depth` | gauge | state = due, scheduled, running |
//! | `calltrail_oldest_due_age_seconds` | gauge | — |
//! | `calltrail_retention_deleted_rows_total` | counter | tier |
//! | `calltrail_http_requests_total` | counter | route, method, status |
//! | `calltrail_http_request_duration_seconds` | histogram | route |

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::service::Service;

/// Seconds: 1 ms to 10 min, for delays and response times alike.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// The process's recorder, installed once (several test servers share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder (a test harness) may be installed already; ours still renders.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "calltrail_triggers_created_total",
        "Triggers created, by plugin"
    );
    describe_counter!(
        "calltrail_attempts_total",
        "Attempts decided, by plugin and failure class (success included)"
    );
    describe_histogram!(
        "calltrail_delivery_delay_seconds",
        Unit::Seconds,
        "From when an attempt was due to when it was sent"
    );
    describe_histogram!(
        "calltrail_provider_response_seconds",
        Unit::Seconds,
        "From sending a call to its answer (or its failure)"
    );
    describe_counter!(
        "calltrail_lease_rescues_total",
        "Running triggers whose lease expired and that were taken back"
    );
    describe_gauge!(
        "calltrail_queue_depth",
        "Triggers due now, scheduled for later, and running"
    );
    describe_gauge!(
        "calltrail_oldest_due_age_seconds",
        Unit::Seconds,
        "How long the oldest due trigger has waited"
    );
    describe_counter!(
        "calltrail_retention_deleted_rows_total",
        "Rows removed by retention, by tier"
    );
    describe_counter!(
        "calltrail_http_requests_total",
        "HTTP requests answered, by route, method and status"
    );
    describe_histogram!(
        "calltrail_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route"
    );
}

pub fn trigger_created(plugin: &str) {
    metrics::counter!("calltrail_triggers_created_total", "plugin" => plugin.to_string())
        .increment(1);
}

/// An attempt was decided: its class, how late it was sent, how long the provider took.
pub fn attempt(plugin: &str, class: &'static str, delay: Option<Duration>, response: Duration) {
    let plugin = plugin.to_string();
    metrics::counter!("calltrail_attempts_total", "plugin" => plugin.clone(), "class" => class)
        .increment(1);
    if let Some(delay) = delay {
        metrics::histogram!("calltrail_delivery_delay_seconds", "plugin" => plugin.clone())
            .record(delay.as_secs_f64());
    }
    metrics::histogram!("calltrail_provider_response_seconds", "plugin" => plugin)
        .record(response.as_secs_f64());
}

pub fn lease_rescues(n: u64) {
    if n > 0 {
        metrics::counter!("calltrail_lease_rescues_total").increment(n);
    }
}

pub fn retention_deleted(tier: &'static str, rows: u64) {
    metrics::counter!("calltrail_retention_deleted_rows_total", "tier" => tier).increment(rows);
}

/// Count and time every request by its route template (`/api/v1/triggers/{id}`),
/// never by its raw path, so ids do not become labels.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("calltrail_http_requests_total",
        "route" => route.clone(), "method" => method, "status" => status)
    .increment(1);
    metrics::histogram!("calltrail_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the queue read now (at most once a second), then every metric.
/// Open to whoever reaches the port, or, with `CALLTRAIL_METRICS_TOKEN`, only to a
/// scraper that sends `Authorization: Bearer <token>`.
pub async fn render(
    State(service): State<std::sync::Arc<Service>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = service.metrics_token() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| {
            use subtle_eq::eq;
            eq(g.as_bytes(), token.as_bytes())
        });
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                "send the metrics token as Authorization: Bearer <CALLTRAIL_METRICS_TOKEN>\n",
            )
                .into_response();
        }
    }
    refresh_queue(&service).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

async fn refresh_queue(service: &Service) {
    static LAST: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
    {
        let mut last = LAST.lock().expect("not poisoned");
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
    }
    match service
        .store()
        .reads()
        .queue_depth(crate::clock::now())
        .await
    {
        Ok(q) => {
            metrics::gauge!("calltrail_queue_depth", "state" => "due").set(q.due as f64);
            metrics::gauge!("calltrail_queue_depth", "state" => "scheduled")
                .set(q.scheduled as f64);
            metrics::gauge!("calltrail_queue_depth", "state" => "running").set(q.running as f64);
            let age = q
                .oldest_due
                .map(|t| (crate::clock::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            metrics::gauge!("calltrail_oldest_due_age_seconds").set(age);
        }
        Err(e) => tracing::warn!(error = %e, "reading the queue depth for /metrics"),
    }
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
mod subtle_eq {
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        // Equal-length digests compared in full: time does not depend on where they differ.
        let (a, b) = (Sha256::digest(a), Sha256::digest(b));
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}
