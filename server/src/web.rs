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
    EntityRef, ErrorBody, Page, PanelScope, PluginSummary, PluginView, Trigger, TriggerDetail,
    TriggerFilter,
};
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};

mod embed;

use crate::service::{Identity, Principal, RerunInput, Role, Service, ServiceError};

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

    async fn rerun_trigger(&self, id: &str, reason: Option<String>) -> Result<Trigger, ErrorBody> {
        let input = RerunInput {
            reason,
            resume_retries: false,
        };
        Ok(self.service.rerun(&self.who, id, input).await?)
    }

    async fn panel_scope(&self) -> Result<PanelScope, ErrorBody> {
        let scope = match (&self.who.identity, &self.who.entity) {
            (Identity::Embed, Some(scope)) => scope,
            _ => return Err(ServiceError::not_found("this is not an embedded panel").into()),
        };
        Ok(PanelScope {
            entity: EntityRef {
                entity_type: scope.entity_type.clone(),
                id: scope.entity_id.clone(),
            },
            can_rerun: self.who.role.allows(crate::service::Permission::Rerun),
        })
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
    let response =
        leptos_axum::handle_server_fns_with_context(move || provide_context(backend.clone()), req)
            .await
            .into_response();
    with_error_status(response).await
}

/// A server function's refusal answers with the status its code means (403 for
/// `forbidden`, 404 for `not_found`…), as the REST API does, rather than the 500
/// Leptos gives every error; the body, the `ErrorBody`, is unchanged.
async fn with_error_status(response: Response) -> Response {
    if !response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return crate::api::ApiError::internal().into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&bytes) {
        parts.status = crate::api::status_of_code(&error.code);
    }
    Response::from_parts(parts, Body::from(bytes))
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
/// reads as a viewer of everything and can change nothing. A caller already
/// known (an embed token's holder, see `embed::embed_caller`) is kept.
async fn caller_from_request(mut req: Request, next: Next) -> Response {
    if req.extensions().get::<Principal>().is_some() {
        return next.run(req).await;
    }
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
    let service = state.service.clone();
    Router::new()
        .leptos_routes_with_handler(routes, axum::routing::get(page))
        .route("/_fn/{*fn_name}", axum::routing::post(server_fn))
        .route("/export/triggers", axum::routing::get(export))
        .layer(axum::middleware::from_fn(caller_from_request))
        // An embed token is resolved before any other way of knowing the caller.
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            embed::embed_caller,
        ))
        .fallback(leptos_axum::file_and_error_handler::<WebState, _>(
            app::shell,
        ))
        // Only /embed/… may be framed, and only by the configured origins.
        .layer(axum::middleware::from_fn_with_state(
            service,
            embed::embed_frame_ancestors,
        ))
        .with_state(state)
}
