//! Command-line options. Every phase is bounded in count and in time.

use std::time::Duration;

use anyhow::{bail, Context};

const HELP: &str = "\
calltrail load benchmark (everything on 127.0.0.1)

usage: cargo run --release -p bench -- [options]

  --quick               short run: 3 s phases (1 s warm-up), 50,000 requests max,
                        100,000 rows, 100 list requests per shape
  --rows N              triggers stored for the list phase (default 1,000,000)
  --duration SECS       measured time per ingest phase (default 10)
  --max-requests N      measured requests per ingest phase (default 200,000)
  --warmup SECS         unmeasured warm-up before each ingest phase (default 2)
  --concurrency N       connections for ingest (default 64)
  --list-requests N     measured requests per list shape (default 300)
  --chunk N             rows per insert_triggers call when filling (default 5,000)
  --server-threads N    worker threads of the servers' runtime (default 2)
  --client-threads N    worker threads of the load generator's runtime (default 2)
  --no-sqlite | --no-postgres | --no-hello | --no-ingest | --no-list
  --keep                keep the SQLite files and PostgreSQL databases (for EXPLAIN)

PostgreSQL: CALLTRAIL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432);
a fresh database calltrail_bench_* is created per phase and dropped after it.
";

#[derive(Debug, Clone)]
pub struct Args {
    pub quick: bool,
    pub rows: usize,
    pub duration: Duration,
    pub max_requests: u64,
    pub warmup: Duration,
    pub concurrency: usize,
    pub list_requests: usize,
    pub chunk: usize,
    pub server_threads: usize,
    pub client_threads: usize,
    pub sqlite: bool,
    pub postgres: bool,
    pub hello: bool,
    pub ingest: bool,
    pub list: bool,
    pub keep: bool,
}

impl Args {
    pub fn parse() -> anyhow::Result<Args> {
        let raw: Vec<String> = std::env::args().skip(1).collect();
        let quick = raw.iter().any(|a| a == "--quick");
        let mut a = Args {
            quick,
            rows: if quick { 100_000 } else { 1_000_000 },
            duration: Duration::from_secs(if quick { 3 } else { 10 }),
            max_requests: if quick { 50_000 } else { 200_000 },
            warmup: Duration::from_secs(if quick { 1 } else { 2 }),
            concurrency: 64,
            list_requests: if quick { 100 } else { 300 },
            chunk: 5_000,
            server_threads: 2,
            client_threads: 2,
            sqlite: true,
            postgres: true,
            hello: true,
            ingest: true,
            list: true,
            keep: false,
        };
        let mut it = raw.into_iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> anyhow::Result<String> {
                it.next().with_context(|| format!("{name} needs a value"))
            };
            fn num<T: std::str::FromStr>(name: &str, v: String) -> anyhow::Result<T> {
                v.replace(['_', ','], "")
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name}: {v:?} is not a number"))
            }
            match arg.as_str() {
                "--quick" => {}
                "--rows" => a.rows = num("--rows", value("--rows")?)?,
                "--duration" => {
                    a.duration = Duration::from_secs_f64(num("--duration", value("--duration")?)?)
                }
                "--max-requests" => {
                    a.max_requests = num("--max-requests", value("--max-requests")?)?
                }
                "--warmup" => {
                    a.warmup = Duration::from_secs_f64(num("--warmup", value("--warmup")?)?)
                }
                "--concurrency" => a.concurrency = num("--concurrency", value("--concurrency")?)?,
                "--list-requests" => {
                    a.list_requests = num("--list-requests", value("--list-requests")?)?
                }
                "--chunk" => a.chunk = num("--chunk", value("--chunk")?)?,
                "--server-threads" => {
                    a.server_threads = num("--server-threads", value("--server-threads")?)?
                }
                "--client-threads" => {
                    a.client_threads = num("--client-threads", value("--client-threads")?)?
                }
                "--no-sqlite" => a.sqlite = false,
                "--no-postgres" => a.postgres = false,
                "--no-hello" => a.hello = false,
                "--no-ingest" => a.ingest = false,
                "--no-list" => a.list = false,
                "--keep" => a.keep = true,
                "-h" | "--help" => {
                    print!("{HELP}");
                    std::process::exit(0);
                }
                other => bail!("unknown option {other:?}\n\n{HELP}"),
            }
        }
        if a.concurrency == 0 || a.chunk == 0 || a.server_threads == 0 || a.client_threads == 0 {
            bail!("--concurrency, --chunk and the thread counts must be at least 1");
        }
        if a.rows > 50_000_000
            || a.max_requests > 10_000_000
            || a.duration > Duration::from_secs(600)
        {
            bail!("bounds: --rows ≤ 50,000,000, --max-requests ≤ 10,000,000, --duration ≤ 600 s");
        }
        Ok(a)
    }

    pub fn describe(&self) -> String {
        format!(
            "calltrail bench: ingest {} connections, {:.0} s warm-up then {:.0} s or {} requests \
             (whichever first); list at {} rows, {} requests per shape; server runtime {} threads, \
             client runtime {} threads, {} cores",
            self.concurrency,
            self.warmup.as_secs_f64(),
            self.duration.as_secs_f64(),
            self.max_requests,
            self.rows,
            self.list_requests,
            self.server_threads,
            self.client_threads,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
        )
    }
}
