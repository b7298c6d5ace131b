use leptos::prelude::*;

use super::components::{report_height_to_parent, TriggerTable};
use crate::domain::{ErrorBody, Page, PanelScope, Trigger, TriggerFilter};
use crate::server_fns::{embedded_panel, list_triggers};

/// One entity's log panel, for another application's iframe
/// (`/embed/{type}/{id}?token=…`): that entity's triggers, newest first, with
/// their payloads and logs, and a re-run button when the token allows it. No
/// filters and no way into the rest of the log: the token sees this entity only.
#[component]
pub fn EmbedPage() -> impl IntoView {
    // The server answers every call here as the token's holder, so the entity
    // comes from the token, not from the address.
    let panel = Resource::new(|| (), |_| load());
    report_height_to_parent();
    view! {
        <section class="embed-panel" data-testid="embed-panel">
            <Suspense fallback=|| view! { <p class="muted">"Loading triggers…"</p> }>
                {move || Suspend::new(async move {
                    match panel.await {
                        Ok((scope, page)) => view! {
                            <h1 class="panel-title">
                                {format!("{} / {}", scope.entity.entity_type, scope.entity.id)}
                            </h1>
                            <TriggerTable
                                triggers=page.items
                                link_entities=false
                                can_rerun=scope.can_rerun
                            />
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

async fn load() -> Result<(PanelScope, Page<Trigger>), ErrorBody> {
    let scope = embedded_panel().await?;
    let filter = TriggerFilter {
        entity_type: Some(scope.entity.entity_type.clone()),
        entity_id: Some(scope.entity.id.clone()),
        ..Default::default()
    };
    let page = list_triggers(filter, None).await?;
    Ok((scope, page))
}
