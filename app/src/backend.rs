//! The seam between the pages' server functions and the server's service layer.
//! The server crate implements `Backend` with the same service the REST handlers
//! call, so the browser and the API cannot disagree.

use std::sync::Arc;

use crate::domain::{
    ActivityWindow, Caller, ErrorBody, Page, PanelScope, PluginSummary, Trigger, TriggerActivity,
    TriggerCount, TriggerDetail, TriggerFilter,
};

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn list_triggers(
        &self,
        filter: TriggerFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Page<Trigger>, ErrorBody>;

    async fn get_trigger(&self, id: &str) -> Result<TriggerDetail, ErrorBody>;

    async fn list_plugins(&self) -> Result<Vec<PluginSummary>, ErrorBody>;

    /// Run a trigger again now (operators and admins), saying why.
    async fn rerun_trigger(&self, id: &str, reason: Option<String>) -> Result<Trigger, ErrorBody>;

    /// Who is asking, and what the pages may offer them.
    async fn caller(&self) -> Result<Caller, ErrorBody>;

    /// The entity an embed token's holder sees; not found for any other caller.
    async fn panel_scope(&self) -> Result<PanelScope, ErrorBody>;

    /// How many triggers a filter matches, in all and per status.
    async fn count_triggers(&self, filter: TriggerFilter) -> Result<TriggerCount, ErrorBody>;

    /// Attempts per hour (or day) by class for a filter, cut at the reader's clock.
    async fn trigger_activity(
        &self,
        filter: TriggerFilter,
        window: ActivityWindow,
        utc_offset_minutes: i32,
    ) -> Result<TriggerActivity, ErrorBody>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided to the Leptos context by the server.
pub fn use_backend() -> Result<SharedBackend, ErrorBody> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| ErrorBody {
        code: "internal".to_string(),
        message: "the backend is not configured".to_string(),
        field: None,
    })
}
