use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::components::{PluginFilter, TriggerTable};
use crate::domain::TriggerFilter;
use crate::server_fns::{list_plugins, list_triggers};

/// The global integration log: newest triggers first, filtered by the address bar.
#[component]
pub fn LogPage() -> impl IntoView {
    let query = use_query_map();
    let selected_plugin = Memo::new(move |_| query.read().get("plugin"));
    let triggers = Resource::new(
        move || selected_plugin.get(),
        |plugin| {
            let filter = TriggerFilter {
                plugin: plugin.into_iter().collect(),
                ..Default::default()
            };
            list_triggers(filter, None)
        },
    );
    let plugins = Resource::new(|| (), |_| list_plugins());

    view! {
        <section class="filters">
            <Suspense fallback=|| view! { <span class="muted">"Loading plugins…"</span> }>
                {move || Suspend::new(async move {
                    match plugins.await {
                        Ok(list) => view! {
                            <PluginFilter plugins=list selected=selected_plugin.get_untracked()/>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
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
