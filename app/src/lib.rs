#![recursion_limit = "256"]
//! The shared crate: the types that cross the wire, the pages, and the server
//! functions those pages call. It compiles for the server (`ssr`) and for the
//! browser (`hydrate`); everything server-only sits behind `ssr` in `backend`, and
//! everything browser-only behind `hydrate` in `browser`.

pub mod browser;
pub mod client;
pub mod domain;
pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod backend;

pub use ui::{shell, App};
