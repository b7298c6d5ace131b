//! How the browser calls server functions: the default `fetch`, plus the embed
//! token when the page is an embedded entity panel.
//!
//! An embedded panel has no session (it lives in another application's iframe,
//! where third-party cookies are refused), so its only credential is the token in
//! its address. Every server function it calls carries that token in the
//! `X-Calltrail-Embed` header, and the server answers as the token's holder: one
//! entity, whatever the function is asked. Elsewhere nothing is added.

use std::future::Future;

use leptos::server_fn::client::browser::BrowserClient;
use leptos::server_fn::client::Client;
use leptos::server_fn::error::FromServerFnError;
use leptos::server_fn::request::browser::BrowserRequest;
use leptos::server_fn::response::browser::BrowserResponse;
use leptos::server_fn::Bytes;

/// The header a panel's server-function calls carry its token in.
pub const EMBED_HEADER: &str = "x-calltrail-embed";

/// The path every embedded panel's address starts with.
pub const EMBED_PREFIX: &str = "/embed/";

/// [`BrowserClient`], adding the panel's token when there is one.
pub struct PanelAwareClient;

impl<E, IS, OS> Client<E, IS, OS> for PanelAwareClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: BrowserRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        if let Some(token) = crate::browser::panel_token() {
            req.headers().set(EMBED_HEADER, &token);
        }
        <BrowserClient as Client<E, IS, OS>>::send(req)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}
