//! Labelled inputs bound to a signal. Each input is named by its label and
//! described by its hint, so screen readers read both, and a click on the words
//! focuses it. Ids come from the field's `name`: unique on a page.

use leptos::prelude::*;

/// True once the page runs in the browser. Forms keep their submit button
/// disabled until then: submitted by the browser itself, before hydration, a form
/// would put what was typed (a new password…) in the address.
pub fn hydrated() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// The hint under an input, and the id that ties it to the input.
fn hint_view(name: &'static str, hint: Option<&'static str>) -> (Option<String>, impl IntoView) {
    let id = hint.map(|_| format!("hint-{name}"));
    let view = hint.map(|h| view! { <small class="muted" id=format!("hint-{name}")>{h}</small> });
    (id, view)
}

/// One line of text (or a number, a URL, a day, a password: `kind`).
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
    let id = format!("field-{name}");
    let (described_by, hint) = hint_view(name, hint);
    view! {
        <div class="field">
            <label class="field-label" for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                autocomplete=autocomplete
                required=required
                aria-describedby=described_by
                // What the server renders; once hydrated, the binding takes over.
                value=value.get_untracked()
                bind:value=value
            />
            {hint}
        </div>
    }
}

/// Several lines of text. Filled once hydrated (the form waits for that anyway):
/// text inside a server-rendered `<textarea>` could not carry hydration markers.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    let id = format!("field-{name}");
    let (described_by, hint) = hint_view(name, hint);
    view! {
        <div class="field">
            <label class="field-label" for=id.clone()>{label}</label>
            <textarea id=id name=name rows=rows aria-describedby=described_by bind:value=value></textarea>
            {hint}
        </div>
    }
}

/// A yes/no choice.
#[component]
pub fn CheckField(label: &'static str, name: &'static str, value: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="field check">
            <input type="checkbox" name=name checked=value.get_untracked() bind:checked=value/>
            <span>{label}</span>
        </label>
    }
}
