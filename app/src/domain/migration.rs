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

/// One trigger a `create` migration makes: for this entity, with this payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MigrationCreateItem {
    pub entity: Option<super::EntityRef>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

/// `POST /api/v1/migrations`, and what the migration page sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MigrationInput {
    pub reason: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// Re-execute every trigger matching this filter…
    pub filter: Option<super::TriggerFilter>,
    /// …or create these triggers for `plugin` and `event_type`.
    pub plugin: Option<String>,
    pub event_type: Option<String>,
    pub create: Option<Vec<MigrationCreateItem>>,
    /// Triggers queued or created per second (default 50, at most 1000).
    pub rate_per_sec: Option<u32>,
}

/// What a dry run finds: how many triggers, and the first few.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DryRun {
    pub count: u64,
    pub sample: Vec<super::Trigger>,
}

/// What starting a migration gave: a dry run's findings, or the running job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStart {
    DryRun(DryRun),
    Started(Migration),
}
