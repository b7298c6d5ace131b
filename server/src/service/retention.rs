//! Retention in two tiers, and erasure on request.
//!
//! After the detail TTL a final trigger loses its payload, attempts (request and
//! response headers and bodies) and logs; its summary row (plugin, type, entity,
//! initiator, status, times, attempt count, external id, last error) stays until
//! the summary TTL. Audit rows are never touched. Work is done in batches, each
//! one short transaction paced for its database ([`Pace`]: on SQLite a rest after
//! each as long as it took), so ingest and the executor never wait long behind
//! it; one instance at a time runs it in the background (a lease), and
//! `calltrail prune` runs the same passes by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::types::Reason;
use super::{now, Permission, Principal, Service, ServiceError};
use crate::storage::{Removal, RetentionTier};

/// Triggers erased per write (an erasure is one entity's few triggers).
const BATCH: u32 = 500;

/// How a retention pass shares the database: how many triggers a batch takes (as
/// many as fit in `target` of writing, learnt from the batches before) and
/// whether it rests after each.
///
/// On SQLite every write waits for one writer. A request arriving during a batch
/// waits for it, and one from another process (`calltrail prune` beside `serve`)
/// also for SQLite's busy handler, which polls at 1, 3, 8, 18, 33 ms: so batches
/// are short (10 ms) and each is followed by a rest as long as it took, so ingest
/// and the executor keep at least half of the writer. On PostgreSQL a batch locks
/// only the final triggers it removes (a re-run of one of them waits for it, no
/// ingest or claim does); it shares the CPU, so batches are larger and back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    batch: u32,
    target: Duration,
    rests: bool,
}

impl Pace {
    const MIN: u32 = 50;
    const MAX: u32 = 2_000;

    fn new(one_writer: bool) -> Pace {
        if one_writer {
            Pace {
                batch: 100,
                target: Duration::from_millis(10),
                rests: true,
            }
        } else {
            Pace {
                batch: 500,
                target: Duration::from_millis(100),
                rests: false,
            }
        }
    }

    /// The next batch's size after one of `done` triggers took `took`: scaled
    /// toward the target, at most doubling or halving at a time.
    fn after(self, done: usize, took: Duration) -> Pace {
        if done < self.batch as usize {
            return self; // the last, short batch says nothing about the rate
        }
        let per_trigger = took.as_secs_f64() / done as f64;
        let fits = (self.target.as_secs_f64() / per_trigger.max(1e-9)).round() as u32;
        let batch = fits
            .clamp(self.batch / 2, self.batch.saturating_mul(2))
            .clamp(Pace::MIN, Pace::MAX);
        Pace { batch, ..self }
    }

    /// How long to leave the database to others after a batch that took `took`.
    fn rest(self, took: Duration) -> Duration {
        if self.rests {
            took
        } else {
            Duration::ZERO
        }
    }
}

/// The lease's name in `job_leases`.
const LEASE: &str = "retention";

/// How long each tier is kept; `None` keeps it forever. Policy as data: `cutoffs`
/// is a pure function of it and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub detail: Option<Duration>,
    pub summary: Option<Duration>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            detail: Some(Duration::from_secs(30 * 86_400)),
            summary: Some(Duration::from_secs(400 * 86_400)),
        }
    }
}

impl RetentionPolicy {
    /// From days (0 keeps forever), refusing a summary kept shorter than its details.
    pub fn from_days(detail_days: u32, summary_days: u32) -> Result<RetentionPolicy, String> {
        let days = |d: u32| (d > 0).then(|| Duration::from_secs(u64::from(d) * 86_400));
        let policy = RetentionPolicy {
            detail: days(detail_days),
            summary: days(summary_days),
        };
        match (policy.detail, policy.summary) {
            (None, Some(_)) => Err(
                "CALLTRAIL_RETENTION_SUMMARY_DAYS needs CALLTRAIL_RETENTION_DETAIL_DAYS: details \
                 cannot outlive their trigger"
                    .into(),
            ),
            (Some(d), Some(s)) if s < d => Err(format!(
                "CALLTRAIL_RETENTION_SUMMARY_DAYS ({summary_days}) is shorter than \
                 CALLTRAIL_RETENTION_DETAIL_DAYS ({detail_days})"
            )),
            _ => Ok(policy),
        }
    }

    /// This policy with a plugin's own days where it has them (0: forever). A
    /// summary is never kept shorter than its details.
    pub fn for_plugin(&self, own: app::domain::PluginRetention) -> RetentionPolicy {
        let days = |d: u32| (d > 0).then(|| Duration::from_secs(u64::from(d) * 86_400));
        let detail = own.detail_days.map_or(self.detail, days);
        let summary = own.summary_days.map_or(self.summary, days);
        let summary = match (detail, summary) {
            (None, _) => None,
            (Some(d), Some(s)) => Some(s.max(d)),
            (Some(_), None) => None,
        };
        RetentionPolicy { detail, summary }
    }

    /// What finished before each returned time is due for that tier's removal.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> [(RetentionTier, Option<DateTime<Utc>>); 2] {
        let before = |d: Option<Duration>| {
            d.and_then(|d| chrono::Duration::from_std(d).ok())
                .and_then(|d| now.checked_sub_signed(d))
        };
        [
            // Whole triggers first: their details need no separate pass.
            (RetentionTier::Summary, before(self.summary)),
            (RetentionTier::Details, before(self.detail)),
        ]
    }
}

/// What a pass removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PruneReport {
    /// Triggers whose payload, attempts and logs were removed.
    pub details_removed: u64,
    /// Triggers removed whole.
    pub triggers_deleted: u64,
}

/// An erasure's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub entity_type: String,
    pub entity_id: String,
    /// Triggers whose payload, attempts and logs were removed now.
    pub erased: u64,
    /// Triggers still waiting or running: erase again once they have finished.
    pub in_progress: u64,
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct ErasureInput {
    /// Why (a data subject's request, a ticket): kept in the audit trail.
    pub reason: Option<String>,
}

impl Service {
    /// The policy background retention and `prune` follow.
    pub fn set_retention(&self, policy: RetentionPolicy) {
        *self.retention.write().expect("not poisoned") = policy;
    }

    pub fn retention(&self) -> RetentionPolicy {
        *self.retention.read().expect("not poisoned")
    }

    /// One full pass of both tiers, batch by batch; `progress` hears after each
    /// batch. A dry run only counts. Plugins with their own retention get passes
    /// of their own; the rest follow the global policy.
    pub async fn prune(
        &self,
        dry_run: bool,
        progress: &(dyn Fn(PruneReport) + Sync),
    ) -> Result<PruneReport, ServiceError> {
        let global = self.retention();
        let plugins = self.store.reads().list_plugins().await?;
        let mut report = PruneReport::default();
        if plugins.iter().all(|p| p.plugin.retention.is_global()) {
            self.prune_plugins(global, None, dry_run, &mut report, progress)
                .await?;
            return Ok(report);
        }
        // Plugins grouped by the policy they follow: one pass per policy.
        let mut groups: Vec<(RetentionPolicy, Vec<Uuid>)> = Vec::new();
        for p in &plugins {
            let policy = global.for_plugin(p.plugin.retention);
            match groups.iter_mut().find(|(g, _)| *g == policy) {
                Some((_, ids)) => ids.push(p.plugin.id),
                None => groups.push((policy, vec![p.plugin.id])),
            }
        }
        for (policy, ids) in groups {
            self.prune_plugins(policy, Some(&ids), dry_run, &mut report, progress)
                .await?;
        }
        Ok(report)
    }

    /// Both tiers of `policy` over the triggers of `plugins` (all when `None`).
    async fn prune_plugins(
        &self,
        policy: RetentionPolicy,
        plugins: Option<&[Uuid]>,
        dry_run: bool,
        report: &mut PruneReport,
        progress: &(dyn Fn(PruneReport) + Sync),
    ) -> Result<(), ServiceError> {
        let cutoffs = policy.cutoffs(now());
        // What the summary tier removes whole is not counted again for its details.
        let summary_cutoff = cutoffs[0].1;
        for (tier, cutoff) in cutoffs {
            let Some(cutoff) = cutoff else { continue };
            let not_before = match tier {
                RetentionTier::Details => summary_cutoff,
                RetentionTier::Summary => None,
            };
            let mut after: Option<Uuid> = None;
            let mut pace = Pace::new(self.store.one_writer());
            loop {
                let limit = if dry_run { Pace::MAX } else { pace.batch };
                let ids = self
                    .store
                    .expired_triggers(tier, cutoff, not_before, plugins, after, limit)
                    .await?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                let started = std::time::Instant::now();
                let n = if dry_run {
                    ids.len() as u64
                } else {
                    match tier {
                        RetentionTier::Details => {
                            self.store
                                .remove_details(&ids, now(), Removal::Retention)
                                .await?
                        }
                        RetentionTier::Summary => self.store.delete_triggers(&ids).await?,
                    }
                };
                let took = started.elapsed();
                match tier {
                    RetentionTier::Details => {
                        report.details_removed += n;
                        if !dry_run {
                            crate::metrics::retention_deleted("details", n);
                        }
                    }
                    RetentionTier::Summary => {
                        report.triggers_deleted += n;
                        if !dry_run {
                            crate::metrics::retention_deleted("summary", n);
                        }
                    }
                }
                progress(*report);
                after = Some(last);
                if !dry_run {
                    tokio::time::sleep(pace.rest(took)).await;
                    pace = pace.after(ids.len(), took);
                }
            }
        }
        Ok(())
    }

    /// Background retention: every `every`, the instance that holds the lease runs
    /// a pass. Stops when `stop` turns true.
    pub async fn run_retention(
        self: Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let owner = Uuid::now_v7().to_string();
        loop {
            let held = chrono::Duration::from_std(every * 2).unwrap_or(chrono::Duration::hours(1));
            let t = now();
            match self.store.take_job_lease(LEASE, &owner, t, t + held).await {
                Ok(true) => match self.prune(false, &|_| {}).await {
                    Ok(r) if r != PruneReport::default() => tracing::info!(
                        details_removed = r.details_removed,
                        triggers_deleted = r.triggers_deleted,
                        "retention pass"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e, "retention pass"),
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "taking the retention lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        let _ = self.store.give_up_job_lease(LEASE, &owner).await;
    }

    /// Erase the payloads, attempts and logs of one entity's finished triggers now
    /// (admin, with a reason, audited). Triggers still in progress are counted,
    /// not touched: erase again when they have finished.
    pub async fn erase_entity(
        &self,
        who: &Principal,
        entity_type: &str,
        entity_id: &str,
        input: ErasureInput,
    ) -> Result<Erasure, ServiceError> {
        who.require(Permission::Administer)?;
        let reason = Reason::parse(input.reason)?.into_inner();
        let entity = super::types::Entity::parse(app::domain::EntityRef {
            entity_type: entity_type.to_string(),
            id: entity_id.to_string(),
        })?
        .into_inner();
        let mut out = Erasure {
            entity_type: entity.entity_type.clone(),
            entity_id: entity.id.clone(),
            ..Default::default()
        };
        let mut after = None;
        loop {
            let ids = self
                .store
                .entity_triggers(&entity.entity_type, &entity.id, after, BATCH)
                .await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            let erased = self
                .store
                .remove_details(&ids, now(), Removal::Erasure)
                .await?;
            out.erased += erased;
            out.in_progress += ids.len() as u64 - erased;
            after = Some(last);
        }
        if out.erased + out.in_progress == 0 {
            return Err(ServiceError::not_found(format!(
                "no triggers of entity {}/{}",
                out.entity_type, out.entity_id
            )));
        }
        self.store.flush_erased().await?;
        let audit = who.audit(
            now(),
            "entity.erase",
            format!("entity:{}/{}", entity.entity_type, entity.id),
            reason,
            serde_json::json!({"erased": out.erased, "in_progress": out.in_progress}),
        );
        self.store.writes().insert_audit(&audit).await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_expire_after_their_ttl_and_summaries_after_theirs() {
        let now = Utc::now();
        let p = RetentionPolicy::from_days(30, 400).unwrap();
        let [(first, summary), (second, detail)] = p.cutoffs(now);
        assert_eq!(
            (first, second),
            (RetentionTier::Summary, RetentionTier::Details)
        );
        assert_eq!(now - summary.unwrap(), chrono::Duration::days(400));
        assert_eq!(now - detail.unwrap(), chrono::Duration::days(30));
    }

    #[test]
    fn batches_grow_or_shrink_toward_the_target_time() {
        let ms = Duration::from_millis;
        let sqlite = Pace::new(true);
        assert_eq!(sqlite.batch, 100);
        // Fast: doubles at most, and never past the maximum.
        assert_eq!(sqlite.after(100, ms(1)).batch, 200);
        let big = Pace {
            batch: 1_500,
            ..sqlite
        };
        assert_eq!(big.after(1_500, ms(1)).batch, Pace::MAX);
        // Slow: halves at most, and never below the minimum.
        assert_eq!(sqlite.after(100, ms(400)).batch, Pace::MIN);
        // Near the target it settles: 100 in 20 ms is 50 per 10 ms.
        assert_eq!(sqlite.after(100, ms(20)).batch, 50);
        // The last, short batch says nothing.
        assert_eq!(sqlite.after(7, ms(400)), sqlite);
        // SQLite's passes rest as long as each batch took; PostgreSQL's do not.
        assert_eq!(sqlite.rest(ms(12)), ms(12));
        let postgres = Pace::new(false);
        assert_eq!(postgres.rest(ms(12)), Duration::ZERO);
        assert_eq!(postgres.after(500, ms(50)).batch, 1_000);
    }

    #[test]
    fn zero_days_keeps_a_tier_forever() {
        let p = RetentionPolicy::from_days(30, 0).unwrap();
        assert_eq!(p.summary, None);
        assert_eq!(p.cutoffs(Utc::now())[0].1, None);
        assert_eq!(RetentionPolicy::from_days(0, 0).unwrap().detail, None);
    }

    #[test]
    fn a_summary_may_not_be_kept_shorter_than_its_details() {
        let e = RetentionPolicy::from_days(90, 30).unwrap_err();
        assert!(e.contains("shorter"), "{e}");
        assert!(RetentionPolicy::from_days(0, 30).is_err());
    }
}
