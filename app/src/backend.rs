//! The seam between the pages' server functions and the server's service layer.
//! The server crate implements `Backend` with the same service the REST handlers
//! call, so the browser and the API cannot disagree.

use std::sync::Arc;

use crate::domain::{
    Caller, ErrorBody, Migration, MigrationInput, MigrationStart, Page, PanelScope, Plugin,
    PluginChanges, PluginHealth, PluginSummary, PluginView, Trigger, TriggerDetail, TriggerFilter,
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

    /// Each plugin the caller sees, with its failures in the last 24 h and last success.
    async fn plugin_health(&self) -> Result<Vec<PluginHealth>, ErrorBody>;

    /// One plugin: whole to admins, its summary to others.
    async fn get_plugin(&self, name: &str) -> Result<PluginView, ErrorBody>;

    /// Change a plugin's settings or credentials (admins).
    async fn update_plugin(&self, name: &str, changes: PluginChanges) -> Result<Plugin, ErrorBody>;

    /// A trigger migration: a dry run, or the job started (admins).
    async fn start_migration(&self, input: MigrationInput) -> Result<MigrationStart, ErrorBody>;

    async fn get_migration(&self, id: &str) -> Result<Migration, ErrorBody>;

    /// The newest migrations first.
    async fn list_migrations(&self) -> Result<Vec<Migration>, ErrorBody>;

    async fn cancel_migration(&self, id: &str) -> Result<Migration, ErrorBody>;
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
