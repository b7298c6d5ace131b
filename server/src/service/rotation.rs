//! Key rotation: every sealed value re-sealed under the current key, bound to its
//! owner (which also upgrades values sealed before owners existed).
//!
//! It runs beside live servers: each row is rewritten only if it is still what was
//! read, so a concurrent change is never overwritten (it is counted and left to the
//! next run). Rows already sealed under the current key are skipped, so a second
//! run, or one after an interruption, does only what is left. Triggers and
//! migrations are read a page at a time in id order; plugins are few and read at
//! once.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use uuid::Uuid;

use super::secrets::Owner;
use super::{redact, SecretError, Service, ServiceError};
use crate::storage::PluginRecord;

/// What happened to one kind of row.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Rows rewritten under the current key.
    pub resealed: u64,
    /// Rows already sealed under the current key.
    pub current: u64,
    /// Rows another writer changed between read and rewrite: run again.
    pub changed_meanwhile: u64,
    /// Rows with a value no configured key opens (for this owner).
    pub failed: Vec<Uuid>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub plugins: Tally,
    pub triggers: Tally,
    pub migrations: Tally,
}

impl Rotation {
    /// Whether every sealed value is now under the current key (the previous keys
    /// can be removed).
    pub fn complete(&self) -> bool {
        [&self.plugins, &self.triggers, &self.migrations]
            .iter()
            .all(|t| t.failed.is_empty() && t.changed_meanwhile == 0)
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} re-sealed, {} already current, {} changed meanwhile, {} failed",
            self.resealed,
            self.current,
            self.changed_meanwhile,
            self.failed.len()
        )?;
        if !self.failed.is_empty() {
            let shown: Vec<String> = self.failed.iter().take(10).map(Uuid::to_string).collect();
            write!(
                f,
                " ({}{})",
                shown.join(", "),
                if self.failed.len() > 10 { ", …" } else { "" }
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plugins: {}", self.plugins)?;
        writeln!(f, "triggers: {}", self.triggers)?;
        write!(f, "migrations: {}", self.migrations)
    }
}

/// One row's outcome.
enum Resealed<T> {
    Current,
    New(T),
}

impl Service {
    /// Re-seal everything sealed under the current key, `batch` rows per read.
    pub async fn rotate_secrets(&self, batch: u32) -> Result<Rotation, ServiceError> {
        let batch = batch.clamp(1, 10_000);
        let rotation = Rotation {
            plugins: self.rotate_plugins().await?,
            triggers: self.rotate_rows(SealedRows::Payloads, batch).await?,
            migrations: self.rotate_rows(SealedRows::MigrationSpecs, batch).await?,
        };
        self.plugins.clear();
        Ok(rotation)
    }

    async fn rotate_plugins(&self) -> Result<Tally, ServiceError> {
        let mut tally = Tally::default();
        for record in self.store.reads().list_plugins().await? {
            let id = record.plugin.id;
            match self.resealed_plugin(&record) {
                Err(_) => tally.failed.push(id),
                Ok(Resealed::Current) => tally.current += 1,
                Ok(Resealed::New(new)) => {
                    if self
                        .store
                        .writes()
                        .replace_plugin_secrets(&new, record.plugin.updated_at)
                        .await?
                    {
                        tally.resealed += 1;
                    } else {
                        tally.changed_meanwhile += 1;
                    }
                }
            }
        }
        Ok(tally)
    }

    /// The plugin with each sealed column re-sealed, and sensitive headers a
    /// database from before sealing holds in plain text moved into the sealed map.
    fn resealed_plugin(
        &self,
        record: &PluginRecord,
    ) -> Result<Resealed<PluginRecord>, SecretError> {
        let id = record.plugin.id;
        let mut new = record.clone();
        let mut changed = false;
        for (column, owner) in [
            (&mut new.auth_sealed, Owner::PluginAuth(id)),
            (
                &mut new.signing_secret_sealed,
                Owner::PluginSigningSecret(id),
            ),
        ] {
            if let Some(sealed) = column.as_ref() {
                if let Some(fresh) = self.secrets.reseal(sealed, owner)? {
                    *column = Some(fresh);
                    changed = true;
                }
            }
        }
        let owner = Owner::PluginHeaders(id);
        match self.plain_headers_sealed(record)? {
            Some(sealed) => {
                new.plugin.headers = sealed.plugin.headers;
                new.headers_sealed = sealed.headers_sealed;
                changed = true;
            }
            None => {
                if let Some(sealed) = &record.headers_sealed {
                    if let Some(fresh) = self.secrets.reseal(sealed, owner)? {
                        new.headers_sealed = Some(fresh);
                        changed = true;
                    }
                }
            }
        }
        Ok(if changed {
            Resealed::New(new)
        } else {
            Resealed::Current
        })
    }

    /// The plugin with the sensitive static headers a database from before they
    /// were sealed holds in plain text moved into its sealed map; `None` when it
    /// holds none.
    fn plain_headers_sealed(
        &self,
        record: &PluginRecord,
    ) -> Result<Option<PluginRecord>, SecretError> {
        let plain: BTreeMap<String, String> = record
            .plugin
            .headers
            .iter()
            .filter(|(n, v)| {
                redact::is_secret_header(n, &record.plugin.redact) && v.as_str() != redact::REDACTED
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if plain.is_empty() {
            return Ok(None);
        }
        let owner = Owner::PluginHeaders(record.plugin.id);
        let mut all: BTreeMap<String, String> = match &record.headers_sealed {
            Some(sealed) => serde_json::from_slice(&self.secrets.open(sealed, owner)?)
                .map_err(|_| SecretError::Unseal)?,
            None => BTreeMap::new(),
        };
        let mut new = record.clone();
        for (name, value) in plain {
            new.plugin
                .headers
                .insert(name.clone(), redact::REDACTED.to_string());
            all.insert(name, value);
        }
        let json = serde_json::to_vec(&all).expect("a map of strings serialises");
        new.headers_sealed = Some(self.secrets.seal(&json, owner));
        Ok(Some(new))
    }

    /// Seal the sensitive static headers a database from before they were sealed
    /// still holds in plain text (run at start). Says how many plugins it sealed.
    pub async fn seal_plain_headers(&self) -> Result<u64, ServiceError> {
        let mut sealed = 0;
        for record in self.store.reads().list_plugins().await? {
            match self.plain_headers_sealed(&record) {
                Ok(None) => {}
                Ok(Some(new)) => {
                    if self
                        .store
                        .writes()
                        .replace_plugin_secrets(&new, record.plugin.updated_at)
                        .await?
                    {
                        sealed += 1;
                    }
                }
                Err(e) => tracing::warn!(
                    plugin = %record.plugin.name,
                    "its plain sensitive headers stay until `calltrail secrets rotate`: {e}"
                ),
            }
        }
        if sealed > 0 {
            self.plugins.clear();
        }
        Ok(sealed)
    }

    /// Re-seal one kind of sealed text, page by page; a row changed meanwhile is
    /// left as its writer left it.
    async fn rotate_rows(&self, rows: SealedRows, batch: u32) -> Result<Tally, ServiceError> {
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let page = match rows {
                SealedRows::Payloads => self.store.reads().sealed_payloads(after, batch).await?,
                SealedRows::MigrationSpecs => {
                    self.store
                        .reads()
                        .sealed_migration_specs(after, batch)
                        .await?
                }
            };
            for (id, text) in &page {
                let resealed = match rows {
                    SealedRows::Payloads => self.resealed_text(text, |v| {
                        self.secrets.reseal_payload(v, Owner::TriggerPayload(*id))
                    }),
                    SealedRows::MigrationSpecs => self.resealed_text(text, |spec| {
                        self.resealed_spec(spec, Owner::MigrationPayload(*id))
                    }),
                };
                match resealed {
                    Err(_) => tally.failed.push(*id),
                    Ok(Resealed::Current) => tally.current += 1,
                    Ok(Resealed::New(new)) => {
                        let replaced = match rows {
                            SealedRows::Payloads => {
                                self.store.writes().replace_payload(*id, text, &new).await?
                            }
                            SealedRows::MigrationSpecs => {
                                self.store
                                    .writes()
                                    .replace_migration_spec(*id, text, &new)
                                    .await?
                            }
                        };
                        if replaced {
                            tally.resealed += 1;
                        } else {
                            tally.changed_meanwhile += 1;
                        }
                    }
                }
            }
            if page.len() < batch as usize {
                return Ok(tally);
            }
            after = page.last().map(|(id, _)| *id);
        }
    }

    /// A migration spec with its items' payloads re-sealed (the rest is plain);
    /// `None` when nothing needed it.
    fn resealed_spec(&self, spec: &Value, owner: Owner) -> Result<Option<Value>, SecretError> {
        let mut spec = spec.clone();
        let mut changed = false;
        if let Some(Value::Array(items)) = spec.get_mut("create") {
            for item in items {
                if let Some(payload) = item.get_mut("payload") {
                    if let Some(fresh) = self.secrets.reseal_payload(payload, owner)? {
                        *payload = fresh;
                        changed = true;
                    }
                }
            }
        }
        Ok(changed.then_some(spec))
    }

    fn resealed_text(
        &self,
        text: &str,
        reseal: impl FnOnce(&Value) -> Result<Option<Value>, SecretError>,
    ) -> Result<Resealed<String>, SecretError> {
        let value: Value = serde_json::from_str(text).map_err(|_| SecretError::Unseal)?;
        Ok(match reseal(&value)? {
            Some(new) => Resealed::New(new.to_string()),
            None => Resealed::Current,
        })
    }
}

/// The texts that hold sealed values, each re-sealed the same way.
#[derive(Debug, Clone, Copy)]
enum SealedRows {
    /// Triggers' payloads.
    Payloads,
    /// Trigger migrations' specs (the payloads of the triggers they create).
    MigrationSpecs,
}
