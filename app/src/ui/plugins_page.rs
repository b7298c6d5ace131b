//! `/plugins`: every plugin the reader sees, whether it runs, how often its calls
//! failed in the last day and when one last went through. Each leads to its page.

use leptos::prelude::*;

use super::components::{ErrorNote, LocalTime};
use crate::domain::PluginHealth;
use crate::server_fns::list_plugin_health;

#[component]
pub fn PluginsPage() -> impl IntoView {
    let plugins = Resource::new(|| (), |_| list_plugin_health());
    view! {
        <h1>"Plugins"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading plugins…"</p> }>
            {move || Suspend::new(async move {
                match plugins.await {
                    Ok(list) => view! { <PluginHealthTable plugins=list/> }.into_any(),
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PluginHealthTable(plugins: Vec<PluginHealth>) -> impl IntoView {
    if plugins.is_empty() {
        return view! {
            <p class="empty">"No plugins visible — an administrator adds them, or limits what you see."</p>
        }
        .into_any();
    }
    view! {
        <table class="plugins" data-testid="plugins-table">
            <thead>
                <tr>
                    <th scope="col">"Plugin"</th>
                    <th scope="col">"State"</th>
                    <th scope="col" class="num">"Failures (24 h)"</th>
                    <th scope="col">"Last success"</th>
                </tr>
            </thead>
            <tbody>
                {plugins.into_iter().map(|p| view! { <PluginHealthRow p/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn PluginHealthRow(p: PluginHealth) -> impl IntoView {
    let href = format!("/plugins/{}", p.name);
    let failing = p.failures_24h > 0;
    let key = p.name.clone();
    view! {
        <tr data-plugin=key>
            <th scope="row">
                <a href=href>{p.display_name}</a>
                <code class="muted plugin-name">{p.name}</code>
            </th>
            <td data-testid="plugin-state"><ActiveBadge active=p.active/></td>
            <td class="num" data-testid="plugin-failures" class:failing=failing>{p.failures_24h}</td>
            <td data-testid="plugin-last-success">
                {match p.last_success_at {
                    Some(at) => view! { <LocalTime at/> }.into_any(),
                    None => view! { <span class="muted">"never"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// Whether a plugin runs, in words (never colour alone).
#[component]
pub fn ActiveBadge(active: bool) -> impl IntoView {
    let (class, word) = if active {
        ("badge badge-active", "Active")
    } else {
        ("badge badge-inactive", "Inactive")
    };
    view! { <span class=class>{word}</span> }
}
