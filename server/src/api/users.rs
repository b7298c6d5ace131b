//! `/api/v1/users`: the people who sign in to the pages (admin only).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use app::domain::{ErrorEnvelope, Items};

use super::extract::{ApiJson, Caller, Segment};
use crate::api::ApiError;
use crate::service::{Service, User, UserInput, UserPatch};

#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    extensions(("x-required-role" = json!("admin"))),
    request_body = UserInput,
    responses((status = 201, body = User, description = "created; the password is never returned"),
              (status = 409, body = ErrorEnvelope, description = "a user with this email exists")))]
pub async fn create_user(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<UserInput>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = svc.create_user(&who, input).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    extensions(("x-required-role" = json!("admin"))),
    responses((status = 200, body = Items<User>)))]
pub async fn list_users(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
) -> Result<Json<Items<User>>, ApiError> {
    Ok(Json(Items {
        items: svc.list_users(&who).await?,
    }))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users",
    extensions(("x-required-role" = json!("admin"))),
    description = "Disabling a user or changing their password ends all their sessions at once.",
    params(("id" = String, Path, description = "user id")),
    request_body = UserPatch,
    responses((status = 200, body = User), (status = 404, body = ErrorEnvelope)))]
pub async fn update_user(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(svc.update_user(&who, &id, patch).await?))
}
