use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A trigger migration ("Execute Trigger Migration"): re-execute every trigger
/// matching a filter, or create triggers that never existed, as a background job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Migration {
    pub id: Uuid,
    /// `rerun` or `create`.
    pub kind: String,
    /// `running`, `completed` or `cancelled`.
    pub status: String,
    pub total: u64,
    /// Triggers queued (re-run) or created so far.
    pub done: u64,
    /// Of those, how many have finished / failed since.
    pub succeeded: u64,
    pub failed: u64,
    pub reason: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
