//! The browser side of the server: Leptos rendering and server functions,
//! wired to the same service the REST API uses.

use std::sync::Arc;

use app::backend::{Backend, SharedBackend};
use app::domain::{ErrorBody, Page, Plugin, Trigger, TriggerDetail, TriggerFilter};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::service::{Principal, Service};

/// The service, seen from the pages. Sign-in comes later: until then the
/// browser reads as a viewer and cannot change anything.
struct UiBackend(Arc<Service>);

#[async_trait::async_trait]
impl Backend for UiBackend {
    async fn list_triggers(
        &self,
        filter: TriggerFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Page<Trigger>, ErrorBody> {
        let who = Principal::ui_viewer();
        Ok(self
            .0
            .list_triggers(&who, filter, cursor.as_deref(), limit)
            .await?)
    }

    async fn get_trigger(&self, id: &str) -> Result<TriggerDetail, ErrorBody> {
        Ok(self.0.get_trigger(&Principal::ui_viewer(), id).await?)
    }

    async fn list_plugins(&self) -> Result<Vec<Plugin>, ErrorBody> {
        Ok(self.0.list_plugins(&Principal::ui_viewer()).await?)
    }
}

pub fn router(service: Arc<Service>, options: LeptosOptions) -> Router {
    let backend: SharedBackend = Arc::new(UiBackend(service));
    let routes = generate_route_list(app::App);
    let shell_options = options.clone();
    let context_backend = backend.clone();
    Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_backend.clone()),
            move || app::shell(shell_options.clone()),
        )
        .route(
            "/_fn/{*fn_name}",
            axum::routing::post({
                let backend = backend.clone();
                move |req| {
                    leptos_axum::handle_server_fns_with_context(
                        move || provide_context(backend.clone()),
                        req,
                    )
                }
            }),
        )
        .fallback(leptos_axum::file_and_error_handler(app::shell))
        .with_state(options)
}
