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
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod executor;
pub mod guard;
pub mod headers;
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

/// How the server meets the outside: the host names it answers to, sessions
/// and sign-in.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub hosts: guard::AllowedHosts,
    pub web: web::WebSettings,
}

impl HttpSettings {
    /// Defaults for a server listening on `addr`: it answers to that address and
    /// to the loopback names on its port.
    pub fn local(addr: std::net::SocketAddr) -> HttpSettings {
        HttpSettings {
            hosts: guard::AllowedHosts::new(addr, None, "").expect("no extra hosts to parse"),
            web: web::WebSettings::default(),
        }
    }
}

/// The whole HTTP application: API, pages, static files.
pub fn app(service: Arc<Service>, options: LeptosOptions) -> Router {
    app_with_sandbox(service, options, false)
}

/// `app`, and with `sandbox` the demo's fake provider at `/_sandbox`
/// (`CALLTRAIL_SANDBOX=on`).
pub fn app_with_sandbox(service: Arc<Service>, options: LeptosOptions, sandbox: bool) -> Router {
    let settings = HttpSettings::local(options.site_addr);
    app_with(service, options, sandbox, &settings)
}

/// `app_with_sandbox` under explicit settings.
pub fn app_with(
    service: Arc<Service>,
    options: LeptosOptions,
    sandbox: bool,
    settings: &HttpSettings,
) -> Router {
    let (api, _doc) = api::router();
    crate::metrics::handle();
    let router = web::router(service.clone(), options, &settings.web)
        .merge(api.with_state(service))
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        // Every route, the API too: a name we do not answer to is DNS rebinding.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(settings.hosts.clone()),
            guard::check_host,
        ))
        .layer(axum::middleware::from_fn(headers::security_headers))
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
    // The peer's address reaches handlers (audit rows, sign-in limits).
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
