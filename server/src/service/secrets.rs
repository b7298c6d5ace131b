//! Secrets at rest: what is needed to execute is kept encrypted.
//!
//! `SecretBox` seals bytes with XChaCha20-Poly1305 under a key from
//! `CALLTRAIL_SECRET_KEY` (64 hex characters) or a key file created beside the
//! database on first start. `Secret` holds a plain value in memory and cannot be
//! serialised or printed.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Deserializer};

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

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("CALLTRAIL_SECRET_KEY must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("reading or creating the key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a stored secret could not be decrypted: was the key changed?")]
    Unseal,
}

impl SecretBox {
    pub fn from_hex(hex_key: &str) -> Result<SecretBox, SecretError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| SecretError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        Ok(SecretBox {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?,
        })
    }

    /// Read the key file, creating it (mode 0600) with a fresh key if it is missing.
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
        SecretBox::from_hex(&text)
    }

    pub fn random() -> SecretBox {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        SecretBox::from_hex(&hex::encode(key)).expect("32 random bytes are a key")
    }

    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(XNonce::from_slice(&nonce), plain)
                .expect("encryption of an in-memory buffer cannot fail"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < 24 {
            return Err(SecretError::Unseal);
        }
        let (nonce, body) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| SecretError::Unseal)
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
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

    #[test]
    fn sealed_bytes_do_not_contain_the_secret_and_open_again() {
        let b = SecretBox::random();
        let sealed = b.seal(b"sk_live_marker");
        assert!(!sealed.windows(14).any(|w| w == b"sk_live_marker"));
        assert_eq!(b.open(&sealed).unwrap(), b"sk_live_marker");
        assert!(SecretBox::random().open(&sealed).is_err());
    }

    #[test]
    fn a_secret_prints_as_stars() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}

impl SecretBox {
    /// Seal every value a redaction rule covers, so the payload can be stored
    /// without them in plain text yet sent as given later.
    pub fn seal_payload(
        &self,
        payload: &serde_json::Value,
        rules: &app::domain::RedactRules,
    ) -> serde_json::Value {
        use base64::Engine;
        let mut out = payload.clone();
        super::redact::for_each_secret(&mut out, rules, &mut |v| {
            let sealed = self.seal(v.to_string().as_bytes());
            *v = serde_json::json!({
                super::redact::SEALED_KEY: base64::engine::general_purpose::STANDARD.encode(sealed)
            });
        });
        out
    }

    /// The payload as the application gave it: sealed values opened again.
    pub fn unseal_payload(&self, stored: &str) -> Result<String, SecretError> {
        use base64::Engine;
        if !stored.contains(super::redact::SEALED_KEY) {
            return Ok(stored.to_string());
        }
        let mut value: serde_json::Value =
            serde_json::from_str(stored).map_err(|_| SecretError::Unseal)?;
        let mut failed = false;
        open_sealed(
            &mut value,
            &mut |b64| {
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                let plain = self.open(&bytes).ok()?;
                serde_json::from_slice(&plain).ok()
            },
            &mut failed,
        );
        if failed {
            return Err(SecretError::Unseal);
        }
        Ok(value.to_string())
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
        let rules = app::domain::RedactRules {
            headers: vec![],
            json_pointers: vec!["/card/number".into()],
        };
        let payload =
            serde_json::json!({"amount": 5, "password": "PLANTED", "card": {"number": "4242"}});
        let sealed = b.seal_payload(&payload, &rules);
        let text = sealed.to_string();
        assert!(
            !text.contains("PLANTED") && !text.contains("4242"),
            "{text}"
        );
        assert_eq!(sealed["amount"], 5);
        let opened: serde_json::Value =
            serde_json::from_str(&b.unseal_payload(&text).unwrap()).unwrap();
        assert_eq!(opened, payload);
        assert_eq!(
            super::super::redact::json(&sealed, &rules)["password"],
            super::super::redact::REDACTED
        );
    }
}
