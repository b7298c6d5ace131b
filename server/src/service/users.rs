//! People who sign in to the pages: created and changed by admins (REST and the
//! command line), checked at sign-in, and turned into a `Principal` on every
//! request their session makes. Passwords are kept only as argon2id hashes.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::access::Identity;
use super::{Permission, Principal, Role, Secret, Service, ServiceError};
use crate::storage::{PluginKey, UserRecord};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
const MAX_EMAIL_CHARS: usize = 254;

pub use app::domain::User;

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: String,
    pub role: String,
    /// Plugin names (or ids) the user may see; null or absent: all.
    #[serde(default)]
    pub plugins: Option<Vec<String>>,
    /// At least 12 characters.
    #[schema(value_type = String)]
    pub password: Secret,
}

/// `PATCH /api/v1/users/{id}`: only what is present changes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<String>,
    /// Plugin names or ids; `null` lifts the limit (all plugins).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub plugins: Option<Option<Vec<String>>>,
    pub disabled: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

/// Tell a field that is present-but-null (`Some(None)`) from one that is absent (`None`).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A successful sign-in: who, and when (a session older than a password change is void).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub principal: Principal,
}

/// The same refusal for an unknown email and a wrong password: the page does not
/// reveal which addresses have accounts.
pub const WRONG_CREDENTIALS: &str = "that email and password do not match an account";

fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "hashing a password");
            ServiceError::internal()
        })
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so that both refusals
/// take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not a password anyone has").unwrap_or_default())
}

fn parse_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim();
    let bad = || {
        ServiceError::invalid(
            "email",
            "give an email address such as ada@example.com (up to 254 characters)",
        )
    };
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_string())
    } else {
        Err(bad())
    }
}

fn check_password(password: &str) -> Result<(), ServiceError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ServiceError::invalid(
            "password",
            format!("a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if password.contains('\0') {
        return Err(ServiceError::invalid(
            "password",
            "a password may not contain a NUL character",
        ));
    }
    Ok(())
}

/// An admin signed in to the pages cannot disable their own account nor give up
/// their own admin role: one click would end their session or their access to
/// the page they are on, with nobody left to undo it. Another admin (or
/// `calltrail user disable`) can.
fn refuse_locking_oneself_out(
    who: &Principal,
    id: Uuid,
    patch: &UserPatch,
) -> Result<(), ServiceError> {
    if who.identity != Identity::User(id) {
        return Ok(());
    }
    if patch.disabled == Some(true) {
        return Err(ServiceError::conflict_on(
            "disabled",
            "you cannot disable your own account; ask another admin",
        ));
    }
    if let Some(role) = &patch.role {
        if parse_role(role)? != Role::Admin {
            return Err(ServiceError::conflict_on(
                "role",
                "you cannot take away your own admin role; ask another admin",
            ));
        }
    }
    Ok(())
}

fn parse_role(role: &str) -> Result<Role, ServiceError> {
    Role::parse(role).ok_or_else(|| {
        ServiceError::invalid("role", "role must be viewer, operator, admin or ingest")
    })
}

impl Service {
    /// Plugin names or ids → ids, refusing the first unknown one (field `plugins`).
    async fn user_plugin_ids(
        &self,
        names: Option<Vec<String>>,
    ) -> Result<Option<Vec<Uuid>>, ServiceError> {
        let Some(names) = names else {
            return Ok(None);
        };
        let mut ids = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let key = match Uuid::parse_str(name) {
                Ok(id) => PluginKey::Id(id),
                Err(_) => PluginKey::Name(name.clone()),
            };
            let found = if name.is_empty() || name.contains('\0') {
                None
            } else {
                self.store().reads().get_plugin(&key).await?
            };
            let plugin = found.ok_or_else(|| {
                ServiceError::invalid("plugins", format!("there is no plugin {name:?} (item {i})"))
            })?;
            if !ids.contains(&plugin.plugin.id) {
                ids.push(plugin.plugin.id);
            }
        }
        Ok(Some(ids))
    }

    async fn user_view(&self, records: Vec<UserRecord>) -> Result<Vec<User>, ServiceError> {
        let plugins = self.store().reads().list_plugins().await?;
        let name_of = |id: &Uuid| {
            plugins
                .iter()
                .find(|p| p.plugin.id == *id)
                .map(|p| p.plugin.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        Ok(records
            .into_iter()
            .map(|u| User {
                id: u.id,
                email: u.email,
                role: u.role,
                plugins: u.plugins.map(|ids| ids.iter().map(name_of).collect()),
                disabled: u.disabled_at.is_some(),
                disabled_at: u.disabled_at,
                password_changed_at: u.password_changed_at,
                created_at: u.created_at,
                last_sign_in_at: u.last_sign_in_at,
            })
            .collect())
    }

    async fn one_user_view(&self, record: UserRecord) -> Result<User, ServiceError> {
        Ok(self
            .user_view(vec![record])
            .await?
            .pop()
            .expect("one record in, one user out"))
    }

    /// Add a user (admin). 409 on an email already taken, whatever its case.
    pub async fn create_user(
        &self,
        who: &Principal,
        input: UserInput,
    ) -> Result<User, ServiceError> {
        who.require(Permission::Administer)?;
        let email = parse_email(&input.email)?;
        let role = parse_role(&input.role)?;
        check_password(input.password.expose())?;
        let plugins = self.user_plugin_ids(input.plugins).await?;
        let now = super::now();
        let record = UserRecord {
            id: Uuid::now_v7(),
            email,
            password_hash: hash_password(input.password.expose())?,
            role: role.as_str().to_string(),
            plugins,
            disabled_at: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        };
        let user = self.one_user_view(record.clone()).await?;
        let audit = who.audit(
            now,
            "user.created",
            format!("user:{}", record.id),
            "",
            serde_json::json!({"email": user.email, "role": user.role, "plugins": user.plugins}),
        );
        self.store()
            .accounts()
            .insert_user(&record, &audit)
            .await
            .map_err(|e| match e {
                crate::storage::StoreError::Duplicate(_) => {
                    ServiceError::conflict_on("email", "a user with this email already exists")
                }
                other => other.into(),
            })?;
        Ok(user)
    }

    pub async fn list_users(&self, who: &Principal) -> Result<Vec<User>, ServiceError> {
        who.require(Permission::Administer)?;
        let records = self.store().accounts().list_users().await?;
        self.user_view(records).await
    }

    /// Change a user's role, plugins, password or disabled state (admin). Disabling
    /// or a new password ends every session of that user at once.
    pub async fn update_user(
        &self,
        who: &Principal,
        id: &str,
        patch: UserPatch,
    ) -> Result<User, ServiceError> {
        who.require(Permission::Administer)?;
        let id = Uuid::parse_str(id.trim())
            .map_err(|_| ServiceError::invalid("id", "a user id is a UUID"))?;
        let mut user = self
            .store()
            .accounts()
            .get_user(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("there is no such user"))?;
        refuse_locking_oneself_out(who, id, &patch)?;
        let now = super::now();
        let mut changed = Vec::new();
        let mut revoke = false;
        if let Some(role) = &patch.role {
            user.role = parse_role(role)?.as_str().to_string();
            changed.push("role");
        }
        if let Some(plugins) = patch.plugins {
            user.plugins = self.user_plugin_ids(plugins).await?;
            changed.push("plugins");
        }
        if let Some(password) = &patch.password {
            check_password(password.expose())?;
            user.password_hash = hash_password(password.expose())?;
            user.password_changed_at = now;
            revoke = true;
            changed.push("password");
        }
        match patch.disabled {
            Some(true) if user.disabled_at.is_none() => {
                user.disabled_at = Some(now);
                revoke = true;
                changed.push("disabled");
            }
            Some(false) if user.disabled_at.is_some() => {
                user.disabled_at = None;
                changed.push("enabled");
            }
            _ => {}
        }
        // Roles and scopes are read again on every request, so sessions need not end for them.
        user.updated_at = now;
        let audit = who.audit(
            now,
            "user.changed",
            format!("user:{id}"),
            "",
            serde_json::json!({"email": user.email, "changed": changed, "sessions_revoked": revoke}),
        );
        self.store()
            .accounts()
            .update_user(&user, revoke, &audit)
            .await?;
        self.one_user_view(user).await
    }

    /// Check an email and password. Both a wrong password and an unknown email
    /// get [`WRONG_CREDENTIALS`] (and an audit row without the password); a
    /// disabled account cannot sign in.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: Option<String>,
    ) -> Result<SignedIn, ServiceError> {
        let user = if email.trim().is_empty() || email.contains('\0') {
            None
        } else {
            self.store().accounts().find_user_by_email(email).await?
        };
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| decoy_hash().to_string());
        let password_owned = password.to_string();
        let matches = tokio::task::spawn_blocking(move || password_matches(&password_owned, &hash))
            .await
            .unwrap_or(false);
        let now = super::now();
        match user {
            Some(user) if matches && user.disabled_at.is_none() => {
                let principal = self
                    .principal_of(&user, client)
                    .ok_or_else(ServiceError::internal)?;
                let audit = principal.audit(
                    now,
                    "user.signed_in",
                    format!("user:{}", user.id),
                    "",
                    serde_json::json!({"email": user.email}),
                );
                self.store()
                    .accounts()
                    .record_sign_in(user.id, now, &audit)
                    .await?;
                Ok(SignedIn {
                    user_id: user.id,
                    principal,
                })
            }
            user => {
                let why = match &user {
                    None => "unknown email",
                    Some(u) if u.disabled_at.is_some() && matches => "account disabled",
                    Some(_) => "wrong password",
                };
                let attempt = Principal {
                    client,
                    ..Principal::system(
                        email
                            .trim()
                            .chars()
                            .take(MAX_EMAIL_CHARS)
                            .collect::<String>(),
                    )
                };
                let audit = attempt.audit(
                    now,
                    "user.sign_in_failed",
                    user.map(|u| format!("user:{}", u.id)).unwrap_or_default(),
                    why,
                    serde_json::json!({}),
                );
                self.store().writes().insert_audit(&audit).await?;
                Err(ServiceError::unauthorized(WRONG_CREDENTIALS))
            }
        }
    }

    /// Who a session's user is now: `None` when the user is gone, disabled, or
    /// changed password after `signed_in_at` (the session is then void).
    pub async fn session_principal(
        &self,
        user_id: Uuid,
        signed_in_at: DateTime<Utc>,
        client: Option<String>,
    ) -> Result<Option<Principal>, ServiceError> {
        let Some(user) = self.store().accounts().get_user(user_id).await? else {
            return Ok(None);
        };
        if user.password_changed_at > signed_in_at {
            return Ok(None);
        }
        Ok(self.principal_of(&user, client))
    }

    fn principal_of(&self, user: &UserRecord, client: Option<String>) -> Option<Principal> {
        if user.disabled_at.is_some() {
            return None;
        }
        Some(Principal {
            identity: Identity::User(user.id),
            name: user.email.clone(),
            role: Role::parse(&user.role)?,
            plugins: user.plugins.clone(),
            entity: None,
            client,
        })
    }

    /// The audit row of a sign-out.
    pub async fn record_sign_out(&self, who: &Principal) -> Result<(), ServiceError> {
        let target = who.identity.tag();
        let audit = who.audit(
            super::now(),
            "user.signed_out",
            target,
            "",
            serde_json::json!({}),
        );
        self.store().writes().insert_audit(&audit).await?;
        Ok(())
    }
}
