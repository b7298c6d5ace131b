//! The seam between the pages' server functions and the server's service layer.
//! The server crate implements `Backend` with the same service the REST handlers
//! call, so the browser and the API cannot disagree.

use std::sync::Arc;

use crate::domain::{
    ActivityWindow, ApiKey, ApiKeyInput, AuditEntry, AuditQuery, Caller, EmbedToken,
    EmbedTokenInput, ErrorBody, GroupRerunOutcome, Migration, MigrationInput, MigrationStart,
    NewApiKey, Page, PanelScope, Password, Plugin, PluginChanges, PluginHealth, PluginSummary,
    PluginView, Trigger, TriggerActivity, TriggerCount, TriggerDetail, TriggerFilter, User,
    UserChange,
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

    /// Run a trigger again now (operators and admins), saying why; automatic
    /// retries resume after it only when `resume_retries` asks for them.
    async fn rerun_trigger(
        &self,
        id: &str,
        reason: Option<String>,
        resume_retries: bool,
    ) -> Result<Trigger, ErrorBody>;

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
    // The admin pages: audit trail, users, API keys, embed links (admins only).

    /// A page of the audit trail, newest first.
    async fn audit_page(&self, query: AuditQuery) -> Result<Page<AuditEntry>, ErrorBody>;

    async fn list_users(&self) -> Result<Vec<User>, ErrorBody>;

    /// A new user; `plugins` limits what they see (`None`: every plugin).
    async fn create_user(
        &self,
        email: String,
        role: String,
        plugins: Option<Vec<String>>,
        password: Password,
    ) -> Result<User, ErrorBody>;

    /// Change a user's role, plugins, password or disabled state.
    async fn change_user(&self, id: &str, change: UserChange) -> Result<User, ErrorBody>;

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, ErrorBody>;

    /// Issue a key: the answer holds the key itself, this once.
    async fn issue_api_key(&self, input: ApiKeyInput) -> Result<NewApiKey, ErrorBody>;

    async fn revoke_api_key(&self, id: &str) -> Result<ApiKey, ErrorBody>;

    async fn issue_embed_token(&self, input: EmbedTokenInput) -> Result<EmbedToken, ErrorBody>;

    /// Run the triggers sharing an aggregation key again now, together
    /// (operators and admins): the erroneous ones, and the finished ones too
    /// when `include_finished` says so.
    async fn rerun_group(
        &self,
        aggregation_key: &str,
        reason: Option<String>,
        resume_retries: bool,
        include_finished: bool,
    ) -> Result<GroupRerunOutcome, ErrorBody>;
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
