use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// Why the last sign-in did not work, and where it was going, put in the page's
/// context by the server when it answers a failed `POST /login` with this page.
/// (That answer's address is `/login` without a query, so `next` travels here.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInProblem {
    pub message: String,
    pub next: String,
}

/// The sign-in page: a plain form posted to `POST /login`, which sets the
/// session cookie and sends the browser on to `next`. It works without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    // The server knows the problem; the browser reads it from the serialised resource.
    let from_server = use_context::<SignInProblem>();
    let problem = Resource::new(
        || (),
        move |_| {
            let problem = from_server.clone();
            async move { problem }
        },
    );
    view! {
        <section class="sign-in">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let problem = problem.await;
                    let next = match &problem {
                        Some(p) => p.next.clone(),
                        None => query.read_untracked().get("next").unwrap_or_else(|| "/".into()),
                    };
                    view! {
                        {problem.map(|p| view! { <p class="error" role="alert">{p.message}</p> })}
                        <form method="post" action="/login">
                            <input type="hidden" name="next" value=next/>
                            <label>
                                "Email"
                                <input type="email" name="email" autocomplete="username" required autofocus/>
                            </label>
                            <label>
                                "Password"
                                <input type="password" name="password" autocomplete="current-password" required/>
                            </label>
                            <button type="submit">"Sign in"</button>
                        </form>
                    }
                })}
            </Suspense>
        </section>
    }
}
