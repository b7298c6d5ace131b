//! Everything only a browser can do, in one place: the clock and time zone, timers,
//! the clipboard, the address, focus and clicks, and the messages an embedded panel
//! sends its parent.
//!
//! The pages compile twice, for the server (`ssr`) and for the browser (`hydrate`),
//! and both builds call the same functions. `hydrate.rs` does the work with
//! `web-sys`, `js-sys` and `gloo-timers`; `server.rs` says what the server does
//! instead (usually: nothing, or UTC). So the rest of the app carries no `cfg` of
//! its own. Two components whose browser side is their whole point keep it
//! beside them in one gated module each: the modal dialog's focus trap
//! (`ui/components/modal.rs`) and a trigger page's polling (`ui/trigger_page/live.rs`).

#[cfg(feature = "hydrate")]
mod hydrate;
#[cfg(feature = "hydrate")]
pub use hydrate::*;

#[cfg(not(feature = "hydrate"))]
mod server;
#[cfg(not(feature = "hydrate"))]
pub use server::*;
