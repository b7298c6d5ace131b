//! `calltrail api-key create|list|revoke`: the same service calls as the REST
//! API, made by the system actor `cli`.

use chrono::{DateTime, Utc};

use crate::config::ApiKeyCommand;
use crate::service::{ApiKey, ApiKeyInput, Principal, Service};

pub async fn run(service: &Service, command: ApiKeyCommand) -> anyhow::Result<()> {
    let cli = Principal::system("cli");
    let failed = |e: crate::service::ServiceError| anyhow::anyhow!("{e}");
    match command {
        ApiKeyCommand::Create {
            name,
            role,
            plugins,
            expires_in,
            expires_at,
        } => {
            let expires_at = expires_at.or_else(|| {
                expires_in.map(|days| crate::clock::now() + chrono::Duration::days(days.into()))
            });
            let input = ApiKeyInput {
                name,
                role,
                plugins,
                expires_at,
            };
            let issued = service.issue_api_key(&cli, input).await.map_err(failed)?;
            let k = &issued.api_key;
            println!(
                "API key {:?} ({}, {}, expires {}) created with id {}; it is shown only once:",
                k.name,
                k.role,
                plugins_text(k),
                time_text(k.expires_at),
                k.id
            );
            println!("{}", issued.key);
        }
        ApiKeyCommand::List => {
            let keys = service.list_api_keys(&cli).await.map_err(failed)?;
            print!("{}", table(&keys));
        }
        ApiKeyCommand::Revoke { id } => {
            let k = service.revoke_api_key(&cli, &id).await.map_err(failed)?;
            println!(
                "API key {:?} ({}) is revoked since {}",
                k.name,
                k.id,
                time_text(k.revoked_at)
            );
        }
    }
    Ok(())
}

const HEADINGS: [&str; 8] = [
    "ID",
    "NAME",
    "ROLE",
    "PLUGINS",
    "CREATED",
    "EXPIRES",
    "LAST USED",
    "REVOKED",
];

/// The keys as a table with aligned columns, a heading line first.
pub fn table(keys: &[ApiKey]) -> String {
    let rows: Vec<[String; 8]> = keys
        .iter()
        .map(|k| {
            [
                k.id.to_string(),
                k.name.clone(),
                k.role.clone(),
                plugins_text(k),
                time_text(Some(k.created_at)),
                time_text(k.expires_at),
                time_text(k.last_used_at),
                time_text(k.revoked_at),
            ]
        })
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(HEADINGS.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn plugins_text(k: &ApiKey) -> String {
    match &k.plugins {
        Some(names) => names.join(","),
        None => "all".into(),
    }
}

fn time_text(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}
