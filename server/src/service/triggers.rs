//! Triggers: ingest (with idempotency), reported calls, listing and detail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use app::domain::{
    Attempt, AttemptRequest, AttemptResponse, EntityRef, FailureClass, Initiator, InitiatorKind,
    LogEntry, Page, StartedBy, StartedByKind, Status, Trigger, TriggerCount, TriggerDetail,
    TriggerFilter, MAX_PAGE_SIZE,
};

use super::flattened;
use super::secrets::Owner;
use super::types::{optional_text, AggregationKey, Entity, EventType};
use super::{decode_cursor, encode_cursor, redact, Permission, Principal, Service, ServiceError};
use crate::outcome::{self, Answer, Stop, Verdict};
use crate::storage::{
    AttemptOutcome, Cursor, Idempotency, Inserted, NewTrigger, PluginKey, PluginRecord, StoreFilter,
};

// Both inputs carry it flattened, so the wire stays flat; `flattened::tracked`
// keeps the path of a wrongly typed field inside it for the 4xx.
/// What a trigger to execute and a reported call both say, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TriggerFields {
    pub plugin: String,
    pub event_type: String,
    pub action: Option<String>,
    pub entity: Option<EntityRef>,
    pub initiator: Option<Initiator>,
    /// Any JSON value; sent to the provider as the request body.
    #[schema(value_type = Object)]
    pub payload: Option<Value>,
    pub aggregation_key: Option<String>,
}

/// A trigger to execute.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TriggerInput {
    #[serde(flatten, deserialize_with = "flattened::tracked")]
    pub fields: TriggerFields,
    pub run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CallRequestInput {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CallResponseInput {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

/// A call the application made itself: what every trigger says, and the call.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CallInput {
    #[serde(flatten, deserialize_with = "flattened::tracked")]
    pub fields: TriggerFields,
    #[serde(flatten, deserialize_with = "flattened::tracked")]
    pub call: ReportedCall,
}

/// The rest of a reported call: what was sent, what came back, and when.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReportedCall {
    pub request: CallRequestInput,
    /// Null when no response came (connection refused, timeout).
    pub response: Option<CallResponseInput>,
    /// What went wrong when there was no response.
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// The external record id, if the application knows it.
    pub external_id: Option<String>,
}

/// A trigger checked and turned into its row, not yet written.
pub(super) struct Prepared {
    pub row: NewTrigger,
    pub plugin_name: String,
    /// Whether the executor may run it now (a paused plugin's triggers wait).
    pub plugin_active: bool,
}

/// A reported call, once checked.
struct Reported {
    common: Common,
    request: CallRequestInput,
    response: Option<CallResponseInput>,
    /// What went wrong when no response came.
    error: Option<String>,
    started_at: DateTime<Utc>,
    duration_ms: i64,
    finished_at: DateTime<Utc>,
    external_id: Option<String>,
}

/// What is common to a trigger to execute and a reported call, once checked.
struct Common {
    plugin: PluginRecord,
    event_type: EventType,
    action: Option<String>,
    entity: Option<Entity>,
    initiator: Initiator,
    payload: Value,
    aggregation_key: Option<AggregationKey>,
}

/// Values of one repeatable filter (`plugin=`, `status=`) a list request may carry.
pub const MAX_FILTER_VALUES: usize = 50;
/// The longest free-text search.
pub const MAX_QUERY_CHARS: usize = 200;

/// PostgreSQL text cannot hold a NUL character, and no name or id needs one.
pub(crate) fn no_nul(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.contains('\0') {
        return Err(ServiceError::invalid(
            field,
            "this text may not contain a NUL character (\\u0000)",
        ));
    }
    Ok(())
}

/// The longest call a report may claim (a week): longer is a mistake, and a time
/// computed from it must stay representable.
const MAX_REPORTED_DURATION_MS: i64 = 7 * 24 * 3600 * 1000;

/// A time from input, kept where RFC 3339 (four-digit years), storage and browsers
/// all agree: from 1970 to the end of 9999.
pub(crate) fn check_time(field: &str, t: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
    let latest = DateTime::<Utc>::from_timestamp(253_402_300_799, 999_999_999)
        .expect("9999-12-31T23:59:59.999999999Z is a time");
    if t < DateTime::<Utc>::UNIX_EPOCH || t > latest {
        return Err(ServiceError::invalid(
            field,
            "a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
        ));
    }
    Ok(t)
}

fn request_hash(value: &Value) -> String {
    // serde_json's map is sorted, so equal documents hash equally whatever their key order.
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

impl Service {
    async fn check_common(
        &self,
        who: &Principal,
        f: TriggerFields,
    ) -> Result<Common, ServiceError> {
        // A plugin outside the caller's scope is as unknown as a missing one.
        let plugin = self
            .cached_plugin(&f.plugin)
            .await?
            .filter(|p| who.sees_plugin(p.plugin.id))
            .ok_or_else(|| {
                ServiceError::invalid("plugin", format!("no plugin named {:?}", f.plugin))
            })?;
        let event_type = EventType::parse("event_type", f.event_type)?;
        let payload = match f.payload {
            None | Some(Value::Null) => {
                return Err(ServiceError::invalid(
                    "payload",
                    "a JSON payload is required",
                ))
            }
            Some(p) if redact::contains_sealed(&p) => {
                // Only Calltrail seals: a sealed value given from outside was
                // copied from somewhere, and would only fail to open when sent.
                return Err(ServiceError::invalid(
                    "payload",
                    format!(
                        "a payload may not contain {{\"{}\": …}} objects",
                        redact::SEALED_KEY
                    ),
                ));
            }
            Some(p) => p,
        };
        let initiator = match f.initiator {
            Some(i) if i.name.trim().is_empty() || i.name.len() > 200 => {
                return Err(ServiceError::invalid(
                    "initiator.name",
                    "give a name of 1 to 200 characters",
                ))
            }
            Some(i) => i,
            None => Initiator {
                kind: InitiatorKind::ApiKey,
                name: who.name.clone(),
            },
        };
        Ok(Common {
            plugin,
            event_type,
            action: optional_text("action", f.action, 200)?,
            entity: f.entity.map(Entity::parse).transpose()?,
            initiator,
            payload,
            aggregation_key: AggregationKey::parse(f.aggregation_key)?,
        })
    }

    /// Check a trigger to create and turn it into a row, writing nothing.
    pub(super) async fn prepare_trigger(
        &self,
        who: &Principal,
        input: TriggerInput,
        idempotency_key: Option<&str>,
    ) -> Result<Prepared, ServiceError> {
        // Ingest keys of any role may create triggers; see API.md.
        who.require(Permission::Create)?;
        let TriggerInput { fields, run_at } = input;
        // Only an idempotent request needs its fingerprint.
        let hash = idempotency_key.and(fields.payload.as_ref()).map(|_| {
            let f = &fields;
            request_hash(&serde_json::json!({
                "plugin": f.plugin, "event_type": f.event_type, "action": f.action,
                "entity": f.entity, "initiator": f.initiator, "payload": f.payload,
                "aggregation_key": f.aggregation_key, "run_at": run_at,
            }))
        });
        let c = self.check_common(who, fields).await?;
        if c.plugin.plugin.route_for(c.event_type.as_str()).is_none() {
            return Err(ServiceError::invalid(
                "event_type",
                format!(
                    "plugin {:?} has no route for event type {:?} and no default route",
                    c.plugin.plugin.name, c.event_type
                ),
            ));
        }
        let idempotency = match idempotency_key {
            None => None,
            Some(k) if k.is_empty() || k.len() > 255 || !k.is_ascii() => {
                return Err(ServiceError::invalid(
                    "Idempotency-Key",
                    "an idempotency key is 1 to 255 ASCII characters",
                ))
            }
            // Scoped to the caller: two applications using the same key do not collide.
            Some(k) => Some(Idempotency {
                key: format!("{}/{k}", who.identity.tag()),
                request_hash: hash.unwrap_or_default(),
            }),
        };
        let now = super::now();
        let run_at = run_at.map(|t| check_time("run_at", t)).transpose()?;
        let scheduled_at = run_at.map(super::truncate).unwrap_or(now);
        let plugin_active = c.plugin.plugin.active;
        let inactive = (!plugin_active).then_some(c.plugin.plugin.name.as_str());
        let queued = outcome::queued(now, scheduled_at, inactive);
        let plugin_name = c.plugin.plugin.name.clone();
        let new = self.new_trigger(
            who,
            c,
            Uuid::now_v7(),
            idempotency,
            (scheduled_at, Some(scheduled_at)),
            queued,
        );
        Ok(Prepared {
            row: new,
            plugin_name,
            plugin_active,
        })
    }

    /// Whether a trigger could be created, without creating it.
    pub(crate) async fn check_trigger_input(
        &self,
        who: &Principal,
        input: &TriggerInput,
    ) -> Result<(), ServiceError> {
        self.prepare_trigger(who, input.clone(), None)
            .await
            .map(|_| ())
    }

    /// Create a trigger to execute. Returns the trigger and whether it is new
    /// (false: an earlier request with the same idempotency key and body).
    pub async fn create_trigger(
        &self,
        who: &Principal,
        input: TriggerInput,
        idempotency_key: Option<&str>,
    ) -> Result<(Trigger, bool), ServiceError> {
        let Prepared {
            row: new,
            plugin_name,
            plugin_active,
        } = self.prepare_trigger(who, input, idempotency_key).await?;
        let new_id = new.id;
        let to_return = new.clone();
        match self.store.insert_trigger(new).await? {
            Inserted::Created(_) => {
                crate::metrics::trigger_created(&plugin_name);
                // A paused plugin's trigger waits: waking the executor would only
                // cost a claim transaction that finds nothing. Activating the plugin
                // announces its waiting triggers.
                if plugin_active {
                    self.announce_due().await;
                }
                Ok((fresh_trigger(to_return, plugin_name), true))
            }
            Inserted::Existing {
                id,
                same_request: true,
            } => Ok((self.written_trigger(id).await?, false)),
            Inserted::Existing { id, .. } => {
                debug_assert_ne!(id, new_id);
                Err(ServiceError::conflict_on(
                    "Idempotency-Key",
                    format!(
                        "this Idempotency-Key was already used for a different request (trigger {id})"
                    ),
                ))
            }
        }
    }

    /// A trigger with its attempts and logs, as stored (unredacted); 404 when absent.
    pub(super) async fn stored_detail(&self, id: Uuid) -> Result<TriggerDetail, ServiceError> {
        self.store
            .reads()
            .get_trigger_detail(id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no trigger {id}")))
    }

    /// A trigger this service has just written: its absence is an internal error.
    pub(super) async fn written_trigger(&self, id: Uuid) -> Result<Trigger, ServiceError> {
        let detail = self.store.reads().get_trigger_detail(id).await?;
        Ok(detail.ok_or_else(ServiceError::internal)?.trigger.trigger)
    }

    /// Record a call the application made itself, as a trigger with one attempt.
    pub async fn report_call(
        &self,
        who: &Principal,
        input: CallInput,
    ) -> Result<Trigger, ServiceError> {
        who.require(Permission::Create)?;
        let call = self.check_call(who, input).await?;
        let (new, outcome) = self.reported_rows(who, call);
        let trigger_id = new.id;
        self.store.insert_reported_call(new, outcome).await?;
        let trigger = self.written_trigger(trigger_id).await?;
        crate::metrics::trigger_created(&trigger.plugin);
        Ok(trigger)
    }

    /// Check a reported call: what it shares with a trigger, then the call itself.
    async fn check_call(
        &self,
        who: &Principal,
        input: CallInput,
    ) -> Result<Reported, ServiceError> {
        let CallInput {
            fields,
            call: input,
        } = input;
        let c = self.check_common(who, fields).await?;
        let req = input.request;
        if http::Method::from_bytes(req.method.as_bytes()).is_err() {
            return Err(ServiceError::invalid(
                "request.method",
                "not an HTTP method",
            ));
        }
        if url::Url::parse(&req.url).is_err() {
            return Err(ServiceError::invalid("request.url", "give an absolute URL"));
        }
        if let Some(r) = &input.response {
            if !(100..=599).contains(&r.status) {
                return Err(ServiceError::invalid(
                    "response.status",
                    "an HTTP status is 100 to 599",
                ));
            }
        }
        let duration_ms = input.duration_ms.unwrap_or(0);
        if !(0..=MAX_REPORTED_DURATION_MS).contains(&duration_ms) {
            return Err(ServiceError::invalid(
                "duration_ms",
                format!("a duration is 0 to {MAX_REPORTED_DURATION_MS} milliseconds (7 days)"),
            ));
        }
        let started_at = input
            .started_at
            .map(|t| check_time("started_at", t))
            .transpose()?
            .map(super::truncate)
            .unwrap_or(super::now());
        let finished_at = started_at
            .checked_add_signed(chrono::Duration::milliseconds(duration_ms))
            .ok_or_else(|| {
                ServiceError::invalid("started_at", "started_at plus duration_ms is out of range")
            })?;
        Ok(Reported {
            common: c,
            request: req,
            response: input.response,
            // Transports put the URL in their errors, token and all.
            error: input.error.as_deref().map(redact::text),
            started_at,
            duration_ms,
            finished_at,
            external_id: input.external_id,
        })
    }

    /// The row of a new trigger from its checked fields, its payload sealed for
    /// it: `when` is when it is scheduled and when it is next due (`None`: never,
    /// a reported call has run already); `log` its first step.
    fn new_trigger(
        &self,
        who: &Principal,
        c: Common,
        id: Uuid,
        idempotency: Option<Idempotency>,
        when: (DateTime<Utc>, Option<DateTime<Utc>>),
        log: LogEntry,
    ) -> NewTrigger {
        let (scheduled_at, next_attempt_at) = when;
        NewTrigger {
            id,
            plugin_id: c.plugin.plugin.id,
            payload: self
                .secrets
                .seal_payload(
                    &c.payload,
                    &c.plugin.plugin.redact,
                    Owner::TriggerPayload(id),
                )
                .to_string(),
            event_type: c.event_type.into_inner(),
            action: c.action,
            entity: c.entity.map(Entity::into_inner),
            initiator: c.initiator,
            aggregation_key: c.aggregation_key.map(AggregationKey::into_inner),
            idempotency,
            status: Status::NotYetStarted,
            scheduled_at,
            next_attempt_at,
            logs: vec![log],
            created_by: Some(who.identity.tag()),
        }
    }

    /// The trigger and its one attempt, redacted and told like any other: a
    /// reported call is never retried, so a failure stops it.
    fn reported_rows(&self, who: &Principal, call: Reported) -> (NewTrigger, AttemptOutcome) {
        let c = call.common;
        let class = match &call.response {
            Some(r) => FailureClass::from_status_code(r.status),
            None => FailureClass::Network,
        };
        let (request, response) = self.recorded_exchange(&c.plugin, call.request, call.response);
        let answer = Answer {
            class,
            status_code: response.as_ref().map(|r| r.status),
            error: call.error.as_deref(),
        };
        let verdict = if class == FailureClass::Success {
            Verdict::Finish {
                external_id: call.external_id.as_deref(),
            }
        } else {
            Verdict::Stop(Stop::NotRetryable)
        };
        let concluded = outcome::conclude(&answer, verdict);
        let last_error = answer.last_error();
        let now = super::now();
        let trigger_id = Uuid::now_v7();
        let new = self.new_trigger(
            who,
            c,
            trigger_id,
            None,
            (call.started_at, None),
            outcome::reported(now, &who.name),
        );
        let outcome = AttemptOutcome {
            trigger_id,
            lease: None,
            attempt: Attempt {
                id: Uuid::now_v7(),
                number: 1,
                started_at: call.started_at,
                duration_ms: call.duration_ms,
                started_by: StartedBy {
                    kind: StartedByKind::Reported,
                    actor: Some(who.name.clone()),
                },
                request,
                response,
                class,
                decision: concluded.decision.clone(),
            },
            status: concluded.status,
            next_attempt_at: None,
            finished_at: Some(call.finished_at),
            external_id: call.external_id,
            last_error,
            logs: vec![concluded.line(super::now())],
        };
        (new, outcome)
    }

    /// The request and response as recorded: headers and bodies redacted by the
    /// plugin's rules, bodies cut at the recording limit.
    fn recorded_exchange(
        &self,
        plugin: &PluginRecord,
        req: CallRequestInput,
        response: Option<CallResponseInput>,
    ) -> (AttemptRequest, Option<AttemptResponse>) {
        let rules = &plugin.plugin.redact;
        let max = self.limits.max_recorded_body_bytes;
        let response = response.map(|r| {
            let (body, truncated) = match r.body {
                Some(b) => {
                    let (b, t) = redact::cap(redact::body_text(&b, rules), max);
                    (Some(b), t)
                }
                None => (None, false),
            };
            AttemptResponse {
                status: r.status,
                headers: redact::headers(&r.headers, rules),
                body,
                body_encoding: None,
                truncated,
            }
        });
        let request = AttemptRequest {
            method: req.method.to_ascii_uppercase(),
            url: redact::url(&req.url),
            headers: redact::headers(&req.headers, rules),
            body: req
                .body
                .map(|b| redact::cap(redact::body_text(&b, rules), max).0),
        };
        (request, response)
    }

    pub async fn list_triggers(
        &self,
        who: &Principal,
        filter: TriggerFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Trigger>, ServiceError> {
        who.require(Permission::Read)?;
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ServiceError::invalid(
                "limit",
                format!("limit is 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        let after = cursor.map(decode_cursor).transpose()?;
        let store_filter = self.resolve_filter(who, filter).await?;
        let items = self
            .store
            .reads()
            .list_triggers(&store_filter, after, limit)
            .await?;
        let next_cursor = if items.len() == limit as usize {
            items.last().map(|t| {
                encode_cursor(&Cursor {
                    scheduled_at: t.scheduled_at,
                    id: t.id,
                })
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// How many triggers the filter matches, in all and per status.
    pub async fn count_triggers(
        &self,
        who: &Principal,
        filter: TriggerFilter,
    ) -> Result<TriggerCount, ServiceError> {
        who.require(Permission::Read)?;
        let store_filter = self.resolve_filter(who, filter).await?;
        let by_status = self.store.reads().count_by_status(&store_filter).await?;
        Ok(TriggerCount::new(by_status))
    }

    /// Check a list filter, resolve its plugin names, and narrow it to what `who`
    /// can see. A plugin outside `who`'s scope is refused like an unknown one.
    pub(crate) async fn resolve_filter(
        &self,
        who: &Principal,
        f: TriggerFilter,
    ) -> Result<StoreFilter, ServiceError> {
        for (field, n) in [("plugin", f.plugin.len()), ("status", f.status.len())] {
            if n > MAX_FILTER_VALUES {
                return Err(ServiceError::invalid(
                    field,
                    format!("at most {MAX_FILTER_VALUES} values of {field}"),
                ));
            }
        }
        if let Some(q) = &f.q {
            if q.chars().count() > MAX_QUERY_CHARS {
                return Err(ServiceError::invalid(
                    "q",
                    format!("the search text is at most {MAX_QUERY_CHARS} characters"),
                ));
            }
            if app::domain::search_too_short(q) {
                return Err(ServiceError::invalid(
                    "q",
                    format!(
                        "search for at least {} characters",
                        app::domain::MIN_SEARCH_CHARS
                    ),
                ));
            }
        }
        let texts = [
            ("q", &f.q),
            ("event_type", &f.event_type),
            ("entity_type", &f.entity_type),
            ("entity_id", &f.entity_id),
            ("aggregation_key", &f.aggregation_key),
        ];
        for (field, value) in texts {
            no_nul(field, value.as_deref().unwrap_or(""))?;
        }
        for name in &f.plugin {
            no_nul("plugin", name)?;
        }
        let plugin_ids = self.plugin_ids(who, &f.plugin).await?;
        for (field, from, to) in [
            ("scheduled_to", f.scheduled_from, f.scheduled_to),
            ("triggered_to", f.triggered_from, f.triggered_to),
        ] {
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    return Err(ServiceError::invalid(
                        field,
                        "the end of the range is before its start",
                    ));
                }
            }
        }
        if f.entity_id.is_some() && f.entity_type.is_none() {
            return Err(ServiceError::invalid(
                "entity_type",
                "entity_id needs entity_type beside it",
            ));
        }
        let mut filter = StoreFilter {
            plugin_ids,
            visible_plugin_ids: None,
            created_by: None,
            statuses: f.status,
            event_type: f.event_type,
            entity_type: f.entity_type,
            entity_id: f.entity_id,
            aggregation_key: f.aggregation_key,
            scheduled_from: f.scheduled_from,
            scheduled_to: f.scheduled_to,
            triggered_from: f.triggered_from,
            triggered_to: f.triggered_to,
            q: f.q.filter(|q| !q.trim().is_empty()),
        };
        self.narrow_to_visible(who, &mut filter, f.include_inactive)
            .await?;
        Ok(filter)
    }

    /// Plugin names or ids to ids: from the cache, and on a miss from one read of
    /// every plugin, so repeated or unknown names cost at most one query per request.
    /// A plugin outside `who`'s scope is refused like an unknown one.
    async fn plugin_ids(
        &self,
        who: &Principal,
        keys: &[String],
    ) -> Result<Vec<Uuid>, ServiceError> {
        let mut ids = Vec::with_capacity(keys.len());
        let mut all: Option<Vec<PluginRecord>> = None;
        for key in keys {
            let record = match self.plugins.get(key) {
                Some(p) => p,
                None => {
                    if all.is_none() {
                        all = Some(self.store.reads().list_plugins().await?);
                    }
                    let wanted = PluginKey::parse(key);
                    let found = all.iter().flatten().find(|r| match &wanted {
                        PluginKey::Id(id) => r.plugin.id == *id,
                        PluginKey::Name(name) => r.plugin.name == *name,
                    });
                    let found = found.cloned().ok_or_else(|| {
                        ServiceError::invalid("plugin", format!("no plugin named {key:?}"))
                    })?;
                    self.plugins.put(key.clone(), found.clone());
                    found
                }
            };
            if !who.sees_plugin(record.plugin.id) {
                return Err(ServiceError::invalid(
                    "plugin",
                    format!("no plugin named {key:?}"),
                ));
            }
            if !ids.contains(&record.plugin.id) {
                ids.push(record.plugin.id);
            }
        }
        Ok(ids)
    }

    pub async fn get_trigger(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<TriggerDetail, ServiceError> {
        who.require(Permission::Read)?;
        let uuid = Uuid::parse_str(id).map_err(|_| {
            ServiceError::invalid("id", format!("{id:?} is not a trigger id (a UUID)"))
        })?;
        let mut detail = self.stored_detail(uuid).await?;
        self.check_visible(who, &detail.trigger.trigger).await?;
        // Payloads are shown redacted everywhere; the stored original is for execution.
        let plugin = self
            .store
            .reads()
            .get_plugin(&PluginKey::Id(detail.trigger.trigger.plugin_id))
            .await?;
        let rules = plugin.map(|p| p.plugin.redact).unwrap_or_default();
        detail.trigger.payload = redact::json(&detail.trigger.payload, &rules);
        Ok(detail)
    }
}

/// The trigger as just inserted, without a read back.
fn fresh_trigger(t: NewTrigger, plugin: String) -> Trigger {
    Trigger {
        id: t.id,
        plugin,
        plugin_id: t.plugin_id,
        event_type: t.event_type,
        action: t.action,
        entity: t.entity,
        initiator: t.initiator,
        aggregation_key: t.aggregation_key,
        status: t.status,
        attempts: 0,
        scheduled_at: t.scheduled_at,
        triggered_at: None,
        finished_at: None,
        next_attempt_at: t.next_attempt_at,
        duration_ms: None,
        external_id: None,
        last_error: None,
    }
}
