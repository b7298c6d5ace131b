//! The executor: workers inside the server process claim due triggers under a
//! lease, call the provider, record the attempt, and schedule the next one.
//!
//! `step()` claims one batch and executes it; `run()` is the wrapper that waits
//! (woken at once by new work, or at the next due time, or by the poll interval)
//! and stops on shutdown. Tests call `step()`.
//! Where a retry is decided: `policy`. Where a call is made: `deliver`.
//! Outbound safety: `outbound`. Signatures: `signing`.

pub mod deliver;
pub mod outbound;
pub mod policy;
pub mod signing;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::watch;
use uuid::Uuid;

use app::domain::{
    Attempt, Decision, DecisionAction, FailureClass, LastError, LogEntry, StartedBy, StartedByKind,
    Status,
};

use crate::service::{now, PluginSecrets, Service};
use crate::storage::{AttemptOutcome, Claim, ClaimedTrigger, PluginKey, PluginRecord, StoreError};
use outbound::AllowList;

#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Triggers executed at once (one claim batch).
    pub concurrency: usize,
    /// How long a claim holds a trigger; must exceed the longest plugin timeout.
    pub lease: Duration,
    /// Fallback wake-up when nothing signals new work.
    pub poll: Duration,
    pub allow: Arc<AllowList>,
    /// `CALLTRAIL_OUTBOUND_PROXY`; without it calls go direct, whatever the environment says.
    pub proxy: Option<url::Url>,
    /// Recorded bodies are cut here (flagged truncated).
    pub max_recorded_body: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            concurrency: 32,
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(2),
            allow: Arc::new(AllowList::default()),
            proxy: None,
            max_recorded_body: 64 * 1024,
        }
    }
}

type PluginCache = HashMap<Uuid, Option<Arc<(PluginRecord, PluginSecrets)>>>;

pub struct Executor {
    service: Arc<Service>,
    client: reqwest::Client,
    config: ExecutorConfig,
    /// Names this process in logs ("claimed by …").
    owner: String,
}

impl Executor {
    pub fn new(service: Arc<Service>, config: ExecutorConfig) -> Executor {
        Executor {
            client: outbound::client(config.allow.clone(), config.proxy.as_ref()),
            service,
            owner: format!("worker-{}", &Uuid::now_v7().simple().to_string()[20..]),
            config,
        }
    }

    /// Refuse to start when a plugin's timeout could outlive a lease: the trigger
    /// would be claimed again while its first call is still in flight.
    pub async fn check_lease(&self) -> anyhow::Result<()> {
        let longest = self
            .service
            .store()
            .list_plugins()
            .await?
            .iter()
            .map(|p| p.plugin.timeout_ms)
            .max()
            .unwrap_or(0);
        let lease_ms = self.config.lease.as_millis() as u64;
        if longest >= lease_ms {
            anyhow::bail!(
                "the executor lease ({lease_ms} ms) must be longer than the longest plugin timeout \
                 ({longest} ms): raise CALLTRAIL_LEASE_SECS"
            );
        }
        Ok(())
    }

    /// Claim one batch of due triggers, execute them side by side, and record the
    /// outcomes together; says how many ran.
    pub async fn step(&self) -> Result<usize, StoreError> {
        let claimed = self.claim(self.config.concurrency as u32).await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        let plugins = self.plugins_for(&claimed).await;
        let work = claimed.into_iter().map(|t| {
            let plugin = plugins.get(&t.plugin_id).cloned().flatten();
            self.execute(t, plugin)
        });
        let outcomes = futures::future::join_all(work).await;
        self.record(outcomes).await;
        Ok(n)
    }

    /// Store outcomes in one transaction; a lost lease drops only its own result.
    async fn record(&self, outcomes: Vec<AttemptOutcome>) {
        let ids: Vec<Uuid> = outcomes.iter().map(|o| o.trigger_id).collect();
        match self.service.store().record_attempts(outcomes).await {
            Ok(results) => {
                for (id, r) in ids.into_iter().zip(results) {
                    match r {
                        Ok(()) => {}
                        Err(StoreError::LeaseLost) => tracing::warn!(
                            trigger = %id,
                            "lease lost before the result was stored; dropped"
                        ),
                        Err(e) => {
                            tracing::error!(trigger = %id, error = %e, "recording an attempt")
                        }
                    }
                }
            }
            // The leases expire and the triggers are claimed again: nothing is lost.
            Err(e) => tracing::error!(error = %e, "recording a batch of attempts"),
        }
    }

    async fn claim(&self, limit: u32) -> Result<Vec<ClaimedTrigger>, StoreError> {
        let now = now();
        let claim = Claim {
            lease: Uuid::now_v7().to_string(),
            now,
            lease_until: now + chrono::Duration::from_std(self.config.lease).unwrap_or_default(),
            limit,
        };
        self.service.store().claim_due_triggers(&claim).await
    }

    /// Each claimed trigger's plugin with its secrets, loaded once per batch.
    async fn plugins_for(&self, claimed: &[ClaimedTrigger]) -> PluginCache {
        let mut plugins: PluginCache = HashMap::new();
        for t in claimed {
            if let std::collections::hash_map::Entry::Vacant(slot) = plugins.entry(t.plugin_id) {
                slot.insert(self.load_plugin(t.plugin_id).await.map(Arc::new));
            }
        }
        plugins
    }

    async fn load_plugin(&self, id: Uuid) -> Option<(PluginRecord, PluginSecrets)> {
        let record = match self.service.store().get_plugin(&PluginKey::Id(id)).await {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "loading a plugin");
                return None;
            }
        };
        match self.service.unseal(&record) {
            Ok(secrets) => Some((record, secrets)),
            Err(e) => {
                tracing::error!(plugin = %record.plugin.name, error = %e, "unsealing plugin secrets");
                None
            }
        }
    }

    /// Make the call and decide; the caller records the outcome.
    async fn execute(
        &self,
        t: ClaimedTrigger,
        plugin: Option<Arc<(PluginRecord, PluginSecrets)>>,
    ) -> AttemptOutcome {
        let number = t.number;
        let started_at = now();
        let mut logs = vec![log(
            "claimed",
            format!("claimed by {}, attempt {number}", self.owner),
        )];
        let (started_by, automatic) = match &t.run {
            Some(run) => {
                logs.push(log(
                    run.kind.as_str(),
                    format!("{} run by {}: {}", run.kind.as_str(), run.actor, run.reason),
                ));
                (
                    StartedBy {
                        kind: run.kind,
                        actor: Some(run.actor.clone()),
                    },
                    run.resume_retries,
                )
            }
            None => (
                StartedBy {
                    kind: StartedByKind::Automatic,
                    actor: None,
                },
                true,
            ),
        };
        let max = self.config.max_recorded_body;
        let prepared = match &plugin {
            Some(p) => self
                .service
                .unseal_payload(&t.payload)
                .map_err(|e| e.to_string())
                .and_then(|payload| {
                    let plain = ClaimedTrigger {
                        payload,
                        ..t.clone()
                    };
                    deliver::prepare(&p.0.plugin, &p.1, &plain, started_at, max)
                })
                .map(|r| (r, p)),
            None => Err("the plugin is gone or its secrets cannot be read".to_string()),
        };
        let (request, exchange) = match prepared {
            Ok((prepared, p)) => {
                logs.push(log(
                    "request sent",
                    format!("{} {}", prepared.method, prepared.recorded.url),
                ));
                // A call never outlives its lease (a plugin's timeout may have been raised
                // after start-up), or another worker could claim the trigger meanwhile.
                let margin = (self.config.lease / 10).min(Duration::from_secs(5));
                let ceiling = self.config.lease.saturating_sub(margin);
                let timeout = Duration::from_millis(p.0.plugin.timeout_ms).min(ceiling);
                let exchange = deliver::send(
                    &self.client,
                    &self.config.allow,
                    &prepared,
                    timeout,
                    max,
                    &p.0.plugin.redact,
                )
                .await;
                (prepared.recorded, exchange)
            }
            // Nothing was sent: the request could not even be built.
            Err(why) => (
                app::domain::AttemptRequest {
                    method: "-".into(),
                    url: "-".into(),
                    headers: Default::default(),
                    body: None,
                },
                deliver::Exchange {
                    response: None,
                    class: FailureClass::Permanent,
                    error: Some(why),
                    blocked: true,
                    retry_after: None,
                    duration_ms: 0,
                },
            ),
        };
        let policy = plugin
            .as_ref()
            .map(|p| p.0.plugin.retry_policy.clone())
            .unwrap_or_default();
        let decided_at = now();
        let next = if exchange.blocked {
            policy::Next {
                action: DecisionAction::Stop,
                at: None,
            }
        } else {
            let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
            policy::decide(
                &policy,
                number,
                exchange.class,
                exchange.retry_after,
                decided_at,
                jitter,
                automatic,
            )
        };
        let code = exchange.response.as_ref().map(|r| r.status);
        let what = match (code, &exchange.error) {
            (Some(code), _) => format!("{code} {}", exchange.class.as_str().replace('_', " ")),
            (None, Some(e)) => e.clone(),
            (None, None) => "no response".into(),
        };
        logs.push(log(
            "response classified",
            format!("{what}: {}", exchange.class.hint()),
        ));
        let external_id = plugin.as_ref().and_then(|p| {
            let pointer = p.0.plugin.external_id_pointer.as_deref()?;
            let body = exchange.response.as_ref()?.body.as_deref()?;
            external_id(body, pointer)
        });
        let (status, reason) = match next.action {
            DecisionAction::Finish => (
                Status::Finished,
                match &external_id {
                    Some(x) => format!("finished: external id {x}"),
                    None => "finished".to_string(),
                },
            ),
            DecisionAction::Retry => (
                Status::Retrying,
                format!(
                    "retry at {}: {what}: {}",
                    next.at.map(|a| a.to_rfc3339()).unwrap_or_default(),
                    exchange.class.hint()
                ),
            ),
            DecisionAction::Stop => {
                let why = if exchange.class.is_retryable() && !exchange.blocked {
                    if automatic {
                        "retries exhausted".to_string()
                    } else {
                        "manual run failed; automatic retries not resumed".to_string()
                    }
                } else {
                    exchange.class.hint().to_string()
                };
                (Status::Erroneous, format!("stop: {what}: {why}"))
            }
        };
        let step = match status {
            Status::Finished => "finished",
            Status::Retrying => "retry scheduled",
            _ => "failed",
        };
        logs.push(log(step, reason.clone()));
        AttemptOutcome {
            trigger_id: t.id,
            attempt: Attempt {
                id: Uuid::now_v7(),
                number,
                started_at,
                duration_ms: exchange.duration_ms,
                started_by,
                request,
                response: exchange.response,
                class: exchange.class,
                decision: Decision {
                    action: next.action,
                    at: next.at,
                    reason,
                },
            },
            status,
            next_attempt_at: next.at,
            finished_at: status.is_final().then_some(decided_at),
            external_id,
            last_error: (exchange.class != FailureClass::Success).then(|| LastError {
                class: exchange.class,
                message: what.clone(),
                status_code: code,
            }),
            logs,
            lease: Some(t.lease.clone()),
        }
    }

    /// Run until `shutdown` turns true. Calls run side by side up to `concurrency`;
    /// a slow provider holds only its own slot. Outcomes go to one recorder that
    /// commits whatever has arrived in one transaction. Without work it waits for a
    /// wake-up, the next due time, or the poll interval. On shutdown it stops
    /// claiming and lets the calls in flight finish and be recorded.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let wake = self.service.wake();
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<AttemptOutcome>(4096);
        let recorder = {
            let me = self.clone();
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(256);
                while done_rx.recv_many(&mut batch, 256).await > 0 {
                    me.record(std::mem::take(&mut batch)).await;
                }
            })
        };
        let mut failures = 0u32;
        while !*shutdown.borrow() {
            let free = slots.available_permits();
            if free == 0 {
                // Every slot is busy: wait for one to free up (or shutdown).
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let claimed = match self.claim(free as u32).await {
                Ok(c) => {
                    failures = 0;
                    c
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, "claiming due triggers");
                    Vec::new()
                }
            };
            if !claimed.is_empty() {
                let plugins = self.plugins_for(&claimed).await;
                for t in claimed {
                    let permit = slots.clone().acquire_owned().await.expect("never closed");
                    let plugin = plugins.get(&t.plugin_id).cloned().flatten();
                    let (me, done) = (self.clone(), done_tx.clone());
                    tokio::spawn(async move {
                        let outcome = me.execute(t, plugin).await;
                        let _ = done.send(outcome).await;
                        drop(permit);
                    });
                }
                continue;
            }
            let mut pause = self.config.poll;
            if failures > 0 {
                pause = pause.saturating_mul(failures.min(15));
            } else if let Ok(Some(at)) = self.service.store().next_due_at().await {
                let until = (at - Utc::now()).to_std().unwrap_or_default();
                pause = pause.min(until);
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let the calls in flight finish, then flush the recorder.
        let _ = slots.acquire_many(self.config.concurrency as u32).await;
        drop(done_tx);
        let _ = recorder.await;
    }
}

fn external_id(body: &str, pointer: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    match v.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn log(step: &str, message: impl Into<String>) -> LogEntry {
    LogEntry {
        at: now(),
        step: step.into(),
        message: message.into(),
    }
}
