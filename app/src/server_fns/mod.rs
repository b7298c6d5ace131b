//! Server functions: thin adapters from the pages to the service layer.
//! Their error is the same [`ErrorBody`] a REST client reads (code, message,
//! field), sent as JSON, so a page can tell a refused filter from an outage.
//! They are called through [`PanelAwareClient`], so that inside an embedded panel
//! they carry its token and answer only about its entity.

mod log;

pub use log::{attempt_activity, count_triggers};

use leptos::prelude::*;
use leptos::server_fn::codec::{Json, JsonEncoding};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

mod people;
pub use people::*;

use crate::client::PanelAwareClient;
use crate::domain::{
    Caller, ErrorBody, Page, PanelScope, PluginSummary, Trigger, TriggerDetail, TriggerFilter,
};

/// Failures of the call itself (unreachable server, unreadable arguments) in
/// the same shape as the service's own.
impl FromServerFnError for ErrorBody {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let code = match &value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => "validation_failed",
            ServerFnErrorErr::Request(_) => "unavailable",
            _ => "internal",
        };
        ErrorBody {
            code: code.to_string(),
            message: value.to_string(),
            field: None,
        }
    }
}

#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_triggers(
    filter: TriggerFilter,
    cursor: Option<String>,
) -> Result<Page<Trigger>, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend
        .list_triggers(filter, cursor, crate::domain::DEFAULT_PAGE_SIZE)
        .await
}

#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn get_trigger(id: String) -> Result<TriggerDetail, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.get_trigger(&id).await
}

#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_plugins() -> Result<Vec<PluginSummary>, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.list_plugins().await
}

/// Run a trigger again now, saying why (operators and admins; an embedded panel
/// only with a token that allows it, and only for its entity). Automatic retries
/// resume after it only when `resume_retries` asks for them. Its address is
/// fixed (`/_fn/rerun_trigger`) so that tests can prove a viewer is refused.
#[server(prefix = "/_fn", endpoint = "rerun_trigger", input = Json, client = PanelAwareClient)]
pub async fn rerun_trigger(
    id: String,
    reason: Option<String>,
    #[server(default)] resume_retries: bool,
) -> Result<Trigger, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.rerun_trigger(&id, reason, resume_retries).await
}

/// The entity the embedded panel shows, and whether it may re-run.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn embedded_panel() -> Result<PanelScope, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.panel_scope().await
}

mod trigger;
pub use trigger::{rerun_group, RerunGroup};

/// Who the browser is signed in as: the pages show only what this caller may do.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn current_caller() -> Result<Caller, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.caller().await
}

pub mod admin;
pub use admin::*;
