use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};

use app::domain::{
    ErrorEnvelope, Items, Page, Status, Trigger, TriggerDetail, TriggerFilter, DEFAULT_PAGE_SIZE,
};

use crate::storage::AuditEntry;

use super::extract::{ApiJson, Caller, Segment};
use crate::service::{
    ApiError, CallInput, GroupRerun, GroupRerunInput, RerunInput, Service, TriggerInput,
};

#[utoipa::path(post, path = "/api/v1/triggers", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    request_body = TriggerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retrying this request safe")),
    responses((status = 201, body = Trigger, description = "created"),
              (status = 200, body = Trigger, description = "the trigger an earlier request with this Idempotency-Key created"),
              (status = 409, body = ErrorEnvelope, description = "this Idempotency-Key was used for a different request")))]
pub async fn create_trigger(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<TriggerInput>,
) -> Result<(StatusCode, Json<Trigger>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::invalid("Idempotency-Key", "an idempotency key is ASCII text")
            })
        })
        .transpose()?;
    let (trigger, created) = svc.create_trigger(&who, input, key).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(trigger)))
}

#[utoipa::path(get, path = "/api/v1/triggers", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    params(
        ("plugin" = Option<Vec<String>>, Query, description = "plugin name or id; repeatable"),
        ("status" = Option<Vec<Status>>, Query, description = "repeatable"),
        ("event_type" = Option<String>, Query),
        ("entity_type" = Option<String>, Query),
        ("entity_id" = Option<String>, Query),
        ("aggregation_key" = Option<String>, Query),
        ("scheduled_from" = Option<DateTime<Utc>>, Query, description = "inclusive"),
        ("scheduled_to" = Option<DateTime<Utc>>, Query, description = "exclusive"),
        ("triggered_from" = Option<DateTime<Utc>>, Query, description = "inclusive"),
        ("triggered_to" = Option<DateTime<Utc>>, Query, description = "exclusive"),
        ("q" = Option<String>, Query, description = "free text over action, event type, entity id, external id"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = Page<Trigger>)))]
pub async fn list_triggers(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<Trigger>>, ApiError> {
    let q = ListQuery::parse(query.as_deref().unwrap_or(""))?;
    Ok(Json(
        svc.list_triggers(&who, q.filter, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/triggers/{id}", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    params(("id" = String, Path, description = "trigger id")),
    responses((status = 200, body = TriggerDetail), (status = 404, body = ErrorEnvelope)))]
pub async fn get_trigger(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
) -> Result<Json<TriggerDetail>, ApiError> {
    Ok(Json(svc.get_trigger(&who, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/calls", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    request_body = CallInput,
    responses((status = 201, body = Trigger)))]
pub async fn report_call(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<CallInput>,
) -> Result<(StatusCode, Json<Trigger>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.report_call(&who, input).await?),
    ))
}

/// Run a trigger again now. A rerun is a deliberate new execution: its requests carry
/// `Idempotency-Key: {trigger id}.r{n}` and `webhook-id: msg_{id}.r{n}` for the n-th
/// rerun asked for, kept by that rerun's own retries; automatic retries of the first
/// execution keep the trigger's own key. The key sent is recorded on each attempt.
#[utoipa::path(post, path = "/api/v1/triggers/{id}/rerun", tag = "triggers",
    extensions(("x-required-role" = json!("operator"))),
    params(("id" = String, Path, description = "trigger id")),
    request_body = RerunInput,
    responses((status = 202, body = Trigger, description = "queued to run now"),
              (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "an attempt is in flight")))]
pub async fn rerun_trigger(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
    ApiJson(input): ApiJson<RerunInput>,
) -> Result<(StatusCode, Json<Trigger>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(svc.rerun(&who, &id, input).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/aggregations/{key}/rerun", tag = "triggers",
    extensions(("x-required-role" = json!("operator"))),
    params(("key" = String, Path, description = "the aggregation key the triggers share")),
    request_body = GroupRerunInput,
    responses((status = 202, body = GroupRerun, description = "the group's failed triggers are queued")))]
pub async fn rerun_group(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(key): Segment,
    ApiJson(input): ApiJson<GroupRerunInput>,
) -> Result<(StatusCode, Json<GroupRerun>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(svc.rerun_group(&who, &key, input).await?),
    ))
}

/// The list's query string. Parsed by hand: filters repeat (`plugin=a&plugin=b`)
/// and each bad value must be named.
struct ListQuery {
    filter: TriggerFilter,
    cursor: Option<String>,
    limit: u32,
}

impl ListQuery {
    fn parse(query: &str) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery {
            filter: TriggerFilter::default(),
            cursor: None,
            limit: DEFAULT_PAGE_SIZE,
        };
        let f = &mut q.filter;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            let time = |v: &str| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::invalid(
                            key.to_string(),
                            format!("{v:?} is not an RFC 3339 time such as 2026-11-24T10:00:00Z"),
                        )
                    })
            };
            match key.as_ref() {
                "plugin" => f.plugin.push(value),
                "status" => f.status.push(Status::parse(&value).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        format!(
                            "{value:?} is not a status; use not_yet_started, running, retrying, finished or erroneous"
                        ),
                    )
                })?),
                "event_type" => f.event_type = Some(value),
                "entity_type" => f.entity_type = Some(value),
                "entity_id" => f.entity_id = Some(value),
                "aggregation_key" => f.aggregation_key = Some(value),
                "scheduled_from" => f.scheduled_from = Some(time(&value)?),
                "scheduled_to" => f.scheduled_to = Some(time(&value)?),
                "triggered_from" => f.triggered_from = Some(time(&value)?),
                "triggered_to" => f.triggered_to = Some(time(&value)?),
                "q" => f.q = Some(value),
                "cursor" => q.cursor = Some(value),
                "limit" => {
                    q.limit = value
                        .parse()
                        .map_err(|_| ApiError::invalid("limit", "limit is a number from 1 to 500"))?
                }
                other => {
                    return Err(ApiError::invalid(
                        other.to_string(),
                        format!("{other:?} is not a filter of this list"),
                    ))
                }
            }
        }
        Ok(q)
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    extensions(("x-required-role" = json!("admin"))),
    params(("limit" = Option<u32>, Query, description = "1 to 500, default 100")),
    responses((status = 200, body = Items<AuditEntry>)))]
pub async fn audit_trail(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Items<AuditEntry>>, ApiError> {
    let mut limit = 100;
    for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse()
                    .map_err(|_| ApiError::invalid("limit", "limit is a number from 1 to 500"))?
            }
            other => {
                return Err(ApiError::invalid(
                    other.to_string(),
                    format!("{other:?} is not a parameter here"),
                ))
            }
        }
    }
    Ok(Json(Items {
        items: svc.audit_trail(&who, limit).await?,
    }))
}
