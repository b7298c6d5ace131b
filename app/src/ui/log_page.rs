use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::components::{
    DateRange, EntityChip, ExportLinks, PluginFilter, SearchBox, StatusFilter, TriggerTable,
};
use crate::domain::ListQuery;
use crate::server_fns::{list_plugins, list_triggers};

/// The global integration log: newest triggers first, filtered by the address bar.
#[component]
pub fn LogPage() -> impl IntoView {
    let query = use_query_map();
    // The address bar is the filter: each parameter narrows the list (AND).
    // It is read as the REST list reads its query, except that a parameter the list
    // would refuse is left out rather than failing the page.
    let filter = Memo::new(move |_| {
        let address = query.read().to_query_string();
        let mut filter = ListQuery::parse_lenient(address.trim_start_matches('?')).filter;
        filter.q = filter.q.filter(|v| !v.trim().is_empty());
        filter
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
            <ExportLinks/>
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
