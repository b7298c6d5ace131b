use leptos::prelude::*;

use super::{LocalTime, StatusBadge};
use crate::domain::Trigger;

/// The integration log table: one row per trigger.
#[component]
pub fn TriggerTable(triggers: Vec<Trigger>) -> impl IntoView {
    if triggers.is_empty() {
        return view! {
            <p class="empty" data-testid="empty">
                "No triggers match these filters."
            </p>
        }
        .into_any();
    }
    view! {
        <table class="log" data-testid="trigger-table">
            <thead>
                <tr>
                    <th>"Plugin"</th>
                    <th>"Type"</th>
                    <th>"Action"</th>
                    <th>"Entity"</th>
                    <th>"Scheduled"</th>
                    <th>"Triggered"</th>
                    <th class="num">"Attempts"</th>
                    <th>"Status"</th>
                </tr>
            </thead>
            <tbody>
                {triggers.into_iter().map(|t| view! { <TriggerRow t/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn TriggerRow(t: Trigger) -> impl IntoView {
    let entity = t
        .entity
        .as_ref()
        .map(|e| format!("{} / {}", e.entity_type, e.id))
        .unwrap_or_else(|| "—".into());
    view! {
        <tr data-trigger-id=t.id.to_string()>
            <td class="plugin">{t.plugin.clone()}</td>
            <td class="type">{t.event_type.clone()}</td>
            <td>{t.action.clone().unwrap_or_default()}</td>
            <td class="entity">{entity}</td>
            <td><LocalTime at=t.scheduled_at/></td>
            <td>
                {match t.triggered_at {
                    Some(at) => view! { <LocalTime at/> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td class="num">{t.attempts}</td>
            <td><StatusBadge status=t.status/></td>
        </tr>
    }
}
