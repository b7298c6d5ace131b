use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::LocalTime;

/// Retention (or an erasure) removed the payload, attempts and logs; the
/// summary stays, and says so.
#[component]
pub fn DetailsRemoved(at: DateTime<Utc>) -> impl IntoView {
    view! {
        <p class="notice" data-testid="details-removed">
            "Details removed on " <LocalTime at/>
            ": the payload, the attempts and the processing steps are no longer kept."
        </p>
    }
}
