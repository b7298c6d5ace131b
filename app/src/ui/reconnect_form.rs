//! Reconnect a plugin (TrustPager's "reconnect the integration"): after a 401 or
//! 403 an administrator enters new credentials. They are write-only: the page
//! only ever learns whether credentials are set, never their value, and clears
//! the fields once the server has sealed them.

use leptos::prelude::*;

use super::components::{hydrated, TextField};
use super::plugin_save::{PluginSave, SaveOutcome};
use crate::domain::{Credentials, ErrorBody, Plugin, PluginChanges, WriteOnly};

/// How the provider is authenticated to: which inputs each kind needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bearer,
    Basic,
    Header,
    Query,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Bearer, Kind::Basic, Kind::Header, Kind::Query];

    fn value(self) -> &'static str {
        match self {
            Kind::Bearer => "bearer",
            Kind::Basic => "basic",
            Kind::Header => "header",
            Kind::Query => "query",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Bearer => "Bearer token (Authorization: Bearer …)",
            Kind::Basic => "User name and password (HTTP Basic)",
            Kind::Header => "A header of its own",
            Kind::Query => "A query parameter",
        }
    }

    fn parse(s: &str) -> Kind {
        Kind::ALL
            .into_iter()
            .find(|k| k.value() == s)
            .unwrap_or(Kind::Bearer)
    }

    /// The labels of its two inputs: the plain one (if any) and the secret.
    fn inputs(self) -> (Option<&'static str>, &'static str) {
        match self {
            Kind::Bearer => (None, "New token"),
            Kind::Basic => (Some("User name"), "New password"),
            Kind::Header => (Some("Header name"), "New value"),
            Kind::Query => (Some("Parameter name"), "New value"),
        }
    }
}

/// The credentials the fields stand for, or the field left empty.
fn credentials(kind: Kind, name: &str, secret: &str) -> Result<Credentials, ErrorBody> {
    let missing = |field: &str, what: &str| ErrorBody {
        code: "validation_failed".into(),
        message: format!("enter the {what}"),
        field: Some(field.into()),
    };
    let secret = WriteOnly(secret.to_string());
    let name = name.trim().to_string();
    match kind {
        Kind::Bearer if secret.0.is_empty() => Err(missing("auth.token", "new token")),
        Kind::Bearer => Ok(Credentials::Bearer { token: secret }),
        _ if name.is_empty() => Err(missing("auth.name", "name")),
        _ if secret.0.is_empty() => Err(missing("auth.value", "new secret")),
        Kind::Basic => Ok(Credentials::Basic {
            username: name,
            password: secret,
        }),
        Kind::Header => Ok(Credentials::Header {
            name,
            value: secret,
        }),
        Kind::Query => Ok(Credentials::Query {
            name,
            value: secret,
        }),
    }
}

#[component]
pub fn ReconnectForm(plugin: String, saved: Callback<Plugin>) -> impl IntoView {
    let ready = hydrated();
    let kind = RwSignal::new(Kind::Bearer);
    let name = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let save = PluginSave::new(plugin, move |p| {
        // Gone from the page as soon as the server holds them.
        secret.set(String::new());
        saved.run(p);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = credentials(
            kind.get_untracked(),
            &name.get_untracked(),
            &secret.get_untracked(),
        );
        save.submit(read.map(|c| PluginChanges {
            credentials: Some(c),
            ..PluginChanges::default()
        }));
    };
    view! {
        <form class="settings reconnect" method="post" data-testid="reconnect-form" on:submit=submit>
            <fieldset>
                <legend>"Reconnect"</legend>
                <p class="muted">
                    "After a 401 or 403 from the provider, enter new credentials. They are sealed \
                     on the server and never shown again."
                </p>
                <label class="field">
                    <span class="field-label">"Kind of credentials"</span>
                    <select
                        name="auth_type"
                        on:change=move |ev| kind.set(Kind::parse(&event_target_value(&ev)))
                    >
                        {Kind::ALL
                            .into_iter()
                            .map(|k| view! {
                                <option value=k.value() selected=move || kind.get() == k>{k.label()}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                {move || {
                    let (plain, secret_label) = kind.get().inputs();
                    view! {
                        {plain.map(|label| view! { <TextField label name="auth_name" value=name/> })}
                        <TextField label=secret_label name="auth_secret" value=secret kind="password"/>
                    }
                }}
            </fieldset>
            <button type="submit" data-testid="reconnect" disabled=move || save.pending() || !ready.get()>
                "Save new credentials"
            </button>
            <SaveOutcome save testid="reconnected">
                "Reconnected: the new credentials are saved. Re-run the triggers that failed \
                 with 401 or 403."
            </SaveOutcome>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_asks_for_what_it_needs() {
        assert!(matches!(
            credentials(Kind::Bearer, "", "t0k"),
            Ok(Credentials::Bearer { .. })
        ));
        assert_eq!(
            credentials(Kind::Bearer, "", "")
                .unwrap_err()
                .field
                .as_deref(),
            Some("auth.token")
        );
        assert_eq!(
            credentials(Kind::Header, " ", "v")
                .unwrap_err()
                .field
                .as_deref(),
            Some("auth.name")
        );
        let Ok(Credentials::Header { name, value }) = credentials(Kind::Header, " X-Key ", "v")
        else {
            panic!("a header with a name and a value");
        };
        assert_eq!((name.as_str(), value.0.as_str()), ("X-Key", "v"));
    }
}
