//! Server functions: thin adapters from the pages to the service layer.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::domain::{Page, Plugin, Trigger, TriggerDetail, TriggerFilter};

#[server(prefix = "/_fn", input = Json)]
pub async fn list_triggers(
    filter: TriggerFilter,
    cursor: Option<String>,
) -> Result<Page<Trigger>, ServerFnError> {
    let backend = crate::backend::use_backend()?;
    backend
        .list_triggers(filter, cursor, crate::domain::DEFAULT_PAGE_SIZE)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(prefix = "/_fn", input = Json)]
pub async fn get_trigger(id: String) -> Result<TriggerDetail, ServerFnError> {
    let backend = crate::backend::use_backend()?;
    backend
        .get_trigger(&id)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

#[server(prefix = "/_fn", input = Json)]
pub async fn list_plugins() -> Result<Vec<Plugin>, ServerFnError> {
    let backend = crate::backend::use_backend()?;
    backend
        .list_plugins()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}
