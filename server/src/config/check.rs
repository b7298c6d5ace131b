//! `calltrail config check`: the configuration `calltrail serve` would run with,
//! each setting's value (secrets masked) and where it came from, then every
//! problem found, so a bad setting is found before a deploy rather than by it.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::file::ConfigFile;
use super::{Cli, Command};

/// One setting as `serve` would see it.
#[derive(Debug)]
pub struct Effective {
    pub env: String,
    pub value: String,
    pub from: &'static str,
}

/// What the check found: the settings, and the problems (empty: all good).
#[derive(Debug, Default)]
pub struct Report {
    pub file: String,
    pub settings: Vec<Effective>,
    pub notes: Vec<String>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = format!("Configuration file: {}\n\n", self.file);
        let width = self.settings.iter().map(|s| s.env.len()).max().unwrap_or(0);
        for s in &self.settings {
            let _ = writeln!(out, "{:width$}  {:8}  {}", s.env, s.from, s.value);
        }
        for note in &self.notes {
            let _ = writeln!(out, "\nnote: {note}");
        }
        if self.problems.is_empty() {
            out.push_str("\nNo problems found.\n");
        } else {
            let _ = writeln!(out, "\n{} problem(s):", self.problems.len());
            for p in &self.problems {
                let _ = writeln!(out, "  - {p}");
            }
        }
        out
    }
}

/// Check what `calltrail <global flags> serve` would run with. `args` is the
/// command line that asked for the check (its global flags count).
pub async fn check(args: &[OsString], file: &ConfigFile) -> Report {
    let mut report = Report {
        file: file.path_text(),
        ..Default::default()
    };
    // The same command line, asking to serve instead of to check.
    let mut serve_args: Vec<OsString> = args
        .iter()
        .take_while(|a| a.as_os_str() != "config")
        .cloned()
        .collect();
    serve_args.push("serve".into());
    let cmd = match file.apply(Cli::command()) {
        Ok(cmd) => cmd,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    let matches = match cmd.clone().try_get_matches_from(&serve_args) {
        Ok(m) => m,
        Err(e) => {
            report
                .problems
                .push(e.render().to_string().trim().to_string());
            return report;
        }
    };
    let serve_matches = matches.subcommand_matches("serve").cloned();
    let serve_cmd = cmd.find_subcommand("serve").cloned();
    report.settings = effective(&cmd, &matches, file);
    if let (Some(sub), Some(sub_matches)) = (&serve_cmd, &serve_matches) {
        for setting in effective(sub, sub_matches, file) {
            // A setting both a global and `serve` read (CALLTRAIL_PUBLIC_URL) once.
            if !report.settings.iter().any(|s| s.env == setting.env) {
                report.settings.push(setting);
            }
        }
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    validate(&cli, &mut report).await;
    report
}

fn effective(cmd: &clap::Command, matches: &ArgMatches, file: &ConfigFile) -> Vec<Effective> {
    cmd.get_arguments()
        .filter_map(|arg| {
            let key = super::file::file_key(arg)?;
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let id = arg.get_id().as_str();
            let raw: Vec<String> = matches
                .get_raw(id)
                .map(|vals| vals.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let value = raw.join(",");
            let from = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => "flag",
                Some(ValueSource::EnvVariable) => "env",
                Some(ValueSource::DefaultValue) if file.values.contains_key(&key) => "file",
                Some(ValueSource::DefaultValue) => "default",
                _ => "unset",
            };
            let value = if value.is_empty() {
                "(empty)".to_string()
            } else if arg.is_hide_env_values_set() {
                "******** (set)".to_string()
            } else if env == "CALLTRAIL_DATABASE_URL" {
                mask_password(&value)
            } else {
                value
            };
            Some(Effective { env, value, from })
        })
        .collect()
}

/// `postgres://user:secret@host/db` → `postgres://user:********@host/db`.
fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

async fn validate(cli: &Cli, report: &mut Report) {
    let Command::Serve {
        listen,
        executor,
        http,
        ..
    } = &cli.command
    else {
        return;
    };
    let db = &cli.db;
    let mut problem = |p: String| report.problems.push(p);

    let listen_addr = match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problem(format!(
                "CALLTRAIL_LISTEN {listen:?} is not an address such as 127.0.0.1:3000"
            ));
            None
        }
    };
    if let Some(addr) = listen_addr {
        if let Err(e) = http.settings(addr) {
            problem(e.to_string());
        }
    }
    if let Err(e) = executor.config() {
        problem(format!("executor: {e}"));
    }
    let lease = (executor.executor == "on").then(|| Duration::from_secs(executor.lease_secs));
    if let Err(e) = crate::service::RetentionPolicy::from_days(
        db.retention_detail_days,
        db.retention_summary_days,
    ) {
        problem(format!("retention: {e}"));
    }
    match &db.secret_key {
        Some(hex) => {
            if let Err(e) = crate::service::SecretBox::from_hex(hex) {
                problem(format!("CALLTRAIL_SECRET_KEY: {e}"));
            }
        }
        None if db.secret_key_file.exists() => {
            if let Err(e) = crate::service::SecretBox::from_file(&db.secret_key_file) {
                problem(format!("CALLTRAIL_SECRET_KEY_FILE: {e}"));
            }
        }
        None => report.notes.push(format!(
            "the secret key file {} does not exist: it is created on first start",
            db.secret_key_file.display()
        )),
    }
    let embed = &cli.embed;
    let mut problem = |p: String| report.problems.push(p);
    match &embed.embed_key {
        Some(hex) => {
            if let Err(e) = crate::service::EmbedKey::from_hex(hex) {
                problem(format!("CALLTRAIL_EMBED_KEY: {e}"));
            }
        }
        None if embed.embed_key_file.exists() => {
            if let Err(e) = crate::service::EmbedKey::from_file(&embed.embed_key_file) {
                problem(format!("CALLTRAIL_EMBED_KEY_FILE: {e}"));
            }
        }
        None => {}
    }
    if let Err(e) = crate::service::EmbedSettings::parse_origins(&embed.embed_origins) {
        problem(format!("CALLTRAIL_EMBED_ORIGINS: {e}"));
    }
    // CALLTRAIL_PUBLIC_URL is checked with the HTTP settings above.
    check_database(cli, lease, report).await;
}

/// The database answers, and no plugin waits longer than the executor's lease.
/// An SQLite file that does not exist yet is not created by a check.
async fn check_database(cli: &Cli, lease: Option<Duration>, report: &mut Report) {
    let url = &cli.db.database_url;
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let file = rest.split('?').next().unwrap_or(rest);
        if !std::path::Path::new(file).exists() {
            report.notes.push(format!(
                "the SQLite file {file} does not exist: it is created on first start"
            ));
            return;
        }
    }
    let opened = tokio::time::timeout(
        Duration::from_secs(10),
        crate::storage::open(url, cli.db.db_pool.min(2)),
    )
    .await;
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            report.problems.push(format!("CALLTRAIL_DATABASE_URL: {e}"));
            return;
        }
        Err(_) => {
            report.problems.push(format!(
                "CALLTRAIL_DATABASE_URL: {} did not answer within 10 s",
                mask_password(url)
            ));
            return;
        }
    };
    let Some(lease) = lease else { return };
    match store.reads().list_plugins().await {
        Ok(plugins) => {
            let lease_ms = lease.as_millis() as u64;
            for p in plugins.iter().filter(|p| p.plugin.timeout_ms >= lease_ms) {
                report.problems.push(format!(
                    "plugin {} waits {} ms for an answer, as long as or longer than the executor \
                     lease ({lease_ms} ms): raise CALLTRAIL_LEASE_SECS",
                    p.plugin.name, p.plugin.timeout_ms
                ));
            }
        }
        Err(e) => report.notes.push(format!(
            "could not read the plugins (has `calltrail migrate` run?): {e}"
        )),
    }
}

/// Every setting as a Markdown table (docs/configuration.md holds it).
pub fn settings_table() -> String {
    let cmd = Cli::command();
    let mut out = String::from(
        "| Environment | calltrail.toml | Flag | Default | What it does |\n|---|---|---|---|---|\n",
    );
    let mut seen = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
    collect_rows(&cmd, &mut seen, &mut rows);
    for row in rows {
        out.push_str(&row);
    }
    out
}

fn collect_rows(
    cmd: &clap::Command,
    seen: &mut std::collections::BTreeSet<String>,
    rows: &mut Vec<String>,
) {
    for arg in cmd.get_arguments() {
        let (Some(env), Some(key)) = (arg.get_env(), super::file::file_key(arg)) else {
            continue;
        };
        let env = env.to_string_lossy().into_owned();
        if !seen.insert(env.clone()) {
            continue;
        }
        let flag = arg
            .get_long()
            .map(|l| format!("`--{l}`"))
            .unwrap_or_default();
        let default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = match default.join(",") {
            d if d.is_empty() => "—".to_string(),
            d => format!("`{d}`"),
        };
        let help = arg
            .get_help()
            .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
            .unwrap_or_default();
        let scope = match cmd.get_name() {
            "calltrail" => String::new(),
            sub => format!(" ({sub})"),
        };
        rows.push(format!(
            "| `{env}` | `{key}` | {flag} | {default} | {help}{scope} |\n"
        ));
    }
    for sub in cmd.get_subcommands() {
        collect_rows(sub, seen, rows);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_guide_lists_every_setting_as_the_binary_knows_them() {
        let doc = include_str!("../../../docs/configuration.md");
        let table = super::settings_table();
        assert!(
            doc.contains(&table),
            "docs/configuration.md is out of date; put this table in it \
             (`calltrail config table` prints it):\n{table}"
        );
    }

    #[test]
    fn a_database_password_is_masked() {
        assert_eq!(
            super::mask_password("postgres://app:hunter2@db:5432/calltrail"),
            "postgres://app:********@db:5432/calltrail"
        );
    }
}
