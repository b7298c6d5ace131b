//! What each caller can see and do: the role matrix over REST, plugin scopes,
//! `ingest` callers reading only their own triggers, inactive plugins hidden from
//! non-admins, plugins' configuration shown to admins only, and counts.

mod common;

use calltrail::service::{EntityScope, Identity, Principal, Role};
use common::{error_of, status_json, Db, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    an_ingest_key_creates_triggers_and_reads_only_its_own,
    a_viewer_key_may_read_but_not_create,
    a_plugin_scope_hides_other_plugins_everywhere,
    non_admins_see_active_plugins_triggers_unless_they_ask,
    plugin_configuration_is_for_admins_only,
    the_count_follows_the_filters_and_the_scope,
    an_entity_scope_sees_only_its_entity,
    the_same_idempotency_key_from_two_applications_makes_two_triggers,
);

fn invoice(plugin: &str, id: &str) -> Value {
    json!({
        "plugin": plugin,
        "event_type": "invoice.available",
        "entity": {"type": "invoice", "id": id},
        "payload": {"amount": 1},
    })
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// A principal as a user or key limited to some plugins would be.
async fn scoped(app: &TestApp, role: Role, plugins: &[&str]) -> Principal {
    let mut ids = Vec::new();
    for name in plugins {
        let (_, p) = app.get(&format!("/api/v1/plugins/{name}")).await;
        ids.push(p["id"].as_str().unwrap().parse().unwrap());
    }
    Principal {
        identity: Identity::User(uuid::Uuid::now_v7()),
        name: "scoped".into(),
        role,
        plugins: Some(ids),
        entity: None,
        client: None,
    }
}

async fn an_ingest_key_creates_triggers_and_reads_only_its_own(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let billing = app.key("billing", Role::Ingest).await;
    let crm = app.key("crm", Role::Ingest).await;
    let (s, mine) = app
        .post_as(&billing, "/api/v1/triggers", &invoice("stripe", "INV-1"))
        .await;
    assert_eq!(s, 201, "{mine}");
    let (s, theirs) = app
        .post_as(&crm, "/api/v1/triggers", &invoice("stripe", "INV-2"))
        .await;
    assert_eq!(s, 201, "{theirs}");
    let admins = app.trigger(&invoice("stripe", "INV-3")).await;

    let (s, page) = app.get_as(&billing, "/api/v1/triggers").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&page), [mine["id"].as_str().unwrap()]);
    let (s, _) = app
        .get_as(
            &billing,
            &format!("/api/v1/triggers/{}", mine["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(s, 200);
    for other in [&theirs, &admins] {
        let (s, body) = app
            .get_as(
                &billing,
                &format!("/api/v1/triggers/{}", other["id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(s, 404, "another caller's trigger is not found: {body}");
        assert_eq!(error_of(&body).0, "not_found");
    }
    // Admins see everything.
    let (_, all) = app.get("/api/v1/triggers").await;
    assert_eq!(ids(&all).len(), 3);
    // An ingest key may not re-run.
    let (s, body) = app
        .post_as(
            &billing,
            &format!("/api/v1/triggers/{}/rerun", mine["id"].as_str().unwrap()),
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(s, 403, "{body}");
}

async fn a_viewer_key_may_read_but_not_create(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let viewer = app.key("dashboard", Role::Viewer).await;
    let (s, body) = app
        .post_as(&viewer, "/api/v1/triggers", &invoice("stripe", "INV-1"))
        .await;
    assert_eq!(s, 403, "{body}");
    let (code, _, message) = error_of(&body);
    assert_eq!(code, "forbidden");
    assert!(message.contains("ingest, operator or admin"), "{message}");
    let (_, all) = app.get("/api/v1/triggers").await;
    assert!(ids(&all).is_empty(), "nothing was written");
    app.trigger(&invoice("stripe", "INV-1")).await;
    let (s, page) = app.get_as(&viewer, "/api/v1/triggers").await;
    assert_eq!((s, ids(&page).len()), (200, 1));
}

async fn a_plugin_scope_hides_other_plugins_everywhere(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    let mut group = Vec::new();
    for (plugin, id) in [("stripe", "INV-1"), ("xero", "INV-2")] {
        let mut body = invoice(plugin, id);
        body["aggregation_key"] = json!("run-1");
        group.push(app.trigger(&body).await);
    }
    let who = scoped(&app, Role::Operator, &["stripe"]).await;
    let svc = &app.service;

    let page = svc
        .list_triggers(&who, Default::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].plugin, "stripe");
    let xero_trigger = group[1]["id"].as_str().unwrap();
    let e = svc.get_trigger(&who, xero_trigger).await.unwrap_err();
    assert_eq!(e.code(), "not_found");
    // Asking for the other plugin by name is the same as asking for one that does not exist.
    let filter = app::domain::TriggerFilter {
        plugin: vec!["xero".into()],
        ..Default::default()
    };
    let e = svc.list_triggers(&who, filter, None, 50).await.unwrap_err();
    assert_eq!((e.code(), e.field()), ("validation_failed", Some("plugin")));
    assert!(
        e.message().contains("no plugin named \"xero\""),
        "{}",
        e.message()
    );
    // Plugins: only the one in scope, and the other is not found.
    let plugins = svc.list_plugins(&who).await.unwrap();
    assert_eq!(plugins.len(), 1);
    assert_eq!(
        svc.get_plugin(&who, "xero").await.unwrap_err().code(),
        "not_found"
    );
    // Creating a trigger for the other plugin: unknown plugin.
    let input = serde_json::from_value(invoice("xero", "INV-9")).unwrap();
    let e = svc.create_trigger(&who, input, None).await.unwrap_err();
    assert_eq!(e.field(), Some("plugin"));
    // A rerun of the other plugin's trigger is not found; a group rerun takes only its own.
    let reason = || calltrail::service::RerunInput {
        reason: Some("token renewed".into()),
        resume_retries: false,
    };
    assert_eq!(
        svc.rerun(&who, xero_trigger, reason())
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    for t in &group {
        fail(&app, t["id"].as_str().unwrap()).await;
    }
    let input: calltrail::service::GroupRerunInput =
        serde_json::from_value(json!({"reason": "token renewed"})).unwrap();
    let out = svc.rerun_group(&who, "run-1", input).await.unwrap();
    assert_eq!(out.queued, 1, "only the stripe trigger of the group");
}

/// Mark a trigger erroneous, as if its attempts had failed.
async fn fail(app: &TestApp, id: &str) {
    let sql = format!(
        "UPDATE triggers SET status = 'erroneous', next_attempt_at = NULL WHERE id = {}",
        id_literal(app, id)
    );
    assert_eq!(common::exec_sql(&app.db_url, &sql).await, 1);
}

fn id_literal(app: &TestApp, id: &str) -> String {
    let hex = id.replace('-', "");
    if app.db_url.starts_with("sqlite") {
        format!("X'{hex}'")
    } else {
        format!("'{id}'::uuid")
    }
}

async fn non_admins_see_active_plugins_triggers_unless_they_ask(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("legacy").await;
    app.trigger(&invoice("stripe", "INV-1")).await;
    let old = app.trigger(&invoice("legacy", "INV-2")).await;
    let (s, _) = app
        .patch("/api/v1/plugins/legacy", &json!({"active": false}))
        .await;
    assert_eq!(s, 200);
    let viewer = app.key("dashboard", Role::Viewer).await;

    let (_, page) = app.get_as(&viewer, "/api/v1/triggers").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["plugin"], "stripe");
    let (_, page) = app
        .get_as(&viewer, "/api/v1/triggers?include_inactive=true")
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    // By its id, an inactive plugin's trigger is still readable.
    let (s, _) = app
        .get_as(
            &viewer,
            &format!("/api/v1/triggers/{}", old["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(s, 200);
    // Admins see both without asking.
    let (_, page) = app.get("/api/v1/triggers").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (s, body) = app
        .get_as(&viewer, "/api/v1/triggers?include_inactive=maybe")
        .await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&body).1.as_deref(), Some("include_inactive"));
}

async fn plugin_configuration_is_for_admins_only(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let operator = app.key("on-call", Role::Operator).await;
    let (s, p) = app.get_as(&operator, "/api/v1/plugins/stripe").await;
    assert_eq!(s, 200);
    assert_eq!(p["name"], "stripe");
    assert_eq!(p["display_name"], "STRIPE");
    assert_eq!(p["active"], true);
    assert_eq!(
        p["event_types"],
        json!(["customer.created", "invoice.available"])
    );
    for config in ["routes", "headers", "retry_policy", "base_url", "redact"] {
        assert!(p.get(config).is_none(), "{config} is for admins: {p}");
    }
    let (_, list) = app.get_as(&operator, "/api/v1/plugins").await;
    assert!(list["items"][0].get("routes").is_none(), "{list}");
    let (_, full) = app.get("/api/v1/plugins/stripe").await;
    assert!(
        full["routes"].is_object() && full["retry_policy"].is_object(),
        "{full}"
    );
}

async fn the_count_follows_the_filters_and_the_scope(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    for (plugin, id) in [("stripe", "INV-1"), ("stripe", "INV-2"), ("xero", "INV-3")] {
        app.trigger(&invoice(plugin, id)).await;
    }
    let (s, c) = app.get("/api/v1/triggers/count").await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["count"], 3);
    assert_eq!(c["by_status"]["not_yet_started"], 3);
    assert_eq!(c["by_status"]["erroneous"], 0);
    let (_, c) = app.get("/api/v1/triggers/count?plugin=xero").await;
    assert_eq!(c["count"], 1);
    let (s, body) = app.get("/api/v1/triggers/count?cursor=abc").await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("cursor")));
    let who = scoped(&app, Role::Viewer, &["stripe"]).await;
    let c = app
        .service
        .count_triggers(&who, Default::default())
        .await
        .unwrap();
    assert_eq!(c.count, 2);
}

async fn an_entity_scope_sees_only_its_entity(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let a = app.trigger(&invoice("stripe", "INV-A")).await;
    let b = app.trigger(&invoice("stripe", "INV-B")).await;
    let who = Principal {
        identity: Identity::Embed,
        name: "embed".into(),
        role: Role::Viewer,
        plugins: None,
        entity: Some(EntityScope {
            entity_type: "invoice".into(),
            entity_id: "INV-A".into(),
        }),
        client: None,
    };
    let svc = &app.service;
    let page = svc
        .list_triggers(&who, Default::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id.to_string(), a["id"].as_str().unwrap());
    let other = app::domain::TriggerFilter {
        entity_type: Some("invoice".into()),
        entity_id: Some("INV-B".into()),
        ..Default::default()
    };
    assert!(svc
        .list_triggers(&who, other, None, 50)
        .await
        .unwrap()
        .items
        .is_empty());
    let e = svc
        .get_trigger(&who, b["id"].as_str().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "not_found");
}

async fn the_same_idempotency_key_from_two_applications_makes_two_triggers(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let billing = app.key("billing", Role::Ingest).await;
    let crm = app.key("crm", Role::Ingest).await;
    let mut made = Vec::new();
    for key in [&billing, &crm, &billing] {
        let r = app
            .http
            .post(app.url("/api/v1/triggers"))
            .bearer_auth(key)
            .header("idempotency-key", "order-1")
            .json(&invoice("stripe", "INV-1"))
            .send()
            .await
            .unwrap();
        made.push(status_json(r).await);
    }
    assert_eq!((made[0].0, made[1].0, made[2].0), (201, 201, 200));
    assert_ne!(
        made[0].1["id"], made[1].1["id"],
        "two applications, two triggers"
    );
    assert_eq!(
        made[0].1["id"], made[2].1["id"],
        "the same application's retry"
    );
}
