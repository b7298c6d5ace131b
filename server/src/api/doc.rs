//! The answers every route shares, added to the OpenAPI document in one pass so that
//! each handler's annotation lists only what is its own (its success, its 404 or 409).
//!
//! What an operation can answer follows from its shape, the same way its extractors
//! answer: a key is checked on every route (401, and 429 for an address whose keys
//! keep failing), the role it names in
//! `x-required-role` may be too high for the key (403), a JSON body may be too large,
//! not JSON or not valid (413, 415, 400, 422), a path segment or a query or header
//! parameter may be invalid (400, 422), and storage may fail (500). Every error body is
//! an `ErrorEnvelope`.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Response, ResponseBuilder};

use crate::service::{Permission, Role};

/// The extension each authenticated operation names its role in.
pub const REQUIRED_ROLE: &str = "x-required-role";

/// Add the shared error answers, and the role in words, to every operation that
/// needs an API key (those whose `security` is not the empty list).
///
/// Panics when such an operation names no role or an unknown one: the document is
/// built at start-up, so a route added without its role fails every test at once.
pub fn declare_common_answers(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations_mut(item) {
            if op.security.as_ref().is_some_and(|s| s.is_empty()) {
                continue;
            }
            let role = required_role(op)
                .unwrap_or_else(|| panic!("{path}: name the role in {REQUIRED_ROLE}"));
            declare_answers(op, role);
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The extension names the least role that may call the route; what it needs is
/// the permission that role adds (`ingest`: create, `operator`: re-run, …).
fn required_role(op: &Operation) -> Option<Permission> {
    let name = op.extensions.as_ref()?.get(REQUIRED_ROLE)?.as_str()?;
    Some(match Role::parse(name)? {
        Role::Viewer => Permission::Read,
        Role::Ingest => Permission::Create,
        Role::Operator => Permission::Rerun,
        Role::Admin => Permission::Administer,
    })
}

fn declare_answers(op: &mut Operation, needed: Permission) {
    let allowed: Vec<&str> = Role::ALL
        .iter()
        .filter(|r| r.allows(needed))
        .map(|r| r.as_str())
        .collect();
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_other_params = params.iter().any(|p| p.parameter_in != ParameterIn::Path);
    let has_body = op.request_body.is_some();

    let mut answers = vec![
        (401, "no API key, or not a valid one".to_string()),
        (
            429,
            "too many requests with keys that are not valid came from this address; \
             Retry-After says how many seconds to wait"
                .to_string(),
        ),
    ];
    if allowed.len() < Role::ALL.len() {
        answers.push((
            403,
            format!("the caller's role is not one of {}", allowed.join(", ")),
        ));
    }
    let unreadable = match (has_body, has_path) {
        (true, true) => Some("the body is not JSON, or a path segment could not be read"),
        (true, false) => Some("the body is not JSON"),
        (false, true) => Some("a path segment could not be read"),
        (false, false) => None,
    };
    if let Some(description) = unreadable {
        answers.push((400, description.into()));
    }
    if has_body {
        answers.push((413, "the body is larger than the server accepts".into()));
        answers.push((415, "the body is not sent as application/json".into()));
    }
    if has_body || has_path || has_other_params {
        answers.push((422, "an input is not valid; `field` names it".into()));
    }
    answers.push((500, "something failed on the server's side".into()));
    answers.push((
        503,
        "the database did not answer in time; nothing was changed, Retry-After says when to \
         try again"
            .into(),
    ));
    for (status, description) in answers {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(status, &description));
    }

    let needs = if allowed.len() == Role::ALL.len() {
        "Needs an API key of any role.".to_string()
    } else {
        format!(
            "Needs an API key with one of the roles {}.",
            allowed.join(", ")
        )
    };
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{needs}"),
        _ => needs,
    });
}

fn error_response(status: u16, description: &str) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description);
    if status == 429 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("seconds to wait"))
                .build(),
        );
    }
    response
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .into()
}
