//! Trigger migrations (Zero Friction's "Execute Trigger Migration"): re-execute
//! every trigger matching a filter, or create triggers that never existed. A dry
//! run only counts; a real run is a background job at a bounded rate, with a
//! reason, progress, cancel and an audit row. Admins only.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use app::domain::{EntityRef, Migration, StartedByKind, Trigger, TriggerFilter};

use super::{now, ApiError, Principal, Role, Service, TriggerInput};
use crate::storage::{AuditEntry, Cursor, MigrationRecord, PendingRun};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MigrationCreateItem {
    pub entity: Option<EntityRef>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MigrationInput {
    pub reason: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// Re-execute every trigger matching this filter…
    pub filter: Option<TriggerFilter>,
    /// …or create these triggers for `plugin` and `event_type`.
    pub plugin: Option<String>,
    pub event_type: Option<String>,
    pub create: Option<Vec<MigrationCreateItem>>,
    /// Triggers queued or created per second (default 50, at most 1000).
    pub rate_per_sec: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    pub count: u64,
    pub sample: Vec<Trigger>,
}

pub enum MigrationStart {
    DryRun(DryRun),
    Started(Migration),
}

const MAX_CREATE: usize = 10_000;

fn public(m: MigrationRecord) -> Migration {
    Migration {
        id: m.id,
        kind: m.kind,
        status: m.status,
        total: m.total,
        done: m.done,
        succeeded: m.succeeded,
        failed: m.failed,
        reason: m.reason,
        actor: m.actor,
        created_at: m.created_at,
        finished_at: m.finished_at,
    }
}

impl Service {
    pub async fn start_migration(
        self: &Arc<Self>,
        who: &Principal,
        input: MigrationInput,
    ) -> Result<MigrationStart, ApiError> {
        who.require(Role::Admin)?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::invalid("reason", "say why this migration runs"))?
            .to_string();
        let rate = input.rate_per_sec.unwrap_or(50);
        if !(1..=1000).contains(&rate) {
            return Err(ApiError::invalid(
                "rate_per_sec",
                "from 1 to 1000 per second",
            ));
        }
        let (kind, total, sample, spec) = match (&input.filter, &input.create) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "create",
                    "give either a filter (re-execute) or a create list, not both",
                ))
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "filter",
                    "give a filter of triggers to re-execute, or a create list",
                ))
            }
            (Some(filter), None) => {
                let store_filter = self.resolve_filter(filter.clone()).await?;
                let total = self.store.count_triggers(&store_filter).await?;
                let sample = self.store.list_triggers(&store_filter, None, 10).await?;
                let mut spec = serde_json::to_value(filter).expect("a filter serialises");
                spec["rate_per_sec"] = rate.into();
                ("rerun", total, sample, spec)
            }
            (None, Some(items)) => {
                if items.is_empty() || items.len() > MAX_CREATE {
                    return Err(ApiError::invalid(
                        "create",
                        format!("give 1 to {MAX_CREATE} triggers to create"),
                    ));
                }
                let plugin = input.plugin.clone().ok_or_else(|| {
                    ApiError::invalid("plugin", "name the plugin to create triggers for")
                })?;
                let event_type = input.event_type.clone().ok_or_else(|| {
                    ApiError::invalid("event_type", "name the event type to create")
                })?;
                // Check every item up front: nothing is created when one is wrong.
                for (i, item) in items.iter().enumerate() {
                    self.check_trigger_input(
                        who,
                        &self.migration_trigger(&plugin, &event_type, item),
                    )
                    .await
                    .map_err(|e| ApiError {
                        field: Some(format!("create[{i}].{}", e.field.unwrap_or_default())),
                        ..e
                    })?;
                }
                let spec = serde_json::json!({"plugin": plugin, "event_type": event_type,
                                              "create": items, "rate_per_sec": rate});
                ("create", items.len() as u64, Vec::new(), spec)
            }
        };
        if input.dry_run {
            return Ok(MigrationStart::DryRun(DryRun {
                count: total,
                sample,
            }));
        }
        let record = MigrationRecord {
            id: Uuid::now_v7(),
            created_at: now(),
            actor: who.name.clone(),
            reason: reason.clone(),
            kind: kind.into(),
            spec,
            status: "running".into(),
            total,
            done: 0,
            finished_at: None,
            succeeded: 0,
            failed: 0,
        };
        let audit = AuditEntry {
            id: Uuid::now_v7(),
            at: record.created_at,
            actor: who.name.clone(),
            action: format!("migration.{kind}"),
            target: format!("migration:{}", record.id),
            reason,
            details: serde_json::json!({"total": total, "rate_per_sec": rate}),
        };
        self.store.insert_migration(&record, audit).await?;
        self.spawn_migration(record.id);
        Ok(MigrationStart::Started(public(record)))
    }

    fn spawn_migration(self: &Arc<Self>, id: Uuid) {
        let job = self.clone();
        tokio::spawn(async move {
            if let Err(e) = job.run_migration(id).await {
                tracing::error!(migration = %id, error = %e.message, "trigger migration stopped");
            }
        });
    }

    /// Carry on with the migrations that were running when the process stopped:
    /// what they already queued or created is skipped.
    pub async fn resume_migrations(self: &Arc<Self>) -> Result<usize, ApiError> {
        let running = self.store.running_migrations().await?;
        for id in &running {
            tracing::info!(migration = %id, "resuming a trigger migration");
            self.spawn_migration(*id);
        }
        Ok(running.len())
    }

    fn migration_trigger(
        &self,
        plugin: &str,
        event_type: &str,
        item: &MigrationCreateItem,
    ) -> TriggerInput {
        TriggerInput {
            plugin: plugin.to_string(),
            event_type: event_type.to_string(),
            action: None,
            entity: item.entity.clone(),
            initiator: None,
            payload: Some(item.payload.clone()),
            aggregation_key: None,
            run_at: None,
        }
    }

    /// The background job: one trigger at a time, at most `rate` per second,
    /// stopping when cancelled.
    async fn run_migration(&self, id: Uuid) -> Result<(), ApiError> {
        let m = self
            .store
            .get_migration(id)
            .await?
            .ok_or_else(ApiError::internal)?;
        let rate = m.spec["rate_per_sec"].as_u64().unwrap_or(50).clamp(1, 1000);
        let pause = Duration::from_secs_f64(1.0 / rate as f64);
        let actor = format!("{} (migration {})", m.actor, id);
        // Resuming after a restart: what is already done stays done.
        let already: std::collections::HashSet<Uuid> = self
            .store
            .migration_item_ids(id)
            .await?
            .into_iter()
            .collect();
        let mut done = already.len() as u64;
        if m.kind == "rerun" {
            let filter: TriggerFilter =
                serde_json::from_value(m.spec.clone()).map_err(|_| ApiError::internal())?;
            let store_filter = self.resolve_filter(filter).await?;
            // The set is fixed by the moment the job starts: later triggers are not migrated.
            let mut ids = Vec::new();
            let mut after: Option<Cursor> = None;
            loop {
                let page = self.store.list_triggers(&store_filter, after, 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(Cursor {
                    scheduled_at: last.scheduled_at,
                    id: last.id,
                });
                ids.extend(page.iter().map(|t| t.id));
            }
            for trigger_id in ids.into_iter().filter(|t| !already.contains(t)) {
                if self.migration_cancelled(id).await {
                    return Ok(());
                }
                let run = PendingRun {
                    kind: StartedByKind::Migration,
                    actor: actor.clone(),
                    reason: m.reason.clone(),
                    resume_retries: false,
                };
                // A trigger in flight is skipped; it was being executed anyway.
                self.store.request_run(trigger_id, run, None).await?;
                self.store.add_migration_item(id, trigger_id).await?;
                done += 1;
                self.store
                    .update_migration(id, done, "running", None)
                    .await?;
                self.announce_due().await;
                tokio::time::sleep(pause).await;
            }
        } else {
            let plugin = m.spec["plugin"].as_str().unwrap_or_default().to_string();
            let event_type = m.spec["event_type"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let items: Vec<MigrationCreateItem> = serde_json::from_value(m.spec["create"].clone())
                .map_err(|_| ApiError::internal())?;
            let creator = Principal {
                name: actor.clone(),
                role: Role::Admin,
            };
            for item in items.into_iter().skip(already.len()) {
                if self.migration_cancelled(id).await {
                    return Ok(());
                }
                let input = self.migration_trigger(&plugin, &event_type, &item);
                let (trigger, _) = self.create_trigger(&creator, input, None).await?;
                self.store.add_migration_item(id, trigger.id).await?;
                done += 1;
                self.store
                    .update_migration(id, done, "running", None)
                    .await?;
                tokio::time::sleep(pause).await;
            }
        }
        self.store
            .update_migration(id, done, "completed", Some(now()))
            .await?;
        Ok(())
    }

    async fn migration_cancelled(&self, id: Uuid) -> bool {
        matches!(self.store.get_migration(id).await, Ok(Some(m)) if m.status == "cancelled")
    }

    pub async fn get_migration(&self, who: &Principal, id: &str) -> Result<Migration, ApiError> {
        who.require(Role::Admin)?;
        let id =
            Uuid::parse_str(id).map_err(|_| ApiError::invalid("id", "a migration id is a UUID"))?;
        let m = self
            .store
            .get_migration(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no migration {id}")))?;
        Ok(public(m))
    }

    pub async fn cancel_migration(&self, who: &Principal, id: &str) -> Result<Migration, ApiError> {
        who.require(Role::Admin)?;
        let uuid =
            Uuid::parse_str(id).map_err(|_| ApiError::invalid("id", "a migration id is a UUID"))?;
        let m = self.get_migration(who, id).await?;
        if !self.store.cancel_migration(uuid, now()).await? {
            return Err(ApiError::conflict(format!(
                "migration {uuid} has already {}",
                m.status
            )));
        }
        self.get_migration(who, id).await
    }
}
