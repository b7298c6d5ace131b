use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Status;

/// The cumulative filters of the integration log. Every field narrows the result (AND).
/// Ranges are half-open: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TriggerFilter {
    /// Plugin names or ids; any of them matches.
    #[serde(default)]
    pub plugin: Vec<String>,
    #[serde(default)]
    pub status: Vec<Status>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub entity_type: Option<String>,
    #[serde(default)]
    pub entity_id: Option<String>,
    #[serde(default)]
    pub aggregation_key: Option<String>,
    #[serde(default)]
    pub scheduled_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scheduled_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub triggered_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub triggered_to: Option<DateTime<Utc>>,
    /// Free text, case-insensitive: a fragment of at least [`MIN_SEARCH_CHARS`]
    /// characters of the action, event type, entity id, external id or a text or
    /// number value in the payload (redacted values are never searchable).
    #[serde(default)]
    pub q: Option<String>,
    /// Also the triggers of inactive plugins (admins always see them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_inactive: bool,
}

/// The shortest search text: a trigram index finds fragments of 3 characters or more.
pub const MIN_SEARCH_CHARS: usize = 3;

/// A search text that is there but too short to search for (blank is no search).
pub fn search_too_short(q: &str) -> bool {
    let n = q.trim().chars().count();
    n > 0 && n < MIN_SEARCH_CHARS
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// How many triggers a filter matches: in all, and per status (every status
/// present, with 0 where there are none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TriggerCount {
    pub count: u64,
    pub by_status: std::collections::BTreeMap<String, u64>,
}

impl TriggerCount {
    pub fn new(by_status: impl IntoIterator<Item = (Status, u64)>) -> TriggerCount {
        let mut out = TriggerCount::default();
        for status in Status::ALL {
            out.by_status.insert(status.as_str().to_string(), 0);
        }
        for (status, n) in by_status {
            out.count += n;
            *out.by_status
                .entry(status.as_str().to_string())
                .or_default() += n;
        }
        out
    }
}
