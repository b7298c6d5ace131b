//! The service layer: the one piece of code that both the REST handlers and the
//! Leptos server functions call. Input is parsed into domain types here, the
//! caller's role is checked here, and every request's reads and writes go
//! through here. Below the surfaces, the executor, the demo and the readiness
//! probe use the store it holds (`Service::store`) directly.

mod access;
mod activity;
mod api_keys;
mod audit;
mod auth;
mod cache;
mod client;
mod cursor;
pub mod embed;
mod error;
mod export;
pub mod flattened;
mod migrations;
mod plugin_health;
mod plugins;
pub mod redact;
mod reruns;
mod retention;
mod rotation;
mod secrets;
mod throttle;
mod triggers;
pub mod types;
mod users;
mod visibility;

use std::sync::Arc;

pub use access::{EntityScope, Identity, Permission, Principal, Role};
pub use api_keys::{ApiKey, ApiKeyInput, NewApiKey};
pub use client::TrustedProxies;
pub use cursor::{decode_cursor, encode_cursor};
pub use embed::{EmbedKey, EmbedSettings, EmbedToken, EmbedTokenInput};
pub use error::ServiceError;
pub use export::Export;
pub use migrations::{DryRun, MigrationCreateItem, MigrationInput, MigrationStart};
pub use plugin_health::HEALTH_WINDOW;
pub use plugins::{AuthInput, PluginInput, PluginPatch, PluginSecrets};
pub use reruns::{GroupRerun, GroupRerunInput, RerunInput};
pub use retention::{Erasure, ErasureInput, PruneReport, RetentionPolicy};
pub use rotation::{Rotation, Tally};
pub use secrets::{Owner, Secret, SecretBox, SecretError};
pub(crate) use triggers::no_nul;
pub use triggers::{
    CallInput, CallRequestInput, CallResponseInput, ReportedCall, TriggerFields, TriggerInput,
    MAX_FILTER_VALUES, MAX_QUERY_CHARS,
};
pub use users::{SignedIn, User, UserInput, UserPatch, MIN_PASSWORD_CHARS, WRONG_CREDENTIALS};

use crate::storage::SharedStore;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Response bodies of reported calls are cut at this size and flagged truncated.
    pub max_recorded_body_bytes: usize,
    /// The most rows one export holds; more is refused, naming the limit.
    pub max_export_rows: u64,
    /// Failed API key lookups an address may cause a minute before it gets 429
    /// (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Whose `X-Forwarded-For` names the client (none: the peer is the client).
    pub trusted_proxies: TrustedProxies,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_recorded_body_bytes: 64 * 1024,
            max_export_rows: 1_000_000,
            auth_failures_per_minute: 30,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

pub use crate::clock::{now, truncate};

pub struct Service {
    store: SharedStore,
    secrets: SecretBox,
    limits: Limits,
    /// Signals the executor that work became due (new trigger, rerun, plugin activated).
    wake: Arc<tokio::sync::Notify>,
    last_announce: std::sync::atomic::AtomicI64,
    /// What this instance remembers of API keys (see `auth`).
    keys: Arc<auth::KeyCache>,
    /// Failed key lookups per client address.
    throttle: throttle::FailureThrottle,
    /// Plugin name or id → plugin, for the ingest path.
    plugins: cache::TtlCache<String, crate::storage::PluginRecord>,
    /// Which trigger migrations this instance runs, under what lease.
    migrations: migrations::Runner,
    /// Embed tokens' key, links and framing (`set_embed`).
    embed: std::sync::RwLock<Arc<embed::EmbedSettings>>,
    /// The bearer token `/metrics` asks for, when access to it is limited.
    metrics_token: std::sync::RwLock<Option<String>>,
    /// How long details and summaries are kept.
    retention: std::sync::RwLock<RetentionPolicy>,
}

impl Service {
    pub fn new(store: SharedStore, secrets: SecretBox, limits: Limits) -> Arc<Service> {
        let wake = Arc::new(tokio::sync::Notify::new());
        store.subscribe_due(wake.clone());
        let keys = Arc::new(auth::KeyCache::new());
        let throttle = throttle::FailureThrottle::new(limits.auth_failures_per_minute);
        let forget = keys.clone();
        store.subscribe_key_revocations(Arc::new(move |id| forget.forget(id)));
        Arc::new(Service {
            store,
            secrets,
            limits,
            wake,
            last_announce: std::sync::atomic::AtomicI64::new(0),
            keys,
            throttle,
            plugins: cache::TtlCache::new(std::time::Duration::from_secs(2)),
            migrations: migrations::Runner::new(),
            embed: Default::default(),
            metrics_token: std::sync::RwLock::new(None),
            retention: std::sync::RwLock::new(RetentionPolicy::default()),
        })
    }

    /// Limit `/metrics` to scrapers that send this bearer token (`None`: open).
    pub fn set_metrics_token(&self, token: Option<String>) {
        *self.metrics_token.write().expect("not poisoned") = token;
    }

    pub fn metrics_token(&self) -> Option<String> {
        self.metrics_token.read().expect("not poisoned").clone()
    }

    /// Work became due: wake this process's executor at once, and the other
    /// instances' (at most every 50 ms, so a burst of ingests costs one NOTIFY).
    pub(crate) async fn announce_due(&self) {
        use std::sync::atomic::Ordering;
        self.wake.notify_one();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let last = self.last_announce.load(Ordering::Relaxed);
        if now_ms - last >= 50
            && self
                .last_announce
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            if let Err(e) = self.store.announce_due().await {
                tracing::warn!(error = %e, "announcing due work");
            }
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    pub fn wake(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }
}
