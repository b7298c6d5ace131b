use leptos::prelude::*;

use crate::server_fns::rerun_trigger;

/// Re-run one trigger, after saying why (the reason goes to the audit trail and
/// the attempt). Shown only to callers that may re-run.
#[component]
pub fn RerunButton(id: String) -> impl IntoView {
    let asking = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let rerun = Action::new(move |(id, reason): &(String, String)| {
        rerun_trigger(id.clone(), Some(reason.clone()))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        rerun.dispatch((id.clone(), reason.get_untracked()));
    };
    view! {
        {move || match rerun.value().get() {
            Some(Ok(_)) => view! {
                <span class="muted" data-testid="rerun-queued">"Re-run queued"</span>
            }.into_any(),
            failed => {
                let error = failed.and_then(Result::err).map(|e| e.to_string());
                let submit = submit.clone();
                view! {
                    <Show
                        when=move || asking.get()
                        fallback=move || view! {
                            <button class="link" data-testid="rerun" on:click=move |_| asking.set(true)>
                                "Re-run"
                            </button>
                        }
                    >
                        <form class="rerun" on:submit=submit.clone()>
                            <input
                                type="text"
                                name="reason"
                                aria-label="Why re-run it"
                                placeholder="Why?"
                                data-testid="rerun-reason"
                                required
                                maxlength="500"
                                prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev))
                            />
                            <button type="submit" disabled=move || rerun.pending().get()>"Re-run now"</button>
                            <button type="button" class="link" on:click=move |_| asking.set(false)>"Cancel"</button>
                        </form>
                    </Show>
                    {error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
                }.into_any()
            }
        }}
    }
}
