use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Why the last sign-in did not work, put in the page's context by the server
/// when it answers a failed `POST /login` with this page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInProblem(pub String);

/// The sign-in page: a plain form posted to `POST /login`, which sets the
/// session cookie and sends the browser on to `next`. It works without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_string());
    // The server knows the problem; the browser reads it from the serialised resource.
    let problem = use_context::<SignInProblem>().map(|p| p.0);
    let message = Resource::new(
        || (),
        move |_| {
            let problem = problem.clone();
            async move { problem }
        },
    );
    view! {
        <section class="sign-in">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    message.await.map(|text| view! { <p class="error" role="alert">{text}</p> })
                })}
            </Suspense>
            <form method="post" action="/login">
                <input type="hidden" name="next" prop:value=next value=next/>
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
        </section>
    }
}
