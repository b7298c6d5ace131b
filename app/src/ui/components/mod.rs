mod activity_chart;
mod address;
mod date_range;
mod filter_bar;
mod frame_height;
mod live;
mod local_time;
mod log_view;
mod pager;
mod rerun_button;
mod states;
mod status_badge;
mod status_summary;
mod time_zone;
mod timers;
mod trigger_dialog;
mod trigger_table;

pub use activity_chart::ActivityChart;
pub use address::{use_address, Address, Params};
pub use date_range::DateRange;
pub use filter_bar::{
    AggregationFilter, ClearFilters, EntityFilter, EventTypeFilter, ExportLinks, PluginFilter,
    SearchBox, StatusFilter, TextFilter,
};
pub use frame_height::report_height_to_parent;
pub use live::{Live, LiveRows, NewArrivals};
pub use local_time::{LocalTime, TimeZoneNote};
pub use log_view::LogView;
pub use pager::{PageTrail, Pager};
pub use rerun_button::RerunButton;
pub use states::{EmptyState, ErrorState};
pub use status_badge::StatusBadge;
pub use status_summary::StatusSummary;
pub use trigger_dialog::{DialogKind, TriggerDialog};
pub use trigger_table::{entity_href, TriggerTable};
