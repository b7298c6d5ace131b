use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::Json;

use app::domain::{AuditQuery, Page};

use super::extract::Caller;
use super::ApiError;
use crate::service::Service;
use crate::storage::AuditEntry;

/// Who did what, newest first: reruns, migrations, plugin and API key changes.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    extensions(("x-required-role" = json!("admin"))),
    params(
        ("actor" = Option<String>, Query, description = "exactly this actor"),
        ("action" = Option<String>, Query, description = "exactly this action (`rerun`, `api_key.revoke`, `plugin.update`, …)"),
        ("from" = Option<DateTime<Utc>>, Query, description = "inclusive"),
        ("to" = Option<DateTime<Utc>>, Query, description = "exclusive"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = Page<AuditEntry>)))]
pub async fn audit_trail(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let q = AuditQuery::parse(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    Ok(Json(svc.audit_page(&who, q).await?))
}
