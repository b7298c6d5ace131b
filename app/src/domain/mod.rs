//! Domain types shared by the server, the REST API and the browser.
//! Only serde, chrono, uuid, strum and serde_html_form: they compile to wasm.

#[macro_use]
mod words;

mod activity;
mod admin;
mod attempt;
mod caller;
mod embed;
mod error;
mod filter;
mod migration;
mod plugin;
mod plugin_changes;
mod query;
mod rerun;
mod status;
mod trigger;

pub use activity::*;
pub use admin::*;
pub use attempt::*;
pub use caller::*;
pub use embed::*;
pub use error::*;
pub use filter::*;
pub use migration::*;
pub use plugin::*;
pub use plugin_changes::*;
pub use query::*;
pub use rerun::*;
pub use status::*;
pub use trigger::*;

use serde::{Deserialize, Serialize};

/// One page of a keyset-paginated listing. `next_cursor` is opaque to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `{"items": [...]}` for listings that are not paginated (plugins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Items<T> {
    pub items: Vec<T>,
}
