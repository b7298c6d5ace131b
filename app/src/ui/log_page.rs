use leptos::prelude::*;
use leptos_meta::Title;

use super::components::{LogView, TimeZoneNote};

/// The global integration log: every trigger, newest first, filtered by the
/// address bar.
#[component]
pub fn LogPage() -> impl IntoView {
    view! {
        <Title text="Integration log · Calltrail"/>
        <header class="page-head">
            <h1>"Integration log"</h1>
            <TimeZoneNote/>
        </header>
        <LogView/>
    }
}
