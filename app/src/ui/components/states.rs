//! What the log says when there is nothing to show or something went wrong:
//! what happened, and what the reader can do about it.

use leptos::prelude::*;

use super::address::use_address;
use crate::domain::ErrorBody;

/// No rows: with filters, a way to clear them; without, where triggers come from.
#[component]
pub fn EmptyState(
    /// Whether the address narrows the list (filters or a page).
    filtered: bool,
    /// What the list is of, when it is one record's: "this record".
    #[prop(optional)]
    record: bool,
) -> impl IntoView {
    let address = use_address();
    let clear = move |_| address.go(|p| p.retain(&["token"]));
    let (what, hint) = match (filtered, record) {
        (true, _) => (
            "No triggers match these filters.",
            "Widen them, or clear them to see every trigger.",
        ),
        (false, true) => (
            "No triggers for this record yet.",
            "They appear here as soon as the application sends one.",
        ),
        (false, false) => (
            "No triggers yet.",
            "Applications create them through the API (POST /api/v1/triggers) or report calls they made (POST /api/v1/calls).",
        ),
    };
    view! {
        <div class="empty" data-testid="empty">
            <p class="what">{what}</p>
            <p class="hint">{hint}</p>
            {filtered.then(|| view! {
                <button type="button" class="clear" data-testid="empty-clear" on:click=clear>"Clear filters"</button>
            })}
        </div>
    }
}

/// A refusal or an outage, in the server's own words, and what to do next.
#[component]
pub fn ErrorState(error: ErrorBody) -> impl IntoView {
    let address = use_address();
    let clear = move |_| address.go(|p| p.retain(&["token"]));
    let filter_problem = matches!(error.code.as_str(), "validation_failed" | "not_found");
    let hint = match error.code.as_str() {
        "forbidden" => "No access — contact your administrator.",
        "unauthorized" => "Your session has ended — sign in again.",
        "validation_failed" | "not_found" => "Change that filter, or clear all filters.",
        _ => "Try again in a moment; if it persists, the server's log says more.",
    };
    view! {
        <div class="error" role="alert" data-testid="error">
            <p class="what">{error.to_string()}</p>
            <p class="hint">{hint}</p>
            {filter_problem.then(|| view! {
                <button type="button" class="clear" on:click=clear>"Clear filters"</button>
            })}
            {(error.code == "unauthorized").then(|| view! { <a href="/login">"Sign in"</a> })}
        </div>
    }
}
