//! Manual reruns: execute a trigger again now, as a new attempt on the same
//! trigger, recorded with the actor and a reason in the audit trail.

use serde::Deserialize;
use uuid::Uuid;

use app::domain::{StartedByKind, Trigger};

use super::types::Reason;
use super::{now, Permission, Principal, Service, ServiceError};
use crate::storage::{PendingRun, RunRequest};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RerunInput {
    /// Why: kept in the audit trail and shown on the attempt.
    pub reason: Option<String>,
    /// Resume automatic retries if this run fails transiently (default false).
    #[serde(default)]
    pub resume_retries: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GroupRerunInput {
    pub reason: Option<String>,
    #[serde(default)]
    pub resume_retries: bool,
    /// Also re-run the group's finished triggers (default: only the erroneous ones).
    #[serde(default)]
    pub include_finished: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GroupRerun {
    pub aggregation_key: String,
    /// Triggers queued to run now.
    pub queued: u64,
    /// Triggers skipped because an attempt was in flight.
    pub in_flight: u64,
}

impl Service {
    /// Re-run the triggers sharing an aggregation key, together.
    pub async fn rerun_group(
        &self,
        who: &Principal,
        key: &str,
        input: GroupRerunInput,
    ) -> Result<GroupRerun, ServiceError> {
        who.require(Permission::Rerun)?;
        let reason = Reason::parse(input.reason)?.into_inner();
        let mut statuses = vec![app::domain::Status::Erroneous];
        if input.include_finished {
            statuses.push(app::domain::Status::Finished);
        }
        let mut filter = crate::storage::StoreFilter {
            aggregation_key: Some(key.to_string()),
            statuses,
            ..Default::default()
        };
        // Only what the caller can see is re-run, inactive plugins' triggers included.
        self.narrow_to_visible(who, &mut filter, true).await?;
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .reads()
                .list_triggers(&filter, after, 500)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(crate::storage::Cursor {
                scheduled_at: last.scheduled_at,
                id: last.id,
            });
            ids.extend(page.iter().map(|t| t.id));
        }
        let audit = who.audit(
            now(),
            "rerun.group",
            format!("aggregation:{key}"),
            reason.clone(),
            serde_json::json!({"triggers": ids.len(), "resume_retries": input.resume_retries}),
        );
        let mut out = GroupRerun {
            aggregation_key: key.to_string(),
            queued: 0,
            in_flight: 0,
        };
        let mut audit = Some(audit);
        for id in ids {
            let run = PendingRun {
                kind: StartedByKind::Manual,
                actor: who.name.clone(),
                reason: reason.clone(),
                resume_retries: input.resume_retries,
            };
            // One audit row for the group, written with the first trigger it queues.
            match self.store.request_run(id, run, audit.clone()).await? {
                RunRequest::Queued => {
                    out.queued += 1;
                    audit = None;
                }
                RunRequest::Running => out.in_flight += 1,
                RunRequest::NotFound => {}
            }
        }
        self.announce_due().await;
        Ok(out)
    }

    pub async fn rerun(
        &self,
        who: &Principal,
        id: &str,
        input: RerunInput,
    ) -> Result<Trigger, ServiceError> {
        who.require(Permission::Rerun)?;
        let trigger_id = Uuid::parse_str(id).map_err(|_| {
            ServiceError::invalid("id", format!("{id:?} is not a trigger id (a UUID)"))
        })?;
        let reason = Reason::parse(input.reason)?.into_inner();
        let before = self.stored_detail(trigger_id).await?;
        self.check_visible(who, &before.trigger.trigger).await?;
        let run = PendingRun {
            kind: StartedByKind::Manual,
            actor: who.name.clone(),
            reason: reason.clone(),
            resume_retries: input.resume_retries,
        };
        let audit = who.audit(
            now(),
            "rerun",
            format!("trigger:{trigger_id}"),
            reason,
            serde_json::json!({"resume_retries": input.resume_retries}),
        );
        match self.store.request_run(trigger_id, run, Some(audit)).await? {
            RunRequest::Queued => {}
            RunRequest::Running => {
                return Err(ServiceError::conflict(
                    "an attempt of this trigger is in flight; re-run it when it has finished",
                ))
            }
            RunRequest::NotFound => {
                return Err(ServiceError::not_found(format!("no trigger {trigger_id}")))
            }
        }
        self.announce_due().await;
        self.written_trigger(trigger_id).await
    }
}
