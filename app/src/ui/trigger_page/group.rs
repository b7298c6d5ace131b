//! The other triggers of an aggregation group, each a link to its own page.

use leptos::prelude::*;
use uuid::Uuid;

use crate::domain::{event_type_words, Status, TriggerFilter};
use crate::server_fns::list_triggers;
use crate::ui::components::StatusBadge;
use crate::ui::links::{group_log_href, trigger_href};

/// How often the group is read again while the page is in view: its other
/// triggers change on their own (retries, someone else's re-run).
const POLL_MS: u32 = 10_000;

/// The triggers sharing `key`, newest first, `this` one marked. Read again when
/// this trigger's `status` changes, when the group is re-run (`reruns` counts),
/// and every [`POLL_MS`] while the page is in view.
#[component]
pub fn GroupSiblings(
    key: String,
    this: Uuid,
    status: Signal<Status>,
    reruns: Signal<u64>,
) -> impl IntoView {
    let filter = TriggerFilter {
        aggregation_key: Some(key.clone()),
        ..Default::default()
    };
    let polls = RwSignal::new(0u64);
    crate::browser::every(POLL_MS, move || {
        if crate::browser::page_visible() {
            polls.update(|n| *n += 1);
        }
    });
    let siblings = Resource::new(
        move || (filter.clone(), status.get(), reruns.get(), polls.get()),
        |(filter, ..)| list_triggers(filter, None),
    );
    let all = group_log_href(&key);
    view! {
        <section class="trigger-section" aria-labelledby="group-heading">
            <h2 id="group-heading">"Aggregation group " <span class="mono">{key}</span></h2>
            <Transition fallback=|| view! { <p class="muted">"Loading the group…"</p> }>
                {move || {
                    let all = all.clone();
                    Suspend::new(async move {
                        match siblings.await {
                            Ok(page) => {
                                let more = page.next_cursor.is_some();
                                view! {
                                    <ul class="group" data-testid="group-siblings">
                                        {page.items.into_iter().map(|s| {
                                            let here = s.id == this;
                                            let entity = s.entity.as_ref().map(|e| format!(" · {} / {}", e.entity_type, e.id));
                                            view! {
                                                <li data-trigger-id=s.id.to_string() class:here=here>
                                                    <StatusBadge status=s.status/>
                                                    <a href=trigger_href(s.id) aria-current=here.then_some("page")>
                                                        {event_type_words(&s.event_type)}
                                                        {entity}
                                                    </a>
                                                    {here.then_some(view! { <span class="muted">" (this trigger)"</span> })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                    {more.then(|| view! {
                                        <p><a href=all.clone()>"The whole group in the log"</a></p>
                                    })}
                                }
                                .into_any()
                            }
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}
