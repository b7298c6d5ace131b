//! What a trigger migration does, as an administrator chooses it: re-execute the
//! triggers that match some filters, or create triggers for pasted entity ids.
//! The page always shows the count and a sample (a dry run) before it may start,
//! and starts exactly what was previewed.

use leptos::prelude::*;

use super::components::{hydrated, local_midnight, ErrorNote, TextArea, TextField, TriggerTable};
use crate::domain::{
    DryRun, EntityRef, ErrorBody, Migration, MigrationCreateItem, MigrationInput, MigrationStart,
    PluginSummary, Status, TriggerFilter,
};
use crate::server_fns::{list_plugins, start_migration};

/// Which kind of migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Re-execute the triggers that match the filters.
    Rerun,
    /// Create one trigger per pasted entity id.
    Create,
}

/// The form's fields, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationDraft {
    pub mode: Mode,
    pub plugin: String,
    pub statuses: Vec<Status>,
    pub event_type: String,
    /// Days (`YYYY-MM-DD`) in the reader's time zone, both included.
    pub scheduled_from: String,
    pub scheduled_to: String,
    pub entity_type: String,
    pub entity_ids: String,
    pub payload: String,
    pub reason: String,
    pub rate_per_sec: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: "validation_failed".into(),
        message: message.into(),
        field: Some(field.into()),
    }
}

/// Midnight at the start of a day where the reader is (`next`: of the day after).
fn day_start(
    field: &str,
    day: &str,
    next: bool,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ErrorBody> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| invalid(field, format!("{day:?} is not a day (YYYY-MM-DD)")))?;
    let date = if next { date.succ_opt() } else { Some(date) };
    Ok(date.and_then(local_midnight))
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl MigrationDraft {
    /// The request these fields stand for. Only what cannot be read at all is
    /// refused here; the server checks the rest and says which field is wrong.
    pub fn input(&self, dry_run: bool) -> Result<MigrationInput, ErrorBody> {
        let rate_per_sec = match non_empty(&self.rate_per_sec) {
            Some(r) => Some(
                r.parse()
                    .map_err(|_| invalid("rate_per_sec", format!("{r:?} is not a whole number")))?,
            ),
            None => None,
        };
        let mut input = MigrationInput {
            reason: non_empty(&self.reason),
            dry_run,
            rate_per_sec,
            ..MigrationInput::default()
        };
        match self.mode {
            Mode::Rerun => {
                input.filter = Some(TriggerFilter {
                    plugin: non_empty(&self.plugin).into_iter().collect(),
                    status: self.statuses.clone(),
                    event_type: non_empty(&self.event_type),
                    scheduled_from: day_start("scheduled_from", &self.scheduled_from, false)?,
                    scheduled_to: day_start("scheduled_to", &self.scheduled_to, true)?,
                    ..TriggerFilter::default()
                });
            }
            Mode::Create => {
                let payload: serde_json::Value =
                    serde_json::from_str(non_empty(&self.payload).as_deref().unwrap_or("{}"))
                        .map_err(|e| invalid("payload", format!("not JSON: {e}")))?;
                let entity_type = non_empty(&self.entity_type);
                let items = self
                    .entity_ids
                    .split([',', '\n'])
                    .filter_map(non_empty)
                    .map(|id| MigrationCreateItem {
                        entity: entity_type
                            .clone()
                            .map(|entity_type| EntityRef { entity_type, id }),
                        payload: payload.clone(),
                    })
                    .collect::<Vec<_>>();
                if entity_type.is_none() && !items.is_empty() {
                    return Err(invalid(
                        "entity.type",
                        "say what the pasted ids are (invoice, customer…)",
                    ));
                }
                input.plugin = non_empty(&self.plugin);
                input.event_type = non_empty(&self.event_type);
                input.create = Some(items);
            }
        }
        Ok(input)
    }
}

/// The migration form: fields, the dry run's findings, and the confirmation.
/// `started` hears of the job once it runs.
#[component]
pub fn MigrationForm(started: Callback<Migration>) -> impl IntoView {
    let ready = hydrated();
    let mode = RwSignal::new(Mode::Rerun);
    let plugin = RwSignal::new(String::new());
    let statuses = RwSignal::new(Vec::<Status>::new());
    let event_type = RwSignal::new(String::new());
    let scheduled_from = RwSignal::new(String::new());
    let scheduled_to = RwSignal::new(String::new());
    let entity_type = RwSignal::new(String::new());
    let entity_ids = RwSignal::new(String::new());
    let payload = RwSignal::new("{}".to_string());
    let reason = RwSignal::new(String::new());
    let rate_per_sec = RwSignal::new(String::new());

    let draft = Memo::new(move |_| MigrationDraft {
        mode: mode.get(),
        plugin: plugin.get(),
        statuses: statuses.get(),
        event_type: event_type.get(),
        scheduled_from: scheduled_from.get(),
        scheduled_to: scheduled_to.get(),
        entity_type: entity_type.get(),
        entity_ids: entity_ids.get(),
        payload: payload.get(),
        reason: reason.get(),
        rate_per_sec: rate_per_sec.get(),
    });
    // The last dry run, with the fields it was made for: changing any field hides
    // it, so what starts is always what was previewed.
    let preview = RwSignal::new(None::<(MigrationDraft, DryRun)>);
    let confirming = RwSignal::new(false);
    let problem = RwSignal::new(None::<ErrorBody>);
    let current_preview = move || {
        preview
            .get()
            .filter(|(made_for, _)| *made_for == draft.get())
            .map(|(_, found)| found)
    };

    let run = Action::new(
        move |(made_for, input): &(MigrationDraft, MigrationInput)| {
            let made_for = made_for.clone();
            let input = input.clone();
            async move { (made_for, start_migration(input).await) }
        },
    );
    Effect::new(move |_| {
        let Some((made_for, result)) = run.value().get() else {
            return;
        };
        match result {
            Ok(MigrationStart::DryRun(found)) => {
                problem.set(None);
                preview.set(Some((made_for, found)));
            }
            Ok(MigrationStart::Started(m)) => {
                problem.set(None);
                preview.set(None);
                confirming.set(false);
                started.run(m);
            }
            Err(e) => {
                confirming.set(false);
                problem.set(Some(e));
            }
        }
    });
    let send = move |dry_run: bool| {
        let d = draft.get_untracked();
        match d.input(dry_run) {
            Ok(input) => {
                run.dispatch((d, input));
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    let plugins = Resource::new(|| (), |_| list_plugins());

    view! {
        <form class="settings migration-form" method="post" data-testid="migration-form"
            on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); send(true); }>
            <fieldset>
                <legend>"Which triggers"</legend>
                <label class="field check">
                    <input type="radio" name="mode" value="rerun"
                        prop:checked=move || mode.get() == Mode::Rerun
                        on:change=move |_| mode.set(Mode::Rerun)/>
                    <span>"Re-execute the triggers that match filters"</span>
                </label>
                <label class="field check">
                    <input type="radio" name="mode" value="create"
                        prop:checked=move || mode.get() == Mode::Create
                        on:change=move |_| mode.set(Mode::Create)/>
                    <span>"Create triggers for entity ids (ones that never had any)"</span>
                </label>
                <Transition fallback=|| view! { <p class="muted">"Loading plugins…"</p> }>
                    {move || Suspend::new(async move {
                        match plugins.await {
                            Ok(list) => view! { <PluginChoice plugins=list value=plugin/> }.into_any(),
                            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        }
                    })}
                </Transition>
                <TextField label="Event type" name="event_type" value=event_type
                    hint="As sent, e.g. invoice.created"/>
                <Show when=move || mode.get() == Mode::Rerun>
                    <StatusChoice value=statuses/>
                    <fieldset class="range">
                        <legend>"Scheduled (days in your time zone, both included)"</legend>
                        <TextField label="From" name="scheduled_from" value=scheduled_from kind="date"/>
                        <TextField label="To" name="scheduled_to" value=scheduled_to kind="date"/>
                    </fieldset>
                </Show>
                <Show when=move || mode.get() == Mode::Create>
                    <TextField label="Entity type" name="entity_type" value=entity_type
                        hint="invoice, customer, contract…"/>
                    <TextArea label="Entity ids" name="entity_ids" value=entity_ids
                        hint="One per line (or comma-separated): one trigger each"/>
                    <TextArea label="Payload (JSON, the same for each)" name="payload" value=payload rows=3/>
                </Show>
            </fieldset>
            <fieldset>
                <legend>"Why, and how fast"</legend>
                <TextField label="Reason" name="reason" value=reason required=true
                    hint="Recorded in the audit trail and on each attempt"/>
                <TextField label="At most this many per second" name="rate_per_sec" value=rate_per_sec
                    kind="number" hint="Optional: 1 to 1000 (50 when empty)"/>
            </fieldset>
            <button type="submit" data-testid="dry-run" disabled=move || run.pending().get() || !ready.get()>
                "Preview (dry run)"
            </button>
            {move || problem.get().map(|e| view! { <ErrorNote error=e/> })}
        </form>
        {move || current_preview().map(|found| {
            let draft = draft.get_untracked();
            view! { <Preview found draft confirming run=move || send(false)/> }
        })}
    }
}

/// A plugin to narrow to (re-execute: optional; create: the plugin they are for).
#[component]
fn PluginChoice(plugins: Vec<PluginSummary>, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">"Plugin"</span>
            <select name="plugin" on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="" selected=move || value.get().is_empty()>"Any plugin"</option>
                {plugins
                    .into_iter()
                    .map(|p| {
                        let name = p.name.clone();
                        view! {
                            <option value=p.name selected=move || value.get() == name>{p.display_name}</option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

/// Statuses to narrow to: any of the ticked ones (none ticked: every status).
#[component]
fn StatusChoice(value: RwSignal<Vec<Status>>) -> impl IntoView {
    view! {
        <fieldset class="statuses">
            <legend>"Status (none ticked: any)"</legend>
            {Status::ALL
                .iter()
                .map(|&s| {
                    let toggle = move |ev: leptos::ev::Event| {
                        let on = event_target_checked(&ev);
                        value.update(|v| {
                            v.retain(|x| *x != s);
                            if on {
                                v.push(s);
                            }
                        });
                    };
                    view! {
                        <label class="field check">
                            <input type="checkbox" name="status" value=s.as_str()
                                prop:checked=move || value.get().contains(&s) on:change=toggle/>
                            <span>{s.label()}</span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// What the dry run found, and the two-step start.
#[component]
fn Preview(
    found: DryRun,
    draft: MigrationDraft,
    confirming: RwSignal<bool>,
    run: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let verb = match draft.mode {
        Mode::Rerun => "re-executes",
        Mode::Create => "creates",
    };
    let count = found.count;
    let summary = format!(
        "This migration {verb} {count} trigger{}.",
        if count == 1 { "" } else { "s" }
    );
    let rate = draft.rate_per_sec.trim().to_string();
    let pace = if rate.is_empty() {
        "at up to 50 per second".to_string()
    } else {
        format!("at up to {rate} per second")
    };
    let sample = match draft.mode {
        Mode::Rerun if !found.sample.is_empty() => view! {
            <p class="muted">"The first of them:"</p>
            <TriggerTable triggers=found.sample/>
        }
        .into_any(),
        Mode::Create => {
            let ids: Vec<String> = draft
                .entity_ids
                .split([',', '\n'])
                .filter_map(non_empty)
                .take(10)
                .collect();
            view! { <p class="muted">"For: " {ids.join(", ")}</p> }.into_any()
        }
        _ => ().into_any(),
    };
    view! {
        <section class="preview" data-testid="migration-preview" aria-label="Dry run">
            <h2>"Dry run"</h2>
            <p data-testid="migration-count" data-count=count>{summary}</p>
            {sample}
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" data-testid="start-migration" disabled=count == 0
                        on:click=move |_| confirming.set(true)>
                        "Start migration…"
                    </button>
                }
            >
                <div class="confirm" role="group" aria-label="Confirm the migration">
                    <p>{format!("Start it now, {pace}? It is recorded with your reason.")}</p>
                    <button type="button" data-testid="confirm-migration" on:click=move |_| run()>
                        "Yes, start"
                    </button>
                    <button type="button" class="link" on:click=move |_| confirming.set(false)>"Not now"</button>
                </div>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(mode: Mode) -> MigrationDraft {
        MigrationDraft {
            mode,
            plugin: "xero".into(),
            statuses: vec![Status::Erroneous],
            event_type: " invoice.created ".into(),
            scheduled_from: "2026-11-23".into(),
            scheduled_to: "2026-11-23".into(),
            entity_type: "invoice".into(),
            entity_ids: "INV-1\nINV-2, INV-3\n\n".into(),
            payload: r#"{"resend": true}"#.into(),
            reason: " Xero token renewed ".into(),
            rate_per_sec: "".into(),
        }
    }

    #[test]
    fn filters_become_a_filter_whose_day_range_covers_the_last_day_whole() {
        let input = draft(Mode::Rerun).input(true).unwrap();
        assert!(input.dry_run && input.create.is_none() && input.rate_per_sec.is_none());
        assert_eq!(input.reason.as_deref(), Some("Xero token renewed"));
        let f = input.filter.unwrap();
        assert_eq!(
            (f.plugin, f.status),
            (vec!["xero".to_string()], vec![Status::Erroneous])
        );
        assert_eq!(f.event_type.as_deref(), Some("invoice.created"));
        // The server renders in UTC: these are UTC midnights there.
        assert_eq!(
            f.scheduled_from.unwrap().to_rfc3339(),
            "2026-11-23T00:00:00+00:00"
        );
        assert_eq!(
            f.scheduled_to.unwrap().to_rfc3339(),
            "2026-11-24T00:00:00+00:00"
        );
    }

    #[test]
    fn pasted_ids_become_one_trigger_each_with_the_payload() {
        let input = draft(Mode::Create).input(false).unwrap();
        assert!(input.filter.is_none() && !input.dry_run);
        let items = input.create.unwrap();
        let ids: Vec<&str> = items
            .iter()
            .map(|i| i.entity.as_ref().unwrap().id.as_str())
            .collect();
        assert_eq!(ids, ["INV-1", "INV-2", "INV-3"]);
        assert_eq!(items[0].payload, serde_json::json!({"resend": true}));
        assert_eq!(input.plugin.as_deref(), Some("xero"));
    }

    #[test]
    fn what_cannot_be_read_names_its_field() {
        let mut d = draft(Mode::Create);
        d.payload = "{oops".into();
        assert_eq!(d.input(true).unwrap_err().field.as_deref(), Some("payload"));
        let mut d = draft(Mode::Rerun);
        d.rate_per_sec = "fast".into();
        assert_eq!(
            d.input(true).unwrap_err().field.as_deref(),
            Some("rate_per_sec")
        );
    }
}
