mod filter_bar;
mod local_time;
mod status_badge;
mod trigger_table;

pub use filter_bar::PluginFilter;
pub use local_time::LocalTime;
pub use status_badge::StatusBadge;
pub use trigger_table::TriggerTable;
