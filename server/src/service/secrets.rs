//! Secrets at rest: what is needed to execute is kept encrypted.
//!
//! `SecretBox` seals bytes with XChaCha20-Poly1305. Every sealed value is bound to
//! what it belongs to (`Owner`: a plugin's auth, a trigger's payload…) as AEAD
//! associated data, so bytes copied into another row do not open there.
//!
//! Keys: one seals, several open (`CALLTRAIL_SECRET_KEY` and
//! `CALLTRAIL_SECRET_KEY_PREVIOUS`, or the lines of the key file), so a key can be
//! replaced while `calltrail secrets rotate` re-seals what the old one sealed.
//!
//! Two formats are read. The current one is `MAGIC ‖ nonce ‖ ciphertext` with the
//! owner as associated data. The first one (before owners) is `nonce ‖ ciphertext`
//! without associated data: still opened, so databases written before keep
//! working, and re-sealed by rotation. `Secret` holds a plain value in memory and
//! cannot be serialised or printed.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// A value that must never reach a log, a response or the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// What a sealed value belongs to: its associated data. A value sealed for one
/// owner does not open for another (another plugin, another trigger, or another
/// of the same plugin's secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    PluginAuth(Uuid),
    PluginSigningSecret(Uuid),
    PluginHeaders(Uuid),
    TriggerPayload(Uuid),
    /// The payloads of a migration's `create` items, until they become triggers.
    MigrationPayload(Uuid),
}

impl Owner {
    fn associated_data(&self) -> String {
        match self {
            Owner::PluginAuth(id) => format!("calltrail/plugin/{id}/auth"),
            Owner::PluginSigningSecret(id) => format!("calltrail/plugin/{id}/signing_secret"),
            Owner::PluginHeaders(id) => format!("calltrail/plugin/{id}/headers"),
            Owner::TriggerPayload(id) => format!("calltrail/trigger/{id}/payload"),
            Owner::MigrationPayload(id) => format!("calltrail/migration/{id}/payload"),
        }
    }
}

/// Starts every value sealed with an owner. The first format began with a random
/// nonce; a nonce that happens to start like this is still tried as that format.
const MAGIC: &[u8; 4] = b"ct2\0";
const NONCE: usize = 24;

#[derive(Clone)]
pub struct SecretBox {
    /// The first seals; all open.
    keys: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a secret key must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("reading or creating the key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "a stored secret could not be decrypted: it was sealed with a key that is not \
         configured, or for another plugin or trigger"
    )]
    Unseal,
}

/// A value opened, and whether it is already sealed as `seal` would seal it now
/// (current format, current key): rotation leaves those alone.
pub struct Opened {
    pub plain: Vec<u8>,
    pub current: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opened(***, current: {})", self.current)
    }
}

fn cipher(hex_key: &str) -> Result<XChaCha20Poly1305, SecretError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| SecretError::BadKey)?;
    if bytes.len() != 32 {
        return Err(SecretError::BadKey);
    }
    XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)
}

impl SecretBox {
    pub fn from_hex(hex_key: &str) -> Result<SecretBox, SecretError> {
        Ok(SecretBox {
            keys: vec![cipher(hex_key)?],
        })
    }

    /// Keys that still open what they sealed but seal nothing new: a comma- or
    /// line-separated list of 64-hex-character keys (blank entries ignored).
    pub fn with_previous(mut self, hex_keys: &str) -> Result<SecretBox, SecretError> {
        for key in hex_keys.split([',', '\n']).map(str::trim) {
            if !key.is_empty() && !key.starts_with('#') {
                self.keys.push(cipher(key)?);
            }
        }
        Ok(self)
    }

    /// Read the key file, creating it (mode 0600) with a fresh key if it is
    /// missing. Its first key seals; further lines are previous keys.
    pub fn from_file(path: &Path) -> Result<SecretBox, SecretError> {
        let io = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            write_private(path, &hex::encode(key)).map_err(io)?;
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let current = lines.next().ok_or(SecretError::BadKey)?;
        let previous: Vec<&str> = lines.collect();
        SecretBox::from_hex(current)?.with_previous(&previous.join(","))
    }

    pub fn random() -> SecretBox {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        SecretBox::from_hex(&hex::encode(key)).expect("32 random bytes are a key")
    }

    /// Seal under the current key, bound to `owner`.
    pub fn seal(&self, plain: &[u8], owner: Owner) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = owner.associated_data();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&nonce);
        out.extend(
            self.keys[0]
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: plain,
                        aad: aad.as_bytes(),
                    },
                )
                .expect("encryption of an in-memory buffer cannot fail"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8], owner: Owner) -> Result<Vec<u8>, SecretError> {
        self.open_checked(sealed, owner).map(|o| o.plain)
    }

    /// Open with any configured key: in the current format only for `owner`; in
    /// the first format (no owner) for anyone, as it always did.
    pub fn open_checked(&self, sealed: &[u8], owner: Owner) -> Result<Opened, SecretError> {
        if let Some(body) = sealed.strip_prefix(MAGIC.as_slice()) {
            if body.len() >= NONCE {
                let (nonce, ct) = body.split_at(NONCE);
                let aad = owner.associated_data();
                for (i, key) in self.keys.iter().enumerate() {
                    let payload = Payload {
                        msg: ct,
                        aad: aad.as_bytes(),
                    };
                    if let Ok(plain) = key.decrypt(XNonce::from_slice(nonce), payload) {
                        return Ok(Opened {
                            plain,
                            current: i == 0,
                        });
                    }
                }
            }
        }
        if sealed.len() < NONCE {
            return Err(SecretError::Unseal);
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        self.keys
            .iter()
            .find_map(|key| key.decrypt(XNonce::from_slice(nonce), ct).ok())
            .map(|plain| Opened {
                plain,
                current: false,
            })
            .ok_or(SecretError::Unseal)
    }

    /// The value sealed as `seal` would seal it now, or `None` when it already is.
    pub fn reseal(&self, sealed: &[u8], owner: Owner) -> Result<Option<Vec<u8>>, SecretError> {
        let opened = self.open_checked(sealed, owner)?;
        Ok((!opened.current).then(|| self.seal(&opened.plain, owner)))
    }
}

/// Write a new key file readable by its owner only; never over an existing one.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const NEW: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    /// A value sealed the way Calltrail sealed before owners: nonce and ciphertext.
    fn sealed_the_first_way(key: &str, plain: &[u8]) -> Vec<u8> {
        let nonce = [7u8; NONCE];
        let mut out = nonce.to_vec();
        out.extend(
            cipher(key)
                .unwrap()
                .encrypt(XNonce::from_slice(&nonce), plain)
                .unwrap(),
        );
        out
    }

    #[test]
    fn sealed_bytes_do_not_contain_the_secret_and_open_again() {
        let b = SecretBox::random();
        let owner = Owner::PluginAuth(Uuid::now_v7());
        let sealed = b.seal(b"sk_live_marker", owner);
        assert!(!sealed.windows(14).any(|w| w == b"sk_live_marker"));
        assert_eq!(b.open(&sealed, owner).unwrap(), b"sk_live_marker");
        assert!(SecretBox::random().open(&sealed, owner).is_err());
    }

    #[test]
    fn a_value_sealed_for_one_owner_does_not_open_for_another() {
        let b = SecretBox::random();
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = b.seal(b"sk", Owner::TriggerPayload(one));
        assert!(b.open(&sealed, Owner::TriggerPayload(two)).is_err());
        assert!(b.open(&sealed, Owner::PluginAuth(one)).is_err());
        let auth = b.seal(b"sk", Owner::PluginAuth(one));
        assert!(
            b.open(&auth, Owner::PluginSigningSecret(one)).is_err(),
            "one plugin's auth is not its signing secret"
        );
        // Nor by dropping the format marker to pass as a value of the first format.
        assert!(b
            .open(&sealed[MAGIC.len()..], Owner::TriggerPayload(one))
            .is_err());
    }

    #[test]
    fn a_value_sealed_before_owners_still_opens_and_is_not_current() {
        let b = SecretBox::from_hex(OLD).unwrap();
        let first = sealed_the_first_way(OLD, b"legacy");
        let owner = Owner::PluginAuth(Uuid::now_v7());
        let opened = b.open_checked(&first, owner).unwrap();
        assert_eq!(
            (opened.plain.as_slice(), opened.current),
            (&b"legacy"[..], false)
        );
        let resealed = b.reseal(&first, owner).unwrap().expect("re-sealed");
        assert_eq!(b.open(&resealed, owner).unwrap(), b"legacy");
        assert!(b.reseal(&resealed, owner).unwrap().is_none(), "idempotent");
    }

    #[test]
    fn previous_keys_open_and_only_the_current_one_seals() {
        let owner = Owner::TriggerPayload(Uuid::now_v7());
        let old = SecretBox::from_hex(OLD).unwrap();
        let sealed_old = old.seal(b"v", owner);
        let both = SecretBox::from_hex(NEW)
            .unwrap()
            .with_previous(&format!(" {OLD} ,"))
            .unwrap();
        let opened = both.open_checked(&sealed_old, owner).unwrap();
        assert_eq!(
            (opened.plain.as_slice(), opened.current),
            (&b"v"[..], false)
        );
        let resealed = both.reseal(&sealed_old, owner).unwrap().unwrap();
        let new_only = SecretBox::from_hex(NEW).unwrap();
        assert_eq!(new_only.open(&resealed, owner).unwrap(), b"v");
        assert!(old.open(&resealed, owner).is_err());
        assert!(new_only.open(&sealed_old, owner).is_err());
        assert!(SecretBox::from_hex(NEW)
            .unwrap()
            .with_previous("nothex")
            .is_err());
    }

    #[test]
    fn a_key_file_holds_the_current_key_first_then_previous_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calltrail.key");
        std::fs::write(&path, format!("{NEW}\n# retired 2026-11\n{OLD}\n")).unwrap();
        let b = SecretBox::from_file(&path).unwrap();
        let owner = Owner::PluginHeaders(Uuid::now_v7());
        let from_old = SecretBox::from_hex(OLD).unwrap().seal(b"h", owner);
        assert_eq!(b.open(&from_old, owner).unwrap(), b"h");
        let fresh = b.seal(b"h", owner);
        assert_eq!(
            SecretBox::from_hex(NEW)
                .unwrap()
                .open(&fresh, owner)
                .unwrap(),
            b"h"
        );
    }

    #[test]
    fn a_secret_prints_as_stars() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}

impl SecretBox {
    /// Seal every value a redaction rule covers, bound to `owner`, so the payload
    /// can be stored without them in plain text yet sent as given later.
    pub fn seal_payload(
        &self,
        payload: &serde_json::Value,
        rules: &app::domain::RedactRules,
        owner: Owner,
    ) -> serde_json::Value {
        let mut out = payload.clone();
        super::redact::for_each_secret(&mut out, rules, &mut |v| {
            *v = self.sealed_value(v.to_string().as_bytes(), owner);
        });
        out
    }

    fn sealed_value(&self, plain: &[u8], owner: Owner) -> serde_json::Value {
        use base64::Engine;
        let sealed = self.seal(plain, owner);
        serde_json::json!({
            super::redact::SEALED_KEY: base64::engine::general_purpose::STANDARD.encode(sealed)
        })
    }

    /// The payload as the application gave it: sealed values opened again.
    pub fn unseal_payload(&self, stored: &str, owner: Owner) -> Result<String, SecretError> {
        if !stored.contains(super::redact::SEALED_KEY) {
            return Ok(stored.to_string());
        }
        let mut value: serde_json::Value =
            serde_json::from_str(stored).map_err(|_| SecretError::Unseal)?;
        let mut failed = false;
        open_sealed(
            &mut value,
            &mut |b64| {
                let opened = self.open_b64(b64, owner)?;
                serde_json::from_slice(&opened.plain).ok()
            },
            &mut failed,
        );
        if failed {
            return Err(SecretError::Unseal);
        }
        Ok(value.to_string())
    }

    fn open_b64(&self, b64: &str, owner: Owner) -> Option<Opened> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        self.open_checked(&bytes, owner).ok()
    }

    /// The stored payload with every sealed value sealed as `seal_payload` would
    /// seal it now, or `None` when each already is (or there is none).
    pub fn reseal_payload(
        &self,
        stored: &serde_json::Value,
        owner: Owner,
    ) -> Result<Option<serde_json::Value>, SecretError> {
        let mut value = stored.clone();
        let (mut failed, mut changed) = (false, false);
        open_sealed(
            &mut value,
            &mut |b64| {
                let opened = self.open_b64(b64, owner)?;
                if opened.current {
                    return Some(serde_json::json!({ super::redact::SEALED_KEY: b64 }));
                }
                changed = true;
                Some(self.sealed_value(&opened.plain, owner))
            },
            &mut failed,
        );
        if failed {
            return Err(SecretError::Unseal);
        }
        Ok(changed.then_some(value))
    }
}

fn open_sealed(
    v: &mut serde_json::Value,
    open: &mut dyn FnMut(&str) -> Option<serde_json::Value>,
    failed: &mut bool,
) {
    use serde_json::Value;
    if let Value::Object(map) = v {
        if map.len() == 1 {
            if let Some(Value::String(b64)) = map.get(super::redact::SEALED_KEY) {
                match open(b64) {
                    Some(plain) => *v = plain,
                    None => *failed = true,
                }
                return;
            }
        }
    }
    match v {
        Value::Object(map) => map.values_mut().for_each(|c| open_sealed(c, open, failed)),
        Value::Array(items) => items.iter_mut().for_each(|c| open_sealed(c, open, failed)),
        _ => {}
    }
}

#[cfg(test)]
mod payload_tests {
    use super::*;

    #[test]
    fn covered_payload_values_are_sealed_and_open_to_the_original() {
        let b = SecretBox::random();
        let owner = Owner::TriggerPayload(Uuid::now_v7());
        let rules = app::domain::RedactRules {
            headers: vec![],
            json_pointers: vec!["/card/number".into()],
        };
        let payload = serde_json::json!({"amount": 5, "password": "PLANTED",
                                         "accessToken": "AT", "card": {"number": "4242"}});
        let sealed = b.seal_payload(&payload, &rules, owner);
        let text = sealed.to_string();
        assert!(
            !text.contains("PLANTED") && !text.contains("4242") && !text.contains("\"AT\""),
            "{text}"
        );
        assert_eq!(sealed["amount"], 5);
        let opened: serde_json::Value =
            serde_json::from_str(&b.unseal_payload(&text, owner).unwrap()).unwrap();
        assert_eq!(opened, payload);
        assert_eq!(
            super::super::redact::json(&sealed, &rules)["password"],
            super::super::redact::REDACTED
        );
    }

    #[test]
    fn a_sealed_value_copied_into_another_triggers_payload_does_not_open() {
        let b = SecretBox::random();
        let (mine, theirs) = (Uuid::now_v7(), Uuid::now_v7());
        let rules = app::domain::RedactRules::default();
        let sealed = b.seal_payload(
            &serde_json::json!({"token": "T"}),
            &rules,
            Owner::TriggerPayload(mine),
        );
        let copied = serde_json::json!({"to": "attacker", "stolen": sealed["token"]});
        assert!(b
            .unseal_payload(&copied.to_string(), Owner::TriggerPayload(theirs))
            .is_err());
    }

    #[test]
    fn resealing_a_payload_keeps_its_values_and_is_idempotent() {
        let old = SecretBox::random();
        let owner = Owner::TriggerPayload(Uuid::now_v7());
        let rules = app::domain::RedactRules::default();
        let payload = serde_json::json!({"n": 1, "items": [{"client_secret": "S"}]});
        let sealed = old.seal_payload(&payload, &rules, owner);
        let mut new = SecretBox::random();
        new.keys.push(old.keys[0].clone());
        let resealed = new.reseal_payload(&sealed, owner).unwrap().unwrap();
        assert_ne!(resealed, sealed);
        assert!(new.reseal_payload(&resealed, owner).unwrap().is_none());
        // Without the old key, what was re-sealed still opens.
        new.keys.truncate(1);
        let plain: serde_json::Value =
            serde_json::from_str(&new.unseal_payload(&resealed.to_string(), owner).unwrap())
                .unwrap();
        assert_eq!(plain, payload);
        assert!(new
            .reseal_payload(&serde_json::json!({"n": 1}), owner)
            .unwrap()
            .is_none());
    }
}
