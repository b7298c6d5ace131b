//! The log's filters. Each one edits its query parameter in the address bar
//! (through [`Address`]) and the page follows, client-side: filters are
//! cumulative, survive a reload and go back and forward with the browser.

use leptos::html::Input;
use leptos::prelude::*;

use super::address::use_address;
use crate::domain::{event_type_words, PluginSummary, Status, TriggerFilter};

/// Several values of one parameter (`plugin=a&plugin=b`), as checkboxes in a
/// disclosure: any of them matches. None checked is all of them.
#[component]
fn MultiSelect(
    label: &'static str,
    param: &'static str,
    /// (value in the address, words shown)
    options: Vec<(String, String)>,
) -> impl IntoView {
    let address = use_address();
    let texts = StoredValue::new(options.clone());
    let picked = move || {
        let chosen = address.values(param);
        if chosen.is_empty() {
            return "All".to_string();
        }
        let words: Vec<String> = texts.with_value(|texts| {
            chosen
                .iter()
                .map(|v| {
                    texts
                        .iter()
                        .find(|(value, _)| value == v)
                        .map_or_else(|| v.clone(), |(_, text)| text.clone())
                })
                .collect()
        });
        if words.len() > 2 {
            format!("{} selected", words.len())
        } else {
            words.join(", ")
        }
    };
    let toggle = move |value: String, on: bool| {
        address.set_filter(|p| {
            let mut values = address.values_untracked(param);
            values.retain(|v| *v != value);
            if on {
                values.push(value);
            }
            p.set_all(param, values);
        })
    };
    view! {
        <details class="filter multi" data-testid=format!("{param}-filter")>
            <summary>
                <span class="filter-label">{label}</span>
                <span class="picked">{picked}</span>
            </summary>
            <fieldset>
                <legend class="visually-hidden">{label}</legend>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let checked = {
                            let value = value.clone();
                            move || address.values(param).contains(&value)
                        };
                        let initially = address.values_untracked(param).contains(&value);
                        let on_change = {
                            let value = value.clone();
                            move |ev| toggle(value.clone(), event_target_checked(&ev))
                        };
                        view! {
                            <label class="option">
                                <input
                                    type="checkbox"
                                    name=param
                                    value=value
                                    checked=initially
                                    prop:checked=checked
                                    on:change=on_change
                                />
                                {text}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </details>
    }
}

/// Which plugins, by display name.
#[component]
pub fn PluginFilter(plugins: Vec<PluginSummary>) -> impl IntoView {
    let options = plugins
        .into_iter()
        .map(|p| (p.name, p.display_name))
        .collect();
    view! { <MultiSelect label="Plugin" param="plugin" options/> }
}

/// Which statuses, by their badge's word.
#[component]
pub fn StatusFilter() -> impl IntoView {
    let options = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), s.label().to_string()))
        .collect();
    view! { <MultiSelect label="Status" param="status" options/> }
}

/// One event type, read as words: those of the plugins chosen (of every plugin
/// when none is).
#[component]
pub fn EventTypeFilter(plugins: Vec<PluginSummary>) -> impl IntoView {
    let address = use_address();
    let plugins = StoredValue::new(plugins);
    let current = move || address.value("event_type").unwrap_or_default();
    let options = move || {
        let chosen = address.values("plugin");
        let mut types: Vec<String> = plugins.with_value(|plugins| {
            plugins
                .iter()
                .filter(|p| chosen.is_empty() || chosen.contains(&p.name))
                .flat_map(|p| p.event_types.iter().cloned())
                .collect()
        });
        let selected = current();
        if !selected.is_empty() {
            types.push(selected);
        }
        types.sort_by_key(|t| event_type_words(t));
        types.dedup();
        types
            .into_iter()
            .map(|t| {
                let words = event_type_words(&t);
                let selected = t == current();
                view! { <option value=t.clone() title=t selected=selected>{words}</option> }
            })
            .collect_view()
    };
    let on_change = move |ev| {
        let value = event_target_value(&ev);
        address.set_filter(|p| p.set("event_type", Some(value)));
    };
    view! {
        <label class="filter">
            <span class="filter-label">"Type"</span>
            <select name="event_type" data-testid="event_type-filter" prop:value=current on:change=on_change>
                <option value="" selected=move || current().is_empty()>"All types"</option>
                {options}
            </select>
        </label>
    }
}

/// A text filter, applied as the reader types (once they pause), no Enter needed.
#[component]
pub fn TextFilter(
    label: &'static str,
    param: &'static str,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] input_ref: NodeRef<Input>,
    /// `search` for the free text, `text` otherwise.
    #[prop(default = "text")]
    kind: &'static str,
) -> impl IntoView {
    let address = use_address();
    let current = move || address.value(param).unwrap_or_default();
    let apply = crate::browser::debounced(300, move |value: String| {
        let now = address.value_untracked(param).unwrap_or_default();
        if value.trim() != now.trim() {
            address.set_filter(|p| p.set(param, Some(value)));
        }
    });
    view! {
        <label class="filter">
            <span class="filter-label">{label}</span>
            <input
                type=kind
                name=param
                node_ref=input_ref
                data-testid=param
                placeholder=placeholder
                autocomplete="off"
                value=address.value_untracked(param).unwrap_or_default()
                prop:value=current
                on:input=move |ev| apply(event_target_value(&ev))
            />
        </label>
    }
}

/// Free text over action, event type, entity id, external id and the payload's
/// values. "/" anywhere on the page (outside a text field) puts the cursor here.
/// A text too short to search for says so (the log then shows everything).
#[component]
pub fn SearchBox() -> impl IntoView {
    let input = NodeRef::<Input>::new();
    // "/" focuses the search box, as on GitHub and in Gmail.
    crate::browser::focus_on_key("/", input);
    let address = use_address();
    let too_short = move || {
        address
            .value("q")
            .is_some_and(|q| crate::domain::search_too_short(&q))
    };
    view! {
        <TextFilter
            label="Search"
            param="q"
            kind="search"
            input_ref=input
            placeholder="Action, type, entity, external id, payload ( / )"
        />
        <Show when=too_short>
            <p class="filter-hint muted" role="status" data-testid="q-hint">
                {format!(
                    "Type at least {} characters to search",
                    crate::domain::MIN_SEARCH_CHARS,
                )}
            </p>
        </Show>
    }
}

/// One record's triggers: its type and id (an id needs its type).
#[component]
pub fn EntityFilter() -> impl IntoView {
    view! {
        <TextFilter label="Entity type" param="entity_type" placeholder="invoice"/>
        <TextFilter label="Entity id" param="entity_id" placeholder="INV-1042"/>
    }
}

/// Triggers that belong together (one billing run, one import).
#[component]
pub fn AggregationFilter() -> impl IntoView {
    view! { <TextFilter label="Aggregation key" param="aggregation_key" placeholder="billing-run-…"/> }
}

/// Back to the whole log: every filter and the page go; anything else in the
/// address (an embed token) stays.
#[component]
pub fn ClearFilters() -> impl IntoView {
    let address = use_address();
    let any = move || address.href(|p| p.retain(&["token"])) != address.href(|_| {});
    let clear = move |_| address.go(|p| p.retain(&["token"]));
    view! {
        <button type="button" class="clear" data-testid="clear-filters" on:click=clear disabled=move || !any()>
            "Clear all"
        </button>
    }
}

/// Export the log as the filters show it: the whole filtered set, not the page.
#[component]
pub fn ExportLinks(#[prop(into)] filter: Signal<TriggerFilter>) -> impl IntoView {
    let href = move |format: &'static str| {
        let mut query = serde_html_form::to_string(filter.get()).unwrap_or_default();
        if !query.is_empty() {
            query.push('&');
        }
        format!("/export/triggers?{query}format={format}")
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

#[cfg(test)]
mod tests {
    use crate::domain::{ExportQuery, Status, TriggerFilter};

    #[test]
    fn the_export_link_carries_the_filter_the_export_reads_back() {
        let filter = TriggerFilter {
            plugin: vec!["stripe".into(), "xero".into()],
            status: vec![Status::Erroneous],
            entity_type: Some("invoice".into()),
            entity_id: Some("INV 7".into()),
            q: Some("a+b%".into()),
            ..Default::default()
        };
        let query = serde_html_form::to_string(&filter).unwrap();
        assert_eq!(
            ExportQuery::parse(&format!("{query}&format=csv"))
                .unwrap()
                .filter,
            filter
        );
        assert_eq!(
            serde_html_form::to_string(TriggerFilter::default()).unwrap(),
            ""
        );
    }
}
