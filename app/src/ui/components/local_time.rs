use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::time_zone::{local_time, utc_time};

/// A time shown in the browser's time zone, with UTC in the tooltip.
/// The server renders UTC (it cannot know the zone); after hydration the text
/// switches to local time.
#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    let utc = utc_time(at);
    let text = RwSignal::new(utc.clone());
    Effect::new(move |_| {
        if let Some(local) = local_time(at) {
            text.set(local);
        }
    });
    view! {
        <time datetime=at.to_rfc3339() title=utc>
            {move || text.get()}
        </time>
    }
}
