//! What admins manage: the audit trail, users, API keys and embed links, as the
//! REST API and the admin pages both read and send them. Nothing here holds a
//! password hash or a stored key; a new key's value appears once, in [`NewApiKey`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EntityRef;

/// The roles a user or key may have: `viewer` reads, `operator` also re-runs,
/// `admin` does everything, `ingest` is for applications that send triggers.
pub const ROLES: [&str; 4] = ["viewer", "operator", "admin", "ingest"];

/// Who did what, to what, and why. Written with the action it records; never edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    /// The address the request came from, when it came over the network.
    pub client: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// A user as the API shows it: never the password or its hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    /// `viewer`, `operator`, `admin` or `ingest`.
    pub role: String,
    /// The names of the plugins the user may see; null is all of them.
    pub plugins: Option<Vec<String>>,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When they last signed in to the pages; null: never.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// A password on its way in from a form: write-only, so it is never printed
/// (`Debug` shows `***`) and no answer carries one back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What the users page changes about a user; only what is present changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserChange {
    pub role: Option<String>,
    /// The plugins (names) they may see from now on; an empty list lifts the
    /// limit (every plugin), as no box ticked does on the page.
    pub plugins: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password: Option<Password>,
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyInput {
    /// What the key is for (`billing`, `ci`); 1 to 100 characters.
    pub name: String,
    /// `viewer`, `operator`, `admin` or `ingest`.
    #[cfg_attr(feature = "ssr", schema(example = "ingest"))]
    pub role: String,
    /// The plugins (names) the key may see; absent or null is every plugin.
    #[serde(default)]
    pub plugins: Option<Vec<String>>,
    /// When the key stops working; absent or null is never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key as listed: never the key, nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    /// The plugins (names) it may see; null is every plugin.
    pub plugins: Option<Vec<String>>,
    /// The key's first characters, to recognise it (`ct_1a2b3c4`).
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just issued: the key itself (shown this once) and its record.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    /// Send it as `Authorization: Bearer <key>`. It cannot be shown again.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("key", &"***")
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// `POST /api/v1/embed-tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmbedTokenInput {
    /// The one entity the panel shows.
    pub entity: EntityRef,
    /// Seconds until the link stops working: 60 to 86400, default 900.
    pub expires_in: Option<i64>,
    /// Whether the panel may re-run a trigger (as an operator would); default false.
    #[serde(default)]
    pub can_rerun: bool,
}

/// A token just issued. The token is shown here once; only its id is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmbedToken {
    pub token: String,
    /// `/embed/{entity_type}/{entity_id}?token=…`, absolute when `CALLTRAIL_PUBLIC_URL` is set.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}
