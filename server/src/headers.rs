//! Security headers on every response. Pages set their own
//! `Content-Security-Policy` with the nonce of their inline scripts (see
//! `app::ui::shell`); everything else gets a policy that allows nothing to run.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// For responses that are not pages: JSON, files, redirects.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    // An embedded panel decides who may frame it (its own policy); nothing else may be framed.
    let embeddable = req.uri().path().starts_with("/embed/");
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !embeddable {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if !headers.contains_key(CONTENT_SECURITY_POLICY) {
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DEFAULT_CSP),
            );
        }
    }
    res
}
