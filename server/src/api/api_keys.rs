use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use app::domain::{ErrorEnvelope, Items};

use super::extract::{ApiJson, Caller, Segment};
use crate::api::ApiError;
use crate::service::{ApiKey, ApiKeyInput, NewApiKey, Service};

/// Issue a key. The key is in this answer only: store it now.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    extensions(("x-required-role" = json!("admin"))),
    request_body = ApiKeyInput,
    responses((status = 201, body = NewApiKey, description = "issued; `key` is shown this once")))]
pub async fn create_api_key(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<ApiKeyInput>,
) -> Result<(StatusCode, Json<NewApiKey>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.issue_api_key(&who, input).await?),
    ))
}

/// Every key, revoked and expired ones too, newest first; never the key itself.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    extensions(("x-required-role" = json!("admin"))),
    responses((status = 200, body = Items<ApiKey>)))]
pub async fn list_api_keys(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
) -> Result<Json<Items<ApiKey>>, ApiError> {
    Ok(Json(Items {
        items: svc.list_api_keys(&who).await?,
    }))
}

/// Revoke a key: every instance refuses it from now on. Revoking it again
/// changes nothing and answers the same. A key cannot revoke itself (409).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    extensions(("x-required-role" = json!("admin"))),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 200, body = ApiKey, description = "revoked (`revoked_at` says when)"),
              (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "this is the key the request is made with")))]
pub async fn revoke_api_key(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(svc.revoke_api_key(&who, &id).await?))
}
