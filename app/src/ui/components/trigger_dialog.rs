use leptos::prelude::*;

use super::attempt_card::run_reasons;
use super::{AttemptCard, CopyButton, DetailsRemoved, JsonView, Modal, StatusBadge, Timeline};
use crate::domain::TriggerDetail;
use crate::server_fns::get_trigger;

/// Which read-only view of a trigger is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    Payload,
    Logs,
}

/// A modal, read-only view of one trigger's payload or its logs and attempts.
/// Nothing here edits anything: log lines are never changed.
#[component]
pub fn TriggerDialog(id: String, kind: DialogKind, on_close: Callback<()>) -> impl IntoView {
    let detail = Resource::new(move || id.clone(), get_trigger);
    let title = match kind {
        DialogKind::Payload => "Payload",
        DialogKind::Logs => "Logs",
    };
    view! {
        <Modal title testid=format!("{}-dialog", title.to_lowercase()) on_close>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => match kind {
                            DialogKind::Payload => view! { <PayloadView d/> }.into_any(),
                            DialogKind::Logs => view! { <LogsView d/> }.into_any(),
                        },
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </Modal>
    }
}

#[component]
fn PayloadView(d: TriggerDetail) -> impl IntoView {
    // Not an empty payload: one that is no longer kept.
    if let Some(at) = d.trigger.details_removed_at {
        return view! { <DetailsRemoved at/> }.into_any();
    }
    let payload = d.trigger.payload;
    let text = serde_json::to_string_pretty(&payload).unwrap_or_default();
    view! {
        <div class="dialog-tools">
            <p class="muted">"The data sent to the integration. Read-only; secrets show as [redacted]."</p>
            <CopyButton text what="the payload"/>
        </div>
        <JsonView value=payload label="Payload" testid="payload-json"/>
    }
    .into_any()
}

#[component]
fn LogsView(d: TriggerDetail) -> impl IntoView {
    let t = d.trigger.trigger;
    let summary = match (&t.external_id, &t.last_error) {
        (Some(x), _) => format!("External id {x}"),
        (None, Some(e)) => format!("{}: {}", e.class.as_str().replace('_', " "), e.class.hint()),
        _ => String::new(),
    };
    let reasons = run_reasons(&d.logs);
    let plugin = t.plugin.clone();
    let removed = d.trigger.details_removed_at;
    view! {
        <p class="summary">
            <StatusBadge status=t.status/>
            " "
            <span>{summary}</span>
        </p>
        {removed.map(|at| view! { <DetailsRemoved at/> })}
        <h3>"Processing steps"</h3>
        <Timeline logs=d.logs/>
        <h3>{format!("Attempts ({})", d.attempts.len())}</h3>
        {if d.attempts.is_empty() {
            view! { <p class="muted">"Not executed yet."</p> }.into_any()
        } else {
            view! {
                <ol class="attempts" data-testid="attempts">
                    {d
                        .attempts
                        .into_iter()
                        .map(|a| {
                            let log_line = reasons.get(&a.number).cloned();
                            view! { <AttemptCard a plugin=plugin.clone() log_line/> }
                        })
                        .collect_view()}
                </ol>
            }
            .into_any()
        }}
    }
}
