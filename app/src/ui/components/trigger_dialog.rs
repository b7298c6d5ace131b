use leptos::prelude::*;

use super::{LocalTime, StatusBadge};
use crate::domain::{Attempt, LogEntry, TriggerDetail};
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
        <div class="modal-backdrop" on:click=move |_| on_close.run(())>
            <div
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-label=title
                data-testid=format!("{}-dialog", title.to_lowercase())
                on:click=|ev| ev.stop_propagation()
            >
                <header class="modal-head">
                    <h2>{title}</h2>
                    <button class="close" aria-label="Close" on:click=move |_| on_close.run(())>
                        "×"
                    </button>
                </header>
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
            </div>
        </div>
    }
}

#[component]
fn PayloadView(d: TriggerDetail) -> impl IntoView {
    let text = serde_json::to_string_pretty(&d.trigger.payload).unwrap_or_default();
    view! {
        <p class="muted">"The data sent to the integration. Read-only; secrets show as [redacted]."</p>
        <pre class="json" data-testid="payload-json">{text}</pre>
    }
}

#[component]
fn LogsView(d: TriggerDetail) -> impl IntoView {
    let t = d.trigger.trigger;
    let summary = match (&t.external_id, &t.last_error, t.next_attempt_at) {
        (Some(x), _, _) => format!("External id {x}"),
        (None, Some(e), _) => format!("{}: {}", e.class.as_str().replace('_', " "), e.class.hint()),
        _ => String::new(),
    };
    view! {
        <p class="summary">
            <StatusBadge status=t.status/>
            " "
            <span>{summary}</span>
        </p>
        <h3>"Processing steps"</h3>
        <ol class="steps" data-testid="log-steps">
            {d.logs.into_iter().map(|l| view! { <LogLine l/> }).collect_view()}
        </ol>
        <h3>{format!("Attempts ({})", d.attempts.len())}</h3>
        {if d.attempts.is_empty() {
            view! { <p class="muted">"Not executed yet."</p> }.into_any()
        } else {
            view! {
                <ol class="attempts" data-testid="attempts">
                    {d.attempts.into_iter().map(|a| view! { <AttemptView a/> }).collect_view()}
                </ol>
            }
            .into_any()
        }}
    }
}

#[component]
fn LogLine(l: LogEntry) -> impl IntoView {
    view! {
        <li>
            <LocalTime at=l.at/>
            <span class="step">{l.step.as_str()}</span>
            <span class="message">{l.message}</span>
        </li>
    }
}

#[component]
fn AttemptView(a: Attempt) -> impl IntoView {
    let by = match &a.started_by.actor {
        Some(actor) => format!("{} by {actor}", a.started_by.kind.as_str()),
        None => a.started_by.kind.as_str().to_string(),
    };
    let status = a
        .response
        .as_ref()
        .map(|r| r.status.to_string())
        .unwrap_or_else(|| "no response".into());
    let response_body = match &a.response {
        // Bytes that are not text would show as garbage: say what they are instead.
        Some(r) => match r.binary_len() {
            Some(n) => format!("binary body, {n} bytes (base64)"),
            None => r.body.clone().unwrap_or_default(),
        },
        None => String::new(),
    };
    let truncated = a.response.as_ref().is_some_and(|r| r.truncated);
    let request = format!("{} {}", a.request.method, a.request.url);
    let request_body = a.request.body.clone().unwrap_or_default();
    view! {
        <li class=format!("attempt class-{}", a.class.as_str())>
            <div class="attempt-head">
                <strong>{format!("#{}", a.number)}</strong>
                <LocalTime at=a.started_at/>
                <span>{format!("{} ms", a.duration_ms)}</span>
                <span class="code">{status}</span>
                <span class="class">{a.class.as_str().replace('_', " ")}</span>
                <span class="muted">{by}</span>
            </div>
            <div class="decision">{a.decision.reason}</div>
            <details>
                <summary>"Request and response"</summary>
                <p class="mono">{request}</p>
                <pre class="json">{request_body}</pre>
                <p class="muted">{if truncated { "Response (cut at 64 KiB):" } else { "Response:" }}</p>
                <pre class="json">{response_body}</pre>
            </details>
        </li>
    }
}
