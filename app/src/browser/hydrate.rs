//! The browser's side of [`crate::browser`]: each function here has a twin of
//! the same signature in `server.rs`.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Now, by the browser's clock (the wasm build has no system clock of its own).
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// Minutes the reader's zone is ahead of UTC at `t`.
pub fn offset_minutes(t: DateTime<Utc>) -> Option<i64> {
    let date = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    // getTimezoneOffset is minutes *behind* UTC (positive west of Greenwich).
    Some(-(date.get_timezone_offset() as i64))
}

/// The IANA name of the reader's zone: `Intl.DateTimeFormat().resolvedOptions().timeZone`.
pub fn zone_name() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
        .ok()?
        .as_string()
        .filter(|z| !z.is_empty())
}

/// `f(value)` once `ms` have passed without another call: typing in a search box
/// asks once the typing stops. The pending timer lives in the current owner.
pub fn debounced<T: 'static>(ms: u32, f: impl Fn(T) + Clone + 'static) -> impl Fn(T) + Clone {
    let pending = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    move |value: T| {
        let f = f.clone();
        // Replacing the pending timeout drops it, which cancels it.
        pending.set_value(Some(gloo_timers::callback::Timeout::new(ms, move || {
            f(value)
        })));
    }
}

/// Run `tick` every `ms` while the current component lives.
pub fn every(ms: u32, tick: impl FnMut() + 'static) {
    let interval = gloo_timers::callback::Interval::new(ms, tick);
    // Dropped, and so stopped, with the owner.
    StoredValue::new_local(interval);
}

/// Wait `ms` milliseconds.
pub async fn pause(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Whether the reader can see the page: a hidden tab need not poll.
pub fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// Write `text` to the clipboard; false when the browser refuses.
pub async fn write_clipboard(text: &str) -> bool {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// `https://calltrail.example.com`: where this page was loaded from.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// The `token` of the embedded panel this document shows, read from its own
/// address (`/embed/{type}/{id}?token=…`); `None` on any other page.
pub fn panel_token() -> Option<String> {
    let location = web_sys::window()?.location();
    if !location
        .pathname()
        .ok()?
        .starts_with(crate::client::EMBED_PREFIX)
    {
        return None;
    }
    let search = location.search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get("token")
}

/// Whether a click landed on something that acts by itself (a link, a button, a
/// field, an open dialog).
pub fn clicked_a_control(ev: &leptos::ev::MouseEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            el.closest(
                "a, button, input, select, textarea, label, summary, form, [role=dialog], .modal-backdrop",
            )
            .ok()
            .flatten()
            .is_some()
        })
}

/// `key` pressed anywhere on the page focuses `input`, unless the reader is
/// typing somewhere already or holds a modifier. Stops with the current owner.
pub fn focus_on_key(key: &'static str, input: NodeRef<leptos::html::Input>) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() != key || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|el| {
                matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                    || el.is_content_editable()
            });
        if typing {
            return;
        }
        if let Some(input) = input.get_untracked() {
            ev.prevent_default();
            let _ = input.focus();
        }
    });
    on_cleanup(move || handle.remove());
}

/// `<html data-hydrated>` once the app runs: tests (and anyone curious) can tell
/// a hydrated page from the server's HTML.
pub fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}

/// Tell the parent frame this document's height, `{type: "calltrail:height",
/// height}` by `postMessage`, now and whenever it changes.
pub fn report_height_to_parent() {
    // The body, not the whole document: the document is at least as tall as the
    // frame, so its height would never shrink back.
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    let root: web_sys::Element = root.into();
    post_height(&root);
    let watched = root.clone();
    let on_resize = Closure::<dyn FnMut()>::new(move || post_height(&watched));
    if let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
        observer.observe(&root);
    }
    // The observer lives as long as the document, and so must its callback.
    on_resize.forget();
}

fn post_height(root: &web_sys::Element) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &"calltrail:height".into());
    let _ = js_sys::Reflect::set(
        &message,
        &"height".into(),
        &JsValue::from(root.scroll_height()),
    );
    let _ = parent.post_message(&message, "*");
}
