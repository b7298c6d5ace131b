//! One entity's data: erasure on request.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{ApiJson, Caller, Segments};
use super::ApiError;
use crate::service::{Erasure, ErasureInput, Service};

#[utoipa::path(delete, path = "/api/v1/entities/{type}/{id}/data", tag = "entities",
    extensions(("x-required-role" = json!("admin"))),
    description = "Removes now the payloads, attempts (headers and bodies) and logs of this \
                   entity's finished triggers; their summary rows stay. Triggers still in \
                   progress are counted in `in_progress` and left alone: erase again when they \
                   have finished. Audited with the reason. An entity with no triggers at all is 404.",
    params(("type" = String, Path, description = "entity type, e.g. invoice"),
           ("id" = String, Path, description = "entity id, e.g. INV-1042")),
    request_body = ErasureInput,
    responses((status = 202, body = Erasure),
              (status = 404, body = app::domain::ErrorEnvelope, description = "no triggers of this entity")))]
pub async fn erase_entity(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Segments(entity_type, entity_id): Segments,
    ApiJson(input): ApiJson<ErasureInput>,
) -> Result<(StatusCode, Json<Erasure>), ApiError> {
    let out = svc
        .erase_entity(&who, &entity_type, &entity_id, input)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}
