//! Re-running from the browser: one trigger, or its whole aggregation group.
//! Either asks first, in a dialog, why (the reason goes to the audit trail and
//! the new attempt) and whether automatic retries resume if the run fails
//! transiently. Shown only to callers that may re-run; the server refuses the
//! others anyway.

use leptos::prelude::*;

use super::Modal;
use crate::domain::{GroupRerunOutcome, Trigger};
use crate::server_fns::{rerun_group, rerun_trigger};

/// What the dialog asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ask {
    reason: String,
    resume_retries: bool,
    include_finished: bool,
}

/// Re-run one trigger, after saying why. `on_queued` hears the trigger as it
/// stands once the run is queued (the trigger's page then follows it live).
#[component]
pub fn RerunButton(
    id: String,
    #[prop(optional)] on_queued: Option<Callback<Trigger>>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let queued = RwSignal::new(false);
    let rerun = Action::new(move |ask: &Ask| {
        let (id, ask) = (id.clone(), ask.clone());
        async move {
            let done = rerun_trigger(id, Some(ask.reason), ask.resume_retries).await;
            if let Ok(t) = &done {
                asking.try_set(false);
                queued.try_set(true);
                if let Some(cb) = on_queued {
                    cb.try_run(t.clone());
                }
            }
            done.map(|_| ())
        }
    });
    view! {
        <AskFirst
            label="Re-run"
            testid="rerun"
            title="Re-run this trigger"
            explain="It runs again now, as a new attempt on this trigger."
            group=false
            asking
            action=rerun
        />
        {move || queued.get().then(|| view! {
            <span class="muted" data-testid="rerun-queued" role="status">"Re-run queued"</span>
        })}
    }
}

/// Re-run the triggers sharing `aggregation_key`, together: the erroneous ones,
/// and the finished ones too when asked. `on_queued` hears how many were queued.
#[component]
pub fn RerunGroupButton(
    aggregation_key: String,
    #[prop(optional)] on_queued: Option<Callback<GroupRerunOutcome>>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let outcome = RwSignal::new(None::<GroupRerunOutcome>);
    let rerun = Action::new(move |ask: &Ask| {
        let (key, ask) = (aggregation_key.clone(), ask.clone());
        async move {
            let done = rerun_group(
                key,
                Some(ask.reason),
                ask.resume_retries,
                ask.include_finished,
            )
            .await;
            if let Ok(o) = &done {
                asking.try_set(false);
                outcome.try_set(Some(o.clone()));
                if let Some(cb) = on_queued {
                    cb.try_run(o.clone());
                }
            }
            done.map(|_| ())
        }
    });
    view! {
        <AskFirst
            label="Re-run group"
            testid="rerun-group"
            title="Re-run the aggregation group"
            explain="Every erroneous trigger of this group runs again now, each as a new attempt."
            group=true
            asking
            action=rerun
        />
        {move || outcome.get().map(|o| view! {
            <span class="muted" data-testid="rerun-group-queued" role="status">{group_words(&o)}</span>
        })}
    }
}

/// The button that opens the dialog (`{testid}-dialog`) asking why, and the
/// dialog while `asking`.
#[component]
fn AskFirst(
    label: &'static str,
    testid: &'static str,
    title: &'static str,
    explain: &'static str,
    group: bool,
    asking: RwSignal<bool>,
    action: Action<Ask, Result<(), crate::domain::ErrorBody>>,
) -> impl IntoView {
    let close = Callback::new(move |_| asking.set(false));
    view! {
        <button
            type="button"
            class="button rerun-open"
            data-testid=testid
            on:click=move |_| {
                action.value().set(None);
                asking.set(true);
            }
        >
            {label}
        </button>
        {move || asking.get().then(|| view! {
            <Modal title=title testid=format!("{testid}-dialog") on_close=close>
                <RerunForm explain group action on_cancel=close/>
            </Modal>
        })}
    }
}

/// What a group re-run did, in words.
fn group_words(o: &GroupRerunOutcome) -> String {
    let queued = match o.queued {
        0 => "Nothing to re-run in this group".to_string(),
        1 => "1 trigger of the group queued".to_string(),
        n => format!("{n} triggers of the group queued"),
    };
    match o.in_flight {
        0 => queued,
        n => format!("{queued}; {n} left alone (an attempt was in flight)"),
    }
}

/// The question both dialogs ask: why, and whether retries resume (and for a
/// group, whether its finished triggers run too). The server's refusal, if
/// any, is shown as it gave it.
#[component]
fn RerunForm(
    explain: &'static str,
    group: bool,
    action: Action<Ask, Result<(), crate::domain::ErrorBody>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let resume = RwSignal::new(false);
    let finished = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(Ask {
            reason: reason.get_untracked(),
            resume_retries: resume.get_untracked(),
            include_finished: finished.get_untracked(),
        });
    };
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="error" role="alert" data-testid="rerun-error">{e.to_string()}</p> })
    };
    view! {
        <form class="rerun-form" on:submit=submit>
            <p class="muted">{explain}</p>
            <label class="field">
                "Why run it again? (kept in the audit trail and shown on the attempt)"
                <textarea
                    name="reason"
                    data-testid="rerun-reason"
                    required
                    maxlength="500"
                    rows="3"
                    autofocus
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                ></textarea>
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    data-testid="rerun-resume"
                    prop:checked=move || resume.get()
                    on:change=move |ev| resume.set(event_target_checked(&ev))
                />
                "Resume automatic retries if it fails transiently"
            </label>
            {group.then(|| view! {
                <label class="check">
                    <input
                        type="checkbox"
                        data-testid="rerun-include-finished"
                        prop:checked=move || finished.get()
                        on:change=move |ev| finished.set(event_target_checked(&ev))
                    />
                    "Also re-run the group's finished triggers"
                </label>
            })}
            {error}
            <div class="actions">
                <button type="submit" class="button primary" data-testid="rerun-confirm" disabled=move || action.pending().get()>
                    "Re-run now"
                </button>
                <button type="button" class="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_rerun_says_what_it_queued_and_what_it_left_alone() {
        let o = |queued, in_flight| GroupRerunOutcome {
            aggregation_key: "k".into(),
            queued,
            in_flight,
        };
        assert_eq!(group_words(&o(0, 0)), "Nothing to re-run in this group");
        assert_eq!(group_words(&o(1, 0)), "1 trigger of the group queued");
        assert_eq!(
            group_words(&o(3, 1)),
            "3 triggers of the group queued; 1 left alone (an attempt was in flight)"
        );
    }
}
