//! The admin pages' server functions: the audit trail, users, API keys and embed
//! links. Each is the REST call of the same name, as the signed-in browser; the
//! service refuses anyone but an admin, and audits what it changes.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::client::PanelAwareClient;
use crate::domain::{
    ApiKey, ApiKeyInput, AuditEntry, AuditQuery, EmbedToken, EmbedTokenInput, ErrorBody, NewApiKey,
    Page, Password, User, UserChange,
};

/// A page of the audit trail (`GET /api/v1/audit`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn read_audit_trail(query: AuditQuery) -> Result<Page<AuditEntry>, ErrorBody> {
    crate::backend::use_backend()?.audit_page(query).await
}

/// Every user (`GET /api/v1/users`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_users() -> Result<Vec<User>, ErrorBody> {
    crate::backend::use_backend()?.list_users().await
}

/// Add a user who signs in with this email and password, seeing `plugins` only
/// (`None`: all; `POST /api/v1/users`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn create_user(
    email: String,
    role: String,
    plugins: Option<Vec<String>>,
    password: Password,
) -> Result<User, ErrorBody> {
    crate::backend::use_backend()?
        .create_user(email, role, plugins, password)
        .await
}

/// Change a user's role, plugins, password or disabled state (`PATCH /api/v1/users/{id}`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn change_user(id: String, change: UserChange) -> Result<User, ErrorBody> {
    crate::backend::use_backend()?
        .change_user(&id, change)
        .await
}

/// Every API key, never the key itself (`GET /api/v1/api-keys`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn list_api_keys() -> Result<Vec<ApiKey>, ErrorBody> {
    crate::backend::use_backend()?.list_api_keys().await
}

/// Issue a key; the answer carries it this one time (`POST /api/v1/api-keys`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn issue_api_key(input: ApiKeyInput) -> Result<NewApiKey, ErrorBody> {
    crate::backend::use_backend()?.issue_api_key(input).await
}

/// Revoke a key at once (`DELETE /api/v1/api-keys/{id}`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn revoke_api_key(id: String) -> Result<ApiKey, ErrorBody> {
    crate::backend::use_backend()?.revoke_api_key(&id).await
}

/// A link to one entity's panel, for another application's iframe
/// (`POST /api/v1/embed-tokens`).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn issue_embed_token(input: EmbedTokenInput) -> Result<EmbedToken, ErrorBody> {
    crate::backend::use_backend()?
        .issue_embed_token(input)
        .await
}
