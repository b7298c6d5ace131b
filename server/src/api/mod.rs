//! The REST API under `/api/v1`: where an application's request enters.
//! Handlers are thin: extract, call the service, shape the response. Every route
//! is registered through `routes!`, which also puts it in the OpenAPI document.

mod activity;
mod api_keys;
mod audit;
mod doc;
mod embed;
mod entities;
mod error;
pub use error::{status_of_code, ApiError};
pub mod export;
pub mod extract;
mod migrations;
mod params;
mod plugins;
mod triggers;
mod users;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Service;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Calltrail",
        description = "Integration log and retry executor: applications hand it the calls \
                       they must make to third-party APIs, or report the calls they made; it \
                       records every trigger, attempt and step, and retries what failed.",
        version = "1"
    ),
    components(schemas(app::domain::ErrorEnvelope)),
    modifiers(&BearerAuth),
    security(("api_key" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The `/api/v1` routes and the OpenAPI document describing exactly them.
pub fn router() -> (Router<Arc<Service>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(plugins::create_plugin, plugins::list_plugins))
        .routes(routes!(plugins::get_plugin, plugins::update_plugin))
        .routes(routes!(plugins::plugin_health))
        .routes(routes!(triggers::create_trigger, triggers::list_triggers))
        .routes(routes!(triggers::count_triggers))
        .routes(routes!(activity::trigger_activity))
        .routes(routes!(export::export_triggers))
        .routes(routes!(entities::erase_entity))
        .routes(routes!(triggers::get_trigger))
        .routes(routes!(triggers::report_call))
        .routes(routes!(triggers::rerun_trigger))
        .routes(routes!(triggers::rerun_group))
        .routes(routes!(audit::audit_trail))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(
            migrations::start_migration,
            migrations::list_migrations
        ))
        .routes(routes!(migrations::get_migration))
        .routes(routes!(migrations::cancel_migration))
        .routes(routes!(embed::issue_embed_token))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::update_user))
        .split_for_parts();
    doc.paths.paths.insert(
        "/api/v1/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .summary(Some("This document"))
                .description(Some("Needs no API key."))
                .securities(Some(
                    Vec::<utoipa::openapi::security::SecurityRequirement>::new(),
                ))
                .response("200", utoipa::openapi::Response::new("OpenAPI 3.1 JSON"))
                .build(),
        ),
    );
    doc::declare_common_answers(&mut doc);
    let doc_json = Arc::new(doc.clone());
    let router = router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc_json.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/api/v1/{*rest}", axum::routing::any(unknown_route))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(crate::metrics::render))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() });
    (router, doc)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("there is no such route; see /api/v1/openapi.json")
}

async fn ready(State(svc): State<Arc<Service>>) -> impl IntoResponse {
    match svc.store().reads().list_plugins().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
