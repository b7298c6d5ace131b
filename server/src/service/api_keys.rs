//! API keys as admins manage them: issued with a role, an optional plugin scope
//! and an optional expiry; listed without the key; revoked at once everywhere.
//! The key itself is shown once, when it is issued; only its hash is stored.
//! A plugin scope is given and shown as plugin names but stored as ids, so a
//! plugin's rename keeps it.

use std::collections::{BTreeSet, HashMap};

use rand::RngCore;

use uuid::Uuid;

use super::auth::hash_key;
use super::triggers::check_time;
use super::{Identity, Permission, Principal, Role, Service, ServiceError};
use crate::storage::{ApiKeyRecord, AuditedChange};

pub use app::domain::{ApiKey, ApiKeyInput, NewApiKey};

impl Service {
    /// Issue a key. Audited (`api_key.create`).
    pub async fn issue_api_key(
        &self,
        who: &Principal,
        input: ApiKeyInput,
    ) -> Result<NewApiKey, ServiceError> {
        who.require(Permission::Administer)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "name",
                "give the key a name of 1 to 100 characters",
            ));
        }
        let role = Role::parse(&input.role).ok_or_else(|| {
            ServiceError::invalid(
                "role",
                format!(
                    "{:?} is not a role; use viewer, operator, admin or ingest",
                    input.role
                ),
            )
        })?;
        let now = super::now();
        if let Some(at) = input.expires_at {
            if at <= now {
                return Err(ServiceError::invalid(
                    "expires_at",
                    "the expiry is in the past; give a time to come, or none",
                ));
            }
            check_time("expires_at", at)?;
        }
        let plugins = match &input.plugins {
            Some(names) => Some(self.scope_ids(who, names).await?),
            None if who.plugins.is_some() => {
                return Err(ServiceError::invalid(
                    "plugins",
                    "you may see only some plugins; name the ones this key may see",
                ))
            }
            None => None,
        };
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let key = format!("ct_{}", hex::encode(bytes));
        let record = ApiKeyRecord {
            id: Uuid::now_v7(),
            name: name.to_string(),
            role: role.as_str().to_string(),
            key_hash: hash_key(&key),
            prefix: key[..10].to_string(),
            created_at: now,
            plugins,
            expires_at: input.expires_at.map(super::truncate),
            last_used_at: None,
            revoked_at: None,
            created_by: Some(who.name.clone()),
        };
        let api_key = self.api_key_view(&record, &self.plugin_names().await?);
        let audit = who.audit(
            now,
            "api_key.create",
            format!("api_key:{}", record.id),
            "",
            serde_json::json!({
                "name": api_key.name,
                "role": api_key.role,
                "plugins": api_key.plugins,
                "expires_at": api_key.expires_at,
            }),
        );
        self.store
            .write_audited(AuditedChange::InsertApiKey(record), audit)
            .await?;
        Ok(NewApiKey { key, api_key })
    }

    /// Issue an unscoped, unexpiring key as Calltrail itself (tests, the demo, benchmarks).
    pub async fn create_api_key(&self, name: &str, role: Role) -> Result<String, ServiceError> {
        let input = ApiKeyInput {
            name: name.to_string(),
            role: role.as_str().to_string(),
            plugins: None,
            expires_at: None,
        };
        Ok(self
            .issue_api_key(&Principal::system("system"), input)
            .await?
            .key)
    }

    /// Every key, revoked and expired ones too, newest first.
    pub async fn list_api_keys(&self, who: &Principal) -> Result<Vec<ApiKey>, ServiceError> {
        who.require(Permission::Administer)?;
        let names = self.plugin_names().await?;
        Ok(self
            .store
            .reads()
            .list_api_keys()
            .await?
            .iter()
            .map(|r| self.api_key_view(r, &names))
            .collect())
    }

    /// Revoke a key: refused at once by this instance and, within a moment, by
    /// every other. Revoking a revoked key changes nothing; a key does not revoke
    /// itself. Audited (`api_key.revoke`).
    pub async fn revoke_api_key(&self, who: &Principal, id: &str) -> Result<ApiKey, ServiceError> {
        who.require(Permission::Administer)?;
        let id = Uuid::parse_str(id)
            .map_err(|_| ServiceError::invalid("id", "an API key id is a UUID"))?;
        let record = self
            .store
            .reads()
            .get_api_key(id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no API key {id}")))?;
        // Locking oneself out by accident is easy; on purpose, there are other ways.
        if who.identity == Identity::ApiKey(id) && record.revoked_at.is_none() {
            return Err(ServiceError::conflict(
                "this is the key this request is made with; revoke it with another admin key \
                 or `calltrail api-key revoke`",
            ));
        }
        if record.revoked_at.is_none() {
            let audit = who.audit(
                super::now(),
                "api_key.revoke",
                format!("api_key:{id}"),
                "",
                serde_json::json!({"name": record.name, "role": record.role}),
            );
            let at = audit.at;
            self.store
                .write_audited(AuditedChange::RevokeApiKey { id, at }, audit)
                .await?;
            self.keys.forget(Some(id));
            if let Err(e) = self.store.announce_key_revoked(id).await {
                // The other instances' caches still drop it within their TTL.
                tracing::warn!(error = %e, key = %id, "announcing a revoked key");
            }
        }
        let record = self
            .store
            .reads()
            .get_api_key(id)
            .await?
            .ok_or_else(ServiceError::internal)?;
        Ok(self.api_key_view(&record, &self.plugin_names().await?))
    }

    /// Plugin names to ids, each named plugin existing and within `who`'s scope.
    async fn scope_ids(
        &self,
        who: &Principal,
        names: &[String],
    ) -> Result<Vec<Uuid>, ServiceError> {
        if names.is_empty() {
            return Err(ServiceError::invalid(
                "plugins",
                "name at least one plugin, or leave plugins out for every plugin",
            ));
        }
        let by_name: HashMap<String, Uuid> = self
            .store
            .reads()
            .list_plugins()
            .await?
            .into_iter()
            .map(|r| (r.plugin.name, r.plugin.id))
            .collect();
        let mut ids = BTreeSet::new();
        for name in names {
            let id = by_name
                .get(name)
                .filter(|id| who.sees_plugin(**id))
                .ok_or_else(|| {
                    ServiceError::invalid("plugins", format!("there is no plugin named {name:?}"))
                })?;
            ids.insert(*id);
        }
        Ok(ids.into_iter().collect())
    }

    async fn plugin_names(&self) -> Result<HashMap<Uuid, String>, ServiceError> {
        let plugins = self.stored_plugins().await?;
        Ok(plugins.into_iter().map(|p| (p.id, p.name)).collect())
    }

    fn api_key_view(&self, r: &ApiKeyRecord, names: &HashMap<Uuid, String>) -> ApiKey {
        ApiKey {
            id: r.id,
            name: r.name.clone(),
            role: r.role.clone(),
            plugins: r.plugins.as_ref().map(|ids| {
                let mut named: Vec<String> = ids
                    .iter()
                    // Plugins are never deleted; an id without a name is shown as is.
                    .map(|id| names.get(id).cloned().unwrap_or_else(|| id.to_string()))
                    .collect();
                named.sort();
                named
            }),
            prefix: r.prefix.clone(),
            created_at: r.created_at,
            created_by: r.created_by.clone(),
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}
