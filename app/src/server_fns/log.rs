//! The integration log's server functions beyond the list itself: the counts
//! and the activity chart for the filters in the address bar.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::client::PanelAwareClient;
use crate::domain::{ActivityWindow, ErrorBody, TriggerActivity, TriggerCount, TriggerFilter};

/// How many triggers the filter matches, in all and per status.
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn count_triggers(filter: TriggerFilter) -> Result<TriggerCount, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend.count_triggers(filter).await
}

/// Attempts per hour of the last day (or day of the last week) by class, for
/// the filter, cut at the reader's clock (`utc_offset_minutes` east of UTC).
#[server(prefix = "/_fn", input = Json, client = PanelAwareClient)]
pub async fn attempt_activity(
    filter: TriggerFilter,
    window: ActivityWindow,
    utc_offset_minutes: i32,
) -> Result<TriggerActivity, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend
        .trigger_activity(filter, window, utc_offset_minutes)
        .await
}
