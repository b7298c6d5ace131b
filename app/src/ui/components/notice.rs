use leptos::prelude::*;

use crate::domain::ErrorBody;

/// A refusal or failure as the server worded it, naming the field at fault.
#[component]
pub fn ErrorNote(error: ErrorBody) -> impl IntoView {
    view! { <p class="error" role="alert" data-testid="error">{error.to_string()}</p> }
}

/// What a page says to someone whose role does not open it.
#[component]
pub fn NoAccess() -> impl IntoView {
    view! {
        <p class="empty no-access" data-testid="no-access">
            "No access — contact your administrator."
        </p>
    }
}
