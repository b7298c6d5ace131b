mod date_range;
mod filter_bar;
mod frame_height;
mod local_time;
mod rerun_button;
mod status_badge;
mod time_zone;
mod trigger_dialog;
mod trigger_table;

pub use date_range::DateRange;
pub use filter_bar::{EntityChip, ExportLinks, PluginFilter, SearchBox, StatusFilter};
pub use frame_height::report_height_to_parent;
pub use local_time::LocalTime;
pub use rerun_button::RerunButton;
pub use status_badge::StatusBadge;
pub use trigger_dialog::{DialogKind, TriggerDialog};
pub use trigger_table::TriggerTable;
