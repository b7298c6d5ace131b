use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

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
        if let Some(at) = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .ok()
            .and_then(|d| local_midnight(if next_day { d.succ_opt()? } else { d }))
        {
            params.replace(param, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        navigate(
            &format!("/{}", params.to_query_string()),
            Default::default(),
        );
    };
    let set_from = set.clone();
    view! {
        <fieldset class="filter range">
            <legend>{label}</legend>
            <input
                type="date"
                aria-label=format!("{label} from")
                data-testid=format!("{from_param}")
                prop:value=move || from_day.get()
                on:change=move |ev| set_from(from_param, event_target_value(&ev), false)
            />
            <span class="muted">"–"</span>
            <input
                type="date"
                aria-label=format!("{label} to")
                data-testid=format!("{to_param}")
                prop:value=move || to_day.get()
                on:change=move |ev| set(to_param, event_target_value(&ev), true)
            />
        </fieldset>
    }
}

/// `YYYY-MM-DD` of an instant in the browser's zone, moved by `days` (the range's
/// end is exclusive: it is shown as the day before).
fn local_day(t: DateTime<Utc>, days: i64) -> String {
    let local =
        t.naive_utc() + chrono::Duration::minutes(offset_minutes(t)) + chrono::Duration::days(days);
    local.format("%Y-%m-%d").to_string()
}

/// Midnight of a day in the browser's zone, as a UTC instant.
fn local_midnight(day: NaiveDate) -> Option<DateTime<Utc>> {
    let naive = day.and_hms_opt(0, 0, 0)?;
    let guess = naive.and_utc();
    Some(guess - chrono::Duration::minutes(offset_minutes(guess)))
}

/// Minutes the browser's zone is ahead of UTC at `t` (0 on the server).
#[cfg(feature = "hydrate")]
fn offset_minutes(t: DateTime<Utc>) -> i64 {
    let date = js_sys::Date::new(&js_sys::wasm_bindgen::JsValue::from_f64(
        t.timestamp_millis() as f64,
    ));
    -(date.get_timezone_offset() as i64)
}

#[cfg(not(feature = "hydrate"))]
fn offset_minutes(_t: DateTime<Utc>) -> i64 {
    0
}
