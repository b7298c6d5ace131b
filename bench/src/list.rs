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
    /// The p95 target in ms (20 for a list page, 50 for a count); `None` for the
    /// extra worst cases, measured but not targeted.
    pub target_ms: Option<f64>,
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

/// `ext`: an external id the fill gave some triggers (searched for as one).
pub async fn run(
    args: &Args,
    backend: &Backend,
    ext: Option<String>,
) -> anyhow::Result<Vec<ShapeResult>> {
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
    let window = format!("scheduled_from={}&scheduled_to={}", enc(&from), enc(&to));
    const LIST: Option<f64> = Some(20.0);
    const COUNT: Option<f64> = Some(50.0);
    // (name, path after /api/v1/triggers, target)
    let mut shapes: Vec<(String, String, Option<f64>)> = vec![
        ("no filter".into(), String::new(), LIST),
        ("plugin=xero".into(), "?plugin=xero".into(), LIST),
        ("status=erroneous".into(), "?status=erroneous".into(), LIST),
        (
            "plugin=hubspot&status=retrying".into(),
            "?plugin=hubspot&status=retrying".into(),
            LIST,
        ),
        (
            "entity_type=invoice&entity_id=INV-123".into(),
            "?entity_type=invoice&entity_id=INV-123".into(),
            LIST,
        ),
        (
            "scheduled_from/to (1 day, 30 days ago)".into(),
            format!("?{window}"),
            LIST,
        ),
        (
            "page 2 (cursor, no filter)".into(),
            format!("?cursor={}", enc(&cursor)),
            LIST,
        ),
        // Search: an entity fragment (~0.4 % of rows), payload text (~100 rows),
        // payload text in every row, and each with the other filters.
        (
            "q=INV-12 (entity fragment)".into(),
            "?q=INV-12".into(),
            LIST,
        ),
        (
            "q=CUS-4242 (payload text, ~100 rows)".into(),
            "?q=CUS-4242".into(),
            LIST,
        ),
        (
            "q=calltrail-bench (payload text, every row)".into(),
            "?q=calltrail-bench".into(),
            LIST,
        ),
        (
            "q=INV-12&plugin=stripe".into(),
            "?q=INV-12&plugin=stripe".into(),
            LIST,
        ),
        (
            "q=INV-12&status=erroneous".into(),
            "?q=INV-12&status=erroneous".into(),
            LIST,
        ),
        (
            "q=INV-12&scheduled_from/to".into(),
            format!("?q=INV-12&{window}"),
            LIST,
        ),
        (
            "q=CUS-4242&plugin=xero&status=finished".into(),
            "?q=CUS-4242&plugin=xero&status=finished".into(),
            LIST,
        ),
        (
            "q=calltrail-bench&plugin=hubspot&status=retrying".into(),
            "?q=calltrail-bench&plugin=hubspot&status=retrying".into(),
            LIST,
        ),
        (
            "q=calltrail-bench&scheduled_from/to".into(),
            format!("?q=calltrail-bench&{window}"),
            LIST,
        ),
    ];
    if let Some(ext) = &ext {
        shapes.push((
            format!("q={ext} (external id, 1 row)"),
            format!("?q={}", enc(ext)),
            LIST,
        ));
    }
    // The count the log asks for beside every page (`/count`, all statuses).
    for (name, query) in [
        ("count: no filter", String::new()),
        ("count: plugin=xero", "?plugin=xero".to_string()),
        ("count: status=erroneous", "?status=erroneous".to_string()),
        ("count: scheduled_from/to", format!("?{window}")),
        ("count: q=INV-12", "?q=INV-12".to_string()),
        ("count: q=CUS-4242", "?q=CUS-4242".to_string()),
        (
            "count: q=INV-12&plugin=stripe",
            "?q=INV-12&plugin=stripe".to_string(),
        ),
    ] {
        shapes.push((name.into(), format!("/count{query}"), COUNT));
    }
    // Extra, not in the targets: a search that matches nothing; counting a search
    // that matches every row.
    shapes.push((
        "q=no-such-text (extra)".into(),
        "?q=no-such-text".into(),
        None,
    ));
    shapes.push((
        "count: q=calltrail-bench (every row, extra)".into(),
        "/count?q=calltrail-bench".into(),
        None,
    ));

    let time_limit = Duration::from_secs(if args.quick { 20 } else { 60 });
    let mut results = Vec::new();
    for (name, query, target_ms) in shapes {
        let targeted = target_ms.is_some();
        let url = format!("{base}{query}");
        let wanted = if targeted {
            args.list_requests as u64
        } else {
            (args.list_requests as u64).min(20)
        };
        let mut r = ShapeResult {
            name: name.to_string(),
            query: query.clone(),
            target_ms,
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
                    r.items_first_page = match v["items"].as_array() {
                        Some(items) => items.len(),
                        None => v["count"].as_u64().unwrap_or(0) as usize,
                    };
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
            "   {:<48} {:>4} req, {:>7} items/count, p50 {:>9} p95 {:>9} p99 {:>9} max {:>9}, {} errors",
            name,
            r.requests,
            r.items_first_page,
            ms(r.hist.value_at_quantile(0.50)),
            ms(r.hist.value_at_quantile(0.95)),
            ms(r.hist.value_at_quantile(0.99)),
            ms(r.hist.max()),
            r.errors,
        );
        println!("      GET /api/v1/triggers{}", r.query);
        if let Some(e) = &r.first_error {
            println!("      first error: {e}");
        }
        results.push(r);
    }
    Ok(results)
}
