//! The browser side of the server: Leptos rendering and server functions,
//! wired to the same service the REST API uses.
//!
//! Every page and server function runs as the [`Principal`] that the request
//! carries in its extensions (put there by the layer that knows who is asking:
//! see `caller_from_request`), through a backend bound to that principal, so the
//! service checks the browser exactly as it checks an API key.

use std::sync::Arc;

use app::backend::{Backend, SharedBackend};
use app::domain::{
    ErrorBody, Page, PluginSummary, PluginView, Trigger, TriggerDetail, TriggerFilter,
};
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};

use crate::service::{Identity, Principal, Role, Service};

/// The service, seen from the pages, as one caller.
struct UiBackend {
    service: Arc<Service>,
    who: Principal,
}

#[async_trait::async_trait]
impl Backend for UiBackend {
    async fn list_triggers(
        &self,
        filter: TriggerFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Page<Trigger>, ErrorBody> {
        Ok(self
            .service
            .list_triggers(&self.who, filter, cursor.as_deref(), limit)
            .await?)
    }

    async fn get_trigger(&self, id: &str) -> Result<TriggerDetail, ErrorBody> {
        Ok(self.service.get_trigger(&self.who, id).await?)
    }

    async fn list_plugins(&self) -> Result<Vec<PluginSummary>, ErrorBody> {
        Ok(self
            .service
            .list_plugins(&self.who)
            .await?
            .into_iter()
            .map(|view| match view {
                PluginView::Full(p) => PluginSummary::from(p.as_ref()),
                PluginView::Summary(s) => s,
            })
            .collect())
    }
}

#[derive(Clone)]
struct WebState {
    options: LeptosOptions,
    service: Arc<Service>,
    routes: Vec<AxumRouteListing>,
}

impl FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> LeptosOptions {
        state.options.clone()
    }
}

impl WebState {
    /// A backend for the caller this request carries. A request without one is
    /// refused before it gets here; this is the last line, and it reads nothing.
    fn backend_for(&self, req: &Request) -> SharedBackend {
        let who = req
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(nobody);
        Arc::new(UiBackend {
            service: self.service.clone(),
            who,
        })
    }
}

/// A principal that may do nothing at all.
fn nobody() -> Principal {
    Principal {
        identity: Identity::Embed,
        name: "nobody".into(),
        role: Role::Viewer,
        plugins: Some(Vec::new()),
        entity: None,
        client: None,
    }
}

async fn page(State(state): State<WebState>, req: Request) -> Response {
    let backend = state.backend_for(&req);
    let options = state.options.clone();
    let handler = leptos_axum::render_route_with_context(
        state.routes.clone(),
        move || provide_context(backend.clone()),
        move || app::shell(options.clone()),
    );
    handler(State(state), req).await.into_response()
}

async fn server_fn(State(state): State<WebState>, req: Request<Body>) -> Response {
    let backend = state.backend_for(&req);
    leptos_axum::handle_server_fns_with_context(move || provide_context(backend.clone()), req)
        .await
        .into_response()
}

/// The Export button: the REST export, as the signed-in browser.
async fn export(State(state): State<WebState>, req: Request) -> Response {
    let who = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(nobody);
    let query = req.uri().query().unwrap_or("").to_string();
    crate::api::export::export_response(&state.service, &who, &query)
        .await
        .into_response()
}

/// Who the browser is. Sign-in is not built yet: until it is, every browser
/// reads as a viewer of everything and can change nothing.
async fn caller_from_request(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(Principal {
        identity: Identity::System,
        name: "browser".into(),
        role: Role::Viewer,
        plugins: None,
        entity: None,
        client: None,
    });
    next.run(req).await
}

pub fn router(service: Arc<Service>, options: LeptosOptions) -> Router {
    let routes = generate_route_list(app::App);
    let state = WebState {
        options,
        service,
        routes: routes.clone(),
    };
    Router::new()
        .leptos_routes_with_handler(routes, axum::routing::get(page))
        .route("/_fn/{*fn_name}", axum::routing::post(server_fn))
        .route("/export/triggers", axum::routing::get(export))
        .layer(axum::middleware::from_fn(caller_from_request))
        .fallback(leptos_axum::file_and_error_handler::<WebState, _>(
            app::shell,
        ))
        .with_state(state)
}
