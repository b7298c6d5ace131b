//! Trigger migrations (Zero Friction's "Execute Trigger Migration"): re-execute
//! every trigger matching a filter, or create triggers that never existed. A dry
//! run only counts; a real run is a background job at a bounded rate, with a
//! reason, progress, cancel and an audit row. Admins only.
//!
//! A running job belongs to one instance under a lease (renewed with every item,
//! given up on shutdown); `run_migrations` takes over jobs whose lease is free or
//! expired, so a restart or another instance carries on. Each item is recorded by
//! its position in the same transaction as the trigger it creates (under the key
//! `migration:{id}:{position}`) or re-queues, so none is done twice. A rerun's set
//! is fixed when it starts; a create's payloads are sealed like any trigger's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use uuid::Uuid;

use app::domain::{Migration, StartedByKind};

use super::secrets::Owner;
use super::{now, Permission, Principal, Service, ServiceError, TriggerFields, TriggerInput};
use crate::storage::{MigrationRecord, MigrationStep, MigrationWork, PendingRun, StepOutcome};

/// This instance's part in running migrations: who it is, how long its leases
/// last, which jobs it runs now, and the shutdown signal they stop on.
pub(crate) struct Runner {
    instance: String,
    lease_ms: std::sync::atomic::AtomicU64,
    running: Mutex<HashSet<Uuid>>,
    shutdown: Mutex<watch::Receiver<bool>>,
    /// Keeps the default shutdown signal (never sent) open.
    _never: watch::Sender<bool>,
}

impl Runner {
    pub(crate) fn new() -> Runner {
        let (never, shutdown) = watch::channel(false);
        Runner {
            instance: format!("migrations-{}", Uuid::now_v7().simple()),
            lease_ms: std::sync::atomic::AtomicU64::new(30_000),
            running: Mutex::new(HashSet::new()),
            shutdown: Mutex::new(shutdown),
            _never: never,
        }
    }

    fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.lock().expect("not poisoned").clone()
    }
}

/// Shutdown was asked for (or whoever would ask is gone).
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Removes a job from the running set however it ends.
struct Running<'a>(&'a Runner, Uuid);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.lock().expect("not poisoned").remove(&self.1);
    }
}

pub use app::domain::{DryRun, MigrationCreateItem, MigrationInput, MigrationStart};

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

/// How many migrations `GET /api/v1/migrations` lists: an admin page, not a feed.
pub const MAX_LISTED_MIGRATIONS: u32 = 100;

impl Service {
    pub async fn start_migration(
        self: &Arc<Self>,
        who: &Principal,
        input: MigrationInput,
    ) -> Result<MigrationStart, ServiceError> {
        who.require(Permission::Administer)?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ServiceError::invalid("reason", "say why this migration runs"))?
            .to_string();
        let rate = input.rate_per_sec.unwrap_or(50);
        if !(1..=1000).contains(&rate) {
            return Err(ServiceError::invalid(
                "rate_per_sec",
                "from 1 to 1000 per second",
            ));
        }
        // Known before the spec: a create's sealed payloads are bound to it.
        let id = Uuid::now_v7();
        let (kind, total, sample, spec, rerun_set) = match (&input.filter, &input.create) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(
                    "create",
                    "give either a filter (re-execute) or a create list, not both",
                ))
            }
            (None, None) => {
                return Err(ServiceError::invalid(
                    "filter",
                    "give a filter of triggers to re-execute, or a create list",
                ))
            }
            (Some(filter), None) => {
                let store_filter = self.resolve_filter(who, filter.clone()).await?;
                let total = self.store.reads().count_triggers(&store_filter).await?;
                let sample = self
                    .store
                    .reads()
                    .list_triggers(&store_filter, None, 10)
                    .await?;
                let mut spec = serde_json::to_value(filter).expect("a filter serialises");
                spec["rate_per_sec"] = rate.into();
                ("rerun", total, sample, spec, Some(store_filter))
            }
            (None, Some(items)) => {
                if items.is_empty() || items.len() > MAX_CREATE {
                    return Err(ServiceError::invalid(
                        "create",
                        format!("give 1 to {MAX_CREATE} triggers to create"),
                    ));
                }
                let plugin = input.plugin.clone().ok_or_else(|| {
                    ServiceError::invalid("plugin", "name the plugin to create triggers for")
                })?;
                let event_type = input.event_type.clone().ok_or_else(|| {
                    ServiceError::invalid("event_type", "name the event type to create")
                })?;
                // Check every item up front: nothing is created when one is wrong.
                for (i, item) in items.iter().enumerate() {
                    self.check_trigger_input(
                        who,
                        &self.migration_trigger(&plugin, &event_type, item),
                    )
                    .await
                    .map_err(|e| e.within(&format!("create[{i}]")))?;
                }
                // Stored like any trigger's payload: what a redaction rule covers is sealed.
                let rules = self
                    .cached_plugin(&plugin)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::invalid("plugin", format!("no plugin named {plugin:?}"))
                    })?
                    .plugin
                    .redact;
                let sealed: Vec<MigrationCreateItem> = items
                    .iter()
                    .map(|item| MigrationCreateItem {
                        entity: item.entity.clone(),
                        payload: self.secrets.seal_payload(
                            &item.payload,
                            &rules,
                            Owner::MigrationPayload(id),
                        ),
                    })
                    .collect();
                let spec = serde_json::json!({"plugin": plugin, "event_type": event_type,
                                              "create": sealed, "rate_per_sec": rate});
                ("create", items.len() as u64, Vec::new(), spec, None)
            }
        };
        if input.dry_run {
            return Ok(MigrationStart::DryRun(DryRun {
                count: total,
                sample,
            }));
        }
        let mut record = MigrationRecord {
            id,
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
        let audit = who.audit(
            record.created_at,
            format!("migration.{kind}"),
            format!("migration:{}", record.id),
            reason,
            serde_json::json!({"total": total, "rate_per_sec": rate}),
        );
        // The set a rerun re-executes is fixed here, with the migration itself.
        record.total = self
            .store
            .begin_migration(&record, audit, rerun_set.as_ref())
            .await?;
        self.spawn_migration(record.id);
        Ok(MigrationStart::Started(public(record)))
    }

    /// How long a migration's lease lasts without renewal (30 s by default). Another
    /// instance takes a job over once its owner has not renewed it for this long.
    pub fn set_migration_lease(&self, lease: Duration) {
        let ms = lease.as_millis().clamp(100, 3_600_000) as u64;
        self.migrations
            .lease_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Run the job here if this instance can take its lease (free, expired or ours)
    /// and does not run it already. True when it was started.
    async fn take_migration(self: &Arc<Self>, id: Uuid) -> Result<bool, ServiceError> {
        let runner = &self.migrations;
        if !runner.running.lock().expect("not poisoned").insert(id) {
            return Ok(false);
        }
        let until = now() + runner.lease();
        match self
            .store
            .writes()
            .claim_migration(id, &runner.instance, until)
            .await
        {
            Ok(true) => {}
            other => {
                runner.running.lock().expect("not poisoned").remove(&id);
                other?;
                return Ok(false);
            }
        }
        let job = self.clone();
        tokio::spawn(async move {
            let _running = Running(&job.migrations, id);
            let shutdown = job.migrations.shutdown();
            if let Err(e) = job.run_migration(id, shutdown).await {
                tracing::error!(migration = %id, error = %e.message(),
                    "trigger migration stopped; it is resumed once its lease is free");
                // Let another instance (or this one, on its next look) carry on.
                let _ = job
                    .store
                    .writes()
                    .release_migration(id, &job.migrations.instance)
                    .await;
            }
        });
        Ok(true)
    }

    fn spawn_migration(self: &Arc<Self>, id: Uuid) {
        let job = self.clone();
        tokio::spawn(async move {
            if let Err(e) = job.take_migration(id).await {
                tracing::warn!(migration = %id, error = %e.message(), "starting a trigger migration");
            }
        });
    }

    /// Carry on with the running migrations whose lease is free or expired (a
    /// stopped process's): what they already did is skipped. Returns how many
    /// this instance took.
    pub async fn resume_migrations(self: &Arc<Self>) -> Result<usize, ServiceError> {
        let mut taken = 0;
        for id in self.store.reads().running_migrations().await? {
            if self.take_migration(id).await? {
                tracing::info!(migration = %id, "resuming a trigger migration");
                taken += 1;
            }
        }
        Ok(taken)
    }

    /// Until `shutdown` turns true: take over migrations whose lease is free or
    /// expired, looking every third of a lease. On shutdown the jobs here stop
    /// between two items and give their leases up; this returns once they have
    /// (or after 10 s).
    pub fn run_migrations(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Jobs started from now on (by a request too) stop on this signal.
        *self.migrations.shutdown.lock().expect("not poisoned") = shutdown.clone();
        async move {
            while !stopping(&shutdown) {
                if let Err(e) = self.resume_migrations().await {
                    tracing::warn!(error = %e.message(), "looking for trigger migrations to resume");
                }
                let look_again = self.migrations.lease() / 3;
                tokio::select! {
                    _ = tokio::time::sleep(look_again) => {}
                    _ = shutdown.changed() => {}
                }
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !self
                .migrations
                .running
                .lock()
                .expect("not poisoned")
                .is_empty()
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    fn migration_trigger(
        &self,
        plugin: &str,
        event_type: &str,
        item: &MigrationCreateItem,
    ) -> TriggerInput {
        TriggerInput {
            fields: TriggerFields {
                plugin: plugin.to_string(),
                event_type: event_type.to_string(),
                action: None,
                entity: item.entity.clone(),
                initiator: None,
                payload: Some(item.payload.clone()),
                aggregation_key: None,
            },
            run_at: None,
        }
    }

    /// The background job, under this instance's lease: one item at a time, at
    /// most `rate` per second, stopping when cancelled, when the lease is lost, or
    /// on shutdown (giving the lease up).
    async fn run_migration(
        &self,
        id: Uuid,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServiceError> {
        let m = self
            .store
            .reads()
            .get_migration(id)
            .await?
            .ok_or_else(ServiceError::internal)?;
        let rate = m.spec["rate_per_sec"].as_u64().unwrap_or(50).clamp(1, 1000);
        let pause = Duration::from_secs_f64(1.0 / rate as f64);
        let owner = self.migrations.instance.clone();
        let actor = format!("{} (migration {})", m.actor, id);
        // Resuming: what is already done stays done.
        let done: HashSet<u64> = self
            .store
            .reads()
            .migration_done_positions(id)
            .await?
            .into_iter()
            .collect();
        let mut items = MigrationItems::new(&m, &actor)?;
        while let Some((position, work)) = items.next(self, &done).await? {
            if stopping(&shutdown) {
                self.store.writes().release_migration(id, &owner).await?;
                tracing::info!(migration = %id, "trigger migration paused for shutdown");
                return Ok(());
            }
            let step = MigrationStep {
                migration_id: id,
                owner: owner.clone(),
                lease_until: now() + self.migrations.lease(),
                position,
                work,
            };
            match self.store.migration_step(step).await? {
                StepOutcome::Stopped => return Ok(()),
                StepOutcome::AlreadyDone => continue,
                StepOutcome::Done => self.announce_due().await,
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.store.writes().complete_migration(id, &owner).await?;
        Ok(())
    }

    pub async fn get_migration(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<Migration, ServiceError> {
        who.require(Permission::Administer)?;
        let id = Uuid::parse_str(id)
            .map_err(|_| ServiceError::invalid("id", "a migration id is a UUID"))?;
        let m = self
            .store
            .reads()
            .get_migration(id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no migration {id}")))?;
        Ok(public(m))
    }

    /// The newest migrations first (at most `MAX_LISTED_MIGRATIONS`), each with its progress.
    pub async fn list_migrations(&self, who: &Principal) -> Result<Vec<Migration>, ServiceError> {
        who.require(Permission::Administer)?;
        let mut items = Vec::new();
        for id in self
            .store
            .reads()
            .recent_migrations(MAX_LISTED_MIGRATIONS)
            .await?
        {
            if let Some(m) = self.store.reads().get_migration(id).await? {
                items.push(public(m));
            }
        }
        Ok(items)
    }

    pub async fn cancel_migration(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<Migration, ServiceError> {
        who.require(Permission::Administer)?;
        let uuid = Uuid::parse_str(id)
            .map_err(|_| ServiceError::invalid("id", "a migration id is a UUID"))?;
        let m = self.get_migration(who, id).await?;
        if !self.store.writes().cancel_migration(uuid, now()).await? {
            return Err(ServiceError::conflict(format!(
                "migration {uuid} has already {}",
                m.status
            )));
        }
        self.get_migration(who, id).await
    }
}

/// The items of a job, in order, with what doing each means: the rerun's fixed
/// set, read a page at a time, or the create list, opened one payload at a time.
enum MigrationItems {
    Rerun {
        id: Uuid,
        run: PendingRun,
        page: std::vec::IntoIter<(u64, Uuid)>,
        after: Option<u64>,
        ended: bool,
    },
    Create {
        creator: Principal,
        plugin: String,
        event_type: String,
        items: std::iter::Enumerate<std::vec::IntoIter<MigrationCreateItem>>,
        id: Uuid,
    },
}

const SET_PAGE: u32 = 500;

impl MigrationItems {
    fn new(m: &MigrationRecord, actor: &str) -> Result<Self, ServiceError> {
        if m.kind == "rerun" {
            return Ok(MigrationItems::Rerun {
                id: m.id,
                run: PendingRun {
                    kind: StartedByKind::Migration,
                    actor: actor.to_string(),
                    reason: m.reason.clone(),
                    resume_retries: false,
                },
                page: Vec::new().into_iter(),
                after: None,
                ended: false,
            });
        }
        let items: Vec<MigrationCreateItem> = serde_json::from_value(m.spec["create"].clone())
            .map_err(|_| ServiceError::internal())?;
        Ok(MigrationItems::Create {
            creator: Principal::system(actor),
            plugin: m.spec["plugin"].as_str().unwrap_or_default().to_string(),
            event_type: m.spec["event_type"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            items: items.into_iter().enumerate(),
            id: m.id,
        })
    }

    /// The next item not done yet.
    async fn next(
        &mut self,
        service: &Service,
        done: &HashSet<u64>,
    ) -> Result<Option<(u64, MigrationWork)>, ServiceError> {
        match self {
            MigrationItems::Rerun {
                id,
                run,
                page,
                after,
                ended,
            } => loop {
                if let Some((position, trigger_id)) = page.next() {
                    *after = Some(position);
                    if done.contains(&position) {
                        continue;
                    }
                    let run = run.clone();
                    return Ok(Some((position, MigrationWork::Rerun { trigger_id, run })));
                }
                if *ended {
                    return Ok(None);
                }
                let next = service
                    .store
                    .reads()
                    .migration_set(*id, *after, SET_PAGE)
                    .await?;
                *ended = next.len() < SET_PAGE as usize;
                *page = next.into_iter();
            },
            MigrationItems::Create {
                creator,
                plugin,
                event_type,
                items,
                id,
            } => {
                for (position, item) in items.by_ref() {
                    let position = position as u64;
                    if done.contains(&position) {
                        continue;
                    }
                    // Opened only to be checked and sealed again as the trigger's payload.
                    let opened = service
                        .secrets
                        .unseal_payload(&item.payload.to_string(), Owner::MigrationPayload(*id))
                        .ok()
                        .and_then(|p| serde_json::from_str(&p).ok())
                        .ok_or_else(ServiceError::internal)?;
                    let item = MigrationCreateItem {
                        entity: item.entity,
                        payload: opened,
                    };
                    let input = service.migration_trigger(plugin, event_type, &item);
                    let key = format!("migration:{id}:{position}");
                    let trigger = service
                        .prepare_trigger(creator, input, Some(&key))
                        .await?
                        .row;
                    return Ok(Some((position, MigrationWork::Create(Box::new(trigger)))));
                }
                Ok(None)
            }
        }
    }
}
