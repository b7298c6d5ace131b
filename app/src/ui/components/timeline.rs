use leptos::prelude::*;

use super::LocalTime;
use crate::domain::LogEntry;

/// A trigger's processing steps, oldest first: when, which step, what happened.
#[component]
pub fn Timeline(logs: Vec<LogEntry>) -> impl IntoView {
    if logs.is_empty() {
        return view! { <p class="muted">"No processing steps recorded."</p> }.into_any();
    }
    view! {
        <ol class="steps timeline" data-testid="log-steps">
            {logs
                .into_iter()
                .map(|l| {
                    view! {
                        <li class=format!("step-{}", l.step.as_str().replace(' ', "-"))>
                            <LocalTime at=l.at/>
                            <span class="step">{l.step.as_str()}</span>
                            <span class="message">{l.message}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}
