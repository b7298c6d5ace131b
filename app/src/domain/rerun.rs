use serde::{Deserialize, Serialize};

/// What re-running an aggregation group did: how many of its triggers were
/// queued to run now, and how many were skipped because an attempt was in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRerunOutcome {
    pub aggregation_key: String,
    pub queued: u64,
    pub in_flight: u64,
}
