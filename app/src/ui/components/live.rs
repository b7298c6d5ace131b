//! The log, live: every few seconds (while the tab is visible) the page asks
//! again for what it shows. Rows on screen take their new status in place; new
//! triggers do not push the list down under the reader, they are announced
//! ("3 new — show") and shown when asked.

use std::collections::HashMap;

use leptos::prelude::*;
use uuid::Uuid;

use crate::browser::{every, page_visible};
use crate::domain::{ErrorBody, Status, Trigger, TriggerCount, TriggerFilter};
use crate::server_fns::{count_triggers, list_triggers};

/// How often the page asks again.
const POLL_MS: u32 = 5_000;

/// Which list was loaded: its filter and page.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub filter: TriggerFilter,
    pub cursor: Option<String>,
}

/// The latest state of the triggers on screen, by id (empty until the first poll).
#[derive(Clone, Copy)]
pub struct LiveRows(RwSignal<HashMap<Uuid, Trigger>>);

impl LiveRows {
    /// The latest state of one trigger, if a poll has seen it (tracked).
    pub fn latest(&self, id: Uuid) -> Option<Trigger> {
        self.0.with(|rows| rows.get(&id).cloned())
    }
}

/// What the polls found; a new filter or page starts it afresh.
#[derive(Clone, Copy)]
pub struct Live {
    pub rows: LiveRows,
    /// The counts per status for the filter without its statuses, as last polled.
    pub counts: RwSignal<Option<TriggerCount>>,
    /// Bumped every sixth poll: slower things (the chart) refresh on it.
    pub slow_tick: RwSignal<u32>,
}

impl Live {
    /// Poll for the list as it was last loaded (`loaded`: its filter and page, or
    /// the error it failed with: then nothing is polled), in the browser, after
    /// hydration; and put the rows' latest state in the context for the table.
    pub fn start(loaded: Signal<Option<Result<Loaded, ErrorBody>>>) -> Live {
        let live = Live {
            rows: LiveRows(RwSignal::new(HashMap::new())),
            counts: RwSignal::new(None),
            slow_tick: RwSignal::new(0),
        };
        provide_context(live.rows);
        // What was polled before the list was loaded again says nothing new.
        Effect::new(move |_| {
            loaded.track();
            live.forget();
        });
        let busy = StoredValue::new(false);
        let mut polls = 0u32;
        every(POLL_MS, move || {
            let Some(Ok(asked)) = loaded.get_untracked() else {
                return;
            };
            if busy.get_value() || !page_visible() {
                return;
            }
            polls += 1;
            if polls.is_multiple_of(6) {
                live.slow_tick.update(|t| *t += 1);
            }
            busy.set_value(true);
            leptos::task::spawn_local(async move {
                let page = list_triggers(asked.filter.clone(), asked.cursor.clone()).await;
                let counts = count_triggers(without_status(&asked.filter)).await;
                busy.set_value(false);
                // The list was loaded again (another filter, page, or afresh) meanwhile.
                if loaded.get_untracked() != Some(Ok(asked)) {
                    return;
                }
                if let Ok(page) = page {
                    let rows = page.items.into_iter().map(|t| (t.id, t)).collect();
                    live.rows.0.set(rows);
                }
                if let Ok(counts) = counts {
                    live.counts.set(Some(counts));
                }
            });
        });
        live
    }

    /// Drop what the polls found (the list was just loaded afresh).
    pub fn forget(&self) {
        self.rows.0.set(HashMap::new());
        self.counts.set(None);
    }
}

/// The filter with its statuses taken out: the chips count every status.
pub fn without_status(filter: &TriggerFilter) -> TriggerFilter {
    TriggerFilter {
        status: Vec::new(),
        ..filter.clone()
    }
}

/// How many triggers the statuses chosen (all when none) hold in `counts`.
pub fn matching(counts: &TriggerCount, statuses: &[Status]) -> u64 {
    if statuses.is_empty() {
        return counts.count;
    }
    statuses
        .iter()
        .map(|s| counts.by_status.get(s.as_str()).copied().unwrap_or(0))
        .sum()
}

/// "3 new — show": triggers that match the filters and arrived since the list
/// was loaded. Showing them loads the first page afresh.
#[component]
pub fn NewArrivals(
    live: Live,
    /// How many matched when the list was loaded.
    loaded: u64,
    statuses: Vec<Status>,
    on_show: Callback<()>,
) -> impl IntoView {
    let statuses = StoredValue::new(statuses);
    let fresh = move || {
        live.counts
            .with(|c| c.as_ref().map(|c| statuses.with_value(|s| matching(c, s))))
            .map_or(0, |now| now.saturating_sub(loaded))
    };
    view! {
        <div class="new-arrivals" role="status" aria-live="polite">
            <Show when=move || { fresh() > 0 }>
                <button type="button" class="new-banner" data-testid="new-arrivals" on:click=move |_| on_show.run(())>
                    {move || format!("{} new — show", fresh())}
                </button>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matching_count_is_the_chosen_statuses_or_all() {
        let counts = TriggerCount::new([(Status::Finished, 3), (Status::Erroneous, 2)]);
        assert_eq!(matching(&counts, &[]), 5);
        assert_eq!(matching(&counts, &[Status::Erroneous]), 2);
        assert_eq!(matching(&counts, &[Status::Running]), 0);
    }
}
