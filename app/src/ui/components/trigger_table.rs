use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::address::encode;
use super::live::LiveRows;
use super::{DialogKind, LocalTime, RerunButton, StatusBadge, TriggerDialog};
use crate::domain::{event_type_words, InitiatorKind, Status, Trigger};

/// The integration log table: one row per trigger. Wide screens see a table
/// that fits 1280 px; below ~700 px the stylesheet turns each row into a card
/// led by its status (each cell names itself through `data-label`).
///
/// A row opens the trigger's page when clicked (its type is a link, for the
/// keyboard). In an embedded panel nothing links out (the rest of the log is not
/// there to go to), and a re-run button shows only when the panel may re-run.
/// Inside a [`LiveRows`] context, a row follows its trigger's latest state.
#[component]
pub fn TriggerTable(
    triggers: Vec<Trigger>,
    #[prop(default = true)] link_entities: bool,
    #[prop(optional)] can_rerun: bool,
    /// Plugin names to their display names; a plugin not here shows its name.
    #[prop(optional)]
    display_names: BTreeMap<String, String>,
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
                    <th scope="col">"Plugin"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Entity"</th>
                    <th scope="col">"Initiator"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Scheduled"</th>
                    <th scope="col">"Triggered"</th>
                    <th scope="col" class="num">"Duration"</th>
                    <th scope="col" class="num">"Attempts"</th>
                    <th scope="col">"External id"</th>
                    <th scope="col"><span class="visually-hidden">"Details"</span></th>
                </tr>
            </thead>
            <tbody>
                {triggers
                    .into_iter()
                    .map(|t| {
                        let plugin_name = display_names
                            .get(&t.plugin)
                            .cloned()
                            .unwrap_or_else(|| t.plugin.clone());
                        view! { <TriggerRow t plugin_name link_entities can_rerun/> }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn TriggerRow(
    t: Trigger,
    plugin_name: String,
    link_entities: bool,
    can_rerun: bool,
) -> impl IntoView {
    let id = t.id;
    let live = use_context::<LiveRows>();
    let first = t.clone();
    // What changes while the page is open (status, attempts, times) follows the
    // live state; the rest is as listed.
    let current = Memo::new(move |_| {
        live.and_then(|l| l.latest(id))
            .unwrap_or_else(|| first.clone())
    });
    let page = format!("/triggers/{id}");
    let navigate = use_navigate();
    let open_page = {
        let page = page.clone();
        move |ev: leptos::ev::MouseEvent| {
            if link_entities && !crate::browser::clicked_a_control(&ev) {
                navigate(&page, Default::default());
            }
        }
    };
    let words = event_type_words(&t.event_type);
    let kind = link_entities.then(|| page.clone());
    let open = RwSignal::new(None::<DialogKind>);
    let dialog_id = id.to_string();
    view! {
        <tr data-trigger-id=id.to_string() class:linked=link_entities on:click=open_page>
            <td class="plugin" data-label="Plugin" title=t.plugin.clone()>{plugin_name}</td>
            <td class="type" data-label="Type">
                {match kind {
                    Some(href) => view! { <a href=href title=t.event_type.clone()>{words}</a> }.into_any(),
                    None => view! { <span title=t.event_type.clone()>{words}</span> }.into_any(),
                }}
            </td>
            <td class="action" data-label="Action">{t.action.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="entity" data-label="Entity">{entity_cell(&t, link_entities)}</td>
            <td class="initiator" data-label="Initiator">
                <span class="kind">{initiator_kind_words(t.initiator.kind)}</span>
                " "
                <span class="name">{t.initiator.name.clone()}</span>
            </td>
            <td class="status" data-label="Status">{move || view! { <StatusCell t=current.get()/> }}</td>
            <td class="time" data-label="Scheduled"><LocalTime at=t.scheduled_at/></td>
            <td class="time" data-label="Triggered">
                {move || match current.get().triggered_at {
                    Some(at) => view! { <LocalTime at/> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td class="num duration" data-label="Duration">
                {move || current.get().duration_ms.map(duration_words).unwrap_or_else(|| "—".into())}
            </td>
            <td class="num attempts" data-label="Attempts">{move || current.get().attempts}</td>
            <td class="external-id" data-label="External id">
                {move || current.get().external_id.unwrap_or_else(|| "—".into())}
            </td>
            <td class="actions">
                <button class="link" data-testid="open-payload" on:click=move |_| open.set(Some(DialogKind::Payload))>
                    "Payload"
                </button>
                <button class="link" data-testid="open-logs" on:click=move |_| open.set(Some(DialogKind::Logs))>
                    "Logs"
                </button>
                {can_rerun.then(|| view! { <span class="rerun"><RerunButton id=id.to_string()/></span> })}
                {move || {
                    open.get().map(|kind| {
                        view! {
                            <TriggerDialog id=dialog_id.clone() kind on_close=Callback::new(move |_| open.set(None))/>
                        }
                    })
                }}
            </td>
        </tr>
    }
}

/// The status badge, and what the reader wants next to it: when a retrying
/// trigger runs again, why an erroneous one failed.
#[component]
fn StatusCell(t: Trigger) -> impl IntoView {
    let retry_at = (t.status == Status::Retrying)
        .then_some(t.next_attempt_at)
        .flatten();
    let failure = (t.status == Status::Erroneous)
        .then_some(t.last_error)
        .flatten();
    view! {
        <StatusBadge status=t.status/>
        {retry_at.map(|at| view! { <span class="retry-at">"next " <LocalTime at relative=true due=true/></span> })}
        {failure.map(|e| {
            view! {
                <span class="failure" title=e.class.hint()>{e.class.as_str().replace('_', " ")}</span>
            }
        })}
    }
}

/// The record a trigger is about, linking to that record's own page.
fn entity_cell(t: &Trigger, link: bool) -> AnyView {
    let Some(e) = &t.entity else {
        return view! { <span class="muted">"—"</span> }.into_any();
    };
    let text = format!("{} / {}", e.entity_type, e.id);
    if !link {
        return view! { <span>{text}</span> }.into_any();
    }
    let href = entity_href(&e.entity_type, &e.id);
    view! { <a href=href>{text}</a> }.into_any()
}

/// The page of one record's activity.
pub fn entity_href(entity_type: &str, entity_id: &str) -> String {
    format!("/entities/{}/{}", encode(entity_type), encode(entity_id))
}

/// Who started a trigger, as a word.
fn initiator_kind_words(kind: InitiatorKind) -> &'static str {
    match kind {
        InitiatorKind::Automation => "Automation",
        InitiatorKind::Agent => "Agent",
        InitiatorKind::User => "User",
        InitiatorKind::System => "System",
        InitiatorKind::ApiKey => "API key",
    }
}

/// How long a call took, in the unit that reads best: "240 ms", "1.3 s", "2 min 5 s".
fn duration_words(ms: i64) -> String {
    match ms {
        ..=999 => format!("{} ms", ms.max(0)),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration_words(240), "240 ms");
        assert_eq!(duration_words(1_250), "1.2 s");
        assert_eq!(duration_words(125_000), "2 min 5 s");
    }

    #[test]
    fn an_entity_page_address_keeps_odd_ids_in_one_segment() {
        assert_eq!(entity_href("invoice", "INV-7"), "/entities/invoice/INV-7");
        assert_eq!(entity_href("a b", "x/y"), "/entities/a%20b/x%2Fy");
    }
}
