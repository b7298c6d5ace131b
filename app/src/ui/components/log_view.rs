//! The integration log as a page section: filters, counts, the activity chart,
//! the table and its pages, kept live. The global log (`/`) shows it whole; a
//! record's page (`/entities/{type}/{id}`) shows it with the entity fixed.
//!
//! The address bar is its state, read by `ListQuery::parse_lenient` alone (the
//! REST list's parser, lenient: a parameter the list would refuse is left out).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::activity_chart::ActivityChart;
use super::filter_bar::{
    AggregationFilter, ClearFilters, EntityFilter, EventTypeFilter, ExportLinks, PluginFilter,
    SearchBox, StatusFilter,
};
use super::live::{without_status, Live, Loaded, NewArrivals};
use super::pager::{PageTrail, Pager};
use super::states::{EmptyState, ErrorState};
use super::status_summary::StatusSummary;
use super::{DateRange, TriggerTable};
use crate::domain::{
    EntityRef, ErrorBody, ListQuery, Page, PluginSummary, Trigger, TriggerCount, TriggerFilter,
};
use crate::server_fns::{count_triggers, list_plugins, list_triggers};
use crate::ui::use_caller;

/// One load of the log: a page of triggers and the counts of the filter it
/// was loaded for.
#[derive(Clone, Serialize, Deserialize)]
struct LogData {
    filter: TriggerFilter,
    cursor: Option<String>,
    page: Page<Trigger>,
    counts: TriggerCount,
}

async fn load(filter: TriggerFilter, cursor: Option<String>) -> Result<LogData, ErrorBody> {
    let (page, counts) = futures::future::join(
        list_triggers(filter.clone(), cursor.clone()),
        count_triggers(without_status(&filter)),
    )
    .await;
    Ok(LogData {
        filter,
        cursor,
        page: page?,
        counts: counts?,
    })
}

/// The log for the address bar's filters; with `entity`, that record's only
/// (and no entity filter).
#[component]
pub fn LogView(#[prop(optional, into)] entity: MaybeProp<EntityRef>) -> impl IntoView {
    let query = use_query_map();
    let list_query = Memo::new(move |_| {
        let address = query.read().to_query_string();
        let mut q = ListQuery::parse_lenient(address.trim_start_matches('?'));
        // Blank is no search; a text too short to search for is not sent either (the
        // search box says why), so the log stays what it was rather than an error.
        q.filter.q = q
            .filter
            .q
            .filter(|v| !v.trim().is_empty() && !crate::domain::search_too_short(v));
        if let Some(e) = entity.get() {
            q.filter.entity_type = Some(e.entity_type);
            q.filter.entity_id = Some(e.id);
        }
        q
    });
    let filter = Memo::new(move |_| list_query.read().filter.clone());
    let cursor = Memo::new(move |_| list_query.read().cursor.clone());
    let data = Resource::new(move || (filter.get(), cursor.get()), |(f, c)| load(f, c));
    // The list as last loaded, for what follows it (polls, the chart): copied
    // out of the resource by an effect, so in the browser only, after hydration.
    let loaded = RwSignal::new(None);
    Effect::new(move |_| {
        loaded.set(data.get().map(|r| {
            r.map(|d| Loaded {
                filter: d.filter,
                cursor: d.cursor,
            })
        }))
    });
    let loaded = Signal::from(loaded);
    let live = Live::start(loaded);
    let trail = PageTrail::new();
    let plugins = Resource::new(|| (), |_| list_plugins());
    let caller = use_caller();
    let record = entity.get_untracked().is_some();
    // Filters the reader chose, beyond the page's own entity.
    let filtered = move |d: &LogData| {
        let mut chosen = d.filter.clone();
        if record {
            chosen.entity_type = None;
            chosen.entity_id = None;
        }
        chosen != TriggerFilter::default() || d.cursor.is_some()
    };
    let address = super::address::use_address();
    let show_new = Callback::new(move |_: ()| {
        live.forget();
        if cursor.get_untracked().is_some() {
            address.go(|p| p.remove("cursor"));
        } else {
            data.refetch();
        }
    });
    view! {
        <FilterPanel plugins record filter/>
        <div class="overview">
            <Transition fallback=|| view! { <p class="muted">"Counting…"</p> }>
                {move || Suspend::new(async move {
                    data.await.ok().map(|d| {
                        let latest = d
                            .cursor
                            .is_none()
                            .then(|| d.page.items.first().map(|t| t.scheduled_at))
                            .flatten();
                        view! { <StatusSummary loaded=d.counts live statuses=d.filter.status latest/> }
                    })
                })}
            </Transition>
            <ActivityChart loaded refresh=live.slow_tick/>
        </div>
        <Transition fallback=|| view! { <p class="muted loading">"Loading triggers…"</p> }>
            {move || Suspend::new(async move {
                let (data, plugins, caller) = (data.await, plugins.await, caller.await);
                let d = match data {
                    Ok(d) => d,
                    Err(error) => return view! { <ErrorState error/> }.into_any(),
                };
                if d.page.items.is_empty() {
                    return view! { <EmptyState filtered=filtered(&d) record/> }.into_any();
                }
                let can_rerun = caller.is_ok_and(|c| c.can_rerun);
                let display_names = display_names(plugins.unwrap_or_default());
                let total = super::live::matching(&d.counts, &d.filter.status);
                let shown = d.page.items.len();
                view! {
                    <NewArrivals live loaded=total statuses=d.filter.status.clone() on_show=show_new/>
                    <div class="table-wrap">
                        <TriggerTable triggers=d.page.items can_rerun display_names/>
                    </div>
                    <Pager current=d.cursor next=d.page.next_cursor shown total trail/>
                }
                .into_any()
            })}
        </Transition>
    }
}

/// Every filter of the log; the entity's only off a record's page.
#[component]
fn FilterPanel(
    plugins: Resource<Result<Vec<PluginSummary>, ErrorBody>>,
    /// On a record's page: no entity filter.
    record: bool,
    filter: Memo<TriggerFilter>,
) -> impl IntoView {
    view! {
        <section class="filters" aria-label="Filters">
            <SearchBox/>
            <Suspense fallback=|| view! { <span class="muted">"Loading plugins…"</span> }>
                {move || Suspend::new(async move {
                    match plugins.await {
                        Ok(list) => view! {
                            <PluginFilter plugins=list.clone()/>
                            <StatusFilter/>
                            <EventTypeFilter plugins=list/>
                        }.into_any(),
                        Err(error) => view! { <StatusFilter/> <ErrorState error/> }.into_any(),
                    }
                })}
            </Suspense>
            {(!record).then(|| view! { <EntityFilter/> })}
            <AggregationFilter/>
            <DateRange label="Scheduled" from_param="scheduled_from" to_param="scheduled_to"/>
            <DateRange label="Triggered" from_param="triggered_from" to_param="triggered_to"/>
            <div class="filter-actions">
                <ClearFilters/>
                <ExportLinks filter/>
            </div>
        </section>
    }
}

fn display_names(plugins: Vec<PluginSummary>) -> BTreeMap<String, String> {
    plugins
        .into_iter()
        .map(|p| (p.name, p.display_name))
        .collect()
}
