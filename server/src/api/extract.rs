//! Extractors that turn every malformed request into our JSON error, never
//! axum's plain-text rejections: the body, the caller, path segments.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::service::{ApiError, Principal, Service};

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
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let full = inner.to_string();
        let message = full.split(" at line ").next().unwrap_or(&full).to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::malformed(format!("the body is not valid JSON: {message}"));
        }
        let parent = if path == "." { String::new() } else { path };
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
        let err = ApiError::invalid(field.clone(), message);
        if field.is_empty() {
            ApiError { field: None, ..err }
        } else {
            err
        }
    })
}

/// The authenticated caller.
pub struct Caller(pub Principal);

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
        service.authenticate(header).await.map(Caller)
    }
}

/// One path segment, as text; the service parses it into an id or a name.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(s)| Segment(s))
            .map_err(|_| ApiError::malformed("the path could not be read").on("id"))
    }
}
