//! Pages and components. A page composes components; a component does one thing.

pub mod components;
mod embed_page;
mod log_page;
mod login_page;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    ParamSegment, SsrMode, StaticSegment,
};

pub use embed_page::EmbedPage;
pub use log_page::LogPage;
pub use login_page::{LoginPage, SignInProblem};

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

/// The page's Content-Security-Policy: scripts only from us or carrying this
/// response's nonce (Leptos puts it on the hydration script and on the inline
/// scripts that carry resources), WebAssembly allowed to compile, no framing.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <Stylesheet id="leptos" href="/pkg/calltrail.css"/>
        <Title text="Calltrail"/>
        <Router>
            <TopBar/>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the first HTML already holds the log, with or without JavaScript.
                    <Route path=StaticSegment("") view=LogPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("embed"), ParamSegment("entity_type"), ParamSegment("entity_id"))
                        view=EmbedPage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("login") view=LoginPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The app's header, except in an embedded panel: there it would lead out of the
/// one entity the panel may show.
#[component]
fn TopBar() -> impl IntoView {
    let location = use_location();
    let embedded = move || {
        location
            .pathname
            .read()
            .starts_with(crate::client::EMBED_PREFIX)
    };
    view! {
        <Show when=move || !embedded()>
            <header class="topbar">
                <a class="brand" href="/">"Calltrail"</a>
                <span class="tagline">"Integration log"</span>
                <SignOut/>
            </header>
        </Show>
    }
}

/// A sign-out button: a plain form, so it works before the page is hydrated.
/// Not shown on the sign-in page itself.
#[component]
fn SignOut() -> impl IntoView {
    let location = use_location();
    move || {
        (location.pathname.get() != "/login").then(|| {
            view! {
                <form class="sign-out" method="post" action="/logout">
                    <button type="submit">"Sign out"</button>
                </form>
            }
        })
    }
}
