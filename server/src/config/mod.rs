//! Settings, from the command line, `CALLTRAIL_*` environment variables or
//! `calltrail.toml` (in that order of precedence; see `file`).

pub mod check;
pub mod file;

use std::ffi::OsString;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use leptos::prelude::LeptosOptions;

use crate::service::TrustedProxies;
use crate::service::{EmbedKey, EmbedSettings, Limits, SecretBox, Service};
use crate::storage;

#[derive(Debug, Parser)]
#[command(
    name = "calltrail",
    version,
    about = "Integration log and retry executor"
)]
pub struct Cli {
    /// A TOML file with settings (default: ./calltrail.toml when present);
    /// flags and CALLTRAIL_* variables override it.
    #[arg(long, env = "CALLTRAIL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub embed: EmbedArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// sqlite://FILE?mode=rwc or postgres://…
    #[arg(
        long,
        env = "CALLTRAIL_DATABASE_URL",
        default_value = "sqlite://calltrail.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// 64 hex characters; without it a key file is used (created on first start).
    #[arg(
        long,
        env = "CALLTRAIL_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<String>,
    /// Earlier keys, comma-separated: they open what they sealed, seal nothing
    /// new (until `calltrail secrets rotate` has re-sealed it all).
    #[arg(
        long,
        env = "CALLTRAIL_SECRET_KEY_PREVIOUS",
        hide_env_values = true,
        global = true
    )]
    pub secret_key_previous: Option<String>,
    /// The file the secret key is read from when CALLTRAIL_SECRET_KEY is unset
    /// (created with a random key on first start; earlier keys on later lines).
    #[arg(
        long,
        env = "CALLTRAIL_SECRET_KEY_FILE",
        default_value = "calltrail.key",
        global = true
    )]
    pub secret_key_file: PathBuf,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CALLTRAIL_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// The most triggers one export may hold (more is refused with a clear error).
    #[arg(
        long,
        env = "CALLTRAIL_EXPORT_MAX_ROWS",
        default_value_t = 1_000_000,
        global = true
    )]
    pub export_max_rows: u64,
    /// Days a finished trigger keeps its payload, attempts and logs (0: forever).
    #[arg(
        long,
        env = "CALLTRAIL_RETENTION_DETAIL_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub retention_detail_days: u32,
    /// Days a finished trigger's summary row is kept (0: forever; at least the detail days).
    #[arg(
        long,
        env = "CALLTRAIL_RETENTION_SUMMARY_DAYS",
        default_value_t = 400,
        global = true
    )]
    pub retention_summary_days: u32,
    /// PostgreSQL connections per instance (SQLite ignores it).
    #[arg(long, env = "CALLTRAIL_DB_POOL", default_value_t = storage::DEFAULT_PG_POOL,
          value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub db_pool: u32,
    /// Requests with API keys that fail their lookup, per client address and
    /// minute, before that address gets 429 (0: no limit).
    #[arg(
        long,
        env = "CALLTRAIL_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub auth_failures_per_minute: u32,
    /// CIDRs or addresses of the proxies whose X-Forwarded-For names the client;
    /// empty: the peer is the client and the header is ignored.
    #[arg(long, env = "CALLTRAIL_TRUSTED_PROXIES", default_value = "", global = true,
          value_parser = parse_trusted_proxies)]
    pub trusted_proxies: TrustedProxies,
}

fn parse_trusted_proxies(spec: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(spec)
}

impl Cli {
    /// Parse the command line with the configuration file's values as defaults;
    /// exits with clap's message on a bad flag or value, as `parse` does.
    pub fn load() -> anyhow::Result<(Cli, file::ConfigFile)> {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<OsString> = std::env::args_os().collect();
        let file = file::ConfigFile::locate_and_load(&args)?;
        let matches = file
            .apply(Cli::command())?
            .try_get_matches_from(&args)
            .unwrap_or_else(|e| e.exit());
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        Ok((cli, file))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrations run first).
    #[command(after_help = "Example: calltrail serve --listen 0.0.0.0:3000 --workers 64")]
    Serve {
        /// The address and port to listen on (0.0.0.0:3000 for every interface).
        #[arg(long, env = "CALLTRAIL_LISTEN", default_value = "127.0.0.1:3000")]
        listen: String,
        /// Where cargo-leptos put the site (pkg/ with the wasm, js and css).
        #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
        site_root: String,
        #[command(flatten)]
        executor: ExecutorArgs,
        /// How long this instance holds a running trigger migration without renewing
        /// it; once it lapses (a crash), another instance or a restart carries on.
        #[arg(long, env = "CALLTRAIL_MIGRATION_LEASE_SECS", default_value_t = 30)]
        migration_lease_secs: u64,
        /// Serve the demo's fake provider at /_sandbox.
        #[arg(long, env = "CALLTRAIL_SANDBOX", default_value = "off", value_parser = ["on", "off"])]
        sandbox: String,
        #[command(flatten)]
        http: HttpArgs,
        /// When set, /metrics answers only `Authorization: Bearer <this token>`.
        #[arg(long, env = "CALLTRAIL_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// Seconds between background retention passes (0: none; `calltrail prune` still works).
        #[arg(long, env = "CALLTRAIL_RETENTION_INTERVAL_SECS", default_value_t = 600)]
        retention_interval_secs: u64,
    },
    /// Remove what retention says is expired, now, with progress (example:
    /// `calltrail prune --dry-run` to see how much would go).
    #[command(after_help = "Example: calltrail prune --dry-run")]
    Prune {
        /// Count what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy every plugin, trigger, attempt, log line, key, user, audit row and
    /// migration from an SQLite file into an empty PostgreSQL database (stop the
    /// server first; keep the same secret key). Sessions are not copied.
    #[command(
        after_help = "Example: calltrail copy --from sqlite://calltrail.db --to postgres://calltrail@db/calltrail"
    )]
    Copy {
        /// The SQLite database (sqlite://FILE); only read.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database (postgres://…); must hold no Calltrail data.
        #[arg(long)]
        to: String,
    },
    /// Run database migrations and exit.
    #[command(
        after_help = "Example: CALLTRAIL_DATABASE_URL=postgres://calltrail@db/calltrail calltrail migrate"
    )]
    Migrate,
    /// The configuration (example: `calltrail config check`, before a deploy).
    #[command(after_help = "Example: calltrail --config /etc/calltrail.toml config check")]
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API keys.
    #[command(
        after_help = "Example: calltrail api-key create --name billing --role ingest --plugins stripe"
    )]
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Print a signed link to one entity's log panel, for an iframe in another application.
    #[command(
        after_help = "Example: calltrail embed-token --entity invoice/INV-1042 --expires-in 3600 --can-rerun"
    )]
    EmbedToken {
        /// The entity, as TYPE/ID (`invoice/INV-1042`; the id may contain `/`).
        #[arg(long)]
        entity: String,
        /// Seconds until the link stops working (60 to 86400).
        #[arg(long, default_value_t = crate::service::embed::DEFAULT_EXPIRES_IN)]
        expires_in: i64,
        /// Let the panel re-run its triggers.
        #[arg(long)]
        can_rerun: bool,
        /// Where the server listens: the link's address when CALLTRAIL_PUBLIC_URL is unset.
        #[arg(long, env = "CALLTRAIL_LISTEN", default_value = "127.0.0.1:3000")]
        listen: String,
    },
    /// Manage the key that seals plugin credentials and payload secrets.
    #[command(
        after_help = "Example: CALLTRAIL_SECRET_KEY=<new> CALLTRAIL_SECRET_KEY_PREVIOUS=<old> calltrail secrets rotate"
    )]
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Manage the people who sign in to the pages.
    #[command(after_help = "Example: calltrail user add --email ada@example.com --role operator")]
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Seed demo plugins and triggers across every status.
    #[command(after_help = "Example: calltrail demo --triggers 600")]
    Demo {
        #[arg(long, default_value_t = 600)]
        triggers: usize,
        /// Where the sandbox plugin sends its calls: the /_sandbox of a server run
        /// with CALLTRAIL_SANDBOX=on.
        #[arg(
            long,
            env = "CALLTRAIL_SANDBOX_URL",
            default_value = "http://127.0.0.1:3000/_sandbox"
        )]
        sandbox_url: String,
    },
}

/// How the server meets browsers: its names, sessions, sign-in limits.
#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// The address people reach Calltrail at (https://… makes session cookies Secure).
    #[arg(long, env = "CALLTRAIL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// More host names (or host:port) the server answers to, comma separated.
    #[arg(long, env = "CALLTRAIL_ALLOWED_HOSTS", default_value = "")]
    pub allowed_hosts: String,
    /// A session unused this long ends.
    #[arg(long, env = "CALLTRAIL_SESSION_IDLE_SECS", default_value_t = 12 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,
    /// A session ends this long after sign-in, however much it is used.
    #[arg(long, env = "CALLTRAIL_SESSION_MAX_SECS", default_value_t = 7 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_max_secs: u64,
}

impl HttpArgs {
    pub fn settings(&self, listen: std::net::SocketAddr) -> anyhow::Result<crate::HttpSettings> {
        let public_url = match self.public_url.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => Some(
                url::Url::parse(u)
                    .map_err(|e| anyhow::anyhow!("CALLTRAIL_PUBLIC_URL {u:?}: {e}"))?,
            ),
            _ => None,
        };
        let hosts =
            crate::guard::AllowedHosts::new(listen, public_url.as_ref(), &self.allowed_hosts)
                .map_err(anyhow::Error::msg)?;
        let sessions = crate::web::SessionSettings {
            idle: std::time::Duration::from_secs(self.session_idle_secs),
            absolute: std::time::Duration::from_secs(self.session_max_secs),
            secure: public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
        };
        Ok(crate::HttpSettings {
            hosts,
            web: crate::web::WebSettings {
                sessions,
                ..Default::default()
            },
        })
    }
}

#[derive(Debug, Args, Clone)]
pub struct ExecutorArgs {
    /// Run the executor in this process (off: serve the API and pages only).
    #[arg(long, env = "CALLTRAIL_EXECUTOR", default_value = "on", value_parser = ["on", "off"])]
    pub executor: String,
    /// Triggers executed at once.
    #[arg(long, env = "CALLTRAIL_WORKERS", default_value_t = 128)]
    pub workers: usize,
    /// How long a claimed trigger is held; longer than any plugin timeout.
    #[arg(long, env = "CALLTRAIL_LEASE_SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: u64,
    /// CIDRs or host names the executor may call despite the SSRF guard.
    #[arg(long, env = "CALLTRAIL_OUTBOUND_ALLOW", default_value = "")]
    pub outbound_allow: String,
    /// A proxy for the executor's calls (http:// or https://); empty: direct.
    /// Environment proxies (HTTP(S)_PROXY, ALL_PROXY) are ignored.
    #[arg(long, env = "CALLTRAIL_OUTBOUND_PROXY", default_value = "")]
    pub outbound_proxy: String,
}

impl ExecutorArgs {
    pub fn config(&self) -> anyhow::Result<Option<crate::executor::ExecutorConfig>> {
        if self.executor == "off" {
            return Ok(None);
        }
        let allow = crate::executor::outbound::AllowList::parse(&self.outbound_allow)
            .map_err(anyhow::Error::msg)?;
        let proxy = crate::executor::outbound::parse_proxy(&self.outbound_proxy)
            .map_err(anyhow::Error::msg)?;
        if proxy.is_some() {
            tracing::warn!(
                "CALLTRAIL_OUTBOUND_PROXY is set: the proxy resolves provider names, so the SSRF \
                 guard checks only literal addresses in URLs"
            );
        }
        Ok(Some(crate::executor::ExecutorConfig {
            concurrency: self.workers.max(1),
            lease: std::time::Duration::from_secs(self.lease_secs.max(1)),
            allow: Arc::new(allow),
            proxy,
            ..Default::default()
        }))
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting `calltrail serve` would use (secrets masked) and where
    /// it came from; exit 1 on problems (bad URL, unreadable key file, a plugin
    /// timeout longer than the lease…).
    #[command(after_help = "Example: calltrail --config prod.toml config check")]
    Check,
    /// Print every setting as a Markdown table (docs/configuration.md).
    #[command(after_help = "Example: calltrail config table > docs/configuration-table.md")]
    Table,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-seal every stored secret under CALLTRAIL_SECRET_KEY (the previous keys
    /// still open what they sealed). Safe to run while servers run, and again.
    #[command(after_help = "Example: calltrail secrets rotate --batch 1000")]
    Rotate {
        /// Triggers read per batch.
        #[arg(long, default_value_t = 500,
              value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once, alone on the last line.
    #[command(
        after_help = "Example: calltrail api-key create --name crm --role operator --expires-in 90"
    )]
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "operator", "viewer", "ingest"])]
        role: String,
        /// The plugins (names, comma-separated) the key may see; every plugin without it.
        #[arg(long, value_delimiter = ',')]
        plugins: Option<Vec<String>>,
        /// The key stops working after this many days.
        #[arg(long, conflicts_with = "expires_at",
              value_parser = clap::value_parser!(u32).range(1..=3_650_000))]
        expires_in: Option<u32>,
        /// The key stops working at this time (RFC 3339, 2027-01-31T00:00:00Z).
        #[arg(long, value_parser = parse_time)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List every key (never the key itself): id, name, role, plugins, created,
    /// expires, last used, revoked.
    #[command(after_help = "Example: calltrail api-key list")]
    List,
    /// Revoke a key by its id: every running instance refuses it at once.
    #[command(after_help = "Example: calltrail api-key revoke 0b7c6f1e-…")]
    Revoke { id: String },
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time such as 2027-01-31T00:00:00Z"))
}

/// Embedding an entity's panel in another application: the key its links are
/// signed with (never the secret key) and who may frame it.
#[derive(Debug, Args, Clone)]
pub struct EmbedArgs {
    /// 64 hex characters; without it a key file is used (created on first start).
    #[arg(
        long,
        env = "CALLTRAIL_EMBED_KEY",
        hide_env_values = true,
        global = true
    )]
    pub embed_key: Option<String>,
    /// The file the embed key is read from when CALLTRAIL_EMBED_KEY is unset
    /// (created on first start).
    #[arg(
        long,
        env = "CALLTRAIL_EMBED_KEY_FILE",
        default_value = "calltrail-embed.key",
        global = true
    )]
    pub embed_key_file: PathBuf,
    /// Origins that may show /embed/… in a frame (comma list; 'self' by default).
    #[arg(
        long,
        env = "CALLTRAIL_EMBED_ORIGINS",
        default_value = "'self'",
        global = true
    )]
    pub embed_origins: String,
    /// The address people reach Calltrail at (https://calltrail.example.com): embed
    /// links are absolute with it.
    #[arg(long, env = "CALLTRAIL_PUBLIC_URL", default_value = "", global = true)]
    pub public_url: String,
}

impl EmbedArgs {
    /// Read the key (creating its file if needed) and check the origins and URL.
    pub fn settings(&self) -> anyhow::Result<EmbedSettings> {
        let key = match &self.embed_key {
            Some(hex) => EmbedKey::from_hex(hex)?,
            None => EmbedKey::from_file(&self.embed_key_file)?,
        };
        Ok(EmbedSettings {
            key,
            public_url: EmbedSettings::parse_public_url(&self.public_url)
                .map_err(anyhow::Error::msg)?,
            frame_ancestors: EmbedSettings::parse_origins(&self.embed_origins)
                .map_err(anyhow::Error::msg)?,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is asked for (or read from stdin when it is not a terminal).
    #[command(after_help = "Example: calltrail user add --email ada@example.com --role admin")]
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "operator", "viewer", "ingest"])]
        role: String,
        /// Plugin names the user may see (comma separated); all when left out.
        #[arg(long, value_delimiter = ',')]
        plugins: Option<Vec<String>>,
    },
    /// List the users: email, role, plugins, whether disabled, when created.
    #[command(after_help = "Example: calltrail user list")]
    List,
    /// Disable a user by email: their sessions end at once; the user is kept, for
    /// the audit trail (example: `calltrail user disable --email ada@example.com`).
    #[command(after_help = "Example: calltrail user disable --email ada@example.com")]
    Disable {
        #[arg(long)]
        email: String,
    },
}

impl DbArgs {
    /// Open the database, run migrations, and build the service.
    pub async fn service(&self) -> anyhow::Result<Arc<Service>> {
        let store = storage::open(&self.database_url, self.db_pool).await?;
        store.migrate().await?;
        let secrets = match &self.secret_key {
            Some(hex) => SecretBox::from_hex(hex)?,
            None => SecretBox::from_file(&self.secret_key_file)?,
        }
        .with_previous(self.secret_key_previous.as_deref().unwrap_or(""))?;
        let limits = Limits {
            max_body_bytes: self.max_body_bytes,
            max_export_rows: self.export_max_rows,
            auth_failures_per_minute: self.auth_failures_per_minute,
            trusted_proxies: self.trusted_proxies.clone(),
            ..Limits::default()
        };
        let retention = crate::service::RetentionPolicy::from_days(
            self.retention_detail_days,
            self.retention_summary_days,
        )
        .map_err(anyhow::Error::msg)?;
        let service = Service::new(store, secrets, limits);
        service.set_retention(retention);
        Ok(service)
    }
}

pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("calltrail")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(leptos::prelude::Env::PROD)
        .build()
}
