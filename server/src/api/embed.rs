use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{ApiJson, Caller};
use super::ApiError;
use crate::service::{EmbedToken, EmbedTokenInput, Service};

/// A signed link to one entity's log panel, for another application to show in
/// an iframe. The token is shown here once; the audit trail keeps only its id.
#[utoipa::path(post, path = "/api/v1/embed-tokens", tag = "embed",
    extensions(("x-required-role" = json!("admin"))),
    request_body = EmbedTokenInput,
    responses((status = 201, body = EmbedToken, description = "issued")))]
pub async fn issue_embed_token(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    ApiJson(input): ApiJson<EmbedTokenInput>,
) -> Result<(StatusCode, Json<EmbedToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.issue_embed_token(&who, input).await?),
    ))
}
