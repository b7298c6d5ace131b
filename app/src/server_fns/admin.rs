//! The plugins pages' and the migration page's server functions. Each is the
//! service call the REST route makes, as the signed-in browser: the service
//! decides who may (admins change plugins and run migrations).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::client::PanelAwareClient;
use crate::domain::{
    ErrorBody, Migration, MigrationInput, MigrationStart, Plugin, PluginChanges, PluginHealth,
    PluginView,
};

/// Every plugin the caller sees, with its failures in the last 24 h and last success.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_plugin_health() -> Result<Vec<PluginHealth>, ErrorBody> {
    crate::backend::use_backend()?.plugin_health().await
}

/// One plugin by name: its settings to admins, its summary to others.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn get_plugin(name: String) -> Result<PluginView, ErrorBody> {
    crate::backend::use_backend()?.get_plugin(&name).await
}

/// Change a plugin's settings, or reconnect it with new credentials (admins).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn update_plugin(name: String, changes: PluginChanges) -> Result<Plugin, ErrorBody> {
    crate::backend::use_backend()?
        .update_plugin(&name, changes)
        .await
}

/// Count and sample a migration (`dry_run`), or start it (admins).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn start_migration(input: MigrationInput) -> Result<MigrationStart, ErrorBody> {
    crate::backend::use_backend()?.start_migration(input).await
}

/// A migration's progress.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn get_migration(id: String) -> Result<Migration, ErrorBody> {
    crate::backend::use_backend()?.get_migration(&id).await
}

/// Past and running migrations, newest first.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_migrations() -> Result<Vec<Migration>, ErrorBody> {
    crate::backend::use_backend()?.list_migrations().await
}

/// Stop a running migration between two items.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn cancel_migration(id: String) -> Result<Migration, ErrorBody> {
    crate::backend::use_backend()?.cancel_migration(&id).await
}
