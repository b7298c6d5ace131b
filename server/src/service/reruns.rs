//! Manual reruns: execute a trigger again now, as a new attempt on the same
//! trigger, recorded with the actor and a reason in the audit trail.

use serde::Deserialize;
use uuid::Uuid;

use app::domain::{StartedByKind, Trigger};

use super::{now, ApiError, Principal, Role, Service};
use crate::storage::{AuditEntry, PendingRun, RunRequest};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RerunInput {
    /// Why: kept in the audit trail and shown on the attempt.
    pub reason: Option<String>,
    /// Resume automatic retries if this run fails transiently (default false).
    #[serde(default)]
    pub resume_retries: bool,
}

impl Service {
    pub async fn rerun(
        &self,
        who: &Principal,
        id: &str,
        input: RerunInput,
    ) -> Result<Trigger, ApiError> {
        who.require(Role::Operator)?;
        let trigger_id = Uuid::parse_str(id)
            .map_err(|_| ApiError::invalid("id", format!("{id:?} is not a trigger id (a UUID)")))?;
        let reason = input
            .reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::invalid("reason", "say why this trigger is re-run"))?;
        if reason.chars().count() > 500 {
            return Err(ApiError::invalid("reason", "at most 500 characters"));
        }
        let run = PendingRun {
            kind: StartedByKind::Manual,
            actor: who.name.clone(),
            reason: reason.clone(),
            resume_retries: input.resume_retries,
        };
        let audit = AuditEntry {
            id: Uuid::now_v7(),
            at: now(),
            actor: who.name.clone(),
            action: "rerun".into(),
            target: format!("trigger:{trigger_id}"),
            reason,
            details: serde_json::json!({"resume_retries": input.resume_retries}),
        };
        match self.store.request_run(trigger_id, run, Some(audit)).await? {
            RunRequest::Queued => {}
            RunRequest::Running => {
                return Err(ApiError::conflict(
                    "an attempt of this trigger is in flight; re-run it when it has finished",
                ))
            }
            RunRequest::NotFound => {
                return Err(ApiError::not_found(format!("no trigger {trigger_id}")))
            }
        }
        self.wake.notify_one();
        let detail = self
            .store
            .get_trigger_detail(trigger_id)
            .await?
            .ok_or_else(ApiError::internal)?;
        Ok(detail.trigger.trigger)
    }
}
