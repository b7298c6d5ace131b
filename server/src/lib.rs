//! Calltrail's server: configuration, storage, the service layer, the REST API,
//! the pages, the executor, and the demo with its sandbox provider.
//!
//! Where things happen:
//! - a request enters in `api` (REST) or `web` (pages and server functions);
//! - it is checked and decided in `service`;
//! - a call is made and its retry decided in `executor`, beside the service;
//! - rows are written in `storage` (`sqlite` or `postgres`);
//! - settings are read once, in `config`, and handed down from `main`.

pub mod api;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod executor;
pub mod metrics;
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

use crate::api::ApiError;
use crate::service::Service;

/// The whole HTTP application: API, pages, static files.
pub fn app(service: Arc<Service>, options: LeptosOptions) -> Router {
    app_with_sandbox(service, options, false)
}

/// `app`, and with `sandbox` the demo's fake provider at `/_sandbox`
/// (`CALLTRAIL_SANDBOX=on`).
pub fn app_with_sandbox(service: Arc<Service>, options: LeptosOptions, sandbox: bool) -> Router {
    let (api, _doc) = api::router();
    crate::metrics::handle();
    let router = web::router(service.clone(), options)
        .merge(api.with_state(service))
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(request_span));
    // The sandbox's failures are the demo's intended provider outages: they are
    // attempts in the log, not errors of this server, so its requests are not traced.
    if sandbox {
        router.merge(sandbox::router())
    } else {
        router
    }
}

/// The span each request is logged in, as tower-http's default makes it but with
/// credentials in the query string (`?token=` of a link) redacted.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let uri = service::redact::url(&request.uri().to_string());
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %uri,
        version = ?request.version(),
    )
}

/// Serve `app` on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    options: LeptosOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, app(service, options), shutdown).await
}

/// Serve a router built by `app` or `app_with_sandbox` until `shutdown` resolves.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connect info: the peer's address, for the audit trail and for throttling.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
