use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::components::{
    EmptyState, ErrorState, Live, Loaded, NewArrivals, PageTrail, Pager, TimeZoneNote, TriggerTable,
};
use crate::domain::{ErrorBody, ListQuery, Page, PanelScope, Trigger, TriggerFilter};
use crate::server_fns::{count_triggers, embedded_panel, list_triggers};

/// What the panel shows: whose it is, which page, that page, and how many
/// triggers the entity had when it was read.
type Panel = (PanelScope, Option<String>, Page<Trigger>, u64);

/// One entity's log panel, for another application's iframe
/// (`/embed/{type}/{id}?token=…`): that entity's triggers, newest first, a page
/// at a time, with their payloads and logs, and a re-run button when the token
/// allows it. No filters and no way into the rest of the log: the token sees
/// this entity only. Like the log, it follows its rows live: statuses change in
/// place, and new triggers are announced ("1 new — show"), not pushed in.
#[component]
pub fn EmbedPage() -> impl IntoView {
    let query = use_query_map();
    // Only the page is read from the address (the token is the client's to send).
    let cursor = Memo::new(move |_| {
        let address = query.read().to_query_string();
        ListQuery::parse_lenient(address.trim_start_matches('?')).cursor
    });
    // The server answers every call here as the token's holder, so the entity
    // comes from the token, not from the address.
    let panel = Resource::new(move || cursor.get(), load);
    let trail = PageTrail::new();
    let loaded = RwSignal::new(None);
    Effect::new(move |_| {
        loaded.set(panel.get().map(|r| {
            r.map(|(scope, cursor, ..)| Loaded {
                filter: entity_filter(&scope),
                cursor,
            })
        }))
    });
    let live = Live::start(loaded.into());
    crate::browser::report_height_to_parent();
    view! {
        <section class="embed-panel" data-testid="embed-panel">
            <Suspense fallback=|| view! { <p class="muted">"Loading triggers…"</p> }>
                {move || Suspend::new(async move {
                    match panel.await {
                        Ok((scope, cursor, page, total)) => {
                            let shown = page.items.len();
                            view! {
                                <header class="panel-head">
                                    <h1 class="panel-title">
                                        {format!("{} / {}", scope.entity.entity_type, scope.entity.id)}
                                    </h1>
                                    <TimeZoneNote/>
                                </header>
                                <NewArrivals
                                    live
                                    loaded=total
                                    statuses=Vec::new()
                                    on_show=Callback::new(move |_| panel.refetch())
                                />
                                {if page.items.is_empty() {
                                    view! { <EmptyState filtered=cursor.is_some() record=true/> }.into_any()
                                } else {
                                    view! {
                                        <TriggerTable
                                            triggers=page.items
                                            link_entities=false
                                            can_rerun=scope.can_rerun
                                        />
                                        <Pager current=cursor next=page.next_cursor shown trail/>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorState error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

async fn load(cursor: Option<String>) -> Result<Panel, ErrorBody> {
    let scope = embedded_panel().await?;
    let filter = entity_filter(&scope);
    let page = list_triggers(filter.clone(), cursor.clone()).await?;
    let total = count_triggers(filter).await?.count;
    Ok((scope, cursor, page, total))
}

/// The panel's entity, as a filter of the log.
fn entity_filter(scope: &PanelScope) -> TriggerFilter {
    TriggerFilter {
        entity_type: Some(scope.entity.entity_type.clone()),
        entity_id: Some(scope.entity.id.clone()),
        ..Default::default()
    }
}
