//! Following a trigger live: while its status is not final, the page asks for
//! it again every ~1.5 s (gloo-timers) and redraws what changed; once it is
//! finished or erroneous the polling stops, until a re-run starts it again.
//!
//! Only one timer is pending at a time (a new one replaces, and so cancels, the
//! last), and the next one is set only when the previous answer is in. An
//! answer asked for before a re-run is dropped: it would put the trigger back
//! to where it stood before the run was queued, and stop the polling.

use leptos::prelude::*;

use crate::domain::{Status, Trigger, TriggerDetail};

/// How long to wait before asking again.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn poll_delay_ms(status: Status, next_attempt_in_ms: Option<i64>) -> u32 {
    const SOON: u32 = 1_500;
    const LATER: u32 = 10_000;
    match (status, next_attempt_in_ms) {
        // Its next attempt is far off: nothing will change before then.
        (Status::Retrying | Status::NotYetStarted, Some(ms)) if ms > 30_000 => LATER,
        _ => SOON,
    }
}

/// Keep `detail` fresh while its trigger may change. The callback says a run
/// was just queued: with the trigger as the server returned it (a re-run of
/// this trigger), or without (its group was re-run: look again soon).
pub fn follow(detail: RwSignal<TriggerDetail>) -> Callback<Option<Trigger>> {
    let polls = Polls {
        tick: RwSignal::new(0),
        generation: StoredValue::new(0),
        look_again: StoredValue::new(false),
    };
    browser::poll_while_open(detail, polls);
    Callback::new(move |fresh: Option<Trigger>| {
        polls.generation.update_value(|g| *g += 1);
        match fresh {
            Some(fresh) => detail.update(|d| d.trigger.trigger = fresh),
            // The trigger on this page may stand as final still: ask once anyway.
            None => polls.look_again.set_value(true),
        }
        polls.tick.update(|n| *n += 1);
    })
}

/// The state of the polling.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Polls {
    /// Bumped after each answer (and each queued run): time to set the next timer.
    tick: RwSignal<u64>,
    /// Bumped by every queued run: answers asked for earlier are stale.
    generation: StoredValue<u64>,
    /// Ask once more even if the trigger looks final (its group was re-run).
    look_again: StoredValue<bool>,
}

#[cfg(feature = "hydrate")]
mod browser {
    use gloo_timers::callback::Timeout;
    use leptos::prelude::*;

    use super::{poll_delay_ms, Polls};
    use crate::domain::TriggerDetail;
    use crate::server_fns::get_trigger;

    pub fn poll_while_open(detail: RwSignal<TriggerDetail>, polls: Polls) {
        let Polls {
            tick,
            generation,
            look_again,
        } = polls;
        // Dropping a Timeout cancels it: replacing it here, or the page going away.
        let pending = StoredValue::new_local(None::<Timeout>);
        Effect::new(move |_| {
            tick.track();
            let (id, status, next) = detail.with(|d| {
                let t = &d.trigger.trigger;
                (t.id, t.status, t.next_attempt_at)
            });
            if status.is_final() && !look_again.get_value() {
                pending.set_value(None);
                return;
            }
            let now_ms = js_sys::Date::now() as i64;
            let next_in = next.map(|at| at.timestamp_millis() - now_ms);
            let asked_in = generation.get_value();
            let timer = Timeout::new(poll_delay_ms(status, next_in), move || {
                leptos::task::spawn_local(async move {
                    let answer = get_trigger(id.to_string()).await;
                    if generation.try_get_value() != Some(asked_in) {
                        return;
                    }
                    look_again.try_set_value(false);
                    if let Ok(fresh) = answer {
                        if detail.try_with_untracked(|d| *d != fresh) == Some(true) {
                            detail.try_set(fresh);
                        }
                    }
                    tick.try_update(|n| *n += 1);
                });
            });
            pending.set_value(Some(timer));
        });
    }
}

/// The server renders the trigger as it stands; following it is the browser's job.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use leptos::prelude::*;

    use super::Polls;
    use crate::domain::TriggerDetail;

    pub fn poll_while_open(_: RwSignal<TriggerDetail>, _: Polls) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_due_soon_is_asked_for_often_and_one_due_later_less_often() {
        assert_eq!(poll_delay_ms(Status::Running, None), 1_500);
        assert_eq!(poll_delay_ms(Status::NotYetStarted, Some(0)), 1_500);
        assert_eq!(poll_delay_ms(Status::Retrying, Some(5_000)), 1_500);
        assert_eq!(poll_delay_ms(Status::Retrying, Some(3_600_000)), 10_000);
    }
}
