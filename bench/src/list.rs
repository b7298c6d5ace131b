//! List latency: GET /api/v1/triggers with the filter shapes the UI uses, one
//! request at a time on one keep-alive connection, so the numbers are latency
//! and not queueing. Each shape: 5 unmeasured requests, then `--list-requests`
//! measured ones or 60 s (20 s with --quick), whichever comes first.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use hdrhistogram::Histogram;

use crate::args::Args;
use crate::load::{ms, new_hist};
use crate::servers::Backend;

pub struct ShapeResult {
    pub name: String,
    pub query: String,
    /// Counted against the list target (the extra worst case is not).
    pub targeted: bool,
    pub requests: u64,
    pub errors: u64,
    pub items_first_page: usize,
    pub hist: Histogram<u64>,
    pub first_error: Option<String>,
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn run(args: &Args, backend: &Backend) -> anyhow::Result<Vec<ShapeResult>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = format!("http://{}/api/v1/triggers", backend.addr);
    let auth = format!("Bearer {}", backend.key);

    // The cursor of page 1 (no filter), for the page-2 shape.
    let first: serde_json::Value = client
        .get(&base)
        .header("authorization", &auth)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let cursor = first["next_cursor"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();

    let now = Utc::now();
    let from = (now - chrono::Duration::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = (now - chrono::Duration::days(29)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let shapes: Vec<(&str, String, bool)> = vec![
        ("no filter", String::new(), true),
        ("plugin=xero", "plugin=xero".into(), true),
        ("status=erroneous", "status=erroneous".into(), true),
        (
            "plugin=hubspot&status=retrying",
            "plugin=hubspot&status=retrying".into(),
            true,
        ),
        (
            "entity_type=invoice&entity_id=INV-123",
            "entity_type=invoice&entity_id=INV-123".into(),
            true,
        ),
        (
            "scheduled_from/to (1 day, 30 days ago)",
            format!("scheduled_from={}&scheduled_to={}", enc(&from), enc(&to)),
            true,
        ),
        (
            "page 2 (cursor, no filter)",
            format!("cursor={}", enc(&cursor)),
            true,
        ),
        ("q=INV-12", "q=INV-12".into(), true),
        // Extra, not in the target: a search that matches nothing scans every row.
        (
            "q=no-such-text (worst case, extra)",
            "q=no-such-text".into(),
            false,
        ),
    ];

    let time_limit = Duration::from_secs(if args.quick { 20 } else { 60 });
    let mut results = Vec::new();
    for (name, query, targeted) in shapes {
        let url = if query.is_empty() {
            base.clone()
        } else {
            format!("{base}?{query}")
        };
        let wanted = if targeted {
            args.list_requests as u64
        } else {
            (args.list_requests as u64).min(20)
        };
        let mut r = ShapeResult {
            name: name.to_string(),
            query: query.clone(),
            targeted,
            requests: 0,
            errors: 0,
            items_first_page: 0,
            hist: new_hist(),
            first_error: None,
        };
        let started = Instant::now();
        let warmup = if targeted { 5 } else { 1 };
        for i in 0..warmup + wanted {
            if i >= warmup && started.elapsed() > time_limit {
                break;
            }
            let t = Instant::now();
            let outcome = async {
                let resp = client
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                anyhow::Ok((status, body))
            }
            .await;
            let dt = t.elapsed();
            if i == 0 {
                if let Ok((_, body)) = &outcome {
                    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    r.items_first_page = v["items"].as_array().map(|a| a.len()).unwrap_or(0);
                }
            }
            if i < warmup {
                continue;
            }
            r.requests += 1;
            r.hist.saturating_record(dt.as_micros().max(1) as u64);
            match outcome {
                Ok((status, _)) if status.is_success() => {}
                Ok((status, body)) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| {
                        format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )
                    });
                }
                Err(e) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
        println!(
            "   {:<42} {:>4} req, {:>2} items/page, p50 {:>9} p95 {:>9} p99 {:>9} max {:>9}, {} errors",
            name,
            r.requests,
            r.items_first_page,
            ms(r.hist.value_at_quantile(0.50)),
            ms(r.hist.value_at_quantile(0.95)),
            ms(r.hist.value_at_quantile(0.99)),
            ms(r.hist.max()),
            r.errors,
        );
        println!("      GET /api/v1/triggers?{}", r.query);
        if let Some(e) = &r.first_error {
            println!("      first error: {e}");
        }
        results.push(r);
    }
    Ok(results)
}
