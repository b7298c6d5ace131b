//! Timers for the pages, from `gloo-timers`: a debounce for typing and an
//! interval for polling. Both exist only in the browser: on the server nothing
//! types and nothing polls, so there they run the work at once (debounce) or
//! never (interval). A timer lives as long as the component that made it: it is
//! held in the component's reactive owner and cancelled when that is disposed.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// `f(value)` once `ms` have passed without another call: typing in a search
/// box asks once the typing stops.
pub fn debounced<T: 'static>(ms: u32, f: impl Fn(T) + Clone + 'static) -> impl Fn(T) + Clone {
    #[cfg(feature = "hydrate")]
    {
        let pending = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
        move |value: T| {
            let f = f.clone();
            // Replacing the pending timeout drops it, which cancels it.
            pending.set_value(Some(gloo_timers::callback::Timeout::new(ms, move || {
                f(value)
            })));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        f
    }
}

/// Run `tick` every `ms` while the current component lives (in the browser only).
pub fn every(ms: u32, tick: impl FnMut() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let interval = gloo_timers::callback::Interval::new(ms, tick);
        // Dropped, and so stopped, with the owner.
        StoredValue::new_local(interval);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (ms, tick);
    }
}

/// Whether the reader can see the page: a hidden tab need not poll.
pub fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
