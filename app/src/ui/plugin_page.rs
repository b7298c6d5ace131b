//! `/plugins/{name}`: one plugin's own log beside its settings (Zero Friction keeps
//! the log on the plugin's configuration page). Administrators get the plugin whole
//! and may change it or reconnect it; everyone else gets its summary, read-only.
//! Which one the server sends decides which the page shows: no admin call is made
//! for anyone else.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::components::{ErrorNote, TriggerTable};
use super::plugin_settings::PluginSettingsForm;
use super::plugins_page::ActiveBadge;
use super::reconnect_form::ReconnectForm;
use crate::domain::{Plugin, PluginSummary, PluginView, TriggerFilter};
use crate::server_fns::{get_plugin, list_triggers};

#[component]
pub fn PluginPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let plugin = Resource::new(move || name.get(), get_plugin);
    view! {
        <p class="breadcrumb"><a href="/plugins">"Plugins"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading the plugin…"</p> }>
            {move || Suspend::new(async move {
                match plugin.await {
                    Ok(PluginView::Full(p)) => view! { <PluginAdmin plugin=*p/> }.into_any(),
                    Ok(PluginView::Summary(s)) => view! { <PluginReadOnly plugin=s/> }.into_any(),
                    Err(e) => {
                        if e.code == "not_found" {
                            super::answer_not_found();
                        }
                        view! { <ErrorNote error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The heading every reader sees: names and whether it runs.
#[component]
fn PluginHeading(display_name: String, name: String, active: bool) -> impl IntoView {
    view! {
        <header class="plugin-heading">
            <h1>{display_name}</h1>
            <code class="muted">{name}</code>
            <span data-testid="plugin-state"><ActiveBadge active/></span>
        </header>
    }
}

/// An administrator's view: settings and credentials to change, and the log.
#[component]
fn PluginAdmin(plugin: Plugin) -> impl IntoView {
    let current = RwSignal::new(plugin.clone());
    let saved = Callback::new(move |p: Plugin| current.set(p));
    let name = plugin.name.clone();
    let set_or_not = |set: bool| if set { "set" } else { "not set" };
    view! {
        {move || {
            let p = current.get();
            view! { <PluginHeading display_name=p.display_name name=p.name active=p.active/> }
        }}
        <div class="plugin-page">
            <section class="plugin-settings" aria-label="Settings">
                <dl class="secrets" data-testid="plugin-secrets">
                    <dt>"Credentials"</dt>
                    <dd data-testid="has-auth">{move || set_or_not(current.get().has_auth)}</dd>
                    <dt>"Signing secret"</dt>
                    <dd>{move || set_or_not(current.get().has_signing_secret)}</dd>
                </dl>
                <ReconnectForm plugin=name.clone() saved/>
                <PluginSettingsForm plugin saved/>
            </section>
            <PluginLog name/>
        </div>
    }
}

/// Everyone else's view: what the plugin is, and its log.
#[component]
fn PluginReadOnly(plugin: PluginSummary) -> impl IntoView {
    let events = if plugin.event_types.is_empty() {
        "none".to_string()
    } else {
        plugin
            .event_types
            .iter()
            .map(|e| crate::domain::event_type_words(e))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <PluginHeading display_name=plugin.display_name name=plugin.name.clone() active=plugin.active/>
        <div class="plugin-page">
            <section class="plugin-settings" aria-label="Settings" data-testid="plugin-settings-readonly">
                <dl>
                    <dt>"State"</dt>
                    <dd>{if plugin.active { "Active: its triggers run" } else { "Inactive: its triggers wait" }}</dd>
                    <dt>"Event types"</dt>
                    <dd>{events}</dd>
                </dl>
                <p class="muted">"Its configuration is for administrators."</p>
            </section>
            <PluginLog name=plugin.name/>
        </div>
    }
}

/// The plugin's newest triggers, inactive or not, and the way to the whole log.
#[component]
fn PluginLog(name: String) -> impl IntoView {
    let filter = TriggerFilter {
        plugin: vec![name.clone()],
        include_inactive: true,
        ..TriggerFilter::default()
    };
    let triggers = Resource::new(move || filter.clone(), |f| list_triggers(f, None));
    // Plugin names are `[a-z0-9_-]`: nothing to encode.
    let href = format!("/?plugin={name}");
    view! {
        <section class="plugin-log" aria-labelledby="plugin-log-title">
            <header class="section-heading">
                <h2 id="plugin-log-title">"Its log"</h2>
                <a href=href data-testid="open-in-log">"Open in the log"</a>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading triggers…"</p> }>
                {move || Suspend::new(async move {
                    match triggers.await {
                        Ok(page) => view! { <TriggerTable triggers=page.items/> }.into_any(),
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
