//! The executor: workers inside the server process claim due triggers under a
//! lease, call the provider, record the attempt, and schedule the next one.
//!
//! `dispatch` claims as many due triggers as there are free slots and starts
//! each call in its own task; a recorder commits the outcomes. `step()` dispatches
//! one batch, waits for its calls and records their outcomes together; `run()`
//! dispatches again whenever a slot is free and otherwise waits (woken at once by
//! new work, or at the next due time, or by the poll interval), backs off while
//! claiming fails, and stops on shutdown. Tests call `step()`.
//! How an attempt is told in the log: `crate::outcome`.
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
    Attempt, AttemptRequest, DecisionAction, FailureClass, LogEntry, RetryPolicy, StartedBy,
    StartedByKind,
};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::outcome::{self, Answer, Stop, Verdict};
use crate::service::{now, Owner, PluginSecrets, Service};
use crate::storage::{AttemptOutcome, Claim, ClaimedTrigger, PluginKey, PluginRecord, StoreError};
use outbound::AllowList;

/// How long a freed slot waits for others before it is claimed for alone (see `run`).
const CLAIM_GATHER: Duration = Duration::from_millis(5);

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
    /// How long a trigger waits after its plugin could not be read (a database
    /// error) before it is claimed again.
    pub transient_retry: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            concurrency: 128,
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(2),
            allow: Arc::new(AllowList::default()),
            proxy: None,
            max_recorded_body: 64 * 1024,
            transient_retry: Duration::from_secs(5),
        }
    }
}

/// A claimed trigger's plugin, as far as it could be loaded.
#[derive(Clone)]
enum PluginState {
    Ready(Arc<(PluginRecord, PluginSecrets)>),
    /// The plugin does not exist: the trigger stops.
    Gone,
    /// Reading it failed (a database error): the trigger is released uncounted and
    /// claimed again after `transient_retry`.
    Unreadable(String),
    /// It was read but cannot be used (its secrets do not unseal with this key, or the
    /// row is unreadable): an attempt of class `internal`, retried by the policy.
    Broken(Option<Arc<PluginRecord>>, String),
}

impl PluginState {
    /// The plugin with its secrets, or why no request can be built.
    fn ready(&self) -> Result<&(PluginRecord, PluginSecrets), NotSent> {
        match self {
            PluginState::Ready(p) => Ok(p),
            PluginState::Broken(_, why) | PluginState::Unreadable(why) => Err(NotSent {
                class: FailureClass::Internal,
                why: why.clone(),
            }),
            PluginState::Gone => Err(NotSent {
                class: FailureClass::Permanent,
                why: "the plugin is gone".into(),
            }),
        }
    }

    /// The external record id the response names, where the plugin says to look.
    fn external_id(&self, exchange: &deliver::Exchange) -> Option<String> {
        let PluginState::Ready(p) = self else {
            return None;
        };
        let pointer = p.0.plugin.external_id_pointer.as_deref()?;
        let body = exchange.response.as_ref()?.body.as_deref()?;
        external_id(body, pointer)
    }

    /// The plugin's name, for metrics.
    fn name(&self) -> &str {
        match self {
            PluginState::Ready(p) => &p.0.plugin.name,
            PluginState::Broken(Some(record), _) => &record.plugin.name,
            _ => "unknown",
        }
    }

    /// The retry policy that decides this trigger's next attempt.
    fn policy(&self) -> RetryPolicy {
        match self {
            PluginState::Ready(p) => p.0.plugin.retry_policy.clone(),
            PluginState::Broken(Some(record), _) => record.plugin.retry_policy.clone(),
            _ => RetryPolicy::default(),
        }
    }
}

type PluginCache = HashMap<Uuid, PluginState>;

/// How a worker finished with one claimed trigger.
enum Done {
    /// An attempt to record (a call, or a failure to make one).
    Attempt(Box<Recorded>),
    /// Nothing was sent: the trigger goes back to the queue, its claim uncounted.
    Release(Release),
}

/// A claim given back without a call.
struct Release {
    trigger_id: Uuid,
    lease: String,
    /// When it is due again.
    at: chrono::DateTime<Utc>,
    why: String,
}

/// An attempt to store, with what deciding a fallback needs if it cannot be stored.
struct Recorded {
    outcome: AttemptOutcome,
    policy: RetryPolicy,
    automatic: bool,
}

/// A request that could not be built, or a call that was not allowed to start.
struct NotSent {
    class: FailureClass,
    why: String,
}

/// The executor is cheap to clone: its service, HTTP client and allow-list are shared.
#[derive(Clone)]
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
            .reads()
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
    /// outcomes together; says how many were claimed. The same `dispatch` as `run()`,
    /// with its recorder started once the batch is done.
    pub async fn step(&self) -> Result<usize, StoreError> {
        let me = Arc::new(self.clone());
        let slots = Slots::new(self.config.concurrency);
        let (outcomes, recorded) = self.outcome_channel();
        let n = me.dispatch(&slots, &outcomes).await?;
        slots.all_free().await;
        drop(outcomes);
        me.recorder(recorded).await;
        Ok(n)
    }

    /// Claim due triggers up to the free slots and start each call in its own task,
    /// holding a slot until it is done; its outcome goes to the recorder (or its
    /// claim is given back). Says how many were claimed.
    async fn dispatch(
        self: &Arc<Self>,
        slots: &Slots,
        outcomes: &mpsc::Sender<Recorded>,
    ) -> Result<usize, StoreError> {
        let claimed = self.claim(slots.free() as u32).await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        let plugins = self.plugins_for(&claimed).await;
        for t in claimed {
            let slot = slots.take().await;
            let plugin = plugins
                .get(&t.plugin_id)
                .cloned()
                .unwrap_or(PluginState::Gone);
            let (me, outcomes) = (self.clone(), outcomes.clone());
            tokio::spawn(async move {
                match me.execute(t, plugin).await {
                    Done::Attempt(r) => {
                        let _ = outcomes.send(*r).await;
                    }
                    Done::Release(r) => me.give_back(r).await,
                }
                drop(slot);
            });
        }
        Ok(n)
    }

    /// Where finished calls leave their outcomes for the recorder. Room for every
    /// slot, so a call never waits for a recorder that has not started (`step`).
    fn outcome_channel(&self) -> (mpsc::Sender<Recorded>, mpsc::Receiver<Recorded>) {
        mpsc::channel(self.config.concurrency.max(4096))
    }

    /// Commit whatever outcomes have arrived, in one transaction each time, until
    /// every sender is gone.
    async fn recorder(&self, mut recorded: mpsc::Receiver<Recorded>) {
        let mut batch = Vec::with_capacity(256);
        while recorded.recv_many(&mut batch, 256).await > 0 {
            self.record(std::mem::take(&mut batch)).await;
        }
    }

    /// Give back a claim that was not sent.
    async fn give_back(&self, r: Release) {
        tracing::warn!(trigger = %r.trigger_id, "not sent, released for later: {}", r.why);
        let store = self.service.store();
        if let Err(e) = store
            .writes()
            .release_claim(r.trigger_id, &r.lease, r.at)
            .await
        {
            // The lease expires and the rescue takes the trigger back.
            tracing::error!(trigger = %r.trigger_id, error = %e, "releasing a claim");
        }
    }

    /// Store outcomes in one transaction; a lost lease drops only its own result.
    /// When the batch cannot be written, each outcome is tried on its own; one that
    /// still cannot be written is replaced by an attempt of class `internal` that
    /// says why (see `internal_outcome`).
    async fn record(&self, done: Vec<Recorded>) {
        if done.is_empty() {
            return;
        }
        let store = self.service.store();
        let outcomes = done.iter().map(|d| d.outcome.clone()).collect();
        let results = match store.record_attempts(outcomes).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, "recording a batch of attempts; trying each alone");
                let mut results = Vec::with_capacity(done.len());
                for d in &done {
                    results.push(store.record_attempt(d.outcome.clone()).await);
                }
                results
            }
        };
        for (d, r) in done.iter().zip(results) {
            let id = d.outcome.trigger_id;
            match r {
                Ok(()) => {}
                Err(StoreError::LeaseLost) => tracing::warn!(
                    trigger = %id,
                    "lease lost before the result was stored; dropped"
                ),
                Err(e) => {
                    tracing::error!(trigger = %id, error = %e, "recording an attempt");
                    // If even this fails, the lease expires and the rescue records the
                    // claim as interrupted, bounded by the retry policy.
                    if let Err(e) = store.record_attempt(internal_outcome(d, &e)).await {
                        tracing::error!(trigger = %id, error = %e, "recording an internal failure");
                    }
                }
            }
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
                slot.insert(self.load_plugin(t.plugin_id).await);
            }
        }
        plugins
    }

    /// Only a plugin that does not exist is gone; a database error is passing.
    async fn load_plugin(&self, id: Uuid) -> PluginState {
        let record = match self
            .service
            .store()
            .reads()
            .get_plugin(&PluginKey::Id(id))
            .await
        {
            Ok(Some(r)) => r,
            Ok(None) => return PluginState::Gone,
            Err(StoreError::Corrupt(why)) => {
                tracing::error!(plugin = %id, "the stored plugin is unreadable: {why}");
                return PluginState::Broken(
                    None,
                    format!("the stored plugin is unreadable: {why}"),
                );
            }
            Err(e) => {
                tracing::warn!(plugin = %id, error = %e, "loading a plugin; its triggers wait");
                return PluginState::Unreadable(e.to_string());
            }
        };
        match self.service.unseal(&record) {
            Ok(secrets) => PluginState::Ready(Arc::new((record, secrets))),
            Err(e) => {
                let why = format!(
                    "the secrets of plugin {} cannot be unsealed ({e}): \
                     is the key they were sealed with CALLTRAIL_SECRET_KEY or among \
                     CALLTRAIL_SECRET_KEY_PREVIOUS?",
                    record.plugin.name
                );
                tracing::error!("{why}");
                PluginState::Broken(Some(Arc::new(record)), why)
            }
        }
    }

    /// Prepare the call, send it if it fits in the lease, and decide; the caller
    /// records the attempt (or releases the claim when nothing was sent and nothing
    /// should count).
    async fn execute(&self, t: ClaimedTrigger, plugin: PluginState) -> Done {
        let started_at = now();
        if let PluginState::Unreadable(why) = &plugin {
            let later = chrono::Duration::from_std(self.config.transient_retry).unwrap_or_default();
            return release(
                &t,
                started_at + later,
                format!("its plugin could not be read: {why}"),
            );
        }
        let (mut logs, started_by, automatic) = self.opening(&t);
        let (request, exchange) = match self.call(&t, &plugin, started_at, &mut logs).await {
            Ok(called) => called,
            Err(not_in_time) => return not_in_time,
        };
        let attempt = Attempted {
            number: t.number,
            started_at,
            started_by,
            request,
            external_id: plugin.external_id(&exchange),
            exchange,
        };
        let policy = plugin.policy();
        let outcome = attempt.decide(&policy, automatic, logs, t.id, t.lease.clone());
        let delay = t.due_at.and_then(|due| (started_at - due).to_std().ok());
        crate::metrics::attempt(
            plugin.name(),
            outcome.attempt.class.as_str(),
            delay,
            std::time::Duration::from_millis(outcome.attempt.duration_ms.max(0) as u64),
        );
        Done::Attempt(Box::new(Recorded {
            outcome,
            policy,
            automatic,
        }))
    }

    /// Build the request and send it, if it can be built and fits in what is left of
    /// the lease. A request that cannot be built is an exchange that sent nothing;
    /// one that does not fit in time is a release.
    async fn call(
        &self,
        t: &ClaimedTrigger,
        plugin: &PluginState,
        started_at: chrono::DateTime<Utc>,
        logs: &mut Vec<LogEntry>,
    ) -> Result<(AttemptRequest, deliver::Exchange), Done> {
        let prepared = plugin.ready().and_then(|p| {
            let (request, timeout) = self.prepare(t, p, started_at)?;
            Ok((request, timeout, &p.0.plugin.redact))
        });
        let (prepared, timeout, redact) = match prepared {
            Ok(prepared) => prepared,
            Err(not_sent) => return Ok((nothing_sent(), not_sent.into_exchange())),
        };
        let Some(timeout) = deadline(self.config.lease, timeout, t.lease_until, now()) else {
            let why = format!(
                "too little of its lease was left (until {}) for a call of up to {} ms",
                t.lease_until.to_rfc3339(),
                timeout.as_millis()
            );
            return Err(release(t, started_at, why));
        };
        logs.push(outcome::request_sent(
            now(),
            prepared.method.as_str(),
            prepared.recorded.url.as_str(),
        ));
        let exchange = deliver::send(
            &self.client,
            &self.config.allow,
            &prepared,
            timeout,
            self.config.max_recorded_body,
            redact,
        )
        .await;
        Ok((prepared.recorded, exchange))
    }

    /// The first log lines, and who started this attempt.
    fn opening(&self, t: &ClaimedTrigger) -> (Vec<LogEntry>, StartedBy, bool) {
        let mut logs = vec![outcome::claimed(now(), &self.owner, t.number)];
        let (started_by, automatic) = match &t.run {
            Some(run) => {
                logs.push(outcome::run_asked(now(), run.kind, &run.actor, &run.reason));
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
        (logs, started_by, automatic)
    }

    /// The request to send and the plugin's timeout. A payload that cannot be
    /// unsealed is Calltrail's failure (`internal`, retried); a request the plugin's
    /// definition cannot build is permanent.
    fn prepare(
        &self,
        t: &ClaimedTrigger,
        p: &(PluginRecord, PluginSecrets),
        started_at: chrono::DateTime<Utc>,
    ) -> Result<(deliver::Prepared, Duration), NotSent> {
        let payload = self
            .service
            .unseal_payload(&t.payload, Owner::TriggerPayload(t.id))
            .map_err(|e| NotSent {
                class: FailureClass::Internal,
                why: format!("the payload cannot be unsealed: {e}"),
            })?;
        let plain = ClaimedTrigger {
            payload,
            ..t.clone()
        };
        let prepared = deliver::prepare(
            &p.0.plugin,
            &p.1,
            &plain,
            started_at,
            self.config.max_recorded_body,
        )
        .map_err(|e| NotSent {
            class: FailureClass::Permanent,
            why: e.to_string(),
        })?;
        Ok((prepared, Duration::from_millis(p.0.plugin.timeout_ms)))
    }

    /// Run until `shutdown` turns true. Calls run side by side up to `concurrency`;
    /// a slow provider holds only its own slot. Outcomes go to one recorder that
    /// commits whatever has arrived in one transaction. Without work it waits for a
    /// wake-up, the next due time, or the poll interval. On shutdown it stops
    /// claiming and lets the calls in flight finish and be recorded.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let wake = self.service.wake();
        let slots = Slots::new(self.config.concurrency);
        let (outcomes, recorded) = self.outcome_channel();
        let recorder = {
            let me = self.clone();
            tokio::spawn(async move { me.recorder(recorded).await })
        };
        let mut failures = 0u32;
        while !*shutdown.borrow() {
            if slots.free() < self.claim_batch() {
                // Most slots are busy: wait until a batch of them is free, or one slot
                // and a moment. Claiming each freed slot alone would make every
                // delivery its own claim transaction beside ingest's writes.
                let batch = self.claim_batch();
                tokio::select! {
                    _ = async {
                        slots.one_free().await;
                        let _ = tokio::time::timeout(CLAIM_GATHER, slots.at_least_free(batch)).await;
                    } => {}
                    _ = shutdown.changed() => {}
                }
                if slots.free() == 0 {
                    continue;
                }
            }
            let pause = match self.dispatch(&slots, &outcomes).await {
                Ok(0) => {
                    failures = 0;
                    self.until_next_due().await
                }
                Ok(_) => {
                    failures = 0;
                    continue;
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, "claiming due triggers");
                    self.config.poll.saturating_mul(failures.min(15))
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let the calls in flight finish, then flush the recorder.
        slots.all_free().await;
        drop(outcomes);
        let _ = recorder.await;
    }

    /// The free slots worth a claim of their own: a quarter of them.
    fn claim_batch(&self) -> usize {
        (self.config.concurrency / 4).max(1)
    }

    /// How long to wait when nothing is due: until the next due time, at most the
    /// poll interval.
    async fn until_next_due(&self) -> Duration {
        let mut pause = self.config.poll;
        if let Ok(Some(at)) = self.service.store().reads().next_due_at().await {
            let until = (at - Utc::now()).to_std().unwrap_or_default();
            pause = pause.min(until);
        }
        pause
    }
}

/// The calls that may be in flight at once: one slot each.
struct Slots {
    free: Arc<Semaphore>,
    all: u32,
}

impl Slots {
    fn new(concurrency: usize) -> Slots {
        Slots {
            free: Arc::new(Semaphore::new(concurrency)),
            all: concurrency as u32,
        }
    }

    fn free(&self) -> usize {
        self.free.available_permits()
    }

    /// A slot, held until the permit is dropped.
    async fn take(&self) -> OwnedSemaphorePermit {
        self.free
            .clone()
            .acquire_owned()
            .await
            .expect("never closed")
    }

    /// Wait until at least one slot is free.
    async fn one_free(&self) {
        drop(self.free.acquire().await);
    }

    /// Wait until at least `n` slots are free at once.
    async fn at_least_free(&self, n: usize) {
        drop(self.free.acquire_many(n as u32).await);
    }

    /// Wait until every call in flight is done.
    async fn all_free(&self) {
        drop(self.free.acquire_many(self.all).await);
    }
}

/// Give the claim back: due again at `at`, its attempt not counted.
fn release(t: &ClaimedTrigger, at: chrono::DateTime<Utc>, why: String) -> Done {
    Done::Release(Release {
        trigger_id: t.id,
        lease: t.lease.clone(),
        at,
        why,
    })
}

/// How long a call may take, from what is left of its lease at `at`: the plugin's
/// timeout must fit before the lease ends, with a margin to record the result, or
/// another worker could claim the trigger while the call is in flight. None when
/// it does not fit (the batch waited too long for a slot): the call is not sent and
/// the claim is released uncounted, because nothing happened that a user would
/// call an attempt.
fn deadline(
    lease: Duration,
    timeout: Duration,
    lease_until: chrono::DateTime<Utc>,
    at: chrono::DateTime<Utc>,
) -> Option<Duration> {
    let margin = (lease / 10).min(Duration::from_secs(5));
    // A plugin's timeout may have been raised past the lease after start-up.
    let timeout = timeout.min(lease.saturating_sub(margin));
    // Never more margin than half the slack a fresh claim has, so a call claimed a
    // moment ago always fits.
    let margin = margin.min(lease.saturating_sub(timeout) / 2);
    let usable = (lease_until - at)
        .to_std()
        .unwrap_or_default()
        .saturating_sub(margin);
    (!timeout.is_zero() && usable >= timeout).then_some(timeout)
}

/// What one attempt did, before it is decided.
struct Attempted {
    number: u32,
    started_at: chrono::DateTime<Utc>,
    started_by: StartedBy,
    request: AttemptRequest,
    exchange: deliver::Exchange,
    external_id: Option<String>,
}

impl Attempted {
    /// Decide what happens next (per the policy) and write it as an outcome.
    fn decide(
        self,
        policy: &RetryPolicy,
        automatic: bool,
        mut logs: Vec<LogEntry>,
        trigger_id: Uuid,
        lease: String,
    ) -> AttemptOutcome {
        let exchange = self.exchange;
        let decided_at = now();
        let next = if exchange.blocked {
            policy::Next {
                action: DecisionAction::Stop,
                at: None,
            }
        } else {
            let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
            policy::decide(
                policy,
                self.number,
                exchange.class,
                exchange.retry_after,
                decided_at,
                jitter,
                automatic,
            )
        };
        let answer = Answer {
            class: exchange.class,
            status_code: exchange.response.as_ref().map(|r| r.status),
            error: exchange.error.as_deref(),
        };
        logs.push(answer.classified(now()));
        let retryable = exchange.class.is_retryable() && !exchange.blocked;
        let verdict = verdict(
            &next,
            retryable,
            automatic,
            self.external_id.as_deref(),
            decided_at,
        );
        let concluded = outcome::conclude(&answer, verdict);
        logs.push(concluded.line(now()));
        let last_error = answer.last_error();
        AttemptOutcome {
            trigger_id,
            attempt: Attempt {
                id: Uuid::now_v7(),
                number: self.number,
                started_at: self.started_at,
                duration_ms: exchange.duration_ms,
                started_by: self.started_by,
                request: self.request,
                response: exchange.response,
                class: exchange.class,
                decision: concluded.decision,
            },
            status: concluded.status,
            next_attempt_at: next.at,
            finished_at: concluded.status.is_final().then_some(decided_at),
            external_id: self.external_id,
            last_error,
            logs,
            lease: Some(lease),
        }
    }
}

/// What the policy's decision means for the trigger. A stop after a failure that
/// could have been retried says why no retry came.
fn verdict<'a>(
    next: &policy::Next,
    retryable: bool,
    automatic: bool,
    external_id: Option<&'a str>,
    now: chrono::DateTime<Utc>,
) -> Verdict<'a> {
    match next.action {
        DecisionAction::Finish => Verdict::Finish { external_id },
        // The policy always gives a retry its time.
        DecisionAction::Retry => Verdict::Retry {
            at: next.at.unwrap_or(now),
        },
        DecisionAction::Stop if !retryable => Verdict::Stop(Stop::NotRetryable),
        DecisionAction::Stop if automatic => Verdict::Stop(Stop::RetriesExhausted),
        DecisionAction::Stop => Verdict::Stop(Stop::ManualRunFailed),
    }
}

/// The stand-in for an outcome that could not be stored: the same attempt number,
/// only the method and URL of its request, class `internal` with the database's
/// reason, decided by the retry policy like any retryable failure.
fn internal_outcome(d: &Recorded, error: &StoreError) -> AttemptOutcome {
    let o = &d.outcome;
    let class = match o.attempt.response.as_ref() {
        Some(r) => format!("{} {}", r.status, o.attempt.class.as_str()),
        None => o.attempt.class.as_str().to_string(),
    };
    let what = format!("the outcome ({class}) could not be recorded: {error}");
    let attempted = Attempted {
        number: o.attempt.number,
        started_at: o.attempt.started_at,
        started_by: o.attempt.started_by.clone(),
        request: AttemptRequest {
            method: o.attempt.request.method.clone(),
            url: o.attempt.request.url.clone(),
            headers: Default::default(),
            body: None,
        },
        exchange: NotSent {
            class: FailureClass::Internal,
            why: what,
        }
        .into_exchange(),
        external_id: None,
    };
    let mut outcome = attempted.decide(
        &d.policy,
        d.automatic,
        Vec::new(),
        o.trigger_id,
        o.lease.clone().unwrap_or_default(),
    );
    outcome.attempt.duration_ms = o.attempt.duration_ms;
    outcome.lease = o.lease.clone();
    outcome
}

impl NotSent {
    fn into_exchange(self) -> deliver::Exchange {
        deliver::Exchange {
            response: None,
            // Internal failures are retried by the policy; any other refusal to
            // build the request would fail the same way again.
            blocked: self.class != FailureClass::Internal,
            class: self.class,
            error: Some(self.why),
            retry_after: None,
            duration_ms: 0,
        }
    }
}

/// The request of an attempt that sent nothing.
fn nothing_sent() -> AttemptRequest {
    AttemptRequest {
        method: "-".into(),
        url: "-".into(),
        headers: Default::default(),
        body: None,
    }
}

/// The provider's id for what the call created. One holding a NUL is left out: it
/// is shown and searched as text, which on PostgreSQL cannot hold NUL (the body
/// that carried it is still recorded byte for byte).
fn external_id(body: &str, pointer: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    match v.pointer(pointer)? {
        serde_json::Value::String(s) if !s.contains('\0') => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// The deadline of a call sent `elapsed_secs` after its claim.
    fn left(lease_secs: f64, timeout_secs: f64, elapsed_secs: f64) -> Option<Duration> {
        let claimed = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let lease = secs(lease_secs);
        let until = claimed + chrono::Duration::from_std(lease).unwrap();
        let at = claimed + chrono::Duration::from_std(secs(elapsed_secs)).unwrap();
        deadline(lease, secs(timeout_secs), until, at)
    }

    #[test]
    fn a_fresh_claim_gets_the_plugins_whole_timeout() {
        assert_eq!(left(120.0, 30.0, 0.01), Some(secs(30.0)));
        assert_eq!(left(4.0, 3.5, 0.01), Some(secs(3.5)));
        assert_eq!(
            left(4.0, 3.9, 0.01),
            Some(secs(3.6)),
            "capped below the lease"
        );
    }

    #[test]
    fn a_call_that_cannot_finish_inside_what_is_left_of_its_lease_is_not_sent() {
        // 4 s lease, 3.5 s timeout: 0.25 s margin, so 0.25 s of waiting is the most.
        assert_eq!(left(4.0, 3.5, 0.2), Some(secs(3.5)));
        assert_eq!(left(4.0, 3.5, 0.3), None);
        assert_eq!(left(120.0, 30.0, 80.0), Some(secs(30.0)));
        assert_eq!(
            left(120.0, 30.0, 90.0),
            None,
            "only 25 s left after the margin"
        );
        assert_eq!(left(4.0, 3.5, 5.0), None, "the lease already ended");
    }
}
