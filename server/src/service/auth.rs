//! Who is asking, and what they may do. API keys today; users, sessions and
//! embed tokens will resolve to the same `Principal`.

use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Service, ServiceError};
use crate::storage::ApiKeyRecord;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    /// Least to most allowed.
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    /// The word stored and typed (`operator`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "this needs the {} role; {} has {}",
                role.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }

    /// The browser UI before sign-in exists: it may read, nothing more.
    pub fn ui_viewer() -> Principal {
        Principal {
            name: "browser".into(),
            role: Role::Viewer,
        }
    }
}

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
            name: record.name,
            role,
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

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_stored_as_lowercase_words_and_ordered_least_to_most_allowed() {
        let words: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(words, ["viewer", "operator", "admin"]);
        for &r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(Role::parse("Admin"), None);
    }
}
