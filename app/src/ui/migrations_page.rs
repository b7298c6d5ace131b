//! `/migrations` (Zero Friction's "Execute Trigger Migration"), for administrators:
//! choose, preview, start, watch, cancel; past migrations with their outcome.
//!
//! Whether the reader is an administrator is read from the signed-in caller
//! first: anyone else gets "No access" without the page ever calling the
//! administrators' server functions (which would refuse them anyway).

use leptos::prelude::*;

use super::components::{ErrorNote, LocalTime, NoAccess};
use super::migration_form::MigrationForm;
use super::use_caller;
use crate::domain::Migration;
use crate::server_fns::{cancel_migration, get_migration, list_migrations};

/// How often a running migration's progress is read again.
const POLL_MS: u32 = 500;

#[component]
pub fn MigrationsPage() -> impl IntoView {
    let caller = use_caller();
    view! {
        <h1>"Trigger migration"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match caller.await {
                    Ok(c) if c.can_administer => view! { <Migrations/> }.into_any(),
                    Ok(_) => view! { <NoAccess/> }.into_any(),
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The administrator's page: the form, the running job, the past ones.
#[component]
fn Migrations() -> impl IntoView {
    // Bumped whenever the list of past migrations may have changed.
    let changed = RwSignal::new(0u32);
    let watching = RwSignal::new(None::<Migration>);
    let started = Callback::new(move |m: Migration| {
        watching.set(Some(m));
        changed.update(|n| *n += 1);
    });
    let settled = Callback::new(move |_: ()| changed.update(|n| *n += 1));
    view! {
        <p class="muted">
            "Re-execute triggers after fixing what made them fail, or create triggers for records \
             that never had one. A dry run shows how many and which first; nothing runs until you confirm."
        </p>
        <MigrationForm started/>
        {move || watching.get().map(|m| view! { <MigrationProgress start=m settled/> })}
        <PastMigrations changed/>
    }
}

/// A running migration's progress bar, read again every `POLL_MS` until it ends;
/// and its Cancel button. `settled` hears when it has ended.
#[component]
fn MigrationProgress(start: Migration, settled: Callback<()>) -> impl IntoView {
    let id = start.id.to_string();
    let migration = RwSignal::new(start);
    // Effects run only in the browser: the polling starts there, and stops when
    // the migration ends or this component is gone.
    let poll_id = id.clone();
    Effect::new(move |_| {
        let id = poll_id.clone();
        leptos::task::spawn_local(async move {
            loop {
                crate::browser::pause(POLL_MS).await;
                let Ok(now) = get_migration(id.clone()).await else {
                    continue;
                };
                let running = now.status == "running";
                if migration.try_set(now).is_some() {
                    return; // gone from the page
                }
                if !running {
                    settled.run(());
                    return;
                }
            }
        });
    });
    let cancel = Action::new(move |id: &String| cancel_migration(id.clone()));
    Effect::new(move |_| {
        if let Some(Ok(m)) = cancel.value().get() {
            migration.set(m);
        }
    });
    view! {
        <section class="migration-progress" data-testid="migration-progress" aria-label="Running migration">
            {move || {
                let m = migration.get();
                let label = format!("{} of {} done", m.done, m.total);
                view! {
                    <h2>"Migration " <span data-testid="migration-status">{status_word(&m.status)}</span></h2>
                    <progress max=m.total.max(1) value=m.done aria-label="Migration progress"
                        data-testid="migration-bar" data-done=m.done data-total=m.total></progress>
                    <p>
                        {label} " · " {m.succeeded} " finished · " {m.failed} " failed since"
                    </p>
                }
            }}
            <Show when=move || migration.get().status == "running">
                <button type="button" data-testid="cancel-migration"
                    disabled=move || cancel.pending().get()
                    on:click={
                        let id = id.clone();
                        move |_| { cancel.dispatch(id.clone()); }
                    }>
                    "Cancel migration"
                </button>
            </Show>
            {move || cancel.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </section>
    }
}

/// A migration's status in words.
fn status_word(status: &str) -> &'static str {
    match status {
        "running" => "running",
        "completed" => "completed",
        "cancelled" => "cancelled",
        _ => "in an unknown state",
    }
}

/// Past and running migrations, newest first, with their outcome.
#[component]
fn PastMigrations(changed: RwSignal<u32>) -> impl IntoView {
    let migrations = Resource::new(move || changed.get(), |_| list_migrations());
    view! {
        <section class="past-migrations" aria-labelledby="past-migrations-title">
            <h2 id="past-migrations-title">"Past migrations"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading migrations…"</p> }>
                {move || Suspend::new(async move {
                    match migrations.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No migrations yet."</p>
                        }.into_any(),
                        Ok(list) => view! { <MigrationTable migrations=list/> }.into_any(),
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn MigrationTable(migrations: Vec<Migration>) -> impl IntoView {
    view! {
        <table class="migrations" data-testid="migrations-table">
            <thead>
                <tr>
                    <th scope="col">"Started"</th>
                    <th scope="col">"Reason"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"By"</th>
                    <th scope="col">"Outcome"</th>
                    <th scope="col">"Ended"</th>
                </tr>
            </thead>
            <tbody>
                {migrations
                    .into_iter()
                    .map(|m| {
                        let kind = if m.kind == "create" { "Create" } else { "Re-execute" };
                        let outcome = format!(
                            "{} of {} done, {} finished, {} failed",
                            m.done, m.total, m.succeeded, m.failed
                        );
                        view! {
                            <tr data-migration-id=m.id.to_string()>
                                <td><LocalTime at=m.created_at/></td>
                                <td>{m.reason}</td>
                                <td>{kind}</td>
                                <td>{m.actor}</td>
                                <td>
                                    <span class=format!("badge migration-{}", m.status) data-testid="migration-outcome">
                                        {status_word(&m.status)}
                                    </span>
                                    " " {outcome}
                                </td>
                                <td>
                                    {match m.finished_at {
                                        Some(at) => view! { <LocalTime at/> }.into_any(),
                                        None => view! { <span class="muted">"—"</span> }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
