//! `GET /api/v1/triggers/activity`: the log's activity chart as data.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::Json;

use app::domain::{ActivityQuery, TriggerActivity};

use super::extract::Caller;
use super::params::FilterParams;
use super::ApiError;
use crate::service::Service;

/// Attempts per hour of the last 24 hours (`window=24h`, the default) or per day
/// of the last 7 days (`window=7d`), by class, for the triggers the filters
/// match. Periods start on the hours and midnights of a clock
/// `utc_offset_minutes` east of UTC (default 0: UTC); the last one holds now.
#[utoipa::path(get, path = "/api/v1/triggers/activity", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    params(
        FilterParams,
        ("window" = Option<String>, Query, description = "24h (hour by hour, the default) or 7d (day by day)"),
        ("utc_offset_minutes" = Option<i32>, Query, description = "minutes east of UTC whose hours and midnights cut the periods; -840 to 840, default 0"),
    ),
    responses((status = 200, body = TriggerActivity)))]
pub async fn trigger_activity(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<TriggerActivity>, ApiError> {
    let q = ActivityQuery::parse(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    Ok(Json(
        svc.trigger_activity(&who, q.filter, q.window, q.utc_offset_minutes)
            .await?,
    ))
}
