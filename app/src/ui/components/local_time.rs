use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::time_zone::{
    compact_time, compact_utc, due_time, full_local_time, relative_time, utc_time,
};
use crate::browser::{every, now};

/// A time, compact (`28 Nov 02:55:15`, the year only when it is not this one), in
/// the browser's time zone, with the full local time, its zone and UTC on hover.
/// With `relative`, "(in 4 min)" or "(3 h ago)" follows, kept current; a `due`
/// time that has come reads "(due now)" instead of "ago".
///
/// The server renders UTC (it cannot know the zone; the page header says which
/// zone the times are in); after hydration the text switches to local time and
/// the element gets `data-local`.
#[component]
pub fn LocalTime(
    at: DateTime<Utc>,
    #[prop(optional)] relative: bool,
    #[prop(optional)] due: bool,
) -> impl IntoView {
    let text = RwSignal::new(compact_utc(at, now()));
    let title = RwSignal::new(utc_time(at));
    let local = RwSignal::new(false);
    let ago = RwSignal::new(None::<String>);
    // Effects run in the browser only, after hydration: the first render there
    // matches the server's.
    Effect::new(move |_| {
        if let Some(full) = full_local_time(at) {
            text.set(compact_time(at, now()));
            title.set(full);
            local.set(true);
        }
    });
    if relative {
        let words = if due { due_time } else { relative_time };
        let refresh = move || ago.set(Some(words(at, now())));
        Effect::new(move |_| refresh());
        every(30_000, refresh);
    }
    view! {
        <time datetime=at.to_rfc3339() title=move || title.get() data-local=move || local.get().then_some("")>
            {move || text.get()}
        </time>
        {move || ago.get().map(|a| view! { <span class="relative">{format!(" ({a})")}</span> })}
    }
}

/// "Times in Europe/Berlin, UTC+01:00": said once, in the page header, so that
/// every cell can be compact. "Times in UTC" until the page is hydrated, as the
/// server renders the cells.
#[component]
pub fn TimeZoneNote() -> impl IntoView {
    // The server's words first, in the browser too: hydration keeps the
    // server's text and only a change redraws it.
    let text = RwSignal::new(super::time_zone::UTC_NOTE.to_string());
    Effect::new(move |_| text.set(super::time_zone::zone_note(now())));
    view! { <p class="zone-note" data-testid="zone-note">{move || text.get()}</p> }
}
