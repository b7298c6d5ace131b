use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use app::domain::{
    ErrorEnvelope, ListQuery, Page, QueryError, Trigger, TriggerCount, TriggerDetail,
};

use super::extract::{ApiJson, Caller, Segment};
use super::params::FilterParams;
use super::ApiError;
use crate::service::{CallInput, GroupRerun, GroupRerunInput, RerunInput, Service, TriggerInput};

#[utoipa::path(post, path = "/api/v1/triggers", tag = "triggers",
    extensions(("x-required-role" = json!("ingest"))),
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
        FilterParams,
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = Page<Trigger>)))]
pub async fn list_triggers(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<Trigger>>, ApiError> {
    let q = ListQuery::parse(query.as_deref().unwrap_or("")).map_err(invalid)?;
    Ok(Json(
        svc.list_triggers(&who, q.filter, q.cursor.as_deref(), q.limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/triggers/count", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    params(
        FilterParams,
    ),
    responses((status = 200, body = TriggerCount)))]
pub async fn count_triggers(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<TriggerCount>, ApiError> {
    let q = ListQuery::parse(query.as_deref().unwrap_or("")).map_err(invalid)?;
    if q.cursor.is_some() {
        return Err(ApiError::invalid(
            "cursor",
            "a count has no pages; leave cursor out",
        ));
    }
    Ok(Json(svc.count_triggers(&who, q.filter).await?))
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
    extensions(("x-required-role" = json!("ingest"))),
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

/// A query parameter that cannot be read is a 422 naming it.
fn invalid(e: QueryError) -> ApiError {
    ApiError::invalid(e.field, e.message)
}
