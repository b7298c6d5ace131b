use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// How one event type is delivered: method and a path template (`{entity_id}` allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Route {
    pub method: String,
    pub path: String,
}

/// Retry policy as data: a schedule of delays with jitter, and a cap on Retry-After.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RetryPolicy {
    pub schedule_secs: Vec<u64>,
    pub max_attempts: u32,
    pub jitter_pct: u8,
    pub retry_after_cap_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            schedule_secs: vec![5, 60, 300, 1800, 7200, 21600],
            max_attempts: 7,
            jitter_pct: 20,
            retry_after_cap_secs: 3600,
        }
    }
}

/// Which parts of a request are redacted before anything is stored or shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RedactRules {
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub json_pointers: Vec<String>,
}

/// How long this plugin's triggers are kept, where it differs from the global
/// retention (`CALLTRAIL_RETENTION_DETAIL_DAYS` / `_SUMMARY_DAYS`). An absent
/// value follows the global one; 0 keeps forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PluginRetention {
    /// Days a finished trigger keeps its payload, attempts and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_days: Option<u32>,
    /// Days a finished trigger's summary row is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_days: Option<u32>,
}

impl PluginRetention {
    pub fn is_global(&self) -> bool {
        self.detail_days.is_none() && self.summary_days.is_none()
    }
}

/// A plugin as every endpoint returns it: credentials and signing secret are
/// never part of it, only whether they are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Plugin {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub kind: String,
    pub base_url: String,
    pub active: bool,
    pub timeout_ms: u64,
    pub routes: BTreeMap<String, Route>,
    pub default_route: Option<Route>,
    pub headers: BTreeMap<String, String>,
    pub retry_policy: RetryPolicy,
    pub external_id_pointer: Option<String>,
    pub redact: RedactRules,
    /// Its own retention, where it differs from the global one.
    #[serde(default)]
    pub retention: PluginRetention,
    pub has_auth: bool,
    pub has_signing_secret: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Plugin {
    /// The route for an event type, falling back to the default route.
    pub fn route_for(&self, event_type: &str) -> Option<&Route> {
        self.routes.get(event_type).or(self.default_route.as_ref())
    }
}

/// What every reader may know of a plugin: which it is and whether it runs, and
/// the event types it routes. Its configuration (routes, headers, retry policy)
/// is for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PluginSummary {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub active: bool,
    /// The event types it has a route for.
    pub event_types: Vec<String>,
}

impl From<&Plugin> for PluginSummary {
    fn from(p: &Plugin) -> PluginSummary {
        PluginSummary {
            id: p.id,
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            active: p.active,
            event_types: p.routes.keys().cloned().collect(),
        }
    }
}

/// A plugin as the API returns it: whole to admins, its summary to everyone else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
// Built once per plugin per response and moved straight into JSON: boxing would
// only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum PluginView {
    Full(Box<Plugin>),
    Summary(PluginSummary),
}

/// How a plugin is doing, for the plugins page: whether it runs, how often its
/// calls failed lately, and when one last went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PluginHealth {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub active: bool,
    /// Attempts that did not succeed in the last 24 hours (each retry counts).
    pub failures_24h: u64,
    /// When an attempt last succeeded (its end), if one ever did.
    pub last_success_at: Option<DateTime<Utc>>,
}
