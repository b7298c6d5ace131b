use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::components::{
    DateRange, EntityChip, PluginFilter, SearchBox, StatusFilter, TriggerTable,
};
use crate::domain::{Status, TriggerFilter};
use crate::server_fns::{list_plugins, list_triggers};

/// The global integration log: newest triggers first, filtered by the address bar.
#[component]
pub fn LogPage() -> impl IntoView {
    let query = use_query_map();
    // The address bar is the filter: each parameter narrows the list (AND).
    let filter = Memo::new(move |_| {
        let q = query.read();
        TriggerFilter {
            plugin: q.get("plugin").into_iter().collect(),
            status: q
                .get("status")
                .as_deref()
                .and_then(Status::parse)
                .into_iter()
                .collect(),
            entity_type: q.get("entity_type"),
            entity_id: q.get("entity_id"),
            q: q.get("q").filter(|v| !v.trim().is_empty()),
            scheduled_from: instant(&q, "scheduled_from"),
            scheduled_to: instant(&q, "scheduled_to"),
            triggered_from: instant(&q, "triggered_from"),
            triggered_to: instant(&q, "triggered_to"),
            ..Default::default()
        }
    });
    let triggers = Resource::new(move || filter.get(), |f| list_triggers(f, None));
    let plugins = Resource::new(|| (), |_| list_plugins());

    view! {
        <section class="filters">
            <Suspense fallback=|| view! { <span class="muted">"Loading plugins…"</span> }>
                {move || Suspend::new(async move {
                    match plugins.await {
                        Ok(list) => view! {
                            <PluginFilter plugins=list/>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <StatusFilter/>
            <DateRange label="Scheduled" from_param="scheduled_from" to_param="scheduled_to"/>
            <DateRange label="Triggered" from_param="triggered_from" to_param="triggered_to"/>
            <SearchBox/>
        </section>
        <EntityChip/>
        <Transition fallback=|| view! { <p class="muted">"Loading triggers…"</p> }>
            {move || Suspend::new(async move {
                match triggers.await {
                    Ok(page) => view! { <TriggerTable triggers=page.items/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn instant(
    q: &leptos_router::params::ParamsMap,
    key: &str,
) -> Option<chrono::DateTime<chrono::Utc>> {
    q.get(key)
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}
