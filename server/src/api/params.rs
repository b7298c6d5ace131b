//! Query parameters shared by several routes, described once for the OpenAPI
//! document. They are read by `app::domain::ListQuery` (one parser for the REST
//! list, count, export and the browser's address bar); these structs only say so.

use chrono::{DateTime, Utc};

use app::domain::Status;

/// The trigger list's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documentation: the values are read by `ListQuery`.
pub struct FilterParams {
    /// plugin name or id; repeatable
    plugin: Option<Vec<String>>,
    /// repeatable
    status: Option<Vec<Status>>,
    event_type: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    aggregation_key: Option<String>,
    /// inclusive
    scheduled_from: Option<DateTime<Utc>>,
    /// exclusive
    scheduled_to: Option<DateTime<Utc>>,
    /// inclusive
    triggered_from: Option<DateTime<Utc>>,
    /// exclusive
    triggered_to: Option<DateTime<Utc>>,
    /// free text, case-insensitive, at least 3 characters (fewer: 422 naming `q`):
    /// a fragment of the action, event type, entity id, external id or a text or
    /// number value in the payload; redacted values are never searchable
    q: Option<String>,
    /// also inactive plugins' triggers (admins always see them)
    include_inactive: Option<bool>,
}
