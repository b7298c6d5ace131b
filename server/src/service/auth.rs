//! Who is asking: an API key resolved to a `Principal` (see `access` for what
//! it may then do). Users, sessions and embed tokens resolve to the same type.

use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::access::Identity;
use super::{Principal, Role, Service, ServiceError};
use crate::storage::ApiKeyRecord;

/// Keys are 32 random bytes, so a fast hash is enough: nothing to brute-force.
fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Service {
    /// Resolve an `Authorization` header value to a principal.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, ServiceError> {
        let header = header.ok_or_else(|| {
            ServiceError::unauthorized("send an API key as Authorization: Bearer <key>")
        })?;
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ServiceError::unauthorized("the Authorization header must be Bearer <key>")
            })?;
        let hash = hash_key(key);
        if let Some(who) = self.keys.get(&hash) {
            return Ok(who);
        }
        let record = self
            .store
            .find_api_key(&hash)
            .await?
            .ok_or_else(|| ServiceError::unauthorized("this API key is not valid"))?;
        let role = Role::parse(&record.role).ok_or_else(ServiceError::internal)?;
        let who = Principal {
            identity: Identity::ApiKey(record.id),
            name: record.name,
            role,
            plugins: None,
            entity: None,
            client: None,
        };
        self.keys.put(hash, who.clone());
        Ok(who)
    }

    /// Create an API key; the plain key is returned once and only its hash is kept.
    pub async fn create_api_key(&self, name: &str, role: Role) -> Result<String, ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ServiceError::invalid(
                "name",
                "give the key a name of 1 to 100 characters",
            ));
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let key = format!("ct_{}", hex::encode(bytes));
        let record = ApiKeyRecord {
            id: Uuid::now_v7(),
            name: name.to_string(),
            role: role.as_str().to_string(),
            key_hash: hash_key(&key),
            prefix: key[..10].to_string(),
            created_at: Utc::now(),
        };
        self.store.insert_api_key(&record).await?;
        Ok(key)
    }
}
