use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use app::domain::{ErrorEnvelope, Migration};

use super::extract::{ApiJson, Caller, Segment};
use crate::api::ApiError;
use crate::service::{DryRun, MigrationInput, MigrationStart, Service};

#[utoipa::path(post, path = "/api/v1/migrations", tag = "migrations",
    extensions(("x-required-role" = json!("admin"))),
    request_body = MigrationInput,
    responses((status = 200, body = DryRun, description = "dry run: how many, and a sample"),
              (status = 202, body = Migration, description = "started in the background")))]
pub async fn start_migration(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<MigrationInput>,
) -> Result<Response, ApiError> {
    Ok(match svc.start_migration(&who, input).await? {
        MigrationStart::DryRun(d) => (StatusCode::OK, Json(d)).into_response(),
        MigrationStart::Started(m) => (StatusCode::ACCEPTED, Json(m)).into_response(),
    })
}

/// The newest 100 migrations, newest first.
#[utoipa::path(get, path = "/api/v1/migrations", tag = "migrations",
    extensions(("x-required-role" = json!("admin"))),
    responses((status = 200, body = MigrationList)))]
pub async fn list_migrations(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
) -> Result<Json<MigrationList>, ApiError> {
    Ok(Json(MigrationList {
        items: svc.list_migrations(&who).await?,
    }))
}

/// `{"items": [migration…]}`, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MigrationList {
    pub items: Vec<Migration>,
}

#[utoipa::path(get, path = "/api/v1/migrations/{id}", tag = "migrations",
    extensions(("x-required-role" = json!("admin"))),
    params(("id" = String, Path, description = "migration id")),
    responses((status = 200, body = Migration), (status = 404, body = ErrorEnvelope)))]
pub async fn get_migration(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
) -> Result<Json<Migration>, ApiError> {
    Ok(Json(svc.get_migration(&who, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/migrations/{id}/cancel", tag = "migrations",
    extensions(("x-required-role" = json!("admin"))),
    params(("id" = String, Path, description = "migration id")),
    responses((status = 200, body = Migration), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "it had already ended")))]
pub async fn cancel_migration(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
) -> Result<Json<Migration>, ApiError> {
    Ok(Json(svc.cancel_migration(&who, &id).await?))
}
