use tracing_subscriber::EnvFilter;

use std::sync::Arc;

use calltrail::config::{self, Cli, Command, ConfigCommand, SecretsCommand, UserCommand};
use calltrail::executor::Executor;
use calltrail::service::{EmbedTokenInput, Principal};

/// Allocation is a large share of each request's CPU; mimalloc does it faster than
/// the system allocator (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // CALLTRAIL_LOG_FORMAT=json: one JSON object per line, for log shippers.
    if std::env::var("CALLTRAIL_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    let (cli, file) = Cli::load()?;
    match cli.command {
        Command::Config { command } => match command {
            ConfigCommand::Table => print!("{}", config::check::settings_table()),
            ConfigCommand::Check => {
                let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
                let report = config::check::check(&args, &file).await;
                print!("{}", report.render());
                if !report.problems.is_empty() {
                    std::process::exit(1);
                }
            }
        },
        Command::Serve {
            listen,
            site_root,
            executor,
            migration_lease_secs,
            sandbox,
            metrics_token,
            retention_interval_secs,
            http,
        } => {
            let service = cli.db.service().await?;
            seal_plain_headers(&service).await;
            service.set_embed(cli.embed.settings()?);
            service
                .set_migration_lease(std::time::Duration::from_secs(migration_lease_secs.max(1)));
            service.set_metrics_token(metrics_token.filter(|t| !t.is_empty()));
            let (stop, stopped) = tokio::sync::watch::channel(false);
            // Trigger migrations left running (here or by a stopped instance) carry on.
            let migrations = tokio::spawn(service.clone().run_migrations(stopped.clone()));
            let retention = (retention_interval_secs > 0).then(|| {
                tokio::spawn(service.clone().run_retention(
                    std::time::Duration::from_secs(retention_interval_secs),
                    stopped.clone(),
                ))
            });
            let worker = match executor.config()? {
                Some(config) => {
                    let ex = Arc::new(Executor::new(service.clone(), config));
                    ex.check_lease().await?;
                    Some(tokio::spawn(ex.run(stopped)))
                }
                None => None,
            };
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let addr = listener.local_addr()?;
            tracing::info!("Calltrail listening on http://{addr}");
            // Also on stdout, alone on its line, for whoever started us with port 0.
            println!("Calltrail listening on http://{addr}");
            let options = config::leptos_options(&site_root, addr);
            let settings = http.settings(addr)?;
            let app = calltrail::app_with(service, options, sandbox == "on", &settings);
            calltrail::serve_router(listener, app, async move {
                shutdown_signal().await;
                // Stop claiming; in-flight calls get the grace period below.
                let _ = stop.send(true);
            })
            .await?;
            // Running migrations stop between two items and give their leases up.
            let _ = migrations.await;
            if let Some(retention) = retention {
                let _ = retention.await;
            }
            if let Some(worker) = worker {
                let grace = std::time::Duration::from_secs(10);
                if tokio::time::timeout(grace, worker).await.is_err() {
                    tracing::warn!(
                        "in-flight calls did not finish within {grace:?}; their leases will expire \
                         and another worker will run them again"
                    );
                }
            }
        }
        Command::Copy { from, to } => {
            let bar = spinner();
            let show = |table: &str, n: u64| {
                bar.set_message(format!("{table}: {n} rows"));
                bar.tick();
            };
            let report =
                calltrail::storage::copy::copy_sqlite_to_postgres(&from, &to, &show).await?;
            bar.finish_and_clear();
            for (table, n) in report {
                println!("{table:24} {n:>10} rows");
            }
            println!("copied; point CALLTRAIL_DATABASE_URL at the PostgreSQL database");
        }
        Command::Migrate => {
            let service = cli.db.service().await?;
            seal_plain_headers(&service).await;
            println!("migrations are up to date");
        }
        Command::ApiKey { command } => {
            let service = cli.db.service().await?;
            calltrail::commands::api_key::run(&service, command).await?;
        }
        Command::EmbedToken {
            entity,
            expires_in,
            can_rerun,
            listen,
        } => {
            let (entity_type, entity_id) = entity.split_once('/').ok_or_else(|| {
                anyhow::anyhow!("--entity is TYPE/ID, for example invoice/INV-1042")
            })?;
            let mut settings = cli.embed.settings()?;
            if settings.public_url.is_none() {
                // Unset, the link points where this machine's server listens.
                settings.public_url =
                    Some(format!("http://{}", listen.replace("0.0.0.0", "127.0.0.1")));
            }
            let service = cli.db.service().await?;
            service.set_embed(settings);
            let input = EmbedTokenInput {
                entity: app::domain::EntityRef {
                    entity_type: entity_type.to_string(),
                    id: entity_id.to_string(),
                },
                expires_in: Some(expires_in),
                can_rerun,
            };
            let issued = service
                .issue_embed_token(&Principal::system("command line"), input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "A link to {entity_type}/{entity_id}'s panel, valid until {}{}:",
                issued
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                if can_rerun {
                    ", that may re-run its triggers"
                } else {
                    ""
                }
            );
            println!("{}", issued.url);
        }
        Command::Secrets {
            command: SecretsCommand::Rotate { batch },
        } => {
            let service = cli.db.service().await?;
            let rotation = service
                .rotate_secrets(batch)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("{rotation}");
            if !rotation.complete() {
                anyhow::bail!(
                    "not everything is sealed under the current key yet: keep the previous \
                     keys, and run `calltrail secrets rotate` again (rows that failed open \
                     with none of the configured keys)"
                );
            }
            println!("every secret is sealed under the current key; the previous keys can go");
        }
        Command::Prune { dry_run } => {
            let service = cli.db.service().await?;
            let bar = spinner();
            let verb = if dry_run { "would remove" } else { "removed" };
            let show = |r: calltrail::service::PruneReport| {
                bar.set_message(format!(
                    "{verb}: details of {} triggers, {} whole triggers",
                    r.details_removed, r.triggers_deleted
                ));
                bar.tick();
            };
            let report = service
                .prune(dry_run, &show)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            bar.finish_and_clear();
            let policy = service.retention();
            let days = |d: Option<std::time::Duration>| {
                d.map(|d| format!("{} days", d.as_secs() / 86_400))
                    .unwrap_or_else(|| "forever".into())
            };
            println!(
                "{}: details (payload, attempts, logs) of {} finished triggers older than {}; \
                 {} whole triggers older than {}",
                if dry_run {
                    "dry run, would remove"
                } else {
                    "removed"
                },
                report.details_removed,
                days(policy.detail),
                report.triggers_deleted,
                days(policy.summary),
            );
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    plugins,
                },
        } => {
            let service = cli.db.service().await?;
            let password = calltrail::cli::read_password()?;
            let input = calltrail::service::UserInput {
                email,
                role,
                plugins,
                password: calltrail::service::Secret::new(password),
            };
            let user = service
                .create_user(
                    &calltrail::service::Principal::system("command line"),
                    input,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("user {} ({}) added", user.email, user.role);
        }
        Command::User {
            command: UserCommand::List,
        } => {
            let service = cli.db.service().await?;
            let who = calltrail::service::Principal::system("command line");
            let users = every_user(&service, &who).await?;
            println!(
                "{:<36}  {:<32}  {:<8}  {:<20}  {:<8}  created",
                "id", "email", "role", "plugins", "state"
            );
            for u in users {
                let plugins = u
                    .plugins
                    .map(|p| p.join(","))
                    .unwrap_or_else(|| "all".into());
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<36}  {:<32}  {:<8}  {:<20}  {:<8}  {}",
                    u.id,
                    u.email,
                    u.role,
                    plugins,
                    state,
                    u.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        Command::User {
            command: UserCommand::Disable { email },
        } => {
            let service = cli.db.service().await?;
            let who = calltrail::service::Principal::system("command line");
            let users = every_user(&service, &who).await?;
            let user = users
                .into_iter()
                .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
                .ok_or_else(|| anyhow::anyhow!("no user with the email {email:?}"))?;
            let patch = calltrail::service::UserPatch {
                disabled: Some(true),
                ..Default::default()
            };
            service
                .update_user(&who, &user.id.to_string(), patch)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("user {} disabled; their sessions have ended", user.email);
        }
        Command::Demo {
            triggers,
            sandbox_url,
        } => {
            let service = cli.db.service().await?;
            let n = calltrail::demo::seed(&service, triggers, &sandbox_url).await?;
            println!("demo data: {n} triggers");
            // Only when the demo created its data: a second run leaves the account alone.
            if n > 0 {
                let (email, password) = calltrail::demo::admin_user(&service).await?;
                println!("sign in at /login as {email} with the password {password}");
            }
        }
    }
    Ok(())
}

/// Headers stored in plain text before sensitive ones were sealed get sealed as
/// soon as a process holding the key starts (a failure only delays it).
async fn every_user(
    service: &calltrail::service::Service,
    who: &calltrail::service::Principal,
) -> anyhow::Result<Vec<calltrail::service::User>> {
    service
        .list_users(who)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn seal_plain_headers(service: &calltrail::service::Service) {
    match service.seal_plain_headers().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("sealed the sensitive static headers of {n} plugin(s)"),
        Err(e) => tracing::warn!(
            "sealing sensitive static headers stored in plain text: {}",
            e.message()
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// A progress line for long commands (prune, copy): a spinner, the time taken
/// and what has been done so far.
fn spinner() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .expect("a valid template"),
    );
    bar
}
