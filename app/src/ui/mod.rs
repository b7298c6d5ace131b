//! Pages and components. A page composes components; a component does one thing.

pub mod components;
mod log_page;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

pub use log_page::LogPage;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/calltrail.css"/>
        <Title text="Calltrail"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Calltrail"</a>
                <span class="tagline">"Integration log"</span>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the first HTML already holds the log, with or without JavaScript.
                    <Route path=StaticSegment("") view=LogPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
