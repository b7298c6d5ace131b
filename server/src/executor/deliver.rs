//! One outbound call: build the request from the plugin, send it, capture the
//! response (capped), and say what came back. What is recorded is redacted here,
//! before it goes anywhere near storage.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use app::domain::{AttemptRequest, AttemptResponse, FailureClass, Plugin, RedactRules};

use super::outbound::{AllowList, Refusal};
use super::{policy, signing};
use crate::service::{redact, AuthInput, PluginSecrets};
use crate::storage::ClaimedTrigger;

/// The request twice: as sent, and as recorded.
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub recorded: AttemptRequest,
}

/// What came back from one call.
pub struct Exchange {
    pub response: Option<AttemptResponse>,
    pub class: FailureClass,
    /// For failures without a response: what went wrong.
    pub error: Option<String>,
    /// The SSRF guard refused the address: never retried.
    pub blocked: bool,
    pub retry_after: Option<Duration>,
    pub duration_ms: i64,
}

/// Why a call got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The SSRF guard refused the address, before or after DNS: never retried.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No answer within the plugin's timeout: the provider may be working on it.
    #[error("no answer within {ms} ms")]
    Timeout { ms: u128 },
    /// The connection never opened; `chain` is the transport's own account.
    #[error("could not connect: {chain}")]
    Connect { chain: String },
    /// Anything else the transport reported, in its words.
    #[error("{0}")]
    Transport(String),
}

impl SendError {
    /// A transport error read once: a refusal of the guard is found by type in its
    /// source chain, whatever reqwest and hyper wrapped around it.
    fn from_reqwest(e: &reqwest::Error, timeout: Duration) -> SendError {
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(refusal) = s.downcast_ref::<Refusal>() {
                return SendError::Refused(refusal.clone());
            }
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        if e.is_timeout() {
            SendError::Timeout {
                ms: timeout.as_millis(),
            }
        } else if e.is_connect() {
            SendError::Connect { chain }
        } else {
            SendError::Transport(chain)
        }
    }

    /// How the attempt is classed: a timeout is its own class, every other call
    /// without an answer is a network failure.
    fn class(&self) -> FailureClass {
        match self {
            SendError::Timeout { .. } => FailureClass::Timeout,
            _ => FailureClass::Network,
        }
    }
}

/// Why a request could not be built from its plugin: the same trigger would fail
/// the same way again, so it is not retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("plugin {plugin} has no route for event type {event_type} (and no default route)")]
    NoRoute { plugin: String, event_type: String },
    #[error("the URL is not valid: {0}")]
    BadUrl(url::ParseError),
    #[error("{0} is not an HTTP method")]
    BadMethod(String),
}

fn fill_path(template: &str, entity_id: Option<&str>) -> String {
    let id: String = entity_id
        .unwrap_or("")
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    template.replace("{entity_id}", &id)
}

pub fn prepare(
    plugin: &Plugin,
    secrets: &PluginSecrets,
    t: &ClaimedTrigger,
    now: DateTime<Utc>,
    max_recorded: usize,
) -> Result<Prepared, PrepareError> {
    let route = plugin
        .route_for(&t.event_type)
        .ok_or_else(|| PrepareError::NoRoute {
            plugin: plugin.name.clone(),
            event_type: t.event_type.clone(),
        })?;
    let base = plugin.base_url.trim_end_matches('/');
    let mut url = url::Url::parse(&format!(
        "{base}{}",
        fill_path(&route.path, t.entity_id.as_deref())
    ))
    .map_err(PrepareError::BadUrl)?;
    let method = reqwest::Method::from_bytes(route.method.as_bytes())
        .map_err(|_| PrepareError::BadMethod(route.method.clone()))?;

    // One key per execution the application or an operator asked for, so receivers
    // can de-duplicate at-least-once delivery: automatic retries and re-claims after
    // a crash send the same key again; the n-th rerun is a deliberate new execution
    // and sends `{id}.r{n}` (kept by its own retries), so a provider that caches by
    // key really executes it again.
    let (msg_id, idempotency_key) = match t.reruns {
        0 => (format!("msg_{}", t.id.simple()), t.id.to_string()),
        n => (
            format!("msg_{}.r{n}", t.id.simple()),
            format!("{}.r{n}", t.id),
        ),
    };
    let timestamp = now.timestamp();
    // Sensitive static headers come from the sealed store (the plain map holds
    // their names only, or, from before sealing, the same values).
    let mut headers: Vec<(String, String)> = plugin
        .headers
        .iter()
        .filter(|(k, _)| !redact::is_secret_header(k, &plugin.redact))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .chain(
            secrets
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.expose().to_string())),
        )
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("webhook-id".into(), msg_id.clone()));
    headers.push(("webhook-timestamp".into(), timestamp.to_string()));
    headers.push(("idempotency-key".into(), idempotency_key));
    if let Some(secret) = &secrets.signing_secret {
        let sig = signing::sign(secret.expose(), &msg_id, timestamp, t.payload.as_bytes());
        headers.push(("webhook-signature".into(), sig));
    }
    let mut rules: RedactRules = plugin.redact.clone();
    rules
        .headers
        .extend(secrets.headers.iter().map(|(k, _)| k.clone()));
    match &secrets.auth {
        Some(AuthInput::Bearer { token }) => {
            headers.push(("authorization".into(), format!("Bearer {}", token.expose())));
        }
        Some(AuthInput::Basic { username, password }) => {
            use base64::Engine;
            let pair = format!("{username}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.push(("authorization".into(), format!("Basic {encoded}")));
        }
        Some(AuthInput::Header { name, value }) => {
            rules.headers.push(name.clone());
            headers.push((name.to_ascii_lowercase(), value.expose().to_string()));
        }
        Some(AuthInput::Query { .. }) | None => {}
    }
    let mut shown_url = redact::url(url.as_str());
    if let Some(AuthInput::Query { name, value }) = &secrets.auth {
        url.query_pairs_mut().append_pair(name, value.expose());
        // Named by the plugin, so redacted whatever the name.
        let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let joiner = if shown_url.contains('?') { '&' } else { '?' };
        shown_url = format!("{shown_url}{joiner}{name}={}", redact::REDACTED);
    }
    let shown: BTreeMap<String, String> = headers.iter().cloned().collect();
    let recorded = AttemptRequest {
        method: method.to_string(),
        url: shown_url,
        headers: redact::headers(&shown, &rules),
        body: Some(redact::cap(redact::body_text(&t.payload, &rules), max_recorded).0),
    };
    Ok(Prepared {
        method,
        url,
        headers,
        body: t.payload.clone(),
        recorded,
    })
}

pub async fn send(
    client: &reqwest::Client,
    allow: &AllowList,
    p: &Prepared,
    timeout: Duration,
    max_recorded: usize,
    rules: &RedactRules,
) -> Exchange {
    let started = Instant::now();
    let elapsed = |s: Instant| s.elapsed().as_millis() as i64;
    if let Err(refusal) = allow.check_url(&p.url) {
        return failure(refusal.into(), elapsed(started));
    }
    let mut request = client
        .request(p.method.clone(), p.url.clone())
        .timeout(timeout)
        .body(p.body.clone());
    for (k, v) in &p.headers {
        request = request.header(k, v);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return failure(SendError::from_reqwest(&e, timeout), elapsed(started)),
    };
    let status = response.status().as_u16();
    let headers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| policy::parse_retry_after(v, Utc::now()));
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max_recorded.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                // The status came; the body broke off. Classify by the status.
                // reqwest's words name the URL, query string included.
                let error = redact::text(&e.to_string());
                tracing::debug!(%error, "response body broke off");
                truncated = true;
                break;
            }
        }
    }
    // Bytes as they came: text stays text, anything else is recorded in base64.
    let (body, body_encoding, cut) = redact::body_bytes(body, rules, max_recorded, truncated);
    Exchange {
        response: Some(AttemptResponse {
            status,
            headers: redact::headers(&headers, rules),
            body: Some(body),
            body_encoding,
            truncated: truncated || cut,
        }),
        class: FailureClass::from_status_code(status),
        error: None,
        blocked: false,
        retry_after,
        duration_ms: elapsed(started),
    }
}

fn failure(e: SendError, duration_ms: i64) -> Exchange {
    Exchange {
        response: None,
        class: e.class(),
        blocked: matches!(e, SendError::Refused(_)),
        // reqwest names the URL in its errors, query string included.
        error: Some(redact::text(&e.to_string())),
        retry_after: None,
        duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entity_id_is_escaped_into_the_path() {
        assert_eq!(
            fill_path("/v1/invoices/{entity_id}", Some("INV 1/2")),
            "/v1/invoices/INV%201%2F2"
        );
        assert_eq!(fill_path("/events", None), "/events");
    }
}
