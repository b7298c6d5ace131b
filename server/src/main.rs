use clap::Parser;
use tracing_subscriber::EnvFilter;

use std::sync::Arc;

use calltrail::config::{self, ApiKeyCommand, Cli, Command, UserCommand};
use calltrail::executor::Executor;
use calltrail::service::Role;

/// Allocation is a large share of each request's CPU; mimalloc does it faster than
/// the system allocator (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            site_root,
            executor,
            migration_lease_secs,
            sandbox,
            http,
        } => {
            let service = cli.db.service().await?;
            service
                .set_migration_lease(std::time::Duration::from_secs(migration_lease_secs.max(1)));
            let (stop, stopped) = tokio::sync::watch::channel(false);
            // Trigger migrations left running (here or by a stopped instance) carry on.
            let migrations = tokio::spawn(service.clone().run_migrations(stopped.clone()));
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
        Command::Migrate => {
            cli.db.service().await?;
            println!("migrations are up to date");
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create { name, role },
        } => {
            let service = cli.db.service().await?;
            let role = Role::parse(&role).expect("clap checked the role");
            let key = service
                .create_api_key(&name, role)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!(
                "API key {name:?} ({}) created; it is shown only once:",
                role.as_str()
            );
            println!("{key}");
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
