//! The server's side of [`crate::browser`]: what rendering does where the browser
//! would act. The server renders in UTC, has no timers, clipboard or focus, and
//! nothing on it types or polls.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// Now, by the system clock.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Not known on the server: times render in UTC until the browser takes over.
pub fn offset_minutes(_: DateTime<Utc>) -> Option<i64> {
    None
}

/// Not known on the server.
pub fn zone_name() -> Option<String> {
    None
}

/// Nothing types on the server: the work runs at once.
pub fn debounced<T: 'static>(_ms: u32, f: impl Fn(T) + Clone + 'static) -> impl Fn(T) + Clone {
    f
}

/// Nothing polls on the server.
pub fn every(_ms: u32, _tick: impl FnMut() + 'static) {}

/// Nothing to wait for on the server.
pub async fn pause(_ms: u32) {}

/// No one looks at the server's page.
pub fn page_visible() -> bool {
    false
}

/// The server has no clipboard.
pub async fn write_clipboard(_: &str) -> bool {
    false
}

/// The server answers with paths unless it knows its public address.
pub fn page_origin() -> Option<String> {
    None
}

/// The server reads the token from the request, not from here.
pub fn panel_token() -> Option<String> {
    None
}

/// No clicks on the server.
pub fn clicked_a_control(_: &leptos::ev::MouseEvent) -> bool {
    true
}

/// No keys on the server.
pub fn focus_on_key(_key: &'static str, _input: NodeRef<leptos::html::Input>) {}

/// The server's HTML is, by definition, not hydrated.
pub fn mark_hydrated() {}

/// No parent frame on the server.
pub fn report_height_to_parent() {}
