use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::domain::Plugin;

/// The plugin filter. Choosing a plugin navigates client-side to `/?plugin=name`,
/// so the filter is in the address bar and works without a page reload.
#[component]
pub fn PluginFilter(plugins: Vec<Plugin>, selected: Option<String>) -> impl IntoView {
    let navigate = use_navigate();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let url = if value.is_empty() {
            "/".to_string()
        } else {
            format!("/?plugin={}", urlencode(&value))
        };
        navigate(&url, Default::default());
    };
    let selected = selected.unwrap_or_default();
    view! {
        <label class="filter">
            <span>"Plugin"</span>
            <select name="plugin" data-testid="plugin-filter" on:change=on_change>
                <option value="" selected=selected.is_empty()>"All plugins"</option>
                {plugins
                    .into_iter()
                    .map(|p| {
                        let is_selected = p.name == selected;
                        view! {
                            <option value=p.name.clone() selected=is_selected>
                                {p.display_name.clone()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

/// Plugin names are `[a-z0-9_-]`, so only the unexpected needs escaping.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
