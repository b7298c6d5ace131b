//! Re-running from the pages, over real HTTP with a signed-in browser: the
//! server functions pass on what the dialog asked (the reason, whether retries
//! resume, whether a group's finished triggers run too), and refuse a viewer
//! exactly as the REST API does.

mod common;

use app::server_fns::{RerunGroup, RerunTrigger};
use common::{Db, TestApp, PASSWORD};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

/// A call the application made itself and reported: erroneous on 422,
/// finished on 200, in aggregation group `group`.
async fn reported(app: &TestApp, entity: &str, status: u16, group: &str) -> String {
    let (s, body) = app
        .post(
            "/api/v1/calls",
            &json!({
                "plugin": "xero", "event_type": "invoice.created",
                "entity": {"type": "invoice", "id": entity},
                "aggregation_key": group,
                "payload": {"total": 10},
                "request": {"method": "POST", "url": "https://api.xero.com/x", "headers": {}, "body": "{}"},
                "response": {"status": status, "headers": {}, "body": "{}"},
                "started_at": "2026-11-24T10:00:00Z", "duration_ms": 240
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The audit rows of `action`, newest first.
async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let (_, audit) = app.get("/api/v1/audit").await;
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .cloned()
        .collect()
}

async fn reruns_from_the_pages_pass_on_what_was_asked_and_refuse_viewers(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("xero").await;
    let failed = reported(&app, "INV-1", 422, "run-7").await;
    reported(&app, "INV-2", 422, "run-7").await;
    reported(&app, "INV-3", 200, "run-7").await;

    // A viewer is refused both, and nothing is queued or audited.
    app.user("viewer@example.com", "viewer", None).await;
    let viewer = app.sign_in("viewer@example.com", PASSWORD).await;
    let (status, body) = viewer
        .call_fn(
            RerunTrigger::PATH,
            &json!({"id": failed, "reason": "forced"}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (403, json!("forbidden")));
    let (status, body) = viewer
        .call_fn(
            RerunGroup::PATH,
            &json!({"aggregation_key": "run-7", "reason": "forced"}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (403, json!("forbidden")));
    assert!(audited(&app, "rerun").await.is_empty());
    assert!(audited(&app, "rerun.group").await.is_empty());

    // An admin's re-run that asks for retries to resume says so in the audit trail.
    let admin = app.browser().await;
    let (status, body) = admin
        .call_fn(
            RerunTrigger::PATH,
            &json!({"id": failed, "reason": "VAT id fixed", "resume_retries": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "not_yet_started");
    let rerun = &audited(&app, "rerun").await[0];
    assert_eq!(rerun["reason"], "VAT id fixed");
    assert_eq!(rerun["details"]["resume_retries"], true, "{rerun}");

    // The group: with its finished trigger too when asked. The one just queued
    // is not erroneous any more, so two of the three run.
    let (status, body) = admin
        .call_fn(
            RerunGroup::PATH,
            &json!({"aggregation_key": "run-7", "reason": "all again", "include_finished": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"aggregation_key": "run-7", "queued": 2, "in_flight": 0})
    );
    let group = &audited(&app, "rerun.group").await[0];
    assert_eq!(group["target"], "aggregation:run-7");
    assert_eq!(group["details"]["resume_retries"], false, "{group}");
}

#[tokio::test]
async fn reruns_from_the_pages_pass_on_what_was_asked_and_refuse_viewers_on_sqlite() {
    reruns_from_the_pages_pass_on_what_was_asked_and_refuse_viewers(Db::Sqlite).await;
}

#[tokio::test]
async fn reruns_from_the_pages_pass_on_what_was_asked_and_refuse_viewers_on_postgres() {
    reruns_from_the_pages_pass_on_what_was_asked_and_refuse_viewers(Db::Postgres).await;
}

/// A page of a trigger that is not there (or not visible) says so, and its
/// answer is a 404 for whatever checks links; a real trigger's page is a 200.
#[tokio::test]
async fn the_page_of_a_trigger_that_is_not_there_answers_404() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("xero").await;
    let id = reported(&app, "INV-404", 200, "g-404").await;
    app.user("viewer-404@example.com", "viewer", None).await;
    let browser = app.sign_in("viewer-404@example.com", PASSWORD).await;

    let found = browser.get(&format!("/triggers/{id}")).await;
    assert_eq!(found.status(), 200);
    assert!(found.text().await.unwrap().contains("INV-404"));

    let missing = browser
        .get(&format!("/triggers/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(missing.status(), 404);
    assert!(missing
        .text()
        .await
        .unwrap()
        .contains("No such trigger, or not visible to you"));

    let unknown_plugin = browser.get("/plugins/no-such-plugin").await;
    assert_eq!(unknown_plugin.status(), 404);
}
