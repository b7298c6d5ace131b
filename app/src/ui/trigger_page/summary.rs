//! What a trigger is and where it stands, as one list of facts.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::domain::{event_type_words, InitiatorKind, Status, Trigger};
use crate::ui::components::attempt_card::{duration_words, Hint};
use crate::ui::components::{LocalTime, StatusBadge};
use crate::ui::links::{entity_href, group_log_href, plugin_href};

/// Who started a trigger, in words: "Automation: Nightly billing run".
fn initiator_words(kind: InitiatorKind, name: &str) -> String {
    let kind = match kind {
        InitiatorKind::Automation => "Automation",
        InitiatorKind::Agent => "Agent",
        InitiatorKind::User => "User",
        InitiatorKind::System => "System",
        InitiatorKind::ApiKey => "API key",
    };
    format!("{kind}: {name}")
}

#[component]
pub fn Summary(t: Trigger, plugin_display: String) -> impl IntoView {
    let waiting = !t.status.is_final();
    let next = t.next_attempt_at.filter(|_| waiting);
    let last_error = t
        .last_error
        .clone()
        .filter(|_| t.status != Status::Finished);
    let error_plugin = t.plugin.clone();
    let plugin = t.plugin.clone();
    view! {
        <dl class="facts" data-testid="trigger-summary">
            <Fact label="Status">
                <StatusBadge status=t.status/>
            </Fact>
            <Fact label="Plugin">
                <a href=plugin_href(&plugin) title=plugin.clone()>{plugin_display}</a>
            </Fact>
            <Fact label="Type">
                <span title=t.event_type.clone()>{event_type_words(&t.event_type)}</span>
            </Fact>
            {t.action.clone().map(|action| view! { <Fact label="Action">{action}</Fact> })}
            <Fact label="Entity">
                {match &t.entity {
                    Some(e) => view! {
                        <a href=entity_href(e) data-testid="entity-link">
                            {format!("{} / {}", e.entity_type, e.id)}
                        </a>
                    }
                    .into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </Fact>
            <Fact label="Initiator">{initiator_words(t.initiator.kind, &t.initiator.name)}</Fact>
            {t.aggregation_key.clone().map(|key| view! {
                <Fact label="Aggregation key">
                    <a href=group_log_href(&key) title="The log of this group">{key.clone()}</a>
                </Fact>
            })}
            <Fact label="Scheduled"><Time at=Some(t.scheduled_at)/></Fact>
            <Fact label="Triggered"><Time at=t.triggered_at/></Fact>
            <Fact label="Finished"><Time at=t.finished_at/></Fact>
            {t.duration_ms.map(|ms| view! { <Fact label="Duration">{duration_words(ms)}</Fact> })}
            <Fact label="Attempts">{t.attempts}</Fact>
            {next.map(|at| view! {
                <Fact label="Next attempt"><LocalTime at relative=true due=true/></Fact>
            })}
            {t.external_id.clone().map(|x| view! {
                <Fact label="External id"><span class="mono" data-testid="external-id">{x}</span></Fact>
            })}
            {last_error.map(|e| {
                let plugin = error_plugin;
                view! {
                    <Fact label="Last error">
                        <span data-testid="last-error">{e.message}</span>
                        <Hint class=e.class plugin/>
                    </Fact>
                }
            })}
        </dl>
    }
}

/// One fact: its name and its value.
#[component]
fn Fact(label: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="fact">
            <dt>{label}</dt>
            <dd>{children()}</dd>
        </div>
    }
}

/// A time, or a dash when there is none yet.
#[component]
fn Time(at: Option<DateTime<Utc>>) -> impl IntoView {
    match at {
        Some(at) => view! { <LocalTime at/> }.into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initiators_read_as_who_started_it() {
        assert_eq!(
            initiator_words(InitiatorKind::Automation, "Nightly billing run"),
            "Automation: Nightly billing run"
        );
        assert_eq!(
            initiator_words(InitiatorKind::ApiKey, "crm"),
            "API key: crm"
        );
    }
}
