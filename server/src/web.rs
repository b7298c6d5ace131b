//! The browser side of the server: Leptos rendering and server functions,
//! wired to the same service the REST API uses.
//!
//! Every page and server function runs as the [`Principal`] that the request
//! carries in its extensions (put there by the layer that knows who is asking:
//! see `caller_from_request`), through a backend bound to that principal, so the
//! service checks the browser exactly as it checks an API key.

use std::sync::Arc;

use app::backend::{Backend, SharedBackend};
use app::domain::{
    ActivityWindow, ApiKey, ApiKeyInput, AuditEntry, AuditQuery, Caller, EmbedToken,
    EmbedTokenInput, EntityRef, ErrorBody, GroupRerunOutcome, Migration, MigrationInput,
    MigrationStart, NewApiKey, Page, PanelScope, Password, Plugin, PluginChanges, PluginHealth,
    PluginSummary, PluginView, Trigger, TriggerActivity, TriggerCount, TriggerDetail,
    TriggerFilter, User, UserChange,
};
mod session;
mod sign_in;

use std::net::SocketAddr;

use app::ui::SignInProblem;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::handler::Handler;
use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, Router};
use tower_http::services::ServeDir;
use tower_sessions::Session;

use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
pub use session::{SessionSettings, COOKIE as SESSION_COOKIE};
use sign_in::SignInGuard;
pub use sign_in::SignInLimits;

mod embed;

use crate::service::{
    GroupRerunInput, Identity, Principal, RerunInput, Role, Secret, Service, ServiceError,
    UserInput, UserPatch, WRONG_CREDENTIALS,
};

/// The service, seen from the pages, as one caller.
struct UiBackend {
    service: Arc<Service>,
    who: Principal,
}

#[async_trait::async_trait]
impl Backend for UiBackend {
    async fn list_triggers(
        &self,
        filter: TriggerFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Page<Trigger>, ErrorBody> {
        Ok(self
            .service
            .list_triggers(&self.who, filter, cursor.as_deref(), limit)
            .await?)
    }

    async fn get_trigger(&self, id: &str) -> Result<TriggerDetail, ErrorBody> {
        Ok(self.service.get_trigger(&self.who, id).await?)
    }

    async fn list_plugins(&self) -> Result<Vec<PluginSummary>, ErrorBody> {
        Ok(self
            .service
            .list_plugins(&self.who)
            .await?
            .into_iter()
            .map(|view| match view {
                PluginView::Full(p) => PluginSummary::from(p.as_ref()),
                PluginView::Summary(s) => s,
            })
            .collect())
    }

    async fn rerun_trigger(
        &self,
        id: &str,
        reason: Option<String>,
        resume_retries: bool,
    ) -> Result<Trigger, ErrorBody> {
        let input = RerunInput {
            reason,
            resume_retries,
        };
        Ok(self.service.rerun(&self.who, id, input).await?)
    }

    async fn caller(&self) -> Result<Caller, ErrorBody> {
        use crate::service::Permission;
        Ok(Caller {
            name: self.who.name.clone(),
            role: self.who.role.as_str().to_string(),
            can_rerun: self.who.role.allows(Permission::Rerun),
            can_administer: self.who.role.allows(Permission::Administer),
        })
    }

    async fn panel_scope(&self) -> Result<PanelScope, ErrorBody> {
        let scope = match (&self.who.identity, &self.who.entity) {
            (Identity::Embed, Some(scope)) => scope,
            _ => return Err(ServiceError::not_found("this is not an embedded panel").into()),
        };
        Ok(PanelScope {
            entity: EntityRef {
                entity_type: scope.entity_type.clone(),
                id: scope.entity_id.clone(),
            },
            can_rerun: self.who.role.allows(crate::service::Permission::Rerun),
        })
    }

    async fn plugin_health(&self) -> Result<Vec<PluginHealth>, ErrorBody> {
        Ok(self.service.plugin_health(&self.who).await?)
    }

    async fn get_plugin(&self, name: &str) -> Result<PluginView, ErrorBody> {
        Ok(self.service.get_plugin(&self.who, name).await?)
    }

    async fn update_plugin(&self, name: &str, changes: PluginChanges) -> Result<Plugin, ErrorBody> {
        Ok(self
            .service
            .update_plugin(&self.who, name, changes.into())
            .await?)
    }

    async fn start_migration(&self, input: MigrationInput) -> Result<MigrationStart, ErrorBody> {
        Ok(self.service.start_migration(&self.who, input).await?)
    }

    async fn get_migration(&self, id: &str) -> Result<Migration, ErrorBody> {
        Ok(self.service.get_migration(&self.who, id).await?)
    }

    async fn list_migrations(&self) -> Result<Vec<Migration>, ErrorBody> {
        Ok(self.service.list_migrations(&self.who).await?)
    }

    async fn cancel_migration(&self, id: &str) -> Result<Migration, ErrorBody> {
        Ok(self.service.cancel_migration(&self.who, id).await?)
    }

    async fn audit_page(&self, query: AuditQuery) -> Result<Page<AuditEntry>, ErrorBody> {
        Ok(self.service.audit_page(&self.who, query).await?)
    }

    async fn list_users(&self) -> Result<Vec<User>, ErrorBody> {
        Ok(self.service.list_users(&self.who).await?)
    }

    async fn create_user(
        &self,
        email: String,
        role: String,
        plugins: Option<Vec<String>>,
        password: Password,
    ) -> Result<User, ErrorBody> {
        let input = UserInput {
            email,
            role,
            plugins,
            password: Secret::new(password.0),
        };
        Ok(self.service.create_user(&self.who, input).await?)
    }

    async fn change_user(&self, id: &str, change: UserChange) -> Result<User, ErrorBody> {
        let patch = UserPatch {
            role: change.role,
            plugins: change
                .plugins
                .map(|names| (!names.is_empty()).then_some(names)),
            disabled: change.disabled,
            password: change.password.map(|p| Secret::new(p.0)),
        };
        Ok(self.service.update_user(&self.who, id, patch).await?)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, ErrorBody> {
        Ok(self.service.list_api_keys(&self.who).await?)
    }

    async fn issue_api_key(&self, input: ApiKeyInput) -> Result<NewApiKey, ErrorBody> {
        Ok(self.service.issue_api_key(&self.who, input).await?)
    }

    async fn revoke_api_key(&self, id: &str) -> Result<ApiKey, ErrorBody> {
        Ok(self.service.revoke_api_key(&self.who, id).await?)
    }

    async fn issue_embed_token(&self, input: EmbedTokenInput) -> Result<EmbedToken, ErrorBody> {
        Ok(self.service.issue_embed_token(&self.who, input).await?)
    }

    async fn rerun_group(
        &self,
        aggregation_key: &str,
        reason: Option<String>,
        resume_retries: bool,
        include_finished: bool,
    ) -> Result<GroupRerunOutcome, ErrorBody> {
        let input = GroupRerunInput {
            reason,
            resume_retries,
            include_finished,
        };
        let done = self
            .service
            .rerun_group(&self.who, aggregation_key, input)
            .await?;
        Ok(GroupRerunOutcome {
            aggregation_key: done.aggregation_key,
            queued: done.queued,
            in_flight: done.in_flight,
        })
    }
    async fn count_triggers(&self, filter: TriggerFilter) -> Result<TriggerCount, ErrorBody> {
        Ok(self.service.count_triggers(&self.who, filter).await?)
    }

    async fn trigger_activity(
        &self,
        filter: TriggerFilter,
        window: ActivityWindow,
        utc_offset_minutes: i32,
    ) -> Result<TriggerActivity, ErrorBody> {
        Ok(self
            .service
            .trigger_activity(&self.who, filter, window, utc_offset_minutes)
            .await?)
    }
}

#[derive(Clone)]
struct WebState {
    options: LeptosOptions,
    service: Arc<Service>,
    routes: Vec<AxumRouteListing>,
    settings: WebSettings,
    guard: Arc<SignInGuard>,
}

impl FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> LeptosOptions {
        state.options.clone()
    }
}

impl WebState {
    /// A backend for the caller this request carries. A request without one is
    /// refused before it gets here; this is the last line, and it reads nothing.
    fn backend_for(&self, req: &Request) -> SharedBackend {
        let who = req
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(nobody);
        Arc::new(UiBackend {
            service: self.service.clone(),
            who,
        })
    }
}

/// A principal that may do nothing at all.
fn nobody() -> Principal {
    Principal {
        identity: Identity::Embed,
        name: "nobody".into(),
        role: Role::Viewer,
        plugins: Some(Vec::new()),
        entity: None,
        client: None,
    }
}

async fn page(State(state): State<WebState>, req: Request) -> Response {
    let backend = state.backend_for(&req);
    let options = state.options.clone();
    let handler = leptos_axum::render_route_with_context(
        state.routes.clone(),
        move || provide_context(backend.clone()),
        move || app::shell(options.clone()),
    );
    handler(State(state), req).await.into_response()
}

async fn server_fn(State(state): State<WebState>, req: Request<Body>) -> Response {
    let backend = state.backend_for(&req);
    let response =
        leptos_axum::handle_server_fns_with_context(move || provide_context(backend.clone()), req)
            .await
            .into_response();
    with_error_status(response).await
}

/// A server function's refusal answers with the status its code means (403 for
/// `forbidden`, 404 for `not_found`…), as the REST API does, rather than the 500
/// Leptos gives every error; the body, the `ErrorBody`, is unchanged.
async fn with_error_status(response: Response) -> Response {
    if !response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return crate::api::ApiError::internal().into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&bytes) {
        parts.status = crate::api::status_of_code(&error.code);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The Export button: the REST export, as the signed-in browser.
async fn export(State(state): State<WebState>, req: Request) -> Response {
    let who = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(nobody);
    let query = req.uri().query().unwrap_or("").to_string();
    crate::api::export::export_response(&state.service, &who, &query)
        .await
        .into_response()
}

/// Who the browser is: a chain of ways a request can say who sent it, the
/// first that answers wins. Pages without one go to the sign-in page; server
/// functions answer 401. Server functions must also come from our own pages.
async fn caller_from_request(
    State(state): State<WebState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let is_fn = path.starts_with("/_fn/");
    if is_fn {
        if let Err(why) = crate::guard::same_origin(req.headers()) {
            return refuse_fn(StatusCode::FORBIDDEN, "forbidden", why);
        }
    }
    // The sign-in page and its form are the only things open to everyone.
    if path == "/login" || path == "/logout" {
        return next.run(req).await;
    }
    // A caller already known (an embed token's holder, resolved by
    // `embed::embed_caller` before this) is kept; the session is not consulted.
    if req.extensions().get::<Principal>().is_some() {
        return next.run(req).await;
    }
    let client = client_address(&req);
    let session = req.extensions().get::<Session>().cloned();
    let who = match &session {
        Some(session) => state.session_principal(session, client).await,
        None => None,
    };
    match who {
        Some(who) => {
            req.extensions_mut().insert(who);
            next.run(req).await
        }
        None if is_fn => refuse_fn(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first: this session has ended or never began",
        ),
        None => {
            let wanted = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let target = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &wanted)
                .finish();
            Redirect::to(&format!("/login?{target}")).into_response()
        }
    }
}

/// A server function's refusal: the error itself, as server functions answer.
fn refuse_fn(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        code: code.into(),
        message: message.into(),
        field: None,
    };
    (status, Json(body)).into_response()
}

/// The address a request came from, when the server knows it.
fn client_address(req: &Request) -> Option<String> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

impl WebState {
    /// The signed-in user of a session, as a principal; a session past its
    /// absolute lifetime, of a disabled user, or older than the user's last
    /// password change is ended here.
    async fn session_principal(
        &self,
        session: &Session,
        client: Option<String>,
    ) -> Option<Principal> {
        let (user, since) = session::signed_in(session).await?;
        let age = crate::clock::now() - since;
        let too_old = age
            .to_std()
            .map(|age| age > self.settings.sessions.absolute)
            .unwrap_or(false);
        let who = if too_old {
            None
        } else {
            match self.service.session_principal(user, since, client).await {
                Ok(who) => who,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a session's user");
                    return None;
                }
            }
        };
        if who.is_none() {
            session::end(session).await;
        }
        who
    }

    /// The sign-in page saying how long to wait (429 with `Retry-After`).
    async fn slowed_page(
        &self,
        parts: &axum::http::request::Parts,
        next: &str,
        wait: std::time::Duration,
    ) -> Response {
        let secs = wait.as_secs().max(1);
        let message = format!("Too many failed sign-ins. Try again in {secs} seconds.");
        self.sign_in_page(
            parts,
            next,
            message,
            StatusCode::TOO_MANY_REQUESTS,
            Some(wait),
        )
        .await
    }

    /// The sign-in page, rendered for `next` with a problem to show, under `status`.
    async fn sign_in_page(
        &self,
        parts: &axum::http::request::Parts,
        next: &str,
        problem: String,
        status: StatusCode,
        retry_after: Option<std::time::Duration>,
    ) -> Response {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        // The sign-in request's own parts (its matched route, `/login`, among its
        // extensions), as the GET that shows the page.
        let mut parts = parts.clone();
        parts.method = axum::http::Method::GET;
        parts.uri = format!("/login?{query}")
            .parse()
            .expect("an encoded query is a valid URI");
        parts.headers.remove(axum::http::header::CONTENT_TYPE);
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        let req = Request::from_parts(parts, Body::empty());
        let options = self.options.clone();
        let backend: SharedBackend = Arc::new(UiBackend {
            service: self.service.clone(),
            who: nobody(),
        });
        let problem = SignInProblem {
            message: problem,
            next: next.to_string(),
        };
        let handler = leptos_axum::render_route_with_context(
            self.routes.clone(),
            move || {
                provide_context(backend.clone());
                provide_context(problem.clone());
            },
            move || app::shell(options.clone()),
        );
        let mut res = handler(State(self.clone()), req).await.into_response();
        *res.status_mut() = status;
        if let Some(wait) = retry_after {
            let secs = wait.as_secs().max(1);
            res.headers_mut().insert(RETRY_AFTER, secs.into());
        }
        res
    }
}

/// The sign-in form. Not `Debug`: it holds a password.
#[derive(Default, serde::Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: check the email and password, start a session under a new
/// id, and go on to `next`.
async fn sign_in(State(state): State<WebState>, req: Request) -> Response {
    if let Err(why) = crate::guard::same_origin(req.headers()) {
        return refuse_fn(StatusCode::FORBIDDEN, "forbidden", why);
    }
    let client = client_address(&req);
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return refuse_fn(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "no session layer",
        );
    };
    let (parts, body) = req.into_parts();
    let form: SignInForm = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => serde_html_form::from_bytes(&bytes).unwrap_or_default(),
        Err(_) => SignInForm::default(),
    };
    let next = sign_in::safe_next(form.next.as_deref());
    let address = client.clone().unwrap_or_else(|| "unknown".into());
    if let Err(wait) = state.guard.check(&form.email, &address) {
        return state.slowed_page(&parts, &next, wait).await;
    }
    match state
        .service
        .sign_in(&form.email, &form.password, client)
        .await
    {
        Ok(signed_in) => {
            if let Err(e) = session::begin(&session, signed_in.user_id).await {
                tracing::error!(error = %e, "starting a session");
                return state
                    .sign_in_page(
                        &parts,
                        &next,
                        "Signing in failed on our side; please try again.".into(),
                        StatusCode::INTERNAL_SERVER_ERROR,
                        None,
                    )
                    .await;
            }
            Redirect::to(&next).into_response()
        }
        // This failure may be the one over the quota: then it is slowed already.
        Err(ServiceError::Unauthorized(_)) => match state.guard.failed(&form.email, &address) {
            Ok(()) => {
                let message = format!("{}.", sentence(WRONG_CREDENTIALS));
                state
                    .sign_in_page(&parts, &next, message, StatusCode::UNAUTHORIZED, None)
                    .await
            }
            Err(wait) => state.slowed_page(&parts, &next, wait).await,
        },
        Err(e) => {
            let message = format!("{}.", sentence(e.message()));
            state
                .sign_in_page(
                    &parts,
                    &next,
                    message,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                )
                .await
        }
    }
}

/// A message as the start of a sentence.
fn sentence(message: &str) -> String {
    let mut message = message.to_string();
    if let Some(first) = message.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    message
}

/// `POST /logout`: end the session (its row too) and go to the sign-in page.
async fn sign_out(State(state): State<WebState>, req: Request) -> Response {
    if let Err(why) = crate::guard::same_origin(req.headers()) {
        return refuse_fn(StatusCode::FORBIDDEN, "forbidden", why);
    }
    let client = client_address(&req);
    if let Some(session) = req.extensions().get::<Session>().cloned() {
        if let Some(who) = state.session_principal(&session, client).await {
            if let Err(e) = state.service.record_sign_out(&who).await {
                tracing::warn!(error = %e, "auditing a sign-out");
            }
        }
        session::end(&session).await;
    }
    Redirect::to("/login").into_response()
}

/// What the pages need to know about sessions and sign-in.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    pub sessions: SessionSettings,
    pub sign_in: SignInLimits,
}

pub fn router(service: Arc<Service>, options: LeptosOptions, settings: &WebSettings) -> Router {
    let routes = generate_route_list(app::App);
    let guard = Arc::new(SignInGuard::new(&settings.sign_in));
    // Built outside a runtime (a tool, a unit test), the guard is simply never shrunk.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let guard = Arc::downgrade(&guard);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                let Some(guard) = guard.upgrade() else { return };
                guard.shrink();
            }
        });
    }
    let state = WebState {
        options,
        service: service.clone(),
        routes: routes.clone(),
        settings: settings.clone(),
        guard,
    };
    let service = state.service.clone();
    Router::new()
        .leptos_routes_with_handler(routes, axum::routing::get(page))
        .route("/_fn/{*fn_name}", axum::routing::post(server_fn))
        .route("/export/triggers", axum::routing::get(export))
        .route("/login", axum::routing::post(sign_in))
        .route("/logout", axum::routing::post(sign_out))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            caller_from_request,
        ))
        .layer(session::layer(service.store().clone(), &settings.sessions))
        // An embed token is resolved before any other way of knowing the caller.
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            embed::embed_caller,
        ))
        // The site's own files (the wasm, its loader, the stylesheet) from the site root,
        // and the app's "not found" page for any other address. Not
        // `file_and_error_handler` alone: for a file it finds, it copies onto the answer
        // the response options of whatever reactive owner is current on the worker
        // thread. The browser suite once got 404 for the wasm right after a "no such
        // trigger" page, which that would explain (not reproduced outside Chromium).
        .fallback_service(
            ServeDir::new(&*state.options.site_root)
                .precompressed_br()
                .precompressed_gzip()
                // A POST to an address that is no route gets that page too, as before.
                .call_fallback_on_method_not_allowed(true)
                .not_found_service(Handler::with_state(
                    leptos_axum::file_and_error_handler::<WebState, _>(app::shell),
                    state.clone(),
                )),
        )
        // Only /embed/… may be framed, and only by the configured origins.
        .layer(axum::middleware::from_fn_with_state(
            service,
            embed::embed_frame_ancestors,
        ))
        .with_state(state)
}
