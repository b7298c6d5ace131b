use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::FailureClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StartedByKind {
    Automatic,
    Manual,
    Migration,
    Reported,
}

impl StartedByKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StartedByKind::Automatic => "automatic",
            StartedByKind::Manual => "manual",
            StartedByKind::Migration => "migration",
            StartedByKind::Reported => "reported",
        }
    }

    pub fn parse(s: &str) -> Option<StartedByKind> {
        [
            StartedByKind::Automatic,
            StartedByKind::Manual,
            StartedByKind::Migration,
            StartedByKind::Reported,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartedBy {
    pub kind: StartedByKind,
    pub actor: Option<String>,
}

/// The request as sent, with credentials already replaced by `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptRequest {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    Finish,
    Retry,
    Stop,
}

impl DecisionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionAction::Finish => "finish",
            DecisionAction::Retry => "retry",
            DecisionAction::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionAction> {
        [
            DecisionAction::Finish,
            DecisionAction::Retry,
            DecisionAction::Stop,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// What was decided after an attempt, and why, in words an administrator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Decision {
    pub action: DecisionAction,
    pub at: Option<DateTime<Utc>>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub id: Uuid,
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub started_by: StartedBy,
    pub request: AttemptRequest,
    pub response: Option<AttemptResponse>,
    pub class: FailureClass,
    pub decision: Decision,
}
