//! Embed tokens: a signed, expiring link that shows one entity's log panel inside
//! another application, to whoever holds it, without a session or an API key.
//!
//! A token is PASETO v4.local under a key of its own (`CALLTRAIL_EMBED_KEY`, or a
//! key file created on first start), never the key that seals plugin credentials:
//! a leaked embed key must not open stored secrets, and rotating one must not
//! touch the other. v4.local both encrypts and authenticates, so the holder can
//! neither read the claims (who issued it) nor change them (another entity, a
//! later expiry), and there is one algorithm, so no header to confuse.
//!
//! Holding a token makes its bearer a [`Principal`] scoped to one entity:
//! `visibility` then narrows every list and detail to that entity, exactly as it
//! narrows any other caller's scope.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use pasetors::keys::SymmetricKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::{LocalToken, V4};
use pasetors::Local;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::types::Entity;
use super::{now, EntityScope, Identity, Permission, Principal, Role, Service, ServiceError};

/// Binds a token to this use of the key: bytes sealed under the same key for any
/// other purpose do not open as an embed token.
const IMPLICIT_ASSERTION: &[u8] = b"calltrail:embed-token:v1";

/// How long a token lives when the issuer does not say.
pub const DEFAULT_EXPIRES_IN: i64 = 900;
/// The shortest and longest life a token may be given, in seconds.
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<i64> = 60..=86_400;

/// What a panel shows when its link no longer works.
pub const EXPIRED_MESSAGE: &str = "This link has expired — ask for a new one.";
pub const INVALID_MESSAGE: &str =
    "This link is not valid (it was changed or cut short) — ask for a new one.";

/// The key embed tokens are sealed with.
#[derive(Clone)]
pub struct EmbedKey(Arc<SymmetricKey<V4>>);

impl fmt::Debug for EmbedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmbedKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedKeyError {
    #[error("CALLTRAIL_EMBED_KEY must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("reading or creating the embed key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl EmbedKey {
    pub fn from_hex(hex_key: &str) -> Result<EmbedKey, EmbedKeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| EmbedKeyError::BadKey)?;
        if bytes.len() != 32 {
            return Err(EmbedKeyError::BadKey);
        }
        SymmetricKey::<V4>::from(&bytes)
            .map(|k| EmbedKey(Arc::new(k)))
            .map_err(|_| EmbedKeyError::BadKey)
    }

    /// Read the key file, creating it (mode 0600) with a fresh key if it is missing.
    pub fn from_file(path: &Path) -> Result<EmbedKey, EmbedKeyError> {
        let io = |source| EmbedKeyError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            super::secrets::write_private(path, &random_hex()).map_err(io)?;
        }
        EmbedKey::from_hex(&std::fs::read_to_string(path).map_err(io)?)
    }

    /// A key of this process alone: its tokens die with it. For tests and for a
    /// service built without settings.
    pub fn random() -> EmbedKey {
        EmbedKey::from_hex(&random_hex()).expect("32 random bytes are a key")
    }

    /// Seal claims into a token.
    pub fn seal(&self, claims: &EmbedClaims) -> String {
        let message = serde_json::to_vec(claims).expect("claims serialise");
        LocalToken::encrypt(&self.0, &message, None, Some(IMPLICIT_ASSERTION))
            .expect("sealing in memory with a valid key cannot fail")
    }

    /// The claims of a token sealed with this key, or `None` when it was not
    /// (altered, cut short, another key, not a token at all). Expiry is the
    /// caller's to check, so it can say "expired" rather than "invalid".
    pub fn open(&self, token: &str) -> Option<EmbedClaims> {
        let untrusted = UntrustedToken::<Local, V4>::try_from(token).ok()?;
        let trusted =
            LocalToken::decrypt(&self.0, &untrusted, None, Some(IMPLICIT_ASSERTION)).ok()?;
        serde_json::from_str(trusted.payload()).ok()
    }
}

fn random_hex() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    hex::encode(key)
}

/// What a token says. Sealed, so only the server reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedClaims {
    /// Token id: names the token in the audit trail without revealing it.
    pub jti: String,
    pub iat: DateTime<Utc>,
    pub exp: DateTime<Utc>,
    pub entity_type: String,
    pub entity_id: String,
    pub can_rerun: bool,
    /// Who issued it (the principal's name), for the audit trail of what it does.
    pub issuer: String,
}

impl EmbedClaims {
    fn short_id(&self) -> &str {
        // A UUIDv7 starts with its timestamp; its end is the random part.
        &self.jti[self.jti.len().saturating_sub(8)..]
    }
}

/// How embedding is set up: the key, where links point, who may frame the panel.
#[derive(Debug, Clone)]
pub struct EmbedSettings {
    pub key: EmbedKey,
    /// `CALLTRAIL_PUBLIC_URL` without its trailing slash: links are absolute when set.
    pub public_url: Option<String>,
    /// The `frame-ancestors` sources of `/embed/…` (`CALLTRAIL_EMBED_ORIGINS`).
    pub frame_ancestors: Vec<String>,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        EmbedSettings {
            key: EmbedKey::random(),
            public_url: None,
            frame_ancestors: vec!["'self'".into()],
        }
    }
}

impl EmbedSettings {
    /// Parse `CALLTRAIL_EMBED_ORIGINS`: a comma list of origins (`https://crm.example.com`,
    /// `https://*.example.com`, `http://localhost:8080`) or `'self'`/`'none'`. Each
    /// lands in a header, so anything else is refused rather than passed through.
    pub fn parse_origins(list: &str) -> Result<Vec<String>, String> {
        let origins: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                if o == "'self'" || o == "'none'" || is_origin(o) {
                    Ok(o.trim_end_matches('/').to_string())
                } else {
                    Err(format!(
                        "CALLTRAIL_EMBED_ORIGINS: {o:?} is not an origin (scheme://host[:port], \
                         e.g. https://crm.example.com) nor 'self' or 'none'"
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(if origins.is_empty() {
            vec!["'self'".into()]
        } else {
            origins
        })
    }

    /// Parse `CALLTRAIL_PUBLIC_URL` (`https://calltrail.example.com`); empty is none.
    pub fn parse_public_url(value: &str) -> Result<Option<String>, String> {
        let value = value.trim().trim_end_matches('/');
        if value.is_empty() {
            return Ok(None);
        }
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Ok(Some(value.to_string()))
            }
            _ => Err(format!(
                "CALLTRAIL_PUBLIC_URL: {value:?} is not an http(s) address such as \
                 https://calltrail.example.com"
            )),
        }
    }

    /// The `Content-Security-Policy` value of every `/embed/…` response.
    pub fn frame_ancestors_policy(&self) -> String {
        format!("frame-ancestors {}", self.frame_ancestors.join(" "))
    }
}

fn is_origin(o: &str) -> bool {
    let Some((scheme, rest)) = o.trim_end_matches('/').split_once("://") else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .strip_prefix("*.")
            .unwrap_or(host)
            .split('.')
            .all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
    matches!(scheme, "http" | "https")
        && host_ok
        && port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

pub use app::domain::{EmbedToken, EmbedTokenInput};

impl Service {
    /// Change how embedding is set up (`config` at start; tests).
    pub fn set_embed(&self, settings: EmbedSettings) {
        *self.embed.write().expect("embed settings lock") = Arc::new(settings);
    }

    pub fn embed_settings(&self) -> Arc<EmbedSettings> {
        self.embed.read().expect("embed settings lock").clone()
    }

    /// Issue a token for one entity's panel. Admins only; audited.
    pub async fn issue_embed_token(
        &self,
        who: &Principal,
        input: EmbedTokenInput,
    ) -> Result<EmbedToken, ServiceError> {
        who.require(Permission::Administer)?;
        let entity = Entity::parse(input.entity)?.into_inner();
        let expires_in = input.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        if !EXPIRES_IN_RANGE.contains(&expires_in) {
            return Err(ServiceError::invalid(
                "expires_in",
                "a link lives 60 to 86400 seconds (one minute to a day)",
            ));
        }
        let settings = self.embed_settings();
        let at = now();
        let claims = EmbedClaims {
            jti: Uuid::now_v7().simple().to_string(),
            iat: at,
            exp: at + Duration::seconds(expires_in),
            entity_type: entity.entity_type,
            entity_id: entity.id,
            can_rerun: input.can_rerun,
            issuer: who.name.clone(),
        };
        let token = settings.key.seal(&claims);
        let audit = who.audit(
            at,
            "embed_token.issue",
            format!("entity:{}/{}", claims.entity_type, claims.entity_id),
            "",
            serde_json::json!({
                "token_id": claims.jti,
                "expires_at": claims.exp,
                "can_rerun": claims.can_rerun,
            }),
        );
        self.store.writes().insert_audit(&audit).await?;
        let url = format!(
            "{}{}?token={}",
            settings.public_url.as_deref().unwrap_or(""),
            panel_path(&claims.entity_type, &claims.entity_id),
            encode(&token)
        );
        Ok(EmbedToken {
            token,
            url,
            expires_at: claims.exp,
        })
    }

    /// Who holds this token: a viewer (or, with `can_rerun`, an operator) of its one
    /// entity. Expired or altered: unauthorized, saying which. A good token for
    /// another entity than `path_entity` (the panel's address): not found, as any
    /// entity outside a scope is.
    pub fn embed_principal(
        &self,
        token: &str,
        path_entity: Option<&EntityScope>,
    ) -> Result<Principal, ServiceError> {
        let claims = self
            .embed_settings()
            .key
            .open(token.trim())
            .ok_or_else(|| ServiceError::unauthorized(INVALID_MESSAGE))?;
        if claims.exp <= now() {
            return Err(ServiceError::unauthorized(EXPIRED_MESSAGE));
        }
        let scope = EntityScope {
            entity_type: claims.entity_type.clone(),
            entity_id: claims.entity_id.clone(),
        };
        if path_entity.is_some_and(|p| *p != scope) {
            return Err(ServiceError::not_found("there is nothing to show here"));
        }
        Ok(Principal {
            identity: Identity::Embed,
            name: format!("embed token {}", claims.short_id()),
            role: if claims.can_rerun {
                Role::Operator
            } else {
                Role::Viewer
            },
            plugins: None,
            entity: Some(scope),
            client: None,
        })
    }
}

/// `/embed/{type}/{id}`, each segment percent-encoded.
pub fn panel_path(entity_type: &str, entity_id: &str) -> String {
    format!("/embed/{}/{}", encode(entity_type), encode(entity_id))
}

/// Everything but the unreserved characters of RFC 3986.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> EmbedClaims {
        let at = now();
        EmbedClaims {
            jti: Uuid::now_v7().simple().to_string(),
            iat: at,
            exp: at + Duration::seconds(exp_in),
            entity_type: "invoice".into(),
            entity_id: "INV-1".into(),
            can_rerun: false,
            issuer: "alice".into(),
        }
    }

    #[test]
    fn a_token_opens_with_its_key_only_and_hides_its_claims() {
        let key = EmbedKey::random();
        let c = claims(60);
        let token = key.seal(&c);
        assert!(token.starts_with("v4.local."), "{token}");
        assert!(!token.contains("INV-1") && !token.contains("alice"));
        assert_eq!(key.open(&token), Some(c));
        assert_eq!(EmbedKey::random().open(&token), None);
    }

    #[test]
    fn a_token_with_any_character_changed_does_not_open() {
        let key = EmbedKey::random();
        let token = key.seal(&claims(60));
        for i in ["v4.local.".len(), token.len() / 2, token.len() - 1] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert_eq!(key.open(&altered), None, "changed at {i}");
        }
        assert_eq!(key.open(&token[..token.len() - 4]), None);
        assert_eq!(key.open("not a token"), None);
    }

    #[test]
    fn origins_are_checked_before_they_reach_a_header() {
        assert_eq!(
            EmbedSettings::parse_origins("https://crm.example.com, http://localhost:8080/")
                .unwrap(),
            ["https://crm.example.com", "http://localhost:8080"]
        );
        assert_eq!(
            EmbedSettings::parse_origins("https://*.example.com,'self'").unwrap(),
            ["https://*.example.com", "'self'"]
        );
        assert_eq!(EmbedSettings::parse_origins(" ").unwrap(), ["'self'"]);
        for bad in [
            "crm.example.com",
            "https://a.com; script-src *",
            "javascript://x",
            "https://a.com:99999",
            "*",
            "https://a .com",
        ] {
            assert!(EmbedSettings::parse_origins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_url_must_be_an_http_address() {
        assert_eq!(
            EmbedSettings::parse_public_url("https://ct.example.com/").unwrap(),
            Some("https://ct.example.com".to_string())
        );
        assert_eq!(EmbedSettings::parse_public_url("").unwrap(), None);
        assert!(EmbedSettings::parse_public_url("ct.example.com").is_err());
    }

    #[test]
    fn panel_paths_encode_each_segment() {
        assert_eq!(
            panel_path("invoice", "INV 1/2"),
            "/embed/invoice/INV%201%2F2"
        );
    }

    #[test]
    fn the_key_file_is_created_once_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("embed.key");
        let first = EmbedKey::from_file(&path).unwrap();
        let token = first.seal(&claims(60));
        let again = EmbedKey::from_file(&path).unwrap();
        assert!(again.open(&token).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            EmbedKey::from_hex("abcd"),
            Err(EmbedKeyError::BadKey)
        ));
    }
}
