use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::domain::{PluginSummary, Status};

/// One filter of the log as a select. Choosing a value navigates client-side to
/// the same page with that query parameter changed and every other filter kept,
/// so filters are cumulative, live in the address bar, and need no reload.
#[component]
fn SelectFilter(
    label: &'static str,
    param: &'static str,
    all: &'static str,
    options: Vec<(String, String)>,
) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let selected = query.read_untracked().get(param).unwrap_or_default();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let mut params = query.get_untracked();
        params.remove(param);
        if !value.is_empty() {
            params.replace(param, value);
        }
        navigate(
            &format!("/{}", params.to_query_string()),
            Default::default(),
        );
    };
    view! {
        <label class="filter">
            <span>{label}</span>
            <select name=param data-testid=format!("{param}-filter") on:change=on_change>
                <option value="" selected=selected.is_empty()>{all}</option>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let is_selected = value == selected;
                        view! { <option value=value selected=is_selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
pub fn PluginFilter(plugins: Vec<PluginSummary>) -> impl IntoView {
    let options = plugins
        .into_iter()
        .map(|p| (p.name, p.display_name))
        .collect();
    view! { <SelectFilter label="Plugin" param="plugin" all="All plugins" options/> }
}

#[component]
pub fn StatusFilter() -> impl IntoView {
    let options = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), s.label().to_string()))
        .collect();
    view! { <SelectFilter label="Status" param="status" all="All statuses" options/> }
}

/// Free text over action, event type, entity id and external id; applied on Enter.
#[component]
pub fn SearchBox() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let current = query.read_untracked().get("q").unwrap_or_default();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let mut params = query.get_untracked();
        params.remove("q");
        if !value.trim().is_empty() {
            params.replace("q", value.trim().to_string());
        }
        navigate(
            &format!("/{}", params.to_query_string()),
            Default::default(),
        );
    };
    view! {
        <label class="filter">
            <span>"Search"</span>
            <input
                type="search"
                name="q"
                data-testid="search"
                placeholder="Action, type, entity or external id"
                value=current
                on:change=on_change
            />
        </label>
    }
}

/// When the log shows one entity's triggers: which one, and a way back to all.
#[component]
pub fn EntityChip() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let entity = move || {
        let q = query.read();
        Some(format!(
            "{} / {}",
            q.get("entity_type")?,
            q.get("entity_id")?
        ))
    };
    let clear = move |_| {
        let mut params = query.get_untracked();
        params.remove("entity_type");
        params.remove("entity_id");
        navigate(
            &format!("/{}", params.to_query_string()),
            Default::default(),
        );
    };
    view! {
        <Show when=move || entity().is_some()>
            <p class="chip" data-testid="entity-chip">
                "Triggers of "
                <strong>{entity}</strong>
                <button class="link" on:click=clear.clone()>"show all"</button>
            </p>
        </Show>
    }
}

/// Export the log as the filters show it: the whole filtered set, not the page.
#[component]
pub fn ExportLinks() -> impl IntoView {
    let query = use_query_map();
    let href = move |format: &'static str| {
        let mut params = query.get();
        params.remove("cursor");
        params.replace("format", format.to_string());
        format!("/export/triggers{}", params.to_query_string())
    };
    view! {
        <span class="export">
            "Export "
            <a href=move || href("csv") data-testid="export-csv" download>"CSV"</a>
            " · "
            <a href=move || href("ndjson") data-testid="export-ndjson" download>"NDJSON"</a>
        </span>
    }
}
