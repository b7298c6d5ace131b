//! Calltrail load benchmark: ingest throughput and list latency, SQLite and
//! PostgreSQL, with an axum hello-world handler as the ceiling of this machine.
//!
//! Run: `cargo run --release -p bench` (full) or `cargo run --release -p bench -- --quick`.
//! Everything listens on and connects to 127.0.0.1 only. See BENCHMARKS.md.
//!
//! The servers run in-process on their own tokio runtime (own worker threads);
//! the load generator runs on a second runtime, so the two never share an
//! executor — but they do share the machine's cores.

mod args;
mod fill;
mod list;
mod load;
mod report;
mod servers;

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::args::Args;
use crate::report::{IngestResult, ListResult, Report};
use crate::servers::{Backend, PgDatabase, SqliteFile};

/// The same allocator as the `calltrail` binary, so the in-process server is measured as shipped.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads)
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let srv = server_rt.handle().clone();
    let result = client_rt.block_on(run(&args, srv));
    drop(client_rt);
    server_rt.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn run(args: &Args, srv: tokio::runtime::Handle) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("{}", args.describe());
    tokio::spawn(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        println!("\ninterrupted: removing the temp databases this run created");
        servers::cleanup_all().await;
        std::process::exit(130);
    });
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    let mut report = Report::new(args);

    // (c) the ceiling: a hello-world POST handler, same runtime shape as the real server.
    if args.ingest && args.hello {
        let hello = servers::start_hello(&srv).await?;
        println!(
            "\n== ingest: axum hello-world POST (ceiling) on {}",
            hello.addr
        );
        let r = load::ingest(args, hello.addr, None).await?;
        report
            .ingest
            .push(IngestResult::new("hello-world (axum)", r));
        hello.stop().await;
    }

    if args.sqlite {
        if let Err(e) = sqlite_phases(args, &srv, &mut report).await {
            println!("!! SQLite phases failed: {e:#}");
            report.notes.push(format!("SQLite phases failed: {e:#}"));
        }
    }
    if args.postgres {
        if let Err(e) = pg_phases(args, &srv, &mut report).await {
            println!("!! PostgreSQL phases failed: {e:#}");
            report
                .notes
                .push(format!("PostgreSQL phases failed: {e:#}"));
        }
    }

    report.total = started.elapsed();
    report.print();
    Ok(())
}

async fn sqlite_phases(
    args: &Args,
    srv: &tokio::runtime::Handle,
    report: &mut Report,
) -> anyhow::Result<()> {
    if args.ingest {
        // With the search index, then without it (the baseline of the same run).
        for (name, index) in [
            ("calltrail + SQLite", true),
            ("calltrail + SQLite, no search index", false),
        ] {
            let file = SqliteFile::new("ingest")?;
            let backend = Backend::start(srv, &file.url()).await?;
            if !index {
                servers::search::drop_index(&file.url()).await?;
            }
            println!(
                "\n== ingest: {name} ({}) on {}",
                file.path.display(),
                backend.addr
            );
            let r = load::ingest(args, backend.addr, Some(&backend.key)).await;
            backend.stop().await;
            let r = r?;
            report.ingest.push(IngestResult::new(name, r));
            file.remove(args.keep);
        }
    }
    if args.list {
        let file = SqliteFile::new("list")?;
        let backend = Backend::start(srv, &file.url()).await?;
        println!(
            "\n== list: calltrail + SQLite ({}) on {}",
            file.path.display(),
            backend.addr
        );
        let fill = fill::fill(args, srv, &backend).await;
        let fill = match fill {
            Ok(f) => f,
            Err(e) => {
                backend.stop().await;
                return Err(e);
            }
        };
        let ext = servers::search::set_external_ids(&file.url()).await;
        let sizes = servers::search::sizes(&file.url()).await;
        let (ext, sizes) = match (ext, sizes) {
            (Ok(e), Ok(s)) => (e, s),
            (Err(e), _) | (_, Err(e)) => {
                backend.stop().await;
                return Err(e);
            }
        };
        println!("   on disk: {sizes}");
        report
            .notes
            .push(format!("SQLite at {} rows: {sizes}", args.rows));
        let shapes = list::run(args, &backend, ext).await;
        backend.stop().await;
        let shapes = shapes?;
        report.lists.push(ListResult {
            backend: "SQLite",
            rows: args.rows,
            fill,
            shapes,
        });
        if args.keep {
            println!("kept {}", file.path.display());
        }
        file.remove(args.keep);
    }
    Ok(())
}

async fn pg_phases(
    args: &Args,
    srv: &tokio::runtime::Handle,
    report: &mut Report,
) -> anyhow::Result<()> {
    let base = std::env::var("CALLTRAIL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
    if args.ingest {
        let db = PgDatabase::create(&base, "ingest")
            .await
            .context("creating the PostgreSQL ingest database")?;
        let outcome = async {
            let backend = Backend::start(srv, &db.url).await?;
            println!(
                "\n== ingest: calltrail + PostgreSQL ({}) on {}",
                db.name, backend.addr
            );
            let r = load::ingest(args, backend.addr, Some(&backend.key)).await;
            backend.stop().await;
            r
        }
        .await;
        db.drop_db(args.keep).await;
        report
            .ingest
            .push(IngestResult::new("calltrail + PostgreSQL", outcome?));
        // The baseline of the same run: no trigram index to maintain.
        let db = PgDatabase::create(&base, "ingest")
            .await
            .context("creating the PostgreSQL ingest database")?;
        let outcome = async {
            let backend = Backend::start(srv, &db.url).await?;
            servers::search::drop_index(&db.url).await?;
            println!(
                "\n== ingest: calltrail + PostgreSQL, no search index ({}) on {}",
                db.name, backend.addr
            );
            let r = load::ingest(args, backend.addr, Some(&backend.key)).await;
            backend.stop().await;
            r
        }
        .await;
        db.drop_db(args.keep).await;
        report.ingest.push(IngestResult::new(
            "calltrail + PostgreSQL, no search index",
            outcome?,
        ));
    }
    if args.list {
        let db = PgDatabase::create(&base, "list")
            .await
            .context("creating the PostgreSQL list database")?;
        let outcome = async {
            let backend = Backend::start(srv, &db.url).await?;
            println!(
                "\n== list: calltrail + PostgreSQL ({}) on {}",
                db.name, backend.addr
            );
            let r = async {
                let fill = fill::fill(args, srv, &backend).await?;
                let ext = servers::search::set_external_ids(&db.url).await?;
                // Autovacuum would analyze a table this size within a minute of the
                // bulk load; do it now so the planner sees real statistics.
                let t = Instant::now();
                db.analyze().await?;
                println!("ANALYZE took {:.1} s", t.elapsed().as_secs_f64());
                let sizes = servers::search::sizes(&db.url).await?;
                println!("   on disk: {sizes}");
                let shapes = list::run(args, &backend, ext).await?;
                anyhow::Ok((fill, shapes, sizes))
            }
            .await;
            backend.stop().await;
            r
        }
        .await;
        if args.keep {
            println!("kept database {}", db.name);
        }
        db.drop_db(args.keep).await;
        let (fill, shapes, sizes) = outcome?;
        report
            .notes
            .push(format!("PostgreSQL at {} rows: {sizes}", args.rows));
        report.lists.push(ListResult {
            backend: "PostgreSQL",
            rows: args.rows,
            fill,
            shapes,
        });
    }
    Ok(())
}
