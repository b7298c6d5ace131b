//! A plugin's settings as the plugin page changes them: the REST PATCH body's
//! fields that page offers. Absent fields stay as they are.
//!
//! Credentials travel one way, from the browser to the server, where they are
//! sealed; nothing here is ever filled from the server, and `Debug` hides them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{RedactRules, RetryPolicy, Route};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginChanges {
    pub display_name: Option<String>,
    pub active: Option<bool>,
    pub base_url: Option<String>,
    pub timeout_ms: Option<u64>,
    pub retry_policy: Option<RetryPolicy>,
    pub routes: Option<BTreeMap<String, Route>>,
    pub redact: Option<RedactRules>,
    /// New credentials: how a plugin is reconnected after a 401 or 403.
    pub credentials: Option<Credentials>,
    /// A new signing secret.
    pub signing_secret: Option<WriteOnly>,
}

/// How the executor authenticates to the provider (API.md's `auth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credentials {
    Bearer {
        token: WriteOnly,
    },
    Basic {
        username: String,
        password: WriteOnly,
    },
    Header {
        name: String,
        value: WriteOnly,
    },
    Query {
        name: String,
        value: WriteOnly,
    },
}

/// A secret typed into a page, on its way to the server: printed as `***`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WriteOnly(pub String);

impl fmt::Debug for WriteOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_read_as_the_rest_api_writes_them_and_never_print() {
        let c = Credentials::Bearer {
            token: WriteOnly("sk_new".into()),
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"type": "bearer", "token": "sk_new"})
        );
        assert!(!format!("{c:?}").contains("sk_new"));
    }
}
