use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::components::{LogView, TimeZoneNote};
use crate::domain::EntityRef;

/// One record's activity feed (`/entities/{type}/{id}`): the log with the entity
/// fixed, as a customer's, invoice's or contract's history.
#[component]
pub fn EntityPage() -> impl IntoView {
    let params = use_params_map();
    let entity = Memo::new(move |_| {
        let p = params.read();
        Some(EntityRef {
            entity_type: p.get("entity_type").unwrap_or_default(),
            id: p.get("entity_id").unwrap_or_default(),
        })
    });
    let title = move || {
        entity
            .get()
            .map(|e| format!("{} {}", e.entity_type, e.id))
            .unwrap_or_default()
    };
    view! {
        <Title text=move || format!("{} · Calltrail", title())/>
        <header class="page-head">
            <p class="crumbs"><a href="/">"Integration log"</a> " / " {move || entity.get().map(|e| e.entity_type)}</p>
            <h1 data-testid="entity-title">{title}</h1>
            <p class="muted">"Every trigger about this record, newest first."</p>
            <TimeZoneNote/>
        </header>
        <LogView entity/>
    }
}
