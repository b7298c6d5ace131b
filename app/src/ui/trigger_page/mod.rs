//! One trigger's page (`/triggers/{id}`): its summary, every attempt in order,
//! its processing steps, the other triggers of its aggregation group, and for
//! those who may, re-running it or its group. While the trigger can still change
//! (queued, running, retrying) the page follows it live (see `live`).

mod group;
mod live;
mod summary;

use group::GroupSiblings;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use summary::Summary;

use super::components::attempt_card::run_reasons;
use super::components::{
    AttemptCard, DetailsRemoved, DialogKind, RerunButton, RerunGroupButton, StatusBadge, Timeline,
    TriggerDialog,
};
use super::WhenAllowed;
use crate::domain::{event_type_words, ErrorBody, Trigger, TriggerDetail};
use crate::server_fns::{get_trigger, list_plugins};

#[component]
pub fn TriggerPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_trigger);
    let plugins = Resource::new(|| (), |_| list_plugins());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the trigger…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        // The display name when the plugin list says it; its name otherwise.
                        let display = plugins
                            .await
                            .ok()
                            .and_then(|list| {
                                list.into_iter().find(|p| p.name == d.trigger.trigger.plugin)
                            })
                            .map(|p| p.display_name)
                            .unwrap_or_else(|| d.trigger.trigger.plugin.clone());
                        view! { <TriggerView initial=d plugin_display=display/> }.into_any()
                    }
                    Err(e) => view! { <NotVisible e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Unknown, malformed or out of the caller's scope: the server does not say
/// which (it would tell who may see what), and neither do we.
#[component]
fn NotVisible(e: ErrorBody) -> impl IntoView {
    let known = matches!(
        e.code.as_str(),
        "not_found" | "forbidden" | "validation_failed"
    );
    if known {
        super::answer_not_found();
    }
    view! {
        <Title text="No such trigger · Calltrail"/>
        <section class="trigger-missing" data-testid="trigger-missing">
            <h1>"No such trigger, or not visible to you"</h1>
            {if known {
                view! {
                    <p class="muted">
                        "Check the address, or ask an administrator for access to its plugin."
                    </p>
                }
                .into_any()
            } else {
                view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }}
            <p><a href="/">"Back to the log"</a></p>
        </section>
    }
}

#[component]
fn TriggerView(initial: TriggerDetail, plugin_display: String) -> impl IntoView {
    let detail = RwSignal::new(initial);
    let trigger = Memo::new(move |_| detail.with(|d| d.trigger.trigger.clone()));
    // A run just queued (here or for the group): follow the trigger live again.
    let follow = live::follow(detail);
    let on_queued = Callback::new(move |fresh: Trigger| follow.run(Some(fresh)));
    let group_queued = RwSignal::new(0u64);
    let on_group_queued = Callback::new(move |_| {
        group_queued.update(|n| *n += 1);
        follow.run(None);
    });
    let t = trigger.get_untracked();
    let id = t.id.to_string();
    let dialog_id = id.clone();
    let plugin = t.plugin.clone();
    let words = event_type_words(&t.event_type);
    let page_title = format!("{words} · {plugin_display} · Calltrail");
    let heading_plugin = format!(" · {plugin_display}");
    let payload_open = RwSignal::new(false);
    // Effects run only in the browser: the page says when it is live (for tests,
    // and for the reader's tools).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title text=page_title/>
        <article
            class="trigger-page"
            data-testid="trigger-page"
            data-trigger-id=id.clone()
            data-hydrated=move || hydrated.get().then_some("true")
        >
            <header class="trigger-head">
                <h1>
                    <span title=t.event_type.clone()>{words}</span>
                    <span class="muted">{heading_plugin}</span>
                </h1>
                <span class="live-status" role="status" data-testid="trigger-status">
                    {move || view! { <StatusBadge status=trigger.get().status/> }}
                </span>
                <div class="trigger-actions">
                    <button
                        type="button"
                        class="button"
                        data-testid="open-payload"
                        on:click=move |_| payload_open.set(true)
                    >
                        "Payload"
                    </button>
                    {
                        let (id, key) = (id.clone(), t.aggregation_key.clone());
                        view! {
                            <WhenAllowed allowed=|c| c.can_rerun>
                                <RerunButton id=id.clone() on_queued/>
                                {key.clone().map(|aggregation_key| view! {
                                    <RerunGroupButton aggregation_key on_queued=on_group_queued/>
                                })}
                            </WhenAllowed>
                        }
                    }
                </div>
                {move || payload_open.get().then(|| view! {
                    <TriggerDialog
                        id=dialog_id.clone()
                        kind=DialogKind::Payload
                        on_close=Callback::new(move |_| payload_open.set(false))
                    />
                })}
            </header>
            {move || view! { <Summary t=trigger.get() plugin_display=plugin_display.clone()/> }}
            {move || detail.with(|d| d.trigger.details_removed_at).map(|at| view! {
                <DetailsRemoved at/>
            })}
            <section class="trigger-section" aria-labelledby="attempts-heading">
                <h2 id="attempts-heading">
                    {move || format!("Attempts ({})", detail.with(|d| d.attempts.len()))}
                </h2>
                <Attempts detail plugin=plugin.clone()/>
            </section>
            <section class="trigger-section" aria-labelledby="steps-heading">
                <h2 id="steps-heading">"Processing steps"</h2>
                {move || view! { <Timeline logs=detail.with(|d| d.logs.clone())/> }}
            </section>
            {t.aggregation_key.clone().map(|key| view! {
                <GroupSiblings
                    key
                    this=t.id
                    status=Signal::derive(move || trigger.get().status)
                    reruns=group_queued.into()
                />
            })}
        </article>
    }
}

/// Every attempt, oldest first. Keyed by attempt: a new one is added below the
/// others without redrawing them (a request the reader opened stays open).
#[component]
fn Attempts(detail: RwSignal<TriggerDetail>, plugin: String) -> impl IntoView {
    let latest = detail.with_untracked(|d| d.attempts.last().map(|a| a.number));
    view! {
        <Show
            when=move || detail.with(|d| !d.attempts.is_empty())
            fallback=|| view! { <p class="muted">"Not executed yet."</p> }
        >
            <ol class="attempts" data-testid="attempts">
                <For
                    each=move || detail.with(|d| d.attempts.clone())
                    key=|a| a.id
                    children={
                        let plugin = plugin.clone();
                        move |a| {
                            // Why a user or a migration asked for this run, from the log.
                            let log_line = detail
                                .with_untracked(|d| run_reasons(&d.logs).remove(&a.number));
                            // The newest attempt, and any that arrive while the page is
                            // open, show their request and response at once.
                            let open = latest.is_none_or(|n| a.number >= n);
                            view! { <AttemptCard a plugin=plugin.clone() log_line open/> }
                        }
                    }
                />
            </ol>
        </Show>
    }
}
