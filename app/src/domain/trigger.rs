use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{FailureClass, Status};

/// Who asked for the call.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InitiatorKind {
    Automation,
    Agent,
    User,
    System,
    ApiKey,
}

impl InitiatorKind {
    pub const ALL: &'static [InitiatorKind] = <InitiatorKind as strum::VariantArray>::VARIANTS;

    /// The word stored and sent (`api_key`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<InitiatorKind> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Initiator {
    pub kind: InitiatorKind,
    pub name: String,
}

/// The record in the calling application a trigger is about (`invoice` / `INV-1042`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EntityRef {
    #[serde(rename = "type")]
    pub entity_type: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LastError {
    pub class: FailureClass,
    pub message: String,
    pub status_code: Option<u16>,
}

/// A trigger as listed: everything but the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Trigger {
    pub id: Uuid,
    /// The plugin's name.
    pub plugin: String,
    pub plugin_id: Uuid,
    pub event_type: String,
    pub action: Option<String>,
    pub entity: Option<EntityRef>,
    pub initiator: Initiator,
    pub aggregation_key: Option<String>,
    pub status: Status,
    pub attempts: u32,
    /// Creation, or `run_at` when one was given.
    pub scheduled_at: DateTime<Utc>,
    /// First execution.
    pub triggered_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub external_id: Option<String>,
    pub last_error: Option<LastError>,
}

/// A trigger with its payload, as `GET /triggers/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TriggerWithPayload {
    #[serde(flatten)]
    pub trigger: Trigger,
    pub payload: serde_json::Value,
    /// When retention (or an erasure) removed the payload, attempts and logs;
    /// absent while they are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_removed_at: Option<DateTime<Utc>>,
}

/// One processing step of a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub step: LogStep,
    pub message: String,
}

/// The steps a trigger's log names, in the order they usually come. Written as
/// these words on the wire and in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LogStep {
    /// Accepted and waiting for its time.
    #[serde(rename = "queued")]
    Queued,
    /// A call the application made itself and reported.
    #[serde(rename = "reported")]
    Reported,
    /// A worker took it under a lease.
    #[serde(rename = "claimed")]
    Claimed,
    /// A user asked for this run.
    #[serde(rename = "manual")]
    Manual,
    /// A trigger migration asked for this run.
    #[serde(rename = "migration")]
    Migration,
    #[serde(rename = "request sent")]
    RequestSent,
    #[serde(rename = "response classified")]
    ResponseClassified,
    #[serde(rename = "retry scheduled")]
    RetryScheduled,
    #[serde(rename = "finished")]
    Finished,
    /// Stopped without success.
    #[serde(rename = "failed")]
    Failed,
    /// The worker stopped before it recorded a result (its lease expired).
    #[serde(rename = "interrupted")]
    Interrupted,
}

impl LogStep {
    pub const ALL: [LogStep; 11] = [
        LogStep::Queued,
        LogStep::Reported,
        LogStep::Claimed,
        LogStep::Manual,
        LogStep::Migration,
        LogStep::RequestSent,
        LogStep::ResponseClassified,
        LogStep::RetryScheduled,
        LogStep::Finished,
        LogStep::Failed,
        LogStep::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogStep::Queued => "queued",
            LogStep::Reported => "reported",
            LogStep::Claimed => "claimed",
            LogStep::Manual => "manual",
            LogStep::Migration => "migration",
            LogStep::RequestSent => "request sent",
            LogStep::ResponseClassified => "response classified",
            LogStep::RetryScheduled => "retry scheduled",
            LogStep::Finished => "finished",
            LogStep::Failed => "failed",
            LogStep::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<LogStep> {
        LogStep::ALL.into_iter().find(|step| step.as_str() == s)
    }
}

impl std::fmt::Display for LogStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TriggerDetail {
    pub trigger: TriggerWithPayload,
    pub attempts: Vec<super::Attempt>,
    pub logs: Vec<LogEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initiator_kinds_are_the_words_serde_writes() {
        let words: Vec<&str> = InitiatorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(words, ["automation", "agent", "user", "system", "api_key"]);
        for &k in InitiatorKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(InitiatorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(InitiatorKind::parse("apikey"), None);
    }

    #[test]
    fn every_log_step_is_written_as_the_words_clients_already_read() {
        let words: Vec<&str> = LogStep::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            words,
            [
                "queued",
                "reported",
                "claimed",
                "manual",
                "migration",
                "request sent",
                "response classified",
                "retry scheduled",
                "finished",
                "failed",
                "interrupted",
            ]
        );
        for step in LogStep::ALL {
            assert_eq!(serde_json::to_value(step).unwrap(), step.as_str());
            assert_eq!(LogStep::parse(step.as_str()), Some(step));
        }
        assert_eq!(LogStep::parse("sent"), None);
    }
}

/// An event type as words for people: `invoice.available` → "Invoice available",
/// `customer_created` → "Customer created". The raw value stays what is stored,
/// filtered on and shown on hover.
pub fn event_type_words(event_type: &str) -> String {
    let words: Vec<&str> = event_type
        .split(['.', '_', '-', ':', '/'])
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = words.join(" ").to_lowercase();
    if let Some(first) = out.get(..1) {
        out = first.to_uppercase() + &out[1..];
    }
    if out.is_empty() {
        event_type.to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod words_tests {
    use super::event_type_words;

    #[test]
    fn event_types_read_as_words() {
        assert_eq!(event_type_words("invoice.available"), "Invoice available");
        assert_eq!(event_type_words("customer_created"), "Customer created");
        assert_eq!(
            event_type_words("Meter.Reading-Taken"),
            "Meter reading taken"
        );
        assert_eq!(event_type_words("..."), "...");
    }
}
