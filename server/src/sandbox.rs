//! A sandbox provider for the demo: a fake CRM served by Calltrail itself, so a
//! newcomer on a machine without internet sees calls succeed, fail and re-run.
//! Served only with `CALLTRAIL_SANDBOX=on` (`config`, then `app_with_sandbox`). A payload with `"simulate": 503` (any status)
//! gets that status back; anything else is created with a new id.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router {
    Router::new().route("/_sandbox/{*path}", any(handle))
}

async fn handle(Path(path): Path<String>, body: axum::body::Bytes) -> (StatusCode, Json<Value>) {
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    let simulate = payload
        .get("simulate")
        .and_then(Value::as_u64)
        .and_then(|c| StatusCode::from_u16(c as u16).ok());
    match simulate {
        Some(code) if !code.is_success() => (
            code,
            Json(json!({"error": {"message": format!("simulated {code}"), "path": path}})),
        ),
        _ => {
            let id = format!("sbx_{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
            (StatusCode::CREATED, Json(json!({"id": id, "object": path})))
        }
    }
}
