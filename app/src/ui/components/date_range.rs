use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;

use super::address::use_address;
use super::time_zone::{local_day, local_midnight, zone_short};
use crate::browser::now;

/// A day range in the browser's time zone (both days included), which it names.
/// The address bar holds exact UTC instants (`…_from` inclusive, `…_to`
/// exclusive), so the server renders the same rows the browser asked for.
#[component]
pub fn DateRange(
    label: &'static str,
    from_param: &'static str,
    to_param: &'static str,
) -> impl IntoView {
    let address = use_address();
    let instant = move |param: &str| {
        address
            .value(param)
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
    // Which zone the days are in: UTC on the server, the reader's once hydrated.
    let zone = RwSignal::new("UTC".to_string());
    Effect::new(move |_| zone.set(zone_short(now())));
    let set = move |param: &'static str, day: String, next_day: bool| {
        let at = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .ok()
            .and_then(|d| local_midnight(if next_day { d.succ_opt()? } else { d }))
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        address.set_filter(|p| p.set(param, at));
    };
    // One day picker; `next_day` for the exclusive end.
    let day_input =
        move |end: &'static str, param: &'static str, day: Memo<String>, next_day: bool| {
            view! {
                <input
                    type="date"
                    aria-label=move || format!("{label} {end} ({})", zone.get())
                    data-testid=param
                    prop:value=move || day.get()
                    value=day.get_untracked()
                    on:change=move |ev| set(param, event_target_value(&ev), next_day)
                />
            }
        };
    view! {
        <fieldset class="filter range">
            <legend>
                <span class="filter-label">{label}</span>
                " "
                <span class="zone" data-testid=format!("{from_param}-zone")>{move || zone.get()}</span>
            </legend>
            {day_input("from", from_param, from_day, false)}
            <span class="muted" aria-hidden="true">"–"</span>
            {day_input("to", to_param, to_day, true)}
        </fieldset>
    }
}
