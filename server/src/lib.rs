//! Calltrail's server: configuration, storage, the service layer, the REST API,
//! the pages, and (later) the executor and retention.
//!
//! Where things happen:
//! - a request enters in `api` (REST) or `web` (pages and server functions);
//! - it is checked and decided in `service`;
//! - rows are written in `storage` (`sqlite` or `postgres`).

pub mod api;
pub mod config;
pub mod demo;
pub mod executor;
pub mod outcome;
pub mod sandbox;
pub mod service;
pub mod storage;
pub mod web;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::service::{ApiError, Service};

/// The whole HTTP application: API, pages, static files.
pub fn app(service: Arc<Service>, options: LeptosOptions) -> Router {
    let (api, _doc) = api::router();
    let mut router = web::router(service.clone(), options).merge(api.with_state(service));
    if std::env::var("CALLTRAIL_SANDBOX").as_deref() == Ok("on") {
        router = router.merge(sandbox::router());
    }
    router
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

/// Start serving on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    options: LeptosOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(service, options))
        .with_graceful_shutdown(shutdown)
        .await
}
