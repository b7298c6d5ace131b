//! The summary: Markdown tables, ready to paste into BENCHMARKS.md.

use std::time::Duration;

use crate::args::Args;
use crate::fill::FillResult;
use crate::list::ShapeResult;
use crate::load::{LoadResult, BODY_BYTES};

pub const INGEST_TARGET_SQLITE: f64 = 10_000.0;
pub const INGEST_TARGET_PG: f64 = 5_000.0;

pub struct IngestResult {
    pub name: &'static str,
    pub r: LoadResult,
}

impl IngestResult {
    pub fn new(name: &'static str, r: LoadResult) -> IngestResult {
        IngestResult { name, r }
    }

    fn target(&self) -> Option<f64> {
        if self.name.contains("SQLite") {
            Some(INGEST_TARGET_SQLITE)
        } else if self.name.contains("PostgreSQL") {
            Some(INGEST_TARGET_PG)
        } else {
            None
        }
    }
}

pub struct ListResult {
    pub backend: &'static str,
    pub rows: usize,
    pub fill: FillResult,
    pub shapes: Vec<ShapeResult>,
}

pub struct Report {
    pub concurrency: usize,
    pub duration: Duration,
    pub max_requests: u64,
    pub warmup: Duration,
    pub ingest: Vec<IngestResult>,
    pub lists: Vec<ListResult>,
    pub notes: Vec<String>,
    pub total: Duration,
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

impl Report {
    pub fn new(args: &Args) -> Report {
        Report {
            concurrency: args.concurrency,
            duration: args.duration,
            max_requests: args.max_requests,
            warmup: args.warmup,
            ingest: Vec::new(),
            lists: Vec::new(),
            notes: Vec::new(),
            total: Duration::ZERO,
        }
    }

    pub fn print(&self) {
        println!("\n# Results\n");
        if !self.ingest.is_empty() {
            println!(
                "## Ingest: POST /api/v1/triggers, {} B body, {} connections, {:.0} s warm-up, \
                 then {:.0} s or {} requests\n",
                BODY_BYTES,
                self.concurrency,
                self.warmup.as_secs_f64(),
                self.duration.as_secs_f64(),
                self.max_requests
            );
            let ceiling = self
                .ingest
                .iter()
                .find(|i| i.target().is_none())
                .map(|i| i.r.ok_rps());
            println!("| server | requests/s | p50 ms | p95 ms | p99 ms | max ms | measured | errors | of ceiling | target | met | CPU cores: bench / rest |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
            for i in &self.ingest {
                let r = &i.r;
                let of = ceiling
                    .filter(|_| i.target().is_some())
                    .map(|c| format!("{:.0} %", 100.0 * r.ok_rps() / c))
                    .unwrap_or_else(|| "—".into());
                let (target, met) = match i.target() {
                    Some(t) => (
                        format!("≥ {t:.0}/s"),
                        if r.ok_rps() >= t && r.errors == 0 {
                            "yes".to_string()
                        } else {
                            format!("no ({:+.0} %)", 100.0 * (r.ok_rps() - t) / t)
                        },
                    ),
                    None => ("ceiling".into(), "—".into()),
                };
                let cpu = r
                    .cpu
                    .map(|(own, other)| format!("{own:.2} / {other:.2}"))
                    .unwrap_or_else(|| "—".into());
                println!(
                    "| {} | {:.0} | {} | {} | {} | {} | {} in {:.1} s{} | {} | {} | {} | {} | {} |",
                    i.name,
                    r.ok_rps(),
                    ms(r.hist.value_at_quantile(0.50)),
                    ms(r.hist.value_at_quantile(0.95)),
                    ms(r.hist.value_at_quantile(0.99)),
                    ms(r.hist.max()),
                    r.ok + r.errors,
                    r.elapsed.as_secs_f64(),
                    if r.stopped_by_count { " (count)" } else { "" },
                    r.errors,
                    of,
                    target,
                    met,
                    cpu
                );
            }
            println!();
            for i in &self.ingest {
                if !i.r.cpu_others.is_empty() {
                    let top: Vec<String> =
                        i.r.cpu_others
                            .iter()
                            .map(|(n, c)| format!("{n} {c:.2}"))
                            .collect();
                    println!(
                        "- other processes during {} (cores): {}",
                        i.name,
                        top.join(", ")
                    );
                }
            }
            println!();
        }
        for l in &self.lists {
            println!(
                "## List: GET /api/v1/triggers, {} at {} rows (filled in {:.0} s), one request at a time\n",
                l.backend,
                l.rows,
                l.fill.elapsed.as_secs_f64()
            );
            println!("| filter | requests | items (count) | p50 ms | p95 ms | p99 ms | max ms | errors | p95 target met (ms) |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
            for s in &l.shapes {
                let p95 = s.hist.value_at_quantile(0.95) as f64 / 1000.0;
                let met = match s.target_ms {
                    None => "(extra)".to_string(),
                    Some(t) if p95 <= t && s.errors == 0 => format!("yes (≤ {t:.0})"),
                    Some(t) => format!("no ({:.1}× {t:.0})", p95 / t),
                };
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    s.name,
                    s.requests,
                    s.items_first_page,
                    ms(s.hist.value_at_quantile(0.50)),
                    ms(s.hist.value_at_quantile(0.95)),
                    ms(s.hist.value_at_quantile(0.99)),
                    ms(s.hist.max()),
                    s.errors,
                    met
                );
            }
            println!();
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        println!("total time: {:.0} s", self.total.as_secs_f64());
    }
}
