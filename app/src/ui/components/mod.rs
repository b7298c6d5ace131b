mod activity_chart;
mod address;
pub mod attempt_card;
mod copy_button;
mod date_range;
mod filter_bar;
mod form_field;
mod json_view;
mod live;
mod local_time;
mod log_view;
mod modal;
mod notice;
mod pager;
mod rerun_button;
mod states;
mod status_badge;
mod status_summary;
mod time_zone;
mod timeline;
mod trigger_dialog;
mod trigger_table;

pub use activity_chart::ActivityChart;
pub use address::{use_address, Address, Params};
pub use attempt_card::AttemptCard;
pub use copy_button::CopyButton;
pub use date_range::DateRange;
pub use filter_bar::{
    AggregationFilter, ClearFilters, EntityFilter, EventTypeFilter, ExportLinks, PluginFilter,
    SearchBox, StatusFilter, TextFilter,
};
pub use form_field::{hydrated, CheckField, TextArea, TextField};
pub use json_view::JsonView;
pub use live::{Live, LiveRows, Loaded, NewArrivals};
pub use local_time::{LocalTime, TimeZoneNote};
pub use log_view::LogView;
pub use modal::Modal;
pub use notice::{ErrorNote, NoAccess};
pub use pager::{PageTrail, Pager};
pub use rerun_button::{RerunButton, RerunGroupButton};
pub use states::{EmptyState, ErrorState};
pub use status_badge::StatusBadge;
pub use status_summary::StatusSummary;
pub use time_zone::local_midnight;
pub use timeline::Timeline;
pub use trigger_dialog::{DialogKind, TriggerDialog};
pub use trigger_table::{entity_href, TriggerTable};
