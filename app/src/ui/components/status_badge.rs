use leptos::prelude::*;

use crate::domain::Status;

/// A status badge: colour and the word, never colour alone.
#[component]
pub fn StatusBadge(status: Status) -> impl IntoView {
    view! {
        <span class=format!("badge badge-{}", status.as_str()) data-status=status.as_str()>
            {status.label()}
        </span>
    }
}
