//! The plugins page's figures and the admin pages' server functions: failures
//! in the last 24 hours and the last success per plugin, within what each caller
//! may see; a plugin changed and reconnected from the page, secrets never sent
//! back; a migration's dry run and start from the page.

mod common;

use app::server_fns::{ListPluginHealth, StartMigration, UpdatePlugin};
use calltrail::service::Role;
use chrono::{DateTime, Duration, Utc};
use common::{error_of, Db, TestApp};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

on_both_databases!(
    failures_count_the_last_day_and_the_last_success_is_the_latest_known,
    each_caller_sees_the_health_of_the_plugins_it_may_read,
    the_plugin_page_reconnects_a_plugin_without_ever_showing_the_secret,
    the_migration_page_previews_then_starts,
);

/// Report a call the application made itself, `ago` before now.
async fn call(app: &TestApp, plugin: &str, status: u16, ago: Duration) -> DateTime<Utc> {
    let started = Utc::now() - ago;
    let (s, body) = app
        .post(
            "/api/v1/calls",
            &json!({
                "plugin": plugin,
                "event_type": "invoice.available",
                "payload": {},
                "request": {"method": "POST", "url": "https://api.example.com/x", "headers": {}},
                "response": {"status": status, "headers": {}, "body": "{}"},
                "started_at": started.to_rfc3339(),
                "duration_ms": 250,
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    started
}

fn health_of<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
}

fn at(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|s| s.parse().unwrap())
}

/// Within a millisecond: reported times are kept to the microsecond.
fn near(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).num_milliseconds().abs() <= 1
}

async fn failures_count_the_last_day_and_the_last_success_is_the_latest_known(db: Db) {
    let app = TestApp::spawn(db).await;
    for name in ["busy", "quiet", "old"] {
        app.plugin(name).await;
    }
    let success = call(&app, "busy", 200, Duration::hours(2)).await;
    call(&app, "busy", 422, Duration::hours(1)).await;
    call(&app, "busy", 503, Duration::minutes(5)).await;
    // Outside the window: neither counted nor the latest success.
    call(&app, "busy", 500, Duration::hours(30)).await;
    call(&app, "busy", 200, Duration::hours(40)).await;
    let long_ago = call(&app, "old", 200, Duration::days(3)).await;
    call(&app, "old", 401, Duration::days(2)).await;

    let (s, list) = app.get("/api/v1/plugin-health").await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["busy", "old", "quiet"], "by name");

    let busy = health_of(&list, "busy").unwrap();
    assert_eq!(busy["failures_24h"], 2, "{busy}");
    assert_eq!(busy["active"], true);
    assert_eq!(busy["display_name"], "BUSY");
    let last = at(&busy["last_success_at"]).expect("busy has succeeded");
    assert!(
        near(last, success + Duration::milliseconds(250)),
        "{last} vs {success}"
    );

    let old = health_of(&list, "old").unwrap();
    assert_eq!(old["failures_24h"], 0, "its failure is two days old");
    let last = at(&old["last_success_at"]).expect("a success older than the window is still known");
    assert!(
        near(last, long_ago + Duration::milliseconds(250)),
        "{last} vs {long_ago}"
    );

    let quiet = health_of(&list, "quiet").unwrap();
    assert_eq!(
        (
            quiet["failures_24h"].clone(),
            quiet["last_success_at"].clone()
        ),
        (json!(0), Value::Null)
    );
}

async fn each_caller_sees_the_health_of_the_plugins_it_may_read(db: Db) {
    let app = TestApp::spawn(db).await;
    for name in ["stripe", "xero", "legacy"] {
        app.plugin(name).await;
    }
    call(&app, "legacy", 500, Duration::minutes(1)).await;
    let (s, _) = app
        .patch("/api/v1/plugins/legacy", &json!({"active": false}))
        .await;
    assert_eq!(s, 200);
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };

    // Admins see inactive plugins too, with their failures.
    let (_, before) = app.get("/api/v1/plugin-health").await;
    assert_eq!(names(&before), ["legacy", "stripe", "xero"]);
    assert_eq!(health_of(&before, "legacy").unwrap()["active"], false);
    assert_eq!(health_of(&before, "legacy").unwrap()["failures_24h"], 1);

    // Others see what the log shows them: active plugins only.
    let viewer = app.key("wall", Role::Viewer).await;
    let (s, list) = app.get_as(&viewer, "/api/v1/plugin-health").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(names(&list), ["stripe", "xero"]);

    // A plugin scope narrows it further.
    let (s, key) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "xero-only", "role": "operator", "plugins": ["xero"]}),
        )
        .await;
    assert_eq!(s, 201, "{key}");
    let (_, list) = app
        .get_as(key["key"].as_str().unwrap(), "/api/v1/plugin-health")
        .await;
    assert_eq!(names(&list), ["xero"]);

    // An ingest key's figures count only the calls it reported itself.
    let ingest = app.key("billing", Role::Ingest).await;
    let (s, body) = app
        .post_as(
            &ingest,
            "/api/v1/calls",
            &json!({"plugin": "xero", "event_type": "invoice.available", "payload": {},
                    "request": {"method": "POST", "url": "https://api.example.com/x"},
                    "response": {"status": 500}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    call(&app, "stripe", 503, Duration::minutes(1)).await;
    let (s, list) = app.get_as(&ingest, "/api/v1/plugin-health").await;
    assert_eq!(s, 200, "{list}");
    let failures =
        |list: &Value, name: &str| health_of(list, name).unwrap()["failures_24h"].clone();
    assert_eq!(
        (failures(&list, "xero"), failures(&list, "stripe")),
        (json!(1), json!(0))
    );
    let (_, all) = app.get("/api/v1/plugin-health").await;
    assert_eq!(
        (failures(&all, "xero"), failures(&all, "stripe")),
        (json!(1), json!(1))
    );

    // The page's server function answers the same as the REST route.
    let browser = app.browser().await;
    let (s, fn_list) = browser.call_fn(ListPluginHealth::PATH, &json!({})).await;
    assert_eq!(s, 200, "{fn_list}");
    assert_eq!(json!({ "items": fn_list }), all);
}

async fn the_plugin_page_reconnects_a_plugin_without_ever_showing_the_secret(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("xero").await;
    let browser = app.browser().await;

    let (s, body) = browser
        .call_fn(
            UpdatePlugin::PATH,
            &json!({"name": "xero", "changes": {
                "credentials": {"type": "bearer", "token": "NEW_PLANTED_TOKEN"},
                "display_name": "Xero (EU)",
            }}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["display_name"], "Xero (EU)");
    assert_eq!(body["has_auth"], true);
    assert!(!body.to_string().contains("NEW_PLANTED_TOKEN"), "{body}");

    // The executor holds the new token.
    let record = app
        .service
        .store()
        .reads()
        .get_plugin(&calltrail::storage::PluginKey::Name("xero".into()))
        .await
        .unwrap()
        .unwrap();
    let secrets = app.service.unseal(&record).unwrap();
    match secrets.auth {
        Some(calltrail::service::AuthInput::Bearer { token }) => {
            assert_eq!(token.expose(), "NEW_PLANTED_TOKEN")
        }
        other => panic!("expected the new bearer token, got {other:?}"),
    }

    // Audited by name, never by value.
    let (_, audit) = app.get("/api/v1/audit?action=plugin.update").await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "plugin.update", "{audit}");
    assert!(!audit.to_string().contains("NEW_PLANTED_TOKEN"));

    // A bad value comes back named, as REST names it.
    let (s, body) = browser
        .call_fn(
            UpdatePlugin::PATH,
            &json!({"name": "xero", "changes": {"retry_policy": {
                "schedule_secs": [], "max_attempts": 3, "jitter_pct": 0, "retry_after_cap_secs": 60}}}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (code, field, _) = error_of(&json!({ "error": body }));
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("validation_failed", Some("retry_policy.schedule_secs"))
    );

    // Viewers may read the page but not change it.
    let email = "viewer@example.com";
    app.user(email, "viewer", None).await;
    let viewer = app.sign_in(email, common::PASSWORD).await;
    let (s, body) = viewer
        .call_fn(
            UpdatePlugin::PATH,
            &json!({"name": "xero", "changes": {"active": false}}),
        )
        .await;
    assert_eq!(s, 403, "{body}");
}

async fn the_migration_page_previews_then_starts(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("xero").await;
    for _ in 0..3 {
        call(&app, "xero", 422, Duration::minutes(10)).await;
    }
    call(&app, "xero", 200, Duration::minutes(10)).await;
    let browser = app.browser().await;
    let input = json!({"reason": "token renewed", "dry_run": true, "rate_per_sec": 1,
                       "filter": {"plugin": ["xero"], "status": ["erroneous"]}});
    let (s, body) = browser
        .call_fn(StartMigration::PATH, &json!({ "input": input }))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["dry_run"]["count"], 3, "{body}");
    assert_eq!(body["dry_run"]["sample"].as_array().unwrap().len(), 3);

    let mut real = input.clone();
    real["dry_run"] = json!(false);
    let (s, body) = browser
        .call_fn(StartMigration::PATH, &json!({ "input": real }))
        .await;
    assert_eq!(s, 200, "{body}");
    let started = &body["started"];
    assert_eq!(
        (started["status"].clone(), started["total"].clone()),
        (json!("running"), json!(3))
    );

    // Without a reason, nothing starts, and the field is named.
    let mut no_reason = input;
    no_reason["reason"] = json!("  ");
    let (s, body) = browser
        .call_fn(StartMigration::PATH, &json!({ "input": no_reason }))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["field"], "reason");
}
