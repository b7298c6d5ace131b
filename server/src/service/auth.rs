//! Who is asking: an API key resolved to a `Principal` (see `access` for what
//! it may then do). Users, sessions and embed tokens resolve to the same type.
//!
//! Ingest sends thousands of requests a second, so a valid key is read from a
//! cache, and its last use is written at most once a minute, off the request.
//! A key that fails is remembered too (an unknown, revoked or expired key never
//! becomes valid again), and an address whose keys keep failing the database
//! lookup is throttled (`throttle`). A revocation drops the key from the cache at
//! once, here and, through the store, on every other instance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::access::Identity;
use super::cache::TtlCache;
use super::{Principal, Role, Service, ServiceError};
use crate::storage::ApiKeyRecord;

/// How long a valid key is trusted without reading it again. Revocations do not
/// wait for it: they drop the entry.
const KNOWN_TTL: Duration = Duration::from_secs(30);
/// How long a refused key is answered from memory.
const REFUSED_TTL: Duration = Duration::from_secs(60);
/// A key's last use is written at most this often.
const USE_WRITTEN_EVERY: Duration = Duration::from_secs(60);

/// Keys are 32 random bytes, so a fast hash is enough: nothing to brute-force.
pub(super) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What this instance remembers of API keys.
pub(super) struct KeyCache {
    /// Key hash → who it is, and until when the key is valid.
    known: TtlCache<String, (Principal, Option<DateTime<Utc>>)>,
    /// Key hash → why it was refused.
    refused: TtlCache<String, String>,
    /// Key id → when its last use was written.
    used: Mutex<HashMap<Uuid, Instant>>,
    /// Counts what `forget` was told: a key read from the database before a
    /// revocation arrived is not cached after it.
    forgotten: AtomicU64,
}

impl KeyCache {
    pub fn new() -> KeyCache {
        KeyCache {
            known: TtlCache::new(KNOWN_TTL),
            refused: TtlCache::new(REFUSED_TTL),
            used: Mutex::new(HashMap::new()),
            forgotten: AtomicU64::new(0),
        }
    }

    /// Forget a revoked key (`None`: every key, when revocations may have been missed).
    pub fn forget(&self, id: Option<Uuid>) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        match id {
            Some(id) => self
                .known
                .retain(|_, (who, _)| who.identity != Identity::ApiKey(id)),
            None => self.known.clear(),
        }
    }

    /// Cache a valid key read when `forgotten` was `seen`, unless a revocation
    /// arrived since (it may be this key's).
    fn remember(&self, hash: String, who: Principal, expires_at: Option<DateTime<Utc>>, seen: u64) {
        if self.forgotten.load(Ordering::SeqCst) == seen {
            self.known.put(hash, (who, expires_at));
        }
    }

    /// Whether a use of this key should be written now (at most once a minute).
    fn note_use(&self, id: Uuid) -> bool {
        let now = Instant::now();
        let mut used = self.used.lock().expect("key use lock");
        if used
            .get(&id)
            .is_some_and(|at| now.duration_since(*at) < USE_WRITTEN_EVERY)
        {
            return false;
        }
        if used.len() > 10_000 {
            used.retain(|_, at| now.duration_since(*at) < USE_WRITTEN_EVERY);
        }
        used.insert(id, now);
        true
    }
}

impl Service {
    /// Resolve an `Authorization` header value to a principal.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, ServiceError> {
        self.authenticate_from(header, None).await
    }

    /// Resolve an `Authorization` header value sent from `client` to a principal,
    /// which carries that address for the audit trail.
    pub async fn authenticate_from(
        &self,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Principal, ServiceError> {
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
        let mut who = match self.keys.known.get(&hash) {
            Some((who, expires_at)) => {
                if let Some(why) = expired(expires_at) {
                    self.keys.known.retain(|h, _| *h != hash);
                    self.keys.refused.put(hash, why.clone());
                    return Err(ServiceError::unauthorized(why));
                }
                who
            }
            None => self.look_up_key(hash, client).await?,
        };
        if let Identity::ApiKey(id) = who.identity {
            self.note_key_use(id);
        }
        who.client = client.map(|ip| ip.to_string());
        Ok(who)
    }

    /// A key that is not in the cache: refused from memory, throttled, or read.
    async fn look_up_key(
        &self,
        hash: String,
        client: Option<IpAddr>,
    ) -> Result<Principal, ServiceError> {
        if let Some(why) = self.keys.refused.get(&hash) {
            return Err(ServiceError::unauthorized(why));
        }
        if let Some(wait) = self.throttle.wait(client) {
            return Err(too_many_failures(wait));
        }
        let seen = self.keys.forgotten.load(Ordering::SeqCst);
        let record = self.store.reads().find_api_key(&hash).await?;
        let why = match &record {
            None => Some("this API key is not valid".to_string()),
            Some(r) => match r.revoked_at {
                Some(at) => Some(format!(
                    "this API key was revoked at {}; ask an admin for a new one",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
                None => expired(r.expires_at),
            },
        };
        if let Some(why) = why {
            self.keys.refused.put(hash, why.clone());
            return Err(match self.throttle.failed(client) {
                Some(wait) => too_many_failures(wait),
                None => ServiceError::unauthorized(why),
            });
        }
        let record = record.expect("a key that was not refused exists");
        let who = principal_of(&record)?;
        self.keys
            .remember(hash, who.clone(), record.expires_at, seen);
        Ok(who)
    }

    /// Write that a key was used, at most once a minute per key, on a task of its
    /// own: the request does not wait for it.
    fn note_key_use(&self, id: Uuid) {
        if !self.keys.note_use(id) {
            return;
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.writes().touch_api_key(id, super::now()).await {
                tracing::warn!(error = %e, key = %id, "noting when an api key was used");
            }
        });
    }
}

/// Why a key with this expiry is refused now, if it is.
fn expired(expires_at: Option<DateTime<Utc>>) -> Option<String> {
    let at = expires_at?;
    (at <= Utc::now()).then(|| {
        format!(
            "this API key expired at {}; ask an admin for a new one",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    })
}

fn too_many_failures(wait: Duration) -> ServiceError {
    ServiceError::rate_limited(
        "too many requests with API keys that are not valid came from this address; \
         try again later",
        wait,
    )
}

fn principal_of(record: &ApiKeyRecord) -> Result<Principal, ServiceError> {
    let role = Role::parse(&record.role).ok_or_else(|| {
        tracing::error!(key = %record.id, role = %record.role, "an api key with an unknown role");
        ServiceError::internal()
    })?;
    Ok(Principal {
        identity: Identity::ApiKey(record.id),
        name: record.name.clone(),
        role,
        plugins: record.plugins.clone(),
        entity: None,
        client: None,
    })
}
