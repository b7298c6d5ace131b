use leptos::prelude::*;

use crate::domain::{EmbedToken, EmbedTokenInput, EntityRef};
use crate::server_fns::issue_embed_token;
use crate::ui::components::{CopyButton, LocalTime};

/// How long a new link may live, as the issuer picks it (the server allows a
/// minute to a day).
const LIFETIMES: [(i64, &str); 4] = [
    (900, "15 minutes"),
    (3_600, "1 hour"),
    (28_800, "8 hours"),
    (86_400, "1 day"),
];

/// Issue a link that shows one record's log inside another application, and
/// the iframe to paste there. Whoever holds the link sees that record only, until
/// it expires; it re-runs only if ticked here.
#[component]
pub fn EmbedLink() -> impl IntoView {
    let entity_type = RwSignal::new(String::new());
    let entity_id = RwSignal::new(String::new());
    let lifetime = RwSignal::new(LIFETIMES[0].0);
    let can_rerun = RwSignal::new(false);
    let issue = Action::new(|input: &EmbedTokenInput| issue_embed_token(input.clone()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        issue.dispatch(EmbedTokenInput {
            entity: EntityRef {
                entity_type: entity_type.get_untracked().trim().to_string(),
                id: entity_id.get_untracked().trim().to_string(),
            },
            expires_in: Some(lifetime.get_untracked()),
            can_rerun: can_rerun.get_untracked(),
        });
    };
    let text_input = move |label: &'static str, name: &'static str, value: RwSignal<String>| {
        view! {
            <label>
                {label}
                <input
                    type="text"
                    name=name
                    required
                    autocomplete="off"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </label>
        }
    };
    view! {
        <form class="admin-form" on:submit=submit aria-labelledby="embed-title">
            <h2 id="embed-title">"Embed a record's log"</h2>
            {text_input("Entity type", "entity_type", entity_type)}
            {text_input("Entity id", "entity_id", entity_id)}
            <label>
                "Link works for"
                <select
                    name="lifetime"
                    on:change=move |ev| {
                        lifetime.set(event_target_value(&ev).parse().unwrap_or(LIFETIMES[0].0))
                    }
                >
                    {LIFETIMES
                        .into_iter()
                        .map(|(secs, text)| view! { <option value=secs.to_string()>{text}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="can_rerun"
                    prop:checked=move || can_rerun.get()
                    on:change=move |ev| can_rerun.set(event_target_checked(&ev))
                />
                "The panel may re-run triggers"
            </label>
            <button type="submit" disabled=move || issue.pending().get()>"Create embed link"</button>
            {move || match issue.value().get() {
                Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                _ => None,
            }}
        </form>
        {move || match issue.value().get() {
            Some(Ok(token)) => Some(view! { <EmbedSnippet token/> }),
            _ => None,
        }}
    }
}

/// The link just issued and the iframe that shows it, each with a copy button.
#[component]
fn EmbedSnippet(token: EmbedToken) -> impl IntoView {
    let url = absolute(&token.url);
    let snippet = iframe_snippet(&url);
    let (shown_url, shown_snippet) = (url.clone(), snippet.clone());
    view! {
        <section class="one-time" aria-label="New embed link" data-testid="embed-link">
            <p>"Valid until " <LocalTime at=token.expires_at/> ". Anyone with this link sees this record's log."</p>
            <label>
                "Link"
                <input type="text" readonly value=shown_url data-testid="embed-url"/>
            </label>
            <CopyButton text=url what="link"/>
            <label>
                "Iframe to paste into your application"
                <textarea readonly rows="3" data-testid="embed-snippet">{shown_snippet}</textarea>
            </label>
            <CopyButton text=snippet what="iframe"/>
            <p class="muted">
                "The panel tells its parent page how tall it is: a "
                <code>"message"</code>
                " event with "
                <code>"{type: \"calltrail:height\", height}"</code>
                "."
            </p>
        </section>
    }
}

/// The iframe for a panel's link, its attribute escaped.
fn iframe_snippet(url: &str) -> String {
    let src = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        "<iframe src=\"{src}\" title=\"Calltrail log\" style=\"width:100%;border:0\" loading=\"lazy\"></iframe>"
    )
}

/// The server gives a path unless it knows its public address: the browser
/// knows where it is.
fn absolute(url: &str) -> String {
    if !url.starts_with('/') {
        return url.to_string();
    }
    match crate::browser::page_origin() {
        Some(origin) => format!("{origin}{url}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_frames_the_link_with_its_attribute_escaped() {
        assert_eq!(
            iframe_snippet("https://ct.example.com/embed/invoice/INV-1?token=v4.local.x&a=\"b\""),
            "<iframe src=\"https://ct.example.com/embed/invoice/INV-1?token=v4.local.x&amp;a=&quot;b&quot;\" \
             title=\"Calltrail log\" style=\"width:100%;border:0\" loading=\"lazy\"></iframe>"
        );
    }
}
