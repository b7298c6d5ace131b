use leptos::prelude::*;

use super::{DialogKind, LocalTime, RerunButton, StatusBadge, TriggerDialog};
use crate::domain::Trigger;

/// The integration log table: one row per trigger.
///
/// In an embedded panel the entity is not a link (the rest of the log is not
/// there to go to), and a re-run button shows only when the panel may re-run.
#[component]
pub fn TriggerTable(
    triggers: Vec<Trigger>,
    #[prop(default = true)] link_entities: bool,
    #[prop(optional)] can_rerun: bool,
) -> impl IntoView {
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
                    <th>"Payload"</th>
                    <th class="num">"Attempts"</th>
                    <th>"Logs"</th>
                    <th>"Status"</th>
                    {can_rerun.then(|| view! { <th>"Re-run"</th> })}
                </tr>
            </thead>
            <tbody>
                {triggers
                    .into_iter()
                    .map(|t| view! { <TriggerRow t link_entities can_rerun/> })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn TriggerRow(t: Trigger, link_entities: bool, can_rerun: bool) -> impl IntoView {
    // The entity links to that entity's own log: what a record's detail page shows.
    let entity = t.entity.as_ref().map(|e| {
        let text = format!("{} / {}", e.entity_type, e.id);
        if !link_entities {
            return view! { <span>{text}</span> }.into_any();
        }
        let href = format!(
            "/?entity_type={}&entity_id={}",
            encode(&e.entity_type),
            encode(&e.id)
        );
        view! { <a href=href>{text}</a> }.into_any()
    });
    let open = RwSignal::new(None::<DialogKind>);
    let id = t.id.to_string();
    let detail_line = match (t.status, &t.external_id) {
        (crate::domain::Status::Finished, Some(x)) => Some(x.clone()),
        _ => None,
    };
    let retry_at = (t.status == crate::domain::Status::Retrying)
        .then_some(t.next_attempt_at)
        .flatten();
    view! {
        <tr data-trigger-id=t.id.to_string()>
            <td class="plugin">{t.plugin.clone()}</td>
            <td class="type">{t.event_type.clone()}</td>
            <td>{t.action.clone().unwrap_or_default()}</td>
            <td class="entity">{entity.unwrap_or_else(|| "—".into_any())}</td>
            <td><LocalTime at=t.scheduled_at/></td>
            <td>
                {match t.triggered_at {
                    Some(at) => view! { <LocalTime at/> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td>
                <button class="link" data-testid="open-payload" on:click=move |_| open.set(Some(DialogKind::Payload))>
                    "Payload"
                </button>
            </td>
            <td class="num">{t.attempts}</td>
            <td>
                <button class="link" data-testid="open-logs" on:click=move |_| open.set(Some(DialogKind::Logs))>
                    "Logs"
                </button>
            </td>
            <td class="status">
                <StatusBadge status=t.status/>
                {detail_line.map(|x| view! { <span class="external-id" title="External record id">{x}</span> })}
                {retry_at.map(|at| view! { <span class="retry-at">"next "<LocalTime at/></span> })}
                {move || {
                    open.get().map(|kind| {
                        view! {
                            <TriggerDialog id=id.clone() kind on_close=Callback::new(move |_| open.set(None))/>
                        }
                    })
                }}
            </td>
            {can_rerun.then(|| view! { <td class="rerun"><RerunButton id=t.id.to_string()/></td> })}
        </tr>
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
