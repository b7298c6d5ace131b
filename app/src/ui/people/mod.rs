//! The admin pages for people and access: the audit trail, users, API keys and
//! embed links. Each page opens for admins only ([`AdminOnly`]) and loads its data
//! through [`for_admins`], so anyone else gets "No access" and the server is
//! asked nothing.
//!
//! [`AdminOnly`]: super::caller::AdminOnly
//! [`for_admins`]: super::caller::for_admins

mod api_keys_page;
mod audit_page;
mod embed_link;
mod users_page;

pub use api_keys_page::ApiKeysPage;
pub use audit_page::AuditPage;
pub use users_page::UsersPage;

use leptos::prelude::*;

use crate::domain::{ErrorBody, PluginSummary, ROLES};

/// What a form's last submission came to: the server's refusal (with the field
/// it names) or a line saying it worked. Nothing before the first submission.
#[component]
fn Outcome<I, T>(
    action: Action<I, Result<T, ErrorBody>>,
    /// The line shown when it worked.
    done: fn(&T) -> String,
) -> impl IntoView
where
    I: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Ok(value)) => view! { <p class="ok" role="status">{done(&value)}</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        None => ().into_any(),
    }
}

/// A role picker with every role the server knows.
#[component]
fn RoleSelect(
    value: RwSignal<String>,
    /// Its accessible name where no visible label wraps it.
    #[prop(optional)]
    aria_label: Option<String>,
) -> impl IntoView {
    view! {
        <select
            name="role"
            aria-label=aria_label
            prop:value=move || value.get()
            on:change=move |ev| value.set(event_target_value(&ev))
        >
            {ROLES
                .into_iter()
                .map(|role| view! { <option value=role selected=move || value.get() == role>{role}</option> })
                .collect_view()}
        </select>
    }
}

/// The plugins a key or user may see, as boxes to tick: none ticked is every plugin.
#[component]
fn PluginScope(
    plugins: Vec<PluginSummary>,
    scope: RwSignal<Vec<String>>,
    legend: &'static str,
) -> impl IntoView {
    view! {
        <fieldset class="scope">
            <legend>{legend}</legend>
            {plugins
                .into_iter()
                .map(|p| {
                    let name = p.name.clone();
                    let ticked = {
                        let name = name.clone();
                        move || scope.with(|s| s.contains(&name))
                    };
                    let toggle = move |_| {
                        scope.update(|s| match s.iter().position(|n| *n == name) {
                            Some(i) => {
                                s.remove(i);
                            }
                            None => s.push(name.clone()),
                        })
                    };
                    view! {
                        <label class="check">
                            <input type="checkbox" value=p.name prop:checked=ticked on:change=toggle/>
                            {p.display_name}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// The plugins a user or key may see, in words.
fn plugin_scope(plugins: &Option<Vec<String>>) -> String {
    match plugins {
        None => "all plugins".into(),
        Some(names) => names.join(", "),
    }
}
