//! Two-tier retention and erasure on request: old details go, summaries stay
//! until their own TTL, unfinished triggers and audit rows are never touched.

mod common;

use std::sync::Arc;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{RetentionPolicy, Role};
use calltrail::storage::NewTrigger;
use common::{error_of, old_trigger, Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_databases!(
    old_details_go_summaries_stay_and_unfinished_triggers_are_untouched,
    an_erasure_removes_an_entitys_details_now_and_is_audited,
    a_plugin_keeps_its_log_for_its_own_time,
);

/// A provider, a plugin calling it, and an executor allowed to reach it.
async fn setup(db: Db) -> (TestApp, MockServer, Executor, uuid::Uuid) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext-1"})))
        .mount(&provider)
        .await;
    let (s, p) = app
        .post(
            "/api/v1/plugins",
            &json!({"name": "billing", "base_url": provider.uri(),
                    "external_id_pointer": "/id",
                    "default_route": {"method": "POST", "path": "/hook"}}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    let plugin_id = p["id"].as_str().unwrap().parse().unwrap();
    (app, provider, ex, plugin_id)
}

/// A trigger id as an SQL literal of the test's database.
fn id_literal(app: &TestApp, id: uuid::Uuid) -> String {
    if app.db_url.starts_with("sqlite") {
        format!("X'{}'", id.simple())
    } else {
        format!("'{id}'::uuid")
    }
}

async fn finished_days_ago(app: &TestApp, id: uuid::Uuid, days: i64) {
    let then = common::days_ago_literal(&app.db_url, days);
    let id = id_literal(app, id);
    let n = common::exec_sql(
        &app.db_url,
        &format!("UPDATE triggers SET finished_at = {then} WHERE id = {id}"),
    )
    .await;
    assert_eq!(n, 1);
}

async fn detail(app: &TestApp, id: uuid::Uuid) -> (u16, Value) {
    app.get(&format!("/api/v1/triggers/{id}")).await
}

async fn old_details_go_summaries_stay_and_unfinished_triggers_are_untouched(db: Db) {
    let (app, _provider, ex, plugin) = setup(db).await;
    let ancient = old_trigger(plugin, 500, "INV-OLD", json!({"n": 1}));
    let old = old_trigger(plugin, 100, "INV-MID", json!({"card": "PLANTED-DETAIL"}));
    let recent = old_trigger(plugin, 1, "INV-NEW", json!({"n": 3}));
    let ids = [ancient.id, old.id, recent.id];
    let store = app.service.store();
    store
        .insert_triggers(vec![ancient, old, recent])
        .await
        .unwrap();
    assert_eq!(ex.step().await.unwrap(), 3);
    finished_days_ago(&app, ids[0], 450).await;
    finished_days_ago(&app, ids[1], 90).await;
    finished_days_ago(&app, ids[2], 1).await;
    // Created long ago and still waiting (its plugin paused): never pruned.
    let waiting = old_trigger(plugin, 200, "INV-WAIT", json!({"n": 4}));
    let waiting_id = waiting.id;
    store.insert_triggers(vec![waiting]).await.unwrap();
    let (s, _) = app
        .patch("/api/v1/plugins/billing", &json!({"active": false}))
        .await;
    assert_eq!(s, 200);
    let audit_before = store.reads().list_audit(500).await.unwrap().len();

    app.service
        .set_retention(RetentionPolicy::from_days(30, 400).unwrap());
    let seen = std::sync::Mutex::new(Vec::new());
    let dry = app
        .service
        .prune(true, &|r| seen.lock().unwrap().push(r))
        .await
        .unwrap();
    assert_eq!((dry.details_removed, dry.triggers_deleted), (1, 1));
    assert!(!seen.lock().unwrap().is_empty(), "progress is reported");
    assert_eq!(
        detail(&app, ids[0]).await.0,
        200,
        "a dry run removes nothing"
    );

    let done = app.service.prune(false, &|_| {}).await.unwrap();
    assert_eq!((done.details_removed, done.triggers_deleted), (1, 1));

    let (s, _) = detail(&app, ids[0]).await;
    assert_eq!(s, 404, "past the summary TTL the trigger is gone");
    // Gone whole: no attempt, log line or search row of it is left behind (on
    // PostgreSQL no foreign key would refuse the trigger's deletion otherwise).
    for table in ["attempts", "trigger_logs", "trigger_search"] {
        let left = common::query_i64(
            &app.db_url,
            &format!(
                "SELECT COUNT(*) FROM {table} WHERE trigger_id = {}",
                id_literal(&app, ids[0])
            ),
        )
        .await;
        assert_eq!(left, 0, "{table} still holds rows of a removed trigger");
    }
    let (s, d) = detail(&app, ids[1]).await;
    assert_eq!(s, 200);
    let t = &d["trigger"];
    assert_eq!(t["status"], "finished", "the summary stays: {d}");
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["external_id"], "ext-1");
    assert_eq!(t["entity"]["id"], "INV-MID");
    assert!(t["details_removed_at"].is_string(), "{d}");
    assert_eq!(t["payload"], Value::Null);
    assert_eq!(d["attempts"], json!([]));
    assert_eq!(d["logs"], json!([]));
    // The recent and the waiting triggers keep everything.
    let (_, d) = detail(&app, ids[2]).await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert!(d["trigger"].get("details_removed_at").is_none());
    let (_, d) = detail(&app, waiting_id).await;
    assert_eq!(d["trigger"]["payload"]["n"], 4);
    assert_eq!(
        store.reads().list_audit(500).await.unwrap().len(),
        audit_before,
        "audit rows stay"
    );
    // Nothing more to do the second time.
    let again = app.service.prune(false, &|_| {}).await.unwrap();
    assert_eq!((again.details_removed, again.triggers_deleted), (0, 0));
    if db == Db::Sqlite {
        // Retention let the search index forget lazily inside its own transactions
        // only: what is stored for everyone else is still "at once", which an
        // erasure needs.
        let setting = common::query_i64(
            &app.db_url,
            "SELECT v FROM trigger_search_fts_config WHERE k = 'secure-delete'",
        )
        .await;
        assert_eq!(setting, 1);
    }
}

async fn an_erasure_removes_an_entitys_details_now_and_is_audited(db: Db) {
    let (app, _provider, ex, plugin) = setup(db).await;
    let store = app.service.store();
    let mine: Vec<NewTrigger> = (0..2)
        .map(|i| {
            old_trigger(
                plugin,
                0,
                "CUST-7",
                json!({"email": "ERASE-ME@example.com", "i": i}),
            )
        })
        .collect();
    let other = old_trigger(plugin, 0, "CUST-8", json!({"email": "keep@example.com"}));
    let other_id = other.id;
    let expired = old_trigger(
        plugin,
        500,
        "CUST-9",
        json!({"email": "expired@example.com"}),
    );
    let expired_id = expired.id;
    store.insert_triggers(mine).await.unwrap();
    store.insert_triggers(vec![other, expired]).await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 4);
    // A routine retention pass first, on the same write connection: it lets the
    // search index forget lazily for its own batches only; the erasure after it
    // must still leave no bytes behind.
    finished_days_ago(&app, expired_id, 450).await;
    app.service
        .set_retention(RetentionPolicy::from_days(30, 400).unwrap());
    let pruned = app.service.prune(false, &|_| {}).await.unwrap();
    assert_eq!(pruned.triggers_deleted, 1);
    let (s, found) = app
        .get("/api/v1/triggers?q=expired%40example&include_inactive=true")
        .await;
    assert_eq!(
        (s, found["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{found}"
    );
    // One more of the same entity, still waiting: left alone, counted.
    let (s, _) = app
        .patch("/api/v1/plugins/billing", &json!({"active": false}))
        .await;
    assert_eq!(s, 200);
    store
        .insert_triggers(vec![old_trigger(
            plugin,
            0,
            "CUST-7",
            json!({"email": "ERASE-ME@example.com"}),
        )])
        .await
        .unwrap();

    let r = app
        .http
        .delete(app.url("/api/v1/entities/invoice/CUST-404/data"))
        .bearer_auth(&app.admin_key)
        .json(&json!({"reason": "GDPR request 18"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "a mistyped entity is not silently 'erased'"
    );
    let viewer = app.key("dashboard", Role::Viewer).await;
    let url = app.url("/api/v1/entities/invoice/CUST-7/data");
    let r = app
        .http
        .delete(&url)
        .bearer_auth(&viewer)
        .json(&json!({"reason": "GDPR request 17"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .delete(&url)
        .bearer_auth(&app.admin_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (s, body) = common::status_json(r).await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("reason")));

    let r = app
        .http
        .delete(&url)
        .bearer_auth(&app.admin_key)
        .json(&json!({"reason": "GDPR request 17"}))
        .send()
        .await
        .unwrap();
    let (s, body) = common::status_json(r).await;
    assert_eq!(s, 202, "{body}");
    assert_eq!(body["entity_type"], "invoice");
    assert_eq!(body["entity_id"], "CUST-7");
    assert_eq!(body["erased"], 2);
    assert_eq!(body["in_progress"], 1);

    let (_, page) = app
        .get("/api/v1/triggers?entity_type=invoice&entity_id=CUST-7&include_inactive=true")
        .await;
    let mut erased = 0;
    for t in page["items"].as_array().unwrap() {
        let (_, d) = app
            .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
            .await;
        if d["trigger"]["status"] == "finished" {
            assert_eq!(d["trigger"]["payload"], Value::Null);
            assert_eq!(d["attempts"], json!([]));
            erased += 1;
        }
    }
    assert_eq!(erased, 2);
    let (_, d) = app.get(&format!("/api/v1/triggers/{other_id}")).await;
    assert_eq!(d["trigger"]["payload"]["email"], "keep@example.com");
    let audit = store.reads().list_audit(50).await.unwrap();
    let row = audit
        .iter()
        .find(|a| a.action == "entity.erase")
        .expect("audited");
    assert_eq!(row.target, "entity:invoice/CUST-7");
    assert_eq!(row.reason, "GDPR request 17");
    // Nor can it be found by searching: only the waiting trigger's copy is left.
    let (s, found) = app
        .get("/api/v1/triggers?q=erase-me%40example&include_inactive=true")
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    if db == Db::Sqlite {
        // The erased payloads are gone from the file and its WAL, not just unreachable;
        // only the waiting trigger's copies remain: its payload, and its search text
        // (folded to lower case, as the search index keeps it).
        let bytes = common::database_bytes(db, &app.db_url);
        for needle in ["ERASE-ME@example.com", "erase-me@example.com"] {
            let copies: usize = bytes
                .iter()
                .map(|(_, text)| text.matches(needle).count())
                .sum();
            assert!(
                copies <= 1,
                "{copies} copies of erased data ({needle}) remain in the database files"
            );
        }
    }
}

async fn a_plugin_keeps_its_log_for_its_own_time(db: Db) {
    let (app, provider, ex, billing) = setup(db).await;
    // A second plugin on the same provider, keeping details 7 days and rows 20.
    let (s, p) = app
        .post(
            "/api/v1/plugins",
            &json!({"name": "chatty", "base_url": provider.uri(),
                    "default_route": {"method": "POST", "path": "/hook"},
                    "retention": {"detail_days": 7, "summary_days": 20}}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        p["retention"],
        json!({"detail_days": 7, "summary_days": 20})
    );
    let chatty: uuid::Uuid = p["id"].as_str().unwrap().parse().unwrap();
    // Bad days are refused with the field named, and change nothing.
    let (s, e) = app
        .patch(
            "/api/v1/plugins/chatty",
            &json!({"retention": {"detail_days": 30, "summary_days": 10}}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(error_of(&e).1.as_deref(), Some("retention.summary_days"));

    let planted = [
        (billing, 10, "B-10"),
        (chatty, 10, "C-10"),
        (chatty, 25, "C-25"),
    ];
    let triggers: Vec<NewTrigger> = planted
        .iter()
        .map(|(plugin, days, entity)| old_trigger(*plugin, *days + 1, entity, json!({"n": 1})))
        .collect();
    let ids: Vec<uuid::Uuid> = triggers.iter().map(|t| t.id).collect();
    app.service.store().insert_triggers(triggers).await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 3);
    for (id, (_, days, _)) in ids.iter().zip(planted) {
        finished_days_ago(&app, *id, days).await;
    }

    app.service
        .set_retention(RetentionPolicy::from_days(30, 400).unwrap());
    let done = app.service.prune(false, &|_| {}).await.unwrap();
    assert_eq!((done.details_removed, done.triggers_deleted), (1, 1));
    let (_, d) = detail(&app, ids[0]).await;
    assert_eq!(
        d["trigger"]["payload"]["n"], 1,
        "billing follows the global 30 days"
    );
    let (_, d) = detail(&app, ids[1]).await;
    assert!(
        d["trigger"]["details_removed_at"].is_string(),
        "chatty's 7 days: {d}"
    );
    assert_eq!(detail(&app, ids[2]).await.0, 404, "chatty's 20 days");

    // Back to the global setting: nothing more goes.
    let (s, p) = app
        .patch("/api/v1/plugins/chatty", &json!({"retention": {}}))
        .await;
    assert_eq!(s, 200, "{p}");
    let again = app.service.prune(false, &|_| {}).await.unwrap();
    assert_eq!((again.details_removed, again.triggers_deleted), (0, 0));
}
