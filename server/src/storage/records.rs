//! What the service hands storage and gets back. Wire types come from `app::domain`;
//! these add what only the server sees (sealed secrets, idempotency, cursors).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use app::domain::{
    Attempt, EntityRef, Initiator, LastError, LogEntry, Plugin, StartedByKind, Status,
};

/// A plugin with its sealed (encrypted) secrets. Never serialised.
#[derive(Clone)]
pub struct PluginRecord {
    pub plugin: Plugin,
    pub auth_sealed: Option<Vec<u8>>,
    pub signing_secret_sealed: Option<Vec<u8>>,
    /// The static headers whose names look like credentials (or that the plugin's
    /// redaction rules name), as sealed JSON.
    pub headers_sealed: Option<Vec<u8>>,
}

pub enum PluginKey {
    Id(Uuid),
    Name(String),
}

impl PluginKey {
    /// A path segment or filter value: a UUID is an id, anything else a name.
    pub fn parse(s: &str) -> PluginKey {
        match Uuid::parse_str(s) {
            Ok(id) => PluginKey::Id(id),
            Err(_) => PluginKey::Name(s.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTrigger {
    pub id: Uuid,
    pub plugin_id: Uuid,
    pub event_type: String,
    pub action: Option<String>,
    pub entity: Option<EntityRef>,
    pub initiator: Initiator,
    /// The payload as JSON text.
    pub payload: String,
    pub aggregation_key: Option<String>,
    pub idempotency: Option<Idempotency>,
    pub status: Status,
    pub scheduled_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Logs written with the trigger (`queued`).
    pub logs: Vec<LogEntry>,
    /// The creator's identity tag (`key:<id>`, `user:<id>`, `system`).
    pub created_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// Hash of the request body, to tell a retry from a different request.
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    Created(Uuid),
    /// The idempotency key was used before; `same_request` says whether with this body.
    Existing {
        id: Uuid,
        same_request: bool,
    },
}

/// One attempt and where it leaves its trigger.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub trigger_id: Uuid,
    pub attempt: Attempt,
    pub status: Status,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub last_error: Option<LastError>,
    pub logs: Vec<LogEntry>,
    /// The lease the attempt ran under. A result whose lease was lost (it expired and
    /// another worker claimed the trigger) is refused, so it cannot overwrite newer work.
    pub lease: Option<String>,
}

/// Ask storage for due work: triggers whose time has come, and running ones whose
/// lease expired (their worker died).
#[derive(Debug, Clone)]
pub struct Claim {
    /// A fresh token per claim; it becomes the lease.
    pub lease: String,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub limit: u32,
}

/// A run someone asked for (manual rerun, migration), waiting on the trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRun {
    pub kind: StartedByKind,
    pub actor: String,
    pub reason: String,
    pub resume_retries: bool,
}

/// A trigger claimed for execution, with what executing it needs.
#[derive(Debug, Clone)]
pub struct ClaimedTrigger {
    pub id: Uuid,
    pub plugin_id: Uuid,
    pub event_type: String,
    pub entity_id: Option<String>,
    pub payload: String,
    /// This attempt's number: claims count, even those whose worker died.
    pub number: u32,
    pub run: Option<PendingRun>,
    pub lease: String,
    /// Reruns asked for so far: 0 sends the trigger's own idempotency key,
    /// n sends `{id}.r{n}` (kept by that rerun's retries and re-claims).
    pub reruns: u32,
    /// When the lease ends: a call must finish (and be recorded) before then.
    pub lease_until: DateTime<Utc>,
    /// When it became due (for the delivery delay metric).
    pub due_at: Option<DateTime<Utc>>,
}

pub use app::domain::AuditEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRequest {
    Queued,
    /// An attempt is in flight; ask again when it is done.
    Running,
    NotFound,
}

/// The list filter after plugin names are resolved to ids.
#[derive(Debug, Clone, Default)]
pub struct StoreFilter {
    /// The plugins asked for; empty is all of them.
    pub plugin_ids: Vec<Uuid>,
    /// The plugins the caller may see (its scope, and for non-admins only active
    /// ones); `None` is all, an empty list none.
    pub visible_plugin_ids: Option<Vec<Uuid>>,
    /// Only what this creator made (an `ingest` caller's own triggers).
    pub created_by: Option<String>,
    pub statuses: Vec<Status>,
    pub event_type: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub aggregation_key: Option<String>,
    pub scheduled_from: Option<DateTime<Utc>>,
    pub scheduled_to: Option<DateTime<Utc>>,
    pub triggered_from: Option<DateTime<Utc>>,
    pub triggered_to: Option<DateTime<Utc>>,
    pub q: Option<String>,
}

/// Position in the newest-first order: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub scheduled_at: DateTime<Utc>,
    pub id: Uuid,
}

/// An API key as stored: only the key's hash, never the key.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub key_hash: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// The plugins (ids) it may see; `None` is every plugin.
    pub plugins: Option<Vec<Uuid>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Written at most once a minute per key, so it is that precise.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who created it (an audit actor: a key's or user's name, `cli`).
    pub created_by: Option<String>,
}

/// A change written together with its audit row, in one transaction: either
/// both are stored or neither.
#[derive(Clone)]
pub enum AuditedChange {
    InsertPlugin(PluginRecord),
    UpdatePlugin(PluginRecord),
    InsertApiKey(ApiKeyRecord),
    /// Revoke a key that is not revoked yet; a revoked or unknown key changes
    /// nothing, and then no audit row is written either.
    RevokeApiKey {
        id: Uuid,
        at: DateTime<Utc>,
    },
}

/// Which audit rows to read: each condition that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// A trigger migration as stored; progress counts come from its items.
#[derive(Debug, Clone)]
pub struct MigrationRecord {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub reason: String,
    pub kind: String,
    pub spec: serde_json::Value,
    pub status: String,
    pub total: u64,
    pub done: u64,
    pub finished_at: Option<DateTime<Utc>>,
    /// Items whose trigger has finished / failed (filled on read).
    pub succeeded: u64,
    pub failed: u64,
}

/// One item of a trigger migration, done under the migration's lease in one
/// transaction with the row that records it (by `position`), so it is done once.
#[derive(Debug, Clone)]
pub struct MigrationStep {
    pub migration_id: Uuid,
    /// The instance holding the lease; the step is refused if it no longer does.
    pub owner: String,
    /// The lease is renewed to this.
    pub lease_until: DateTime<Utc>,
    pub position: u64,
    pub work: MigrationWork,
}

#[derive(Debug, Clone)]
pub enum MigrationWork {
    /// Queue a run of this trigger (a trigger in flight is left to finish).
    Rerun { trigger_id: Uuid, run: PendingRun },
    /// Create this trigger; its idempotency key (`migration:{id}:{position}`) makes
    /// a second creation return the first.
    Create(Box<NewTrigger>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Done,
    /// Recorded before (by an earlier run of this job): nothing was written.
    AlreadyDone,
    /// The lease was lost or the migration cancelled: nothing was written; stop.
    Stopped,
}

/// The executor's queue, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting and due now (inactive plugins' triggers included: they wait).
    pub due: u64,
    /// Waiting for a later time (`run_at`, a retry's backoff).
    pub scheduled: u64,
    pub running: u64,
    pub oldest_due: Option<DateTime<Utc>>,
}

/// The two tiers of retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionTier {
    /// Payload, attempts (headers, bodies) and logs; the summary row stays.
    Details,
    /// The trigger's summary row itself.
    Summary,
}

/// Why a trigger's details are removed. It decides how the search index forgets
/// their text: an erasure rewrites the index's pages at once, so the text is gone
/// from the file; routine retention leaves delete markers that later merges fold
/// in, which costs a fraction (SQLite's FTS5; PostgreSQL behaves the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// A tier's TTL passed.
    Retention,
    /// An administrator erased an entity's data on request.
    Erasure,
}

impl Removal {
    /// What `details_removed_why` records.
    pub fn why(self) -> &'static str {
        match self {
            Removal::Retention => "retention",
            Removal::Erasure => "erasure",
        }
    }
}

/// One plugin's recent calls, for the plugins page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginActivity {
    pub plugin_id: Uuid,
    /// Attempts since the window's start that did not succeed.
    pub failures: u64,
    /// When its last successful attempt ended, if one is known.
    pub last_success_at: Option<DateTime<Utc>>,
}
