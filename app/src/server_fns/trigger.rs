//! What one trigger's page does besides reading: re-running its aggregation group.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::client::PanelAwareClient;
use crate::domain::{ErrorBody, GroupRerunOutcome};

/// Run the triggers sharing an aggregation key again now, together, saying why
/// (operators and admins). Only the erroneous ones unless `include_finished`.
#[server(prefix = "/_fn", endpoint = "rerun_group", input = Json, client = PanelAwareClient)]
pub async fn rerun_group(
    aggregation_key: String,
    reason: Option<String>,
    #[server(default)] resume_retries: bool,
    #[server(default)] include_finished: bool,
) -> Result<GroupRerunOutcome, ErrorBody> {
    let backend = crate::backend::use_backend()?;
    backend
        .rerun_group(&aggregation_key, reason, resume_retries, include_finished)
        .await
}
