//! Pages and components. A page composes components; a component does one thing.

mod caller;
pub mod components;
mod embed_page;
mod entity_page;
mod links;
mod log_page;
mod login_page;
mod migration_form;
mod migrations_page;
mod people;
mod plugin_page;
mod plugin_save;
mod plugin_settings;
mod plugins_page;
mod reconnect_form;
mod trigger_page;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    ParamSegment, SsrMode, StaticSegment,
};

pub use caller::{use_caller, ProvideCaller, WhenAllowed};
pub use embed_page::EmbedPage;
pub use entity_page::EntityPage;
pub use log_page::LogPage;
pub use login_page::{LoginPage, SignInProblem};
pub use migrations_page::MigrationsPage;
pub use people::{ApiKeysPage, AuditPage, UsersPage};
pub use plugin_page::PluginPage;
pub use plugins_page::PluginsPage;
pub use trigger_page::TriggerPage;

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

/// Answer this page's request with 404 Not Found, for a page of something that
/// is not there (or not visible): links checkers, crawlers and monitors see it.
/// The page still says why in words. Only the server's answer has a status; every
/// route renders `SsrMode::Async`, so the status is set before headers are sent.
pub(crate) fn answer_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    content_security_policy();
    crate::browser::mark_hydrated();
    view! {
        <Stylesheet id="leptos" href="/pkg/calltrail.css"/>
        <Title text="Calltrail"/>
        <Router>
            <ProvideCaller>
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
                    <Route
                        path=(StaticSegment("entities"), ParamSegment("entity_type"), ParamSegment("entity_id"))
                        view=EntityPage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("plugins") view=PluginsPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("plugins"), ParamSegment("name"))
                        view=PluginPage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("migrations") view=MigrationsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("triggers"), ParamSegment("id"))
                        view=TriggerPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
            </ProvideCaller>
        </Router>
    }
}

/// The app's header, except in an embedded panel: there it would lead out of the
/// one entity the panel may show.
#[component]
fn TopBar() -> impl IntoView {
    let pathname = use_location().pathname;
    let embedded = move || pathname.read().starts_with(crate::client::EMBED_PREFIX);
    view! {
        <Show when=move || !embedded()>
            <header class="topbar">
                <a class="brand" href="/">"Calltrail"</a>
                <Show when=move || pathname.get() != "/login">
                    <Nav/>
                </Show>
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

/// The pages a caller may open, and who they are. Admin pages only for admins.
#[component]
fn Nav() -> impl IntoView {
    let caller = use_caller();
    let pathname = use_location().pathname;
    let link = move |href: &'static str, text: &'static str| {
        let current = move || {
            let path = pathname.get();
            let here = if href == "/" {
                path == "/"
            } else {
                path.starts_with(href)
            };
            here.then_some("page")
        };
        view! { <a href=href aria-current=current>{text}</a> }
    };
    view! {
        <nav class="nav" aria-label="Main">
            {link("/", "Log")}
            {link("/plugins", "Plugins")}
            <WhenAllowed allowed=|c| c.can_administer>
                {link("/migrations", "Migrations")}
                {link("/audit", "Audit")}
                {link("/users", "Users")}
                {link("/api-keys", "API keys")}
            </WhenAllowed>
        </nav>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                caller.await.ok().map(|c| {
                    let title = format!("Signed in as {} ({})", c.name, c.role);
                    view! {
                    <span class="who" data-testid="who" title=title>
                        {c.name}
                        <span class="role">{c.role}</span>
                    </span>
                    }
                })
            })}
        </Transition>
    }
}
