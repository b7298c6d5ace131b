use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use super::time_zone::{local_day, local_midnight};

/// A day range in the browser's time zone (both days included). The address bar
/// holds exact UTC instants (`…_from` inclusive, `…_to` exclusive), so the server
/// renders the same rows the browser asked for.
#[component]
pub fn DateRange(
    label: &'static str,
    from_param: &'static str,
    to_param: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    // The page it is on (the log, the audit trail) keeps its own address.
    let pathname = use_location().pathname;
    let instant = move |param: &str| {
        query
            .read()
            .get(param)
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    // The day an instant falls on, where the reader is (UTC until hydrated).
    let from_day = Memo::new(move |_| {
        instant(from_param)
            .map(|t| local_day(t, 0))
            .unwrap_or_default()
    });
    let to_day = Memo::new(move |_| {
        instant(to_param)
            .map(|t| local_day(t, -1))
            .unwrap_or_default()
    });
    let set = move |param: &'static str, day: String, next_day: bool| {
        let mut params = query.get_untracked();
        params.remove(param);
        // Another range is another list: it starts at its first page.
        params.remove("cursor");
        if let Some(at) = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .ok()
            .and_then(|d| local_midnight(if next_day { d.succ_opt()? } else { d }))
        {
            params.replace(param, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        navigate(
            &format!("{}{}", pathname.get_untracked(), params.to_query_string()),
            Default::default(),
        );
    };
    // One day picker; `next_day` for the exclusive end.
    let day_input = move |end: &str, param: &'static str, day: Memo<String>, next_day: bool| {
        let set = set.clone();
        view! {
            <input
                type="date"
                aria-label=format!("{label} {end}")
                data-testid=param
                prop:value=move || day.get()
                on:change=move |ev| set(param, event_target_value(&ev), next_day)
            />
        }
    };
    view! {
        <fieldset class="filter range">
            <legend>{label}</legend>
            {day_input("from", from_param, from_day, false)}
            <span class="muted">"–"</span>
            {day_input("to", to_param, to_day, true)}
        </fieldset>
    }
}
