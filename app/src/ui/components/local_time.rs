use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// A time shown in the browser's time zone, with UTC in the tooltip.
/// The server renders UTC (it cannot know the zone); after hydration the text
/// switches to local time.
#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    let utc = at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let text = RwSignal::new(utc.clone());
    Effect::new(move |_| {
        if let Some(local) = local_string(at) {
            text.set(local);
        }
    });
    view! {
        <time datetime=at.to_rfc3339() title=utc>
            {move || text.get()}
        </time>
    }
}

#[cfg(feature = "hydrate")]
fn local_string(at: DateTime<Utc>) -> Option<String> {
    let millis = at.timestamp_millis() as f64;
    let date = js_sys::Date::new(&wasm_bindgen_value(millis));
    // getTimezoneOffset is minutes *behind* UTC (positive west of Greenwich).
    let offset_minutes = -(date.get_timezone_offset() as i64);
    let local = at.naive_utc() + chrono::Duration::minutes(offset_minutes);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.abs();
    Some(format!(
        "{} (UTC{sign}{:02}:{:02})",
        local.format("%Y-%m-%d %H:%M:%S"),
        abs / 60,
        abs % 60
    ))
}

#[cfg(feature = "hydrate")]
fn wasm_bindgen_value(v: f64) -> js_sys::wasm_bindgen::JsValue {
    js_sys::wasm_bindgen::JsValue::from_f64(v)
}

#[cfg(not(feature = "hydrate"))]
fn local_string(_at: DateTime<Utc>) -> Option<String> {
    None
}
