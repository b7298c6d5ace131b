//! Extractors that turn every malformed request into our JSON error, never
//! axum's plain-text rejections: the body, the caller (and its address), path
//! segments.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{
    ConnectInfo, FromRef, FromRequest, FromRequestParts, Path, RawPathParams, Request,
};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::api::ApiError;
use crate::service::{flattened, Principal, Service, TrustedProxies};

/// A JSON body: checked content type, size limit (413), and errors naming the field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    Arc<Service>: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = Arc::<Service>::from_ref(state).limits().max_body_bytes;
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::payload_too_large(limit))?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(field) = nul_outside_payload(bytes) {
        return Err(ApiError::invalid(
            field,
            "this text may not contain a NUL character (\\u0000); only a payload or a body may",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let full = inner.to_string();
        let message = full.split(" at line ").next().unwrap_or(&full).to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::malformed(format!("the body is not valid JSON: {message}"));
        }
        // A flattened part's error carries its own path in the message.
        let (parent, message) = match flattened::located(&message) {
            Some((inner, rest)) if path == "." => (inner.to_string(), rest.to_string()),
            _ if path == "." => (String::new(), message),
            _ => (path, message),
        };
        // serde names a missing field in its message, not in the path.
        let field = match message.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.split('`').next().unwrap_or("");
                if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{parent}.{name}")
                }
            }
            None => parent,
        };
        ApiError::unprocessable((!field.is_empty()).then_some(field), message)
    })
}

/// Where a NUL character (`\u0000`) sits in a JSON body outside a `payload` or a
/// reported call's `request.body`/`response.body`, if anywhere. A payload is stored as
/// JSON text, where NUL stays an escape, and bodies are stored as bytes, so both keep
/// it faithfully; every other string is stored as text, which on PostgreSQL cannot
/// hold NUL, so it is refused on both databases alike, naming the field. The scan for the
/// escape is cheap; only a body that has one is parsed twice.
const REPORTED_BODIES: [&str; 2] = ["request.body", "response.body"];

fn nul_outside_payload(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    // A body that is not JSON is reported by the real parse.
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    find_nul(&value, "")
}

fn find_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, &format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(key, item)| {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(here)
            } else if key == "payload" || REPORTED_BODIES.contains(&here.as_str()) {
                None
            } else {
                find_nul(item, &here)
            }
        }),
        _ => None,
    }
}

/// The authenticated caller, carrying the address its request came from.
pub struct Caller(pub Principal);

/// The address a request came from: the peer's (served with connect info, see
/// `serve_router`), or behind a trusted proxy the one `X-Forwarded-For` names.
pub fn client_address(parts: &Parts, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if trusted.is_empty() {
        // The common case, on every ingest: nothing to read but the peer.
        return trusted.client(peer, &[]);
    }
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    trusted.client(peer, &forwarded)
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Service>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let service = Arc::<Service>::from_ref(state);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| {
                v.to_str()
                    .map_err(|_| ApiError::unauthorized("the Authorization header is not readable"))
            })
            .transpose()?;
        let client = client_address(parts, &service.limits().trusted_proxies);
        Ok(Caller(service.authenticate_from(header, client).await?))
    }
}

/// One path segment, as text; the service parses it into an id or a name.
/// A NUL character is refused here, naming the segment (`id`, `key`).
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let name = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|p| p.iter().next().map(|(name, _)| name.to_string()))
            .unwrap_or_else(|| "id".to_string());
        let Path(segment) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::malformed("the path could not be read").on(name.clone()))?;
        crate::service::no_nul(&name, &segment)?;
        Ok(Segment(segment))
    }
}

/// Two path segments (`/entities/{type}/{id}/…`), as text, each checked like `Segment`.
pub struct Segments(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let names: Vec<String> = RawPathParams::from_request_parts(parts, state)
            .await
            .map(|p| p.iter().map(|(name, _)| name.to_string()).collect())
            .unwrap_or_default();
        let name = |i: usize| names.get(i).cloned().unwrap_or_else(|| "id".into());
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::malformed("the path could not be read").on(name(0)))?;
        crate::service::no_nul(&name(0), &a)?;
        crate::service::no_nul(&name(1), &b)?;
        Ok(Segments(a, b))
    }
}
