use chrono::NaiveDate;
use leptos::prelude::*;

use super::embed_link::EmbedLink;
use super::{plugin_scope, Outcome, PluginScope, RoleSelect};
use crate::domain::{ApiKey, ApiKeyInput, ErrorBody, NewApiKey, PluginSummary};
use crate::server_fns::{issue_api_key, list_api_keys, list_plugins, revoke_api_key};
use crate::ui::caller::{for_admins, use_caller, AdminOnly};
use crate::ui::components::{local_midnight, CopyButton, LocalTime};

type Keys = Resource<Result<Vec<ApiKey>, ErrorBody>>;

/// API keys for applications and scripts: issue one (its value is shown once,
/// then only its prefix), see which are used, revoke them. Below, links that
/// embed one record's log in another application.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let caller = use_caller();
    let keys: Keys = Resource::new(|| (), move |_| for_admins(caller, list_api_keys()));
    let plugins = Resource::new(|| (), move |_| for_admins(caller, list_plugins()));
    view! {
        <AdminOnly>
            <h1>"API keys"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading plugins…"</p> }>
                {move || Suspend::new(async move {
                    match plugins.await {
                        Ok(plugins) => view! { <NewKeyForm keys plugins/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading keys…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) => view! { <KeyTable keys=list/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <EmbedLink/>
        </AdminOnly>
    }
}

/// Issue a key: name, role, optionally the plugins it may see and the last day
/// it works (in the reader's time zone). The new key is shown until "Done", and
/// only ever kept in this page's memory.
#[component]
fn NewKeyForm(keys: Keys, plugins: Vec<PluginSummary>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let scope = RwSignal::new(Vec::<String>::new());
    let last_day = RwSignal::new(String::new());
    let issue = Action::new(|input: &ApiKeyInput| issue_api_key(input.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = issue.value().get() {
            name.set(String::new());
            scope.set(Vec::new());
            last_day.set(String::new());
            keys.refetch();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let plugins = scope.get_untracked();
        // A key works through its last day: it stops at the next local midnight.
        let expires_at = NaiveDate::parse_from_str(&last_day.get_untracked(), "%Y-%m-%d")
            .ok()
            .and_then(|d| local_midnight(d.succ_opt()?));
        issue.dispatch(ApiKeyInput {
            name: name.get_untracked(),
            role: role.get_untracked(),
            plugins: (!plugins.is_empty()).then_some(plugins),
            expires_at,
        });
    };
    view! {
        <form class="admin-form" on:submit=submit aria-labelledby="new-key-title">
            <h2 id="new-key-title">"Create a key"</h2>
            <label>
                "Name"
                <input
                    type="text"
                    name="name"
                    required
                    maxlength="100"
                    autocomplete="off"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </label>
            <label>"Role" <RoleSelect value=role/></label>
            <PluginScope plugins scope legend="Plugins it may see (none ticked: all)"/>
            <label>
                "Works until the end of (optional, your time zone)"
                <input
                    type="date"
                    name="expires"
                    prop:value=move || last_day.get()
                    on:input=move |ev| last_day.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" disabled=move || issue.pending().get()>"Create key"</button>
            {move || match issue.value().get() {
                Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                _ => None,
            }}
        </form>
        {move || match issue.value().get() {
            Some(Ok(new)) => Some(view! { <OneTimeKey new on_done=move || issue.value().set(None)/> }),
            _ => None,
        }}
    }
}

/// A key just issued, shown this one time with a copy button.
#[component]
fn OneTimeKey(new: NewApiKey, on_done: impl Fn() + 'static) -> impl IntoView {
    let title = format!("New key “{}”", new.api_key.name);
    let label = title.clone();
    view! {
        <section class="one-time" aria-label=label data-testid="new-key">
            <h2>{title}</h2>
            <p><strong>"Copy this key now: you will not see it again."</strong></p>
            <p class="secret">
                <code data-testid="new-key-value">{new.key.clone()}</code>
                <CopyButton text=new.key what="key"/>
            </p>
            <p class="muted">"Send it as " <code>"Authorization: Bearer <key>"</code> "."</p>
            <button type="button" on:click=move |_| on_done()>"Done"</button>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKey>) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="empty">"No API keys yet: create one above."</p> }.into_any();
    }
    view! {
        <table class="log people" data-testid="key-table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Key"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Plugins"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {keys.into_iter().map(|key| view! { <KeyRow key/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A time, or what its absence means.
fn time_or(at: Option<chrono::DateTime<chrono::Utc>>, none: &'static str) -> AnyView {
    match at {
        Some(at) => view! { <LocalTime at/> }.into_any(),
        None => view! { <span class="muted">{none}</span> }.into_any(),
    }
}

/// One key; revoking asks first, then shows when it was revoked.
#[component]
fn KeyRow(key: ApiKey) -> impl IntoView {
    let id = key.id.to_string();
    let name = key.name.clone();
    let revoked_at = RwSignal::new(key.revoked_at);
    let confirming = RwSignal::new(false);
    let revoke = Action::new(move |id: &String| revoke_api_key(id.clone()));
    Effect::new(move |_| {
        if let Some(Ok(key)) = revoke.value().get() {
            revoked_at.set(key.revoked_at);
            confirming.set(false);
        }
    });
    let created_by = key.created_by.map(|by| format!(" by {by}"));
    let asked = name.clone();
    let row_name = name.clone();
    view! {
        <tr data-key-name=row_name>
            <td class="name">{name}</td>
            <td class="mono">{key.prefix}"…"</td>
            <td>{key.role}</td>
            <td>{plugin_scope(&key.plugins)}</td>
            <td><LocalTime at=key.created_at/>{created_by}</td>
            <td>{time_or(key.last_used_at, "never")}</td>
            <td>{time_or(key.expires_at, "never")}</td>
            <td class="status">
                {move || match revoked_at.get() {
                    Some(at) => view! { "Revoked " <LocalTime at/> }.into_any(),
                    None if confirming.get() => {
                        let id = id.clone();
                        view! {
                            <span role="group" aria-label=format!("Revoke {asked}?")>
                                {format!("Revoke “{asked}”? Anything using it stops at once. ")}
                                <button type="button" class="danger" on:click=move |_| { revoke.dispatch(id.clone()); }>
                                    "Yes, revoke"
                                </button>
                                <button type="button" class="link" on:click=move |_| confirming.set(false)>
                                    "Cancel"
                                </button>
                            </span>
                        }
                        .into_any()
                    }
                    None => view! {
                        "Active "
                        <button type="button" on:click=move |_| confirming.set(true)>"Revoke"</button>
                    }
                    .into_any(),
                }}
                <Outcome action=revoke done=|k: &ApiKey| format!("Revoked {}.", k.name)/>
            </td>
        </tr>
    }
}
