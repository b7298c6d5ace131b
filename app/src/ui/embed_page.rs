use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::components::{
    report_height_to_parent, EmptyState, ErrorState, PageTrail, Pager, TimeZoneNote, TriggerTable,
};
use crate::domain::{ErrorBody, ListQuery, Page, PanelScope, Trigger, TriggerFilter};
use crate::server_fns::{embedded_panel, list_triggers};

/// One entity's log panel, for another application's iframe
/// (`/embed/{type}/{id}?token=…`): that entity's triggers, newest first, a page
/// at a time, with their payloads and logs, and a re-run button when the token
/// allows it. No filters and no way into the rest of the log: the token sees
/// this entity only.
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
    report_height_to_parent();
    view! {
        <section class="embed-panel" data-testid="embed-panel">
            <Suspense fallback=|| view! { <p class="muted">"Loading triggers…"</p> }>
                {move || Suspend::new(async move {
                    match panel.await {
                        Ok((scope, cursor, page)) => {
                            let shown = page.items.len();
                            view! {
                                <header class="panel-head">
                                    <h1 class="panel-title">
                                        {format!("{} / {}", scope.entity.entity_type, scope.entity.id)}
                                    </h1>
                                    <TimeZoneNote/>
                                </header>
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

async fn load(
    cursor: Option<String>,
) -> Result<(PanelScope, Option<String>, Page<Trigger>), ErrorBody> {
    let scope = embedded_panel().await?;
    let filter = TriggerFilter {
        entity_type: Some(scope.entity.entity_type.clone()),
        entity_id: Some(scope.entity.id.clone()),
        ..Default::default()
    };
    let page = list_triggers(filter, cursor.clone()).await?;
    Ok((scope, cursor, page))
}
