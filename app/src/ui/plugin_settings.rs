//! A plugin's settings as an administrator edits them: plain text fields, read
//! into the PATCH body's types here (routes one per line, delays as a list). What
//! text cannot even be read is refused here, naming the field as the server
//! would; every other rule is the server's, whose message the form shows.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::components::{hydrated, CheckField, TextArea, TextField};
use super::plugin_save::{PluginSave, SaveOutcome};
use crate::domain::{ErrorBody, Plugin, PluginChanges, RedactRules, RetryPolicy, Route};

/// The form's fields, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsDraft {
    pub display_name: String,
    pub active: bool,
    pub base_url: String,
    pub timeout_ms: String,
    pub schedule_secs: String,
    pub max_attempts: String,
    pub jitter_pct: String,
    pub retry_after_cap_secs: String,
    pub routes: String,
    pub redact_headers: String,
    pub redact_pointers: String,
}

impl From<&Plugin> for SettingsDraft {
    fn from(p: &Plugin) -> SettingsDraft {
        let rp = &p.retry_policy;
        SettingsDraft {
            display_name: p.display_name.clone(),
            active: p.active,
            base_url: p.base_url.clone(),
            timeout_ms: p.timeout_ms.to_string(),
            schedule_secs: rp
                .schedule_secs
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            max_attempts: rp.max_attempts.to_string(),
            jitter_pct: rp.jitter_pct.to_string(),
            retry_after_cap_secs: rp.retry_after_cap_secs.to_string(),
            routes: p
                .routes
                .iter()
                .map(|(event, r)| format!("{event} {} {}", r.method, r.path))
                .collect::<Vec<_>>()
                .join("\n"),
            redact_headers: p.redact.headers.join(", "),
            redact_pointers: p.redact.json_pointers.join("\n"),
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: "validation_failed".into(),
        message: message.into(),
        field: Some(field.into()),
    }
}

/// A whole number, or the field's name and what it must be.
fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ErrorBody> {
    text.trim()
        .parse()
        .map_err(|_| invalid(field, format!("{:?} is not a whole number", text.trim())))
}

/// Items separated by commas or line breaks, blanks dropped.
fn items(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `event.type METHOD /path`, one route a line.
fn routes(text: &str) -> Result<BTreeMap<String, Route>, ErrorBody> {
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [event, method, path] = parts[..] else {
            return Err(invalid(
                "routes",
                format!("{line:?}: write a route as \"event.type METHOD /path\""),
            ));
        };
        out.insert(
            event.to_string(),
            Route {
                method: method.to_ascii_uppercase(),
                path: path.to_string(),
            },
        );
    }
    Ok(out)
}

impl SettingsDraft {
    /// The PATCH these fields stand for (every field sent: the server keeps what
    /// did not change, and audits only what did).
    pub fn changes(&self) -> Result<PluginChanges, ErrorBody> {
        let schedule_secs = items(&self.schedule_secs)
            .iter()
            .map(|s| number("retry_policy.schedule_secs", s))
            .collect::<Result<_, _>>()?;
        Ok(PluginChanges {
            display_name: Some(self.display_name.trim().to_string()),
            active: Some(self.active),
            base_url: Some(self.base_url.trim().to_string()),
            timeout_ms: Some(number("timeout_ms", &self.timeout_ms)?),
            retry_policy: Some(RetryPolicy {
                schedule_secs,
                max_attempts: number("retry_policy.max_attempts", &self.max_attempts)?,
                jitter_pct: number("retry_policy.jitter_pct", &self.jitter_pct)?,
                retry_after_cap_secs: number(
                    "retry_policy.retry_after_cap_secs",
                    &self.retry_after_cap_secs,
                )?,
            }),
            routes: Some(routes(&self.routes)?),
            redact: Some(RedactRules {
                headers: items(&self.redact_headers),
                json_pointers: items(&self.redact_pointers),
            }),
            ..PluginChanges::default()
        })
    }
}

/// The settings form. `saved` hears of every successful save.
#[component]
pub fn PluginSettingsForm(plugin: Plugin, saved: Callback<Plugin>) -> impl IntoView {
    let draft = SettingsDraft::from(&plugin);
    let display_name = RwSignal::new(draft.display_name);
    let active = RwSignal::new(draft.active);
    let base_url = RwSignal::new(draft.base_url);
    let timeout_ms = RwSignal::new(draft.timeout_ms);
    let schedule_secs = RwSignal::new(draft.schedule_secs);
    let max_attempts = RwSignal::new(draft.max_attempts);
    let jitter_pct = RwSignal::new(draft.jitter_pct);
    let retry_after_cap_secs = RwSignal::new(draft.retry_after_cap_secs);
    let route_lines = RwSignal::new(draft.routes);
    let redact_headers = RwSignal::new(draft.redact_headers);
    let redact_pointers = RwSignal::new(draft.redact_pointers);

    let ready = hydrated();
    let save = PluginSave::new(plugin.name.clone(), move |p| saved.run(p));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = SettingsDraft {
            display_name: display_name.get_untracked(),
            active: active.get_untracked(),
            base_url: base_url.get_untracked(),
            timeout_ms: timeout_ms.get_untracked(),
            schedule_secs: schedule_secs.get_untracked(),
            max_attempts: max_attempts.get_untracked(),
            jitter_pct: jitter_pct.get_untracked(),
            retry_after_cap_secs: retry_after_cap_secs.get_untracked(),
            routes: route_lines.get_untracked(),
            redact_headers: redact_headers.get_untracked(),
            redact_pointers: redact_pointers.get_untracked(),
        };
        save.submit(draft.changes());
    };

    view! {
        <form class="settings" method="post" data-testid="plugin-settings-form" on:submit=submit>
            <fieldset>
                <legend>"General"</legend>
                <TextField label="Display name" name="display_name" value=display_name required=true/>
                <CheckField label="Active (its triggers run)" name="active" value=active/>
                <TextField label="Base URL" name="base_url" value=base_url kind="url"/>
                <TextField label="Timeout (ms)" name="timeout_ms" value=timeout_ms kind="number"/>
            </fieldset>
            <fieldset>
                <legend>"Retry policy"</legend>
                <TextField
                    label="Delays between attempts (seconds)"
                    name="schedule_secs"
                    value=schedule_secs
                    hint="Comma-separated, e.g. 5, 60, 300"
                />
                <TextField label="Most attempts" name="max_attempts" value=max_attempts kind="number"/>
                <TextField label="Jitter (%)" name="jitter_pct" value=jitter_pct kind="number"/>
                <TextField
                    label="Longest Retry-After honoured (seconds)"
                    name="retry_after_cap_secs"
                    value=retry_after_cap_secs
                    kind="number"
                />
            </fieldset>
            <fieldset>
                <legend>"Routes"</legend>
                <TextArea
                    label="One per line"
                    name="routes"
                    value=route_lines
                    hint="event.type METHOD /path — {entity_id} is replaced by the trigger's entity"
                />
            </fieldset>
            <fieldset>
                <legend>"Redaction"</legend>
                <TextField
                    label="Headers to redact"
                    name="redact_headers"
                    value=redact_headers
                    hint="Comma-separated header names"
                />
                <TextArea
                    label="Payload fields to redact"
                    name="redact_pointers"
                    value=redact_pointers
                    hint="JSON pointers, one per line, e.g. /card/number"
                    rows=3
                />
            </fieldset>
            <button type="submit" data-testid="save-settings" disabled=move || save.pending() || !ready.get()>
                "Save settings"
            </button>
            <SaveOutcome save testid="settings-saved">"Settings saved."</SaveOutcome>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> SettingsDraft {
        SettingsDraft {
            display_name: " Xero ".into(),
            active: false,
            base_url: "https://api.xero.com".into(),
            timeout_ms: "5000".into(),
            schedule_secs: "5, 60,\n300".into(),
            max_attempts: "4".into(),
            jitter_pct: "10".into(),
            retry_after_cap_secs: "600".into(),
            routes: "invoice.created post /Invoices/{entity_id}\n\n".into(),
            redact_headers: "X-Card, X-Pin".into(),
            redact_pointers: "/card/number\n".into(),
        }
    }

    #[test]
    fn the_fields_read_as_the_patch_they_stand_for() {
        let c = draft().changes().unwrap();
        assert_eq!(c.display_name.as_deref(), Some("Xero"));
        assert_eq!(c.active, Some(false));
        let rp = c.retry_policy.unwrap();
        assert_eq!(rp.schedule_secs, [5, 60, 300]);
        assert_eq!(
            (rp.max_attempts, rp.jitter_pct, rp.retry_after_cap_secs),
            (4, 10, 600)
        );
        let route = &c.routes.unwrap()["invoice.created"];
        assert_eq!(
            (route.method.as_str(), route.path.as_str()),
            ("POST", "/Invoices/{entity_id}")
        );
        assert_eq!(c.redact.unwrap().headers, ["X-Card", "X-Pin"]);
        assert!(c.credentials.is_none(), "settings never touch credentials");
    }

    #[test]
    fn text_that_cannot_be_read_names_its_field() {
        let mut d = draft();
        d.schedule_secs = "5, soon".into();
        assert_eq!(
            d.changes().unwrap_err().field.as_deref(),
            Some("retry_policy.schedule_secs")
        );
        let mut d = draft();
        d.routes = "invoice.created /Invoices".into();
        let e = d.changes().unwrap_err();
        assert_eq!(e.field.as_deref(), Some("routes"));
        assert!(
            e.message.contains("event.type METHOD /path"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_plugin_reads_back_as_the_fields_it_came_from() {
        let c = draft().changes().unwrap();
        let plugin = Plugin {
            id: uuid::Uuid::nil(),
            name: "xero".into(),
            display_name: "Xero".into(),
            kind: "http".into(),
            base_url: "https://api.xero.com".into(),
            active: false,
            timeout_ms: 5000,
            routes: c.routes.unwrap(),
            default_route: None,
            headers: Default::default(),
            retry_policy: c.retry_policy.unwrap(),
            external_id_pointer: None,
            redact: c.redact.unwrap(),
            retention: Default::default(),
            has_auth: true,
            has_signing_secret: false,
            created_at: Default::default(),
            updated_at: Default::default(),
        };
        let again = SettingsDraft::from(&plugin);
        assert_eq!(again.schedule_secs, "5, 60, 300");
        assert_eq!(again.routes, "invoice.created POST /Invoices/{entity_id}");
        assert_eq!(
            again.changes().unwrap().routes,
            draft().changes().unwrap().routes
        );
    }
}
