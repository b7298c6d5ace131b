use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use app::domain::{ErrorEnvelope, Items, Plugin, PluginHealth, PluginView};

use super::extract::{ApiJson, Caller, Segment};
use crate::api::ApiError;
use crate::service::{PluginInput, PluginPatch, Service};

#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins",
    extensions(("x-required-role" = json!("admin"))),
    request_body = PluginInput,
    responses((status = 201, body = Plugin),
              (status = 409, body = ErrorEnvelope, description = "a plugin with this name exists")))]
pub async fn create_plugin(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<PluginInput>,
) -> Result<(StatusCode, Json<Plugin>), ApiError> {
    let plugin = svc.create_plugin(&who, input).await?;
    Ok((StatusCode::CREATED, Json(plugin)))
}

#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    extensions(("x-required-role" = json!("viewer"))),
    description = "Admins get each plugin whole; other roles its summary (name, display name, active, event types).",
    responses((status = 200, body = Items<PluginView>)))]
pub async fn list_plugins(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
) -> Result<Json<Items<PluginView>>, ApiError> {
    Ok(Json(Items {
        items: svc.list_plugins(&who).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins",
    extensions(("x-required-role" = json!("viewer"))),
    params(("id" = String, Path, description = "plugin id or name")),
    description = "Admins get the plugin whole; other roles its summary.",
    responses((status = 200, body = PluginView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_plugin(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
) -> Result<Json<PluginView>, ApiError> {
    Ok(Json(svc.get_plugin(&who, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/plugins/{id}", tag = "plugins",
    extensions(("x-required-role" = json!("admin"))),
    params(("id" = String, Path, description = "plugin id or name")),
    request_body = PluginPatch,
    responses((status = 200, body = Plugin), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope, description = "a plugin with the new name exists")))]
pub async fn update_plugin(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segment(id): Segment,
    ApiJson(patch): ApiJson<PluginPatch>,
) -> Result<Json<Plugin>, ApiError> {
    Ok(Json(svc.update_plugin(&who, &id, patch).await?))
}

#[utoipa::path(get, path = "/api/v1/plugin-health", tag = "plugins",
    extensions(("x-required-role" = json!("viewer"))),
    description = "Each plugin the caller sees triggers of (its plugin scope; only active plugins \
                   unless an admin), by name: whether it is active, how many attempts failed in \
                   the last 24 hours, and when an attempt last succeeded. An ingest key's \
                   figures count only the triggers it created.",
    responses((status = 200, body = Items<PluginHealth>)))]
pub async fn plugin_health(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
) -> Result<Json<Items<PluginHealth>>, ApiError> {
    Ok(Json(Items {
        items: svc.plugin_health(&who).await?,
    }))
}
