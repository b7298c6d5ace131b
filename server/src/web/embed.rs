//! Where an embedded panel's request enters: its token becomes the caller, and
//! its pages may be framed by the origins allowed to embed them.
//!
//! `/embed/{type}/{id}?token=…` carries the token in its address; the server
//! functions the panel calls carry it in `X-Calltrail-Embed` (see
//! `app::client`). Either way the token is resolved here, before any other way
//! of knowing the caller, and a request that shows one is never answered as
//! anybody else: a bad token is refused, not ignored.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use app::client::{EMBED_HEADER, EMBED_PREFIX};
use app::domain::ErrorBody;

use crate::service::{EntityScope, Service, ServiceError};

/// Resolve an embed token, if the request shows one, into the request's caller.
pub async fn embed_caller(
    State(service): State<Arc<Service>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let resolved = if let Some(rest) = path.strip_prefix(EMBED_PREFIX) {
        let Some(entity) = panel_entity(rest) else {
            return refusal_page(&ServiceError::not_found("there is nothing to show here"));
        };
        let Some(token) = token_in_query(req.uri().query()) else {
            return refusal_page(&ServiceError::unauthorized(
                "This link has no token — ask for a new one.",
            ));
        };
        match service.embed_principal(&token, Some(&entity)) {
            Ok(who) => who,
            Err(e) => return refusal_page(&e),
        }
    } else if let Some(value) = req.headers().get(EMBED_HEADER) {
        let token = value.to_str().unwrap_or_default();
        match service.embed_principal(token, None) {
            Ok(who) => who,
            Err(e) => return refusal_json(e),
        }
    } else {
        return next.run(req).await;
    };
    req.extensions_mut().insert(resolved);
    next.run(req).await
}

/// `{type}/{id}` of a panel's address, decoded; `None` unless it is exactly that.
fn panel_entity(rest: &str) -> Option<EntityScope> {
    let (entity_type, entity_id) = rest.split_once('/')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
            .filter(|s| !s.is_empty())
    };
    if entity_id.contains('/') {
        return None;
    }
    Some(EntityScope {
        entity_type: decode(entity_type)?,
        entity_id: decode(entity_id)?,
    })
}

fn token_in_query(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|t| !t.is_empty())
}

/// A page a person reads in the frame, saying why there is no panel.
fn refusal_page(e: &ServiceError) -> Response {
    let status = crate::api::ApiError::from(e.clone()).status;
    let message = match e {
        ServiceError::NotFound(_) => "There is nothing to show here.",
        _ => e.message(),
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>Calltrail</title><link rel=\"stylesheet\" href=\"/pkg/calltrail.css\"/></head>\
         <body><main><p class=\"error\" role=\"alert\" data-testid=\"embed-refusal\">{}</p>\
         </main></body></html>",
        escape(message)
    );
    (status, Html(html)).into_response()
}

/// A server function's refusal, in the shape server functions answer with.
fn refusal_json(e: ServiceError) -> Response {
    let status = crate::api::ApiError::from(e.clone()).status;
    (
        status,
        [("serverfnerror", "embed")],
        Json(ErrorBody::from(e)),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/embed/…` may be framed by the origins in `CALLTRAIL_EMBED_ORIGINS`, and by
/// nobody else; every other route's framing is refused elsewhere (the security
/// headers), which must leave these responses alone.
pub async fn embed_frame_ancestors(
    State(service): State<Arc<Service>>,
    req: Request,
    next: Next,
) -> Response {
    let embedded = req.uri().path().starts_with(EMBED_PREFIX);
    let mut response = next.run(req).await;
    if embedded {
        let policy = service.embed_settings().frame_ancestors_policy();
        let headers = response.headers_mut();
        headers.remove(header::X_FRAME_OPTIONS);
        // One policy: the page's own (its script nonce) with its `frame-ancestors`
        // replaced by the allow-list. Two headers would both be enforced, and the
        // page's `frame-ancestors 'none'` would win.
        let page: Vec<String> = headers
            .get_all(header::CONTENT_SECURITY_POLICY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|d| !d.is_empty() && !d.starts_with("frame-ancestors"))
            .map(str::to_string)
            .collect();
        let combined = page
            .into_iter()
            .chain(std::iter::once(policy))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(value) = HeaderValue::from_str(&combined) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panel_address_names_one_entity_decoded() {
        assert_eq!(
            panel_entity("invoice/INV%201%2F2"),
            Some(EntityScope {
                entity_type: "invoice".into(),
                entity_id: "INV 1/2".into()
            })
        );
        assert_eq!(panel_entity("invoice"), None);
        assert_eq!(panel_entity("invoice/"), None);
        assert_eq!(panel_entity("invoice/1/2"), None);
    }

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(
            token_in_query(Some("a=1&token=v4.local.x")).as_deref(),
            Some("v4.local.x")
        );
        assert_eq!(token_in_query(Some("token=")), None);
        assert_eq!(token_in_query(None), None);
    }
}
