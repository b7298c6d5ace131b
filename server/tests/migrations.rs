//! Trigger migrations: dry runs, re-executing a filter, creating triggers, cancel.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::Role;
use common::{error_of, Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn setup(status: u16) -> (TestApp, MockServer, Executor) {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"id": "x_1"})))
        .mount(&provider)
        .await;
    let (s, b) = app
        .post(
            "/api/v1/plugins",
            &json!({"name": "xero", "base_url": provider.uri(), "external_id_pointer": "/id",
                    "default_route": {"method": "POST", "path": "/invoices"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    (app, provider, ex)
}

async fn wait_for(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (s, m) = app.get(&format!("/api/v1/migrations/{id}")).await;
        assert_eq!(s, 200, "{m}");
        if done(&m) {
            return m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "migration stuck: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_re_executes_the_failed_triggers_after_the_cause_is_fixed() {
    let (app, provider, ex) = setup(401).await;
    for i in 0..4 {
        app.trigger(&json!({"plugin": "xero", "event_type": "invoice.created",
                            "entity": {"type": "invoice", "id": format!("INV-{i}")}, "payload": {"i": i}}))
            .await;
    }
    ex.step().await.unwrap();
    provider.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x_1"})))
        .mount(&provider)
        .await;

    let spec = json!({"reason": "Xero token renewed", "dry_run": true,
                      "filter": {"plugin": ["xero"], "status": ["erroneous"]}});
    let (s, dry) = app.post("/api/v1/migrations", &spec).await;
    assert_eq!(s, 200, "{dry}");
    assert_eq!(dry["count"], 4);
    assert_eq!(dry["sample"].as_array().unwrap().len(), 4);
    let (_, still) = app.get("/api/v1/triggers?status=erroneous").await;
    assert_eq!(
        still["items"].as_array().unwrap().len(),
        4,
        "a dry run changes nothing"
    );

    let mut real = spec.clone();
    real["dry_run"] = json!(false);
    real["rate_per_sec"] = json!(1000);
    let (s, started) = app.post("/api/v1/migrations", &real).await;
    assert_eq!(s, 202, "{started}");
    assert_eq!(started["total"], 4);
    assert_eq!(started["status"], "running");
    let id = started["id"].as_str().unwrap().to_string();
    wait_for(&app, &id, |m| m["status"] == "completed").await;
    while ex.step().await.unwrap() > 0 {}
    let m = wait_for(&app, &id, |m| m["succeeded"] == 4).await;
    assert_eq!(
        (m["done"].clone(), m["failed"].clone()),
        (json!(4), json!(0))
    );
    assert_eq!(m["actor"], "test-admin");

    let (_, list) = app.get("/api/v1/triggers?status=finished").await;
    let t = &list["items"][0];
    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    let second = &d["attempts"][1];
    assert_eq!(second["started_by"]["kind"], "migration");
    assert!(second["started_by"]["actor"]
        .as_str()
        .unwrap()
        .contains(&id));
    assert!(d["logs"].to_string().contains("Xero token renewed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_creates_triggers_that_never_existed_and_checks_them_all_first() {
    let (app, _provider, _ex) = setup(200).await;
    let bad = json!({"reason": "backfill", "plugin": "xero", "event_type": "invoice.created",
                     "create": [{"entity": {"type": "invoice", "id": "A"}, "payload": {}},
                                {"entity": {"type": "invoice", "id": ""}, "payload": {}}]});
    let (s, body) = app.post("/api/v1/migrations", &bad).await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&body).1.as_deref(), Some("create[1].entity.id"));
    let (_, none) = app.get("/api/v1/triggers").await;
    assert_eq!(
        none["items"],
        json!([]),
        "nothing created when one item is wrong"
    );

    let good = json!({"reason": "backfill", "plugin": "xero", "event_type": "invoice.created", "rate_per_sec": 1000,
                      "create": [{"entity": {"type": "invoice", "id": "A"}, "payload": {"n": 1}},
                                 {"entity": {"type": "invoice", "id": "B"}, "payload": {"n": 2}}]});
    let (s, started) = app.post("/api/v1/migrations", &good).await;
    assert_eq!(s, 202, "{started}");
    let m = wait_for(&app, started["id"].as_str().unwrap(), |m| {
        m["status"] == "completed"
    })
    .await;
    assert_eq!(m["done"], 2);
    let (_, list) = app
        .get("/api/v1/triggers?entity_type=invoice&entity_id=B")
        .await;
    assert_eq!(list["items"][0]["status"], "not_yet_started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_migration_can_be_cancelled_and_only_admins_may_migrate() {
    let (app, _provider, _ex) = setup(200).await;
    let items: Vec<Value> = (0..20).map(|i| json!({"payload": {"i": i}})).collect();
    let (s, started) = app
        .post(
            "/api/v1/migrations",
            &json!({"reason": "slow", "plugin": "xero", "event_type": "e.x", "rate_per_sec": 5, "create": items}),
        )
        .await;
    assert_eq!(s, 202);
    let id = started["id"].as_str().unwrap();
    let (s, m) = app
        .post(&format!("/api/v1/migrations/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["status"], "cancelled");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, m) = app.get(&format!("/api/v1/migrations/{id}")).await;
    assert!(m["done"].as_u64().unwrap() < 20, "it stopped: {m}");
    let (s, _) = app
        .post(&format!("/api/v1/migrations/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, 409);

    let operator = app.key("ops", Role::Operator).await;
    let r = app
        .http
        .post(app.url("/api/v1/migrations"))
        .bearer_auth(&operator)
        .json(&json!({"reason": "x", "dry_run": true, "filter": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, body) = app
        .post(
            "/api/v1/migrations",
            &json!({"dry_run": true, "filter": {}}),
        )
        .await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("reason")));
    let (s, body) = app
        .post("/api/v1/migrations", &json!({"reason": "x"}))
        .await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("filter")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_interrupted_by_a_restart_carries_on_without_repeating_itself() {
    let (app, _provider, _ex) = setup(200).await;
    // The state a stopped process leaves: a running "create" migration, one of its
    // three triggers already created.
    let (first, _) = app
        .service
        .create_trigger(
            &common::admin(),
            serde_json::from_value(
                json!({"plugin": "xero", "event_type": "e.x", "payload": {"n": 0}}),
            )
            .unwrap(),
            None,
        )
        .await
        .unwrap();
    let id = uuid::Uuid::now_v7();
    let store = app.service.store().clone();
    let record = calltrail::storage::MigrationRecord {
        id,
        created_at: calltrail::service::now(),
        actor: "admin".into(),
        reason: "backfill".into(),
        kind: "create".into(),
        spec: json!({"plugin": "xero", "event_type": "e.x", "rate_per_sec": 1000,
                     "create": [{"payload": {"n": 0}}, {"payload": {"n": 1}}, {"payload": {"n": 2}}]}),
        status: "running".into(),
        total: 3,
        done: 1,
        finished_at: None,
        succeeded: 0,
        failed: 0,
    };
    let audit = calltrail::storage::AuditEntry {
        id: uuid::Uuid::now_v7(),
        at: calltrail::service::now(),
        actor: "admin".into(),
        action: "migration.create".into(),
        target: format!("migration:{id}"),
        reason: "backfill".into(),
        details: json!({}),
    };
    store.insert_migration(&record, audit).await.unwrap();
    store.add_migration_item(id, first.id).await.unwrap();

    // The restarted process.
    assert_eq!(app.service.resume_migrations().await.unwrap(), 1);
    let m = wait_for(&app, &id.to_string(), |m| m["status"] == "completed").await;
    assert_eq!(m["done"], 3);
    let (_, list) = app.get("/api/v1/triggers?event_type=e.x").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        3,
        "the first trigger was not created twice"
    );
}
