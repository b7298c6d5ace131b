//! Plugins: parsed and checked once here; secrets sealed before storage sees them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use app::domain::{
    Plugin, PluginRetention, PluginSummary, PluginView, RedactRules, RetryPolicy, Route,
};

use super::secrets::Owner;
use super::types::{EventType, PluginName};
use super::{redact, Permission, Principal, Secret, Service, ServiceError};
use crate::storage::{AuditedChange, PluginKey, PluginRecord};

/// How the executor authenticates to the provider. Only ever deserialised.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthInput {
    Bearer {
        token: Secret,
    },
    Basic {
        username: String,
        password: Secret,
    },
    Header {
        name: String,
        value: Secret,
    },
    /// A query parameter (`?api_key=…`) added to every call's URL; recorded as
    /// `[redacted]`.
    Query {
        name: String,
        value: Secret,
    },
}

impl AuthInput {
    /// The plain form kept (sealed) for execution.
    fn to_plain_json(&self) -> String {
        let v = match self {
            AuthInput::Bearer { token } => {
                serde_json::json!({"type": "bearer", "token": token.expose()})
            }
            AuthInput::Basic { username, password } => {
                serde_json::json!({"type": "basic", "username": username, "password": password.expose()})
            }
            AuthInput::Header { name, value } => {
                serde_json::json!({"type": "header", "name": name, "value": value.expose()})
            }
            AuthInput::Query { name, value } => {
                serde_json::json!({"type": "query", "name": name, "value": value.expose()})
            }
        };
        v.to_string()
    }
}

/// A plugin's secrets, unsealed for the executor. Never serialised, printed as `***`.
#[derive(Debug, Default)]
pub struct PluginSecrets {
    pub auth: Option<AuthInput>,
    pub signing_secret: Option<Secret>,
    /// The static headers whose names look like credentials, with their values.
    pub headers: Vec<(String, Secret)>,
}

/// Static headers as stored: the plain ones, and those whose names look like
/// credentials, which are sealed (their names stay in the plain map, valued
/// `[redacted]`, so the API still says they are there).
fn split_headers(
    headers: BTreeMap<String, String>,
    rules: &RedactRules,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut sensitive = BTreeMap::new();
    let plain = headers
        .into_iter()
        .map(|(name, value)| {
            if redact::is_secret_header(&name, rules) {
                sensitive.insert(name.clone(), value);
                (name, redact::REDACTED.to_string())
            } else {
                (name, value)
            }
        })
        .collect();
    (plain, sensitive)
}

/// A plugin as every caller sees it: sensitive header values replaced, including
/// those stored in plain text before they were sealed.
pub(crate) fn shown(mut plugin: Plugin) -> Plugin {
    for (name, value) in plugin.headers.iter_mut() {
        if redact::is_secret_header(name, &plugin.redact) {
            *value = redact::REDACTED.to_string();
        }
    }
    plugin
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PluginInput {
    pub name: String,
    pub display_name: Option<String>,
    pub kind: Option<String>,
    pub base_url: String,
    pub active: Option<bool>,
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub routes: BTreeMap<String, Route>,
    pub default_route: Option<Route>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[schema(value_type = Option<Object>)]
    pub auth: Option<AuthInput>,
    #[schema(value_type = Option<String>)]
    pub signing_secret: Option<Secret>,
    pub retry_policy: Option<RetryPolicy>,
    pub external_id_pointer: Option<String>,
    pub redact: Option<RedactRules>,
    pub retention: Option<PluginRetention>,
}

/// A partial update: absent fields stay, `null` clears what may be cleared.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PluginPatch {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub base_url: Option<String>,
    pub active: Option<bool>,
    pub timeout_ms: Option<u64>,
    pub routes: Option<BTreeMap<String, Route>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Route>)]
    pub default_route: Option<Option<Route>>,
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub auth: Option<Option<AuthInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub signing_secret: Option<Option<Secret>>,
    pub retry_policy: Option<RetryPolicy>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_id_pointer: Option<Option<String>>,
    pub redact: Option<RedactRules>,
    /// Replaces the plugin's retention; `{}` follows the global setting again.
    pub retention: Option<PluginRetention>,
}

/// Tell a field that is present-but-null (`Some(None)`) from one that is absent (`None`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The first query parameter of a path or query that names a credential.
fn credential_in_query(path_or_query: &str) -> Option<String> {
    let query = match path_or_query.split_once('?') {
        Some((_, q)) => q,
        None if path_or_query.starts_with('/') => return None,
        None => path_or_query,
    };
    url::form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
        .map(|(name, _)| name.into_owned())
        .find(|name| redact::is_sensitive_query_param(name))
}

fn check_auth(auth: Option<&AuthInput>) -> Result<(), ServiceError> {
    match auth {
        Some(AuthInput::Header { name, .. })
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() =>
        {
            Err(ServiceError::invalid(
                "auth.name",
                "not a valid HTTP header name",
            ))
        }
        Some(AuthInput::Query { name, .. }) if name.is_empty() || name.len() > 200 => {
            Err(ServiceError::invalid(
                "auth.name",
                "name the query parameter (1 to 200 characters)",
            ))
        }
        _ => Ok(()),
    }
}

fn check_plugin(p: &Plugin) -> Result<(), ServiceError> {
    PluginName::parse("name", &p.name)?;
    if p.display_name.trim().is_empty() || p.display_name.len() > 200 {
        return Err(ServiceError::invalid(
            "display_name",
            "give 1 to 200 characters",
        ));
    }
    if p.kind != "http" {
        return Err(ServiceError::invalid(
            "kind",
            "the only plugin kind is \"http\"",
        ));
    }
    match url::Url::parse(&p.base_url) {
        Ok(u) if !u.password().unwrap_or("").is_empty() => {
            return Err(ServiceError::invalid(
                "base_url",
                "a password in the URL would be stored in plain text: give it as auth \
                 {\"type\": \"basic\", …}, which is sealed",
            ))
        }
        Ok(u) if u.query().and_then(credential_in_query).is_some() => {
            return Err(ServiceError::invalid(
                "base_url",
                "a credential in the URL's query would be stored in plain text: give it as \
                 auth {\"type\": \"query\", …}, which is sealed",
            ))
        }
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
        _ => {
            return Err(ServiceError::invalid(
                "base_url",
                "give an absolute http:// or https:// URL",
            ))
        }
    }
    let r = p.retention;
    if let (Some(detail), Some(summary)) = (r.detail_days, r.summary_days) {
        if detail == 0 && summary > 0 {
            return Err(ServiceError::invalid(
                "retention.summary_days",
                "details kept forever (detail_days 0) need summary_days 0: details cannot \
                 outlive their trigger",
            ));
        }
        if summary > 0 && summary < detail {
            return Err(ServiceError::invalid(
                "retention.summary_days",
                "the summary row cannot go before its details: give at least detail_days",
            ));
        }
    }
    if !(1..=300_000).contains(&p.timeout_ms) {
        return Err(ServiceError::invalid(
            "timeout_ms",
            "the timeout is 1 to 300000 milliseconds",
        ));
    }
    let routes = p
        .routes
        .iter()
        .map(|(event, r)| (format!("routes.{event}"), r))
        .chain(
            p.default_route
                .iter()
                .map(|r| ("default_route".to_string(), r)),
        );
    for (field, route) in routes {
        if !METHODS.contains(&route.method.as_str()) {
            return Err(ServiceError::invalid(
                format!("{field}.method"),
                format!("the method must be one of {}", METHODS.join(", ")),
            ));
        }
        if !route.path.starts_with('/') {
            return Err(ServiceError::invalid(
                format!("{field}.path"),
                "a route path starts with /",
            ));
        }
        if let Some(name) = credential_in_query(&route.path) {
            return Err(ServiceError::invalid(
                format!("{field}.path"),
                format!(
                    "a route's query string would store the credential {name:?} in plain text: \
                     give it as auth {{\"type\": \"query\", \"name\": {name:?}, \"value\": …}}, \
                     which is sealed"
                ),
            ));
        }
    }
    for event in p.routes.keys() {
        EventType::parse(&format!("routes.{event}"), event.clone())?;
    }
    for (name, value) in &p.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(ServiceError::invalid(
                format!("headers.{name}"),
                "not a valid HTTP header name and value",
            ));
        }
    }
    let rp = &p.retry_policy;
    if rp.schedule_secs.is_empty()
        || rp.schedule_secs.len() > 100
        || rp.schedule_secs.iter().any(|s| *s > 7 * 24 * 3600)
    {
        return Err(ServiceError::invalid(
            "retry_policy.schedule_secs",
            "give 1 to 100 delays, each at most 7 days (604800 seconds)",
        ));
    }
    if rp.retry_after_cap_secs > 7 * 24 * 3600 {
        return Err(ServiceError::invalid(
            "retry_policy.retry_after_cap_secs",
            "the cap on Retry-After is at most 7 days (604800 seconds)",
        ));
    }
    if !(1..=100).contains(&rp.max_attempts) {
        return Err(ServiceError::invalid(
            "retry_policy.max_attempts",
            "from 1 to 100 attempts",
        ));
    }
    if rp.jitter_pct > 100 {
        return Err(ServiceError::invalid(
            "retry_policy.jitter_pct",
            "jitter is 0 to 100 percent",
        ));
    }
    let pointers = p
        .external_id_pointer
        .iter()
        .map(|ptr| ("external_id_pointer".to_string(), ptr))
        .chain(
            p.redact
                .json_pointers
                .iter()
                .map(|ptr| ("redact.json_pointers".to_string(), ptr)),
        );
    for (field, ptr) in pointers {
        if !ptr.is_empty() && !ptr.starts_with('/') {
            return Err(ServiceError::invalid(
                field,
                "a JSON pointer is empty or starts with /",
            ));
        }
    }
    Ok(())
}

impl Service {
    fn seal_auth(&self, id: Uuid, auth: Option<&AuthInput>) -> Option<Vec<u8>> {
        auth.map(|a| {
            self.secrets
                .seal(a.to_plain_json().as_bytes(), Owner::PluginAuth(id))
        })
    }

    fn seal_secret(&self, id: Uuid, secret: Option<&Secret>) -> Option<Vec<u8>> {
        secret.map(|s| {
            self.secrets
                .seal(s.expose().as_bytes(), Owner::PluginSigningSecret(id))
        })
    }

    /// Keep the plain headers in the record and seal the sensitive ones.
    fn seal_headers(&self, record: &mut PluginRecord, headers: BTreeMap<String, String>) {
        let (plain, sensitive) = split_headers(headers, &record.plugin.redact);
        record.plugin.headers = plain;
        record.headers_sealed = (!sensitive.is_empty()).then(|| {
            let json = serde_json::to_vec(&sensitive).expect("a map of strings serialises");
            self.secrets
                .seal(&json, Owner::PluginHeaders(record.plugin.id))
        });
    }

    /// The sensitive static headers with their values: sealed ones opened, and
    /// those a database from before sealing still holds in plain text.
    fn sensitive_headers(
        &self,
        record: &PluginRecord,
    ) -> Result<BTreeMap<String, String>, super::SecretError> {
        let mut out: BTreeMap<String, String> = record
            .plugin
            .headers
            .iter()
            .filter(|(name, value)| {
                redact::is_secret_header(name, &record.plugin.redact)
                    && value.as_str() != redact::REDACTED
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if let Some(sealed) = &record.headers_sealed {
            let plain = self
                .secrets
                .open(sealed, Owner::PluginHeaders(record.plugin.id))?;
            let sealed: BTreeMap<String, String> =
                serde_json::from_slice(&plain).map_err(|_| super::SecretError::Unseal)?;
            out.extend(sealed);
        }
        Ok(out)
    }

    /// A stored payload as the application gave it, for sending.
    pub fn unseal_payload(
        &self,
        stored: &str,
        owner: super::secrets::Owner,
    ) -> Result<String, super::SecretError> {
        self.secrets.unseal_payload(stored, owner)
    }

    /// Open a plugin's sealed secrets: only the executor needs them.
    pub fn unseal(&self, record: &PluginRecord) -> Result<PluginSecrets, super::SecretError> {
        let id = record.plugin.id;
        let auth = match &record.auth_sealed {
            Some(sealed) => {
                let plain = self.secrets.open(sealed, Owner::PluginAuth(id))?;
                Some(serde_json::from_slice(&plain).map_err(|_| super::SecretError::Unseal)?)
            }
            None => None,
        };
        let signing_secret = match &record.signing_secret_sealed {
            Some(sealed) => Some(Secret::new(
                String::from_utf8(self.secrets.open(sealed, Owner::PluginSigningSecret(id))?)
                    .map_err(|_| super::SecretError::Unseal)?,
            )),
            None => None,
        };
        let headers = self
            .sensitive_headers(record)?
            .into_iter()
            .map(|(name, value)| (name, Secret::new(value)))
            .collect();
        Ok(PluginSecrets {
            auth,
            signing_secret,
            headers,
        })
    }

    pub async fn create_plugin(
        &self,
        who: &Principal,
        input: PluginInput,
    ) -> Result<Plugin, ServiceError> {
        who.require(Permission::Administer)?;
        let now = super::now();
        let plugin = Plugin {
            id: Uuid::now_v7(),
            display_name: input.display_name.unwrap_or_else(|| input.name.clone()),
            name: input.name,
            kind: input.kind.unwrap_or_else(|| "http".into()),
            base_url: input.base_url,
            active: input.active.unwrap_or(true),
            timeout_ms: input.timeout_ms.unwrap_or(10_000),
            routes: input.routes,
            default_route: input.default_route,
            headers: input.headers,
            retry_policy: input.retry_policy.unwrap_or_default(),
            external_id_pointer: input.external_id_pointer.filter(|p| !p.is_empty()),
            redact: input.redact.unwrap_or_default(),
            retention: input.retention.unwrap_or_default(),
            has_auth: input.auth.is_some(),
            has_signing_secret: input.signing_secret.is_some(),
            created_at: now,
            updated_at: now,
        };
        check_plugin(&plugin)?;
        check_auth(input.auth.as_ref())?;
        let headers = plugin.headers.clone();
        let mut record = PluginRecord {
            auth_sealed: self.seal_auth(plugin.id, input.auth.as_ref()),
            signing_secret_sealed: self.seal_secret(plugin.id, input.signing_secret.as_ref()),
            headers_sealed: None,
            plugin,
        };
        self.seal_headers(&mut record, headers);
        let p = &record.plugin;
        let audit = who.audit(
            now,
            "plugin.create",
            format!("plugin:{}", p.id),
            "",
            serde_json::json!({"name": p.name, "active": p.active}),
        );
        self.store
            .write_audited(AuditedChange::InsertPlugin(record.clone()), audit)
            .await
            .map_err(|e| duplicate_name(e, &record.plugin.name))?;
        self.plugins.clear();
        Ok(shown(record.plugin))
    }

    pub async fn update_plugin(
        &self,
        who: &Principal,
        key: &str,
        patch: PluginPatch,
    ) -> Result<Plugin, ServiceError> {
        who.require(Permission::Administer)?;
        let mut record = self.plugin_record(key).await?;
        // Sealed headers that no configured key opens can still be given again:
        // any left as `[redacted]` are refused below, naming them.
        let kept = self.sensitive_headers(&record).unwrap_or_else(|e| {
            tracing::warn!(plugin = %record.plugin.id, "its sealed headers: {e}");
            BTreeMap::new()
        });
        let before = record.plugin.clone();
        // Only that they changed: their values are sealed.
        let secrets_changed = [
            ("auth", patch.auth.is_some()),
            ("signing_secret", patch.signing_secret.is_some()),
        ];
        let p = &mut record.plugin;
        if let Some(v) = patch.name {
            p.name = v;
        }
        if let Some(v) = patch.display_name {
            p.display_name = v;
        }
        if let Some(v) = patch.base_url {
            p.base_url = v;
        }
        if let Some(v) = patch.active {
            p.active = v;
        }
        if let Some(v) = patch.timeout_ms {
            p.timeout_ms = v;
        }
        if let Some(v) = patch.retention {
            p.retention = v;
        }
        if let Some(v) = patch.routes {
            p.routes = v;
        }
        if let Some(v) = patch.default_route {
            p.default_route = v;
        }
        // A header sent back as shown (`[redacted]`) keeps its value.
        p.headers = match patch.headers {
            Some(mut v) => {
                for (name, value) in v.iter_mut() {
                    if value.as_str() == redact::REDACTED {
                        if let Some(old) = kept.get(name) {
                            value.clone_from(old);
                        }
                    }
                }
                v
            }
            None => std::mem::take(&mut p.headers)
                .into_iter()
                .map(|(name, value)| {
                    let value = kept.get(&name).cloned().unwrap_or(value);
                    (name, value)
                })
                .collect(),
        };
        if let Some(v) = patch.retry_policy {
            p.retry_policy = v;
        }
        if let Some(v) = patch.external_id_pointer {
            p.external_id_pointer = v.filter(|s| !s.is_empty());
        }
        if let Some(v) = patch.redact {
            p.redact = v;
        }
        let id = record.plugin.id;
        if let Some(auth) = &patch.auth {
            check_auth(auth.as_ref())?;
            record.auth_sealed = self.seal_auth(id, auth.as_ref());
        }
        if let Some(secret) = &patch.signing_secret {
            record.signing_secret_sealed = self.seal_secret(id, secret.as_ref());
        }
        let p = &mut record.plugin;
        p.has_auth = record.auth_sealed.is_some();
        p.has_signing_secret = record.signing_secret_sealed.is_some();
        p.updated_at = super::now();
        check_plugin(p)?;
        let mut changed = changed_fields(&before, p);
        changed.extend(
            secrets_changed
                .iter()
                .filter(|(_, given)| *given)
                .map(|(name, _)| name.to_string()),
        );
        let audit = who.audit(
            p.updated_at,
            "plugin.update",
            format!("plugin:{}", p.id),
            "",
            serde_json::json!({"name": p.name, "changed": changed}),
        );
        if let Some(name) = p
            .headers
            .iter()
            .find(|(n, v)| v.as_str() == redact::REDACTED && redact::is_secret_header(n, &p.redact))
            .map(|(n, _)| n)
        {
            return Err(ServiceError::invalid(
                format!("headers.{name}"),
                "\"[redacted]\" keeps a stored value and this header has none (or none the \
                 configured keys open): give its value",
            ));
        }
        let headers = std::mem::take(&mut record.plugin.headers);
        self.seal_headers(&mut record, headers);
        self.store
            .write_audited(AuditedChange::UpdatePlugin(record.clone()), audit)
            .await
            .map_err(|e| duplicate_name(e, &record.plugin.name))?;
        self.plugins.clear();
        // An activated plugin's waiting triggers are due now.
        self.announce_due().await;
        Ok(shown(record.plugin))
    }

    /// A plugin as `who` may see it: whole to admins, its summary to others; one
    /// outside `who`'s scope is not found.
    pub async fn get_plugin(&self, who: &Principal, key: &str) -> Result<PluginView, ServiceError> {
        who.require(Permission::Read)?;
        let plugin = self.plugin_record(key).await?.plugin;
        if !who.sees_plugin(plugin.id) {
            return Err(ServiceError::not_found(format!("no plugin named {key:?}")));
        }
        Ok(view_for(who, plugin))
    }

    pub async fn list_plugins(&self, who: &Principal) -> Result<Vec<PluginView>, ServiceError> {
        who.require(Permission::Read)?;
        Ok(self
            .stored_plugins()
            .await?
            .into_iter()
            .filter(|p| who.sees_plugin(p.id))
            .map(|p| view_for(who, p))
            .collect())
    }

    /// Every plugin as stored, whoever may see it.
    pub(super) async fn stored_plugins(&self) -> Result<Vec<Plugin>, ServiceError> {
        let records = self.store.reads().list_plugins().await?;
        Ok(records.into_iter().map(|r| r.plugin).collect())
    }

    /// A plugin by name or id, through the short-lived cache (the ingest path).
    pub(crate) async fn cached_plugin(
        &self,
        key: &str,
    ) -> Result<Option<PluginRecord>, ServiceError> {
        if let Some(p) = self.plugins.get(&key.to_string()) {
            return Ok(Some(p));
        }
        let found = self
            .store
            .reads()
            .get_plugin(&PluginKey::parse(key))
            .await?;
        if let Some(p) = &found {
            self.plugins.put(key.to_string(), p.clone());
        }
        Ok(found)
    }

    pub(crate) async fn plugin_record(&self, key: &str) -> Result<PluginRecord, ServiceError> {
        self.store
            .reads()
            .get_plugin(&PluginKey::parse(key))
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no plugin named {key:?}")))
    }
}

fn view_for(who: &Principal, plugin: Plugin) -> PluginView {
    let plugin = shown(plugin);
    if who.is_admin() {
        PluginView::Full(Box::new(plugin))
    } else {
        PluginView::Summary(PluginSummary::from(&plugin))
    }
}

/// The names of the fields that differ, never their values (headers may hold
/// tokens). What is derived (`updated_at`, `has_auth`…) is left out.
fn changed_fields(before: &Plugin, after: &Plugin) -> Vec<String> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    const DERIVED: [&str; 5] = [
        "id",
        "created_at",
        "updated_at",
        "has_auth",
        "has_signing_secret",
    ];
    a.iter()
        .filter(|(k, v)| !DERIVED.contains(&k.as_str()) && b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

fn duplicate_name(e: crate::storage::StoreError, name: &str) -> ServiceError {
    match e {
        crate::storage::StoreError::Duplicate(_) => {
            ServiceError::conflict_on("name", format!("a plugin named {name:?} already exists"))
        }
        other => other.into(),
    }
}

/// The plugin page's changes, as the PATCH body they stand for.
impl From<app::domain::PluginChanges> for PluginPatch {
    fn from(c: app::domain::PluginChanges) -> PluginPatch {
        use app::domain::Credentials;
        let auth = c.credentials.map(|given| {
            Some(match given {
                Credentials::Bearer { token } => AuthInput::Bearer {
                    token: Secret::new(token.0),
                },
                Credentials::Basic { username, password } => AuthInput::Basic {
                    username,
                    password: Secret::new(password.0),
                },
                Credentials::Header { name, value } => AuthInput::Header {
                    name,
                    value: Secret::new(value.0),
                },
                Credentials::Query { name, value } => AuthInput::Query {
                    name,
                    value: Secret::new(value.0),
                },
            })
        });
        PluginPatch {
            display_name: c.display_name,
            active: c.active,
            base_url: c.base_url,
            timeout_ms: c.timeout_ms,
            retry_policy: c.retry_policy,
            routes: c.routes,
            redact: c.redact,
            auth,
            signing_secret: c.signing_secret.map(|s| Some(Secret::new(s.0))),
            ..PluginPatch::default()
        }
    }
}
