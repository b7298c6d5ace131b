use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{FailureClass, Status};

word_enum! {
    /// Who asked for the call.
    pub enum InitiatorKind {
        Automation,
        Agent,
        User,
        System,
        ApiKey,
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

word_enum! {
    /// The steps a trigger's log names, in the order they usually come. Written as
    /// these words on the wire and in the database.
    pub enum LogStep {
        /// Accepted and waiting for its time.
        Queued,
        /// A call the application made itself and reported.
        Reported,
        /// A worker took it under a lease.
        Claimed,
        /// A user asked for this run.
        Manual,
        /// A trigger migration asked for this run.
        Migration,
        #[serde(rename = "request sent")]
        #[strum(serialize = "request sent")]
        RequestSent,
        #[serde(rename = "response classified")]
        #[strum(serialize = "response classified")]
        ResponseClassified,
        #[serde(rename = "retry scheduled")]
        #[strum(serialize = "retry scheduled")]
        RetryScheduled,
        Finished,
        /// Stopped without success.
        Failed,
        /// The worker stopped before it recorded a result (its lease expired).
        Interrupted,
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
        for &step in LogStep::ALL {
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
