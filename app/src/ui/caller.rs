//! Who the browser is signed in as, for every page: loaded once per document
//! and shared through the context, so a page shows only what its reader may do
//! (the server refuses the rest anyway).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::domain::{Caller, ErrorBody};
use crate::server_fns::current_caller;

/// The signed-in caller, as a resource every page can read.
#[derive(Clone, Copy)]
pub struct CallerResource(pub Resource<Result<Caller, ErrorBody>>);

/// Load the caller (not on the sign-in page: nobody is signed in there) and put
/// it in the context for the pages below.
#[component]
pub fn ProvideCaller(children: Children) -> impl IntoView {
    let location = use_location();
    let caller = Resource::new(
        move || location.pathname.get() != "/login",
        |signed_in| async move {
            if signed_in {
                current_caller().await
            } else {
                Err(ErrorBody {
                    code: "unauthorized".into(),
                    message: "not signed in".into(),
                    field: None,
                })
            }
        },
    );
    provide_context(CallerResource(caller));
    children()
}

/// The caller's resource (inside [`ProvideCaller`]).
pub fn use_caller() -> Resource<Result<Caller, ErrorBody>> {
    expect_context::<CallerResource>().0
}

/// Its children only for a caller `allowed` says yes to; nothing while loading
/// or for anyone else.
#[component]
pub fn WhenAllowed(allowed: fn(&Caller) -> bool, children: ChildrenFn) -> impl IntoView {
    let caller = use_caller();
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let ok = caller.await.is_ok_and(|c| allowed(&c));
                ok.then(|| children.with_value(|c| c()))
            })}
        </Transition>
    }
}

/// An admin page: its children for admins; for anyone else a plain "No access",
/// so a viewer who follows a link sees why rather than an error.
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    let caller = use_caller();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match caller.await {
                    Ok(c) if c.can_administer => {
                        view! { <div class="admin-page">{children.with_value(|c| c())}</div> }.into_any()
                    }
                    _ => view! { <NoAccess/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What a page says to someone whose role does not open it.
#[component]
pub fn NoAccess() -> impl IntoView {
    view! {
        <section class="no-access" data-testid="no-access">
            <h1>"No access"</h1>
            <p>"No access — contact your administrator."</p>
        </section>
    }
}

/// Make an admin-only call for an admin only. An admin page's resources load
/// through this, so for anyone else they ask the server nothing (the server
/// would refuse, and the page would show a refusal instead of "No access").
pub async fn for_admins<T>(
    caller: Resource<Result<Caller, ErrorBody>>,
    call: impl std::future::Future<Output = Result<T, ErrorBody>>,
) -> Result<T, ErrorBody> {
    match caller.await {
        Ok(c) if c.can_administer => call.await,
        Ok(_) => Err(ErrorBody {
            code: "forbidden".into(),
            message: "this page is for admins".into(),
            field: None,
        }),
        Err(e) => Err(e),
    }
}
