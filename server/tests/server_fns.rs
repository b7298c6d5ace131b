//! The pages' server functions over real HTTP: a refusal reaches the page with
//! the same code, message and field a REST client gets, not a flattened string.

mod common;

use app::server_fns::{GetTrigger, ListTriggers};
use common::{error_of, Db, TestApp};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

/// Call a server function as a signed-in admin's browser.
async fn call(app: &TestApp, path: &str, args: &Value) -> (u16, Value) {
    let (status, body) = app.browser().await.call_fn(path, args).await;
    assert!(body.is_object(), "the answer is JSON: {body}");
    (status, body)
}

async fn refusals_keep_their_code_and_field(db: Db) {
    let app = TestApp::spawn(db).await;
    let too_long = "x".repeat(201);
    let (status, body) = call(
        &app,
        ListTriggers::PATH,
        &json!({"filter": {"q": too_long}, "cursor": null}),
    )
    .await;
    // The status is the one the REST API answers with, not a blanket 500.
    assert_eq!(status, 422, "{body}");
    // The body is the error itself: {code, message, field}.
    let wrapped = json!({ "error": body });
    let (code, field, message) = error_of(&wrapped);
    assert_eq!(code, "validation_failed");
    assert_eq!(field.as_deref(), Some("q"));
    assert!(message.contains("200 characters"), "{message}");

    let (_, body) = call(&app, GetTrigger::PATH, &json!({"id": "not-a-uuid"})).await;
    let (code, field, _) = error_of(&json!({ "error": body }));
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("validation_failed", Some("id"))
    );

    let unknown = uuid::Uuid::now_v7().to_string();
    let (status, body) = call(&app, GetTrigger::PATH, &json!({ "id": unknown })).await;
    assert_eq!(status, 404);
    let (code, field, _) = error_of(&json!({ "error": body }));
    assert_eq!((code.as_str(), field), ("not_found", None));
}

#[tokio::test]
async fn a_server_function_keeps_the_code_and_field_of_a_refusal_on_sqlite() {
    refusals_keep_their_code_and_field(Db::Sqlite).await;
}

#[tokio::test]
async fn a_server_function_keeps_the_code_and_field_of_a_refusal_on_postgres() {
    refusals_keep_their_code_and_field(Db::Postgres).await;
}
