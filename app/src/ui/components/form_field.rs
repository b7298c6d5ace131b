//! Labelled inputs bound to a signal: the label wraps its input, so every field
//! is named for screen readers and a click on the words focuses it.

use leptos::prelude::*;

/// One line of text (or a number, a URL, a password: `kind`).
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    // A secret is typed fresh each time: the browser must not offer to fill it.
    let autocomplete = if kind == "password" {
        "new-password"
    } else {
        "off"
    };
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input type=kind name=name autocomplete=autocomplete required=required bind:value=value/>
            {hint.map(|h| view! { <small class="muted">{h}</small> })}
        </label>
    }
}

/// Several lines of text.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <textarea name=name rows=rows bind:value=value></textarea>
            {hint.map(|h| view! { <small class="muted">{h}</small> })}
        </label>
    }
}

/// A yes/no choice.
#[component]
pub fn CheckField(label: &'static str, name: &'static str, value: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="field check">
            <input type="checkbox" name=name bind:checked=value/>
            <span>{label}</span>
        </label>
    }
}
