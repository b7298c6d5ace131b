//! Input that could break storage or a computation: NUL characters, times and
//! durations out of range, and filters repeated without end. Each is refused with
//! an error naming the field (or, for a payload, kept faithfully), on SQLite and on
//! PostgreSQL, and the server answers normally afterwards.

mod common;

use common::{error_of, Db, TestApp};
use serde_json::{json, Value};

fn invoice(id: &str) -> Value {
    json!({
        "plugin": "stripe",
        "event_type": "invoice.available",
        "entity": {"type": "invoice", "id": id},
        "payload": {"amount": 1200}
    })
}

fn call() -> Value {
    json!({
        "plugin": "stripe",
        "event_type": "invoice.available",
        "payload": {"amount": 1},
        "request": {"method": "POST", "url": "https://api.example.com/v1/x",
                    "headers": {"x-tenant": "acme"}, "body": "{}"},
        "response": {"status": 200, "headers": {"x-request-id": "r1"}, "body": "{}"},
        "duration_ms": 10
    })
}

/// Set `value` at a dotted path inside `doc`.
fn with(mut doc: Value, path: &str, value: Value) -> Value {
    let mut at = &mut doc;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        at = &mut at[*part];
    }
    at[parts[parts.len() - 1]] = value;
    doc
}

async fn refused(app: &TestApp, path: &str, body: &Value, field: &str) {
    let (s, out) = app.post(path, body).await;
    assert!((400..500).contains(&s), "POST {path} {body} → {s}: {out}");
    assert_eq!(
        error_of(&out).1.as_deref(),
        Some(field),
        "POST {path}: {out}"
    );
}

async fn still_answers(app: &TestApp) {
    let (s, out) = app.get("/api/v1/triggers?plugin=stripe").await;
    assert_eq!(s, 200, "{out}");
    app.trigger(&invoice("AFTER")).await;
}

async fn a_nul_character_is_refused_naming_the_field_except_in_a_payload(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let t = app.trigger(&invoice("INV-1")).await;
    let id = t["id"].as_str().unwrap();

    for (query, field) in [
        ("q=%00", "q"),
        ("q=inv%00", "q"),
        ("event_type=a%00", "event_type"),
        ("entity_type=invoice%00&entity_id=1", "entity_type"),
        ("entity_type=invoice&entity_id=%00", "entity_id"),
        ("aggregation_key=%00", "aggregation_key"),
        ("plugin=stripe%00", "plugin"),
    ] {
        let (s, body) = app.get(&format!("/api/v1/triggers?{query}")).await;
        assert_eq!(s, 422, "{query}: {body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{query}");
    }
    for (path, field) in [
        ("/api/v1/plugins/str%00ipe", "id"),
        ("/api/v1/triggers/%00", "id"),
    ] {
        let (s, body) = app.get(path).await;
        assert_eq!(s, 422, "{path}: {body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{path}");
    }
    let reason = json!({"reason": "because"});
    refused(&app, "/api/v1/aggregations/run%00/rerun", &reason, "key").await;

    let nul = json!("a\u{0}b");
    for (path, field) in [
        ("entity.id", "entity.id"),
        ("entity.type", "entity.type"),
        ("action", "action"),
        ("aggregation_key", "aggregation_key"),
    ] {
        refused(
            &app,
            "/api/v1/triggers",
            &with(invoice("X"), path, nul.clone()),
            field,
        )
        .await;
    }
    let initiator = with(
        invoice("X"),
        "initiator",
        json!({"kind": "user", "name": "a\u{0}"}),
    );
    refused(&app, "/api/v1/triggers", &initiator, "initiator.name").await;
    // Bodies are stored as bytes and keep a NUL (tests/bodies.rs); the rest is refused.
    for field in [
        "request.headers.x-tenant",
        "request.url",
        "response.headers.x-request-id",
        "external_id",
        "error",
    ] {
        refused(
            &app,
            "/api/v1/calls",
            &with(call(), field, nul.clone()),
            field,
        )
        .await;
    }
    let mut plugin = common::plugin_body("other");
    plugin["display_name"] = nul.clone();
    refused(&app, "/api/v1/plugins", &plugin, "display_name").await;
    let mut plugin = common::plugin_body("other");
    plugin["headers"] = json!({"x-tenant": "a\u{0}"});
    refused(&app, "/api/v1/plugins", &plugin, "headers.x-tenant").await;
    refused(
        &app,
        &format!("/api/v1/triggers/{id}/rerun"),
        &json!({"reason": "a\u{0}b"}),
        "reason",
    )
    .await;

    // A payload is stored as JSON, where NUL is an escape: kept as given, and searchable around.
    let mut faithful = invoice("INV-NUL");
    faithful["payload"] = json!({"note": "a\u{0}b", "k\u{0}": [1, "\u{0}"]});
    let t = app.trigger(&faithful).await;
    let (s, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["trigger"]["payload"], faithful["payload"]);
    let mut reported = call();
    reported["payload"] = json!({"note": "\u{0}"});
    let (s, out) = app.post("/api/v1/calls", &reported).await;
    assert_eq!(s, 201, "{out}");
    let (s, found) = app.get("/api/v1/triggers?q=INV-NUL").await;
    assert_eq!(s, 200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    still_answers(&app).await;
}

async fn times_and_durations_out_of_range_are_refused_naming_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    for run_at in [
        "1969-12-31T23:59:59Z",
        "+10000-01-01T00:00:00Z",
        "+262142-12-31T23:59:59Z",
    ] {
        let body = with(invoice("X"), "run_at", json!(run_at));
        refused(&app, "/api/v1/triggers", &body, "run_at").await;
    }
    let far = with(invoice("FAR"), "run_at", json!("9999-12-31T23:59:59Z"));
    let t = app.trigger(&far).await;
    assert_eq!(t["scheduled_at"], "9999-12-31T23:59:59Z");

    for duration in [json!(i64::MAX), json!(-1), json!(7 * 24 * 3600 * 1000 + 1)] {
        let body = with(call(), "duration_ms", duration);
        refused(&app, "/api/v1/calls", &body, "duration_ms").await;
    }
    for started in ["1900-01-01T00:00:00Z", "+262143-12-31T23:59:59Z"] {
        let body = with(call(), "started_at", json!(started));
        refused(&app, "/api/v1/calls", &body, "started_at").await;
    }
    let late = with(
        with(call(), "started_at", json!("9999-12-31T23:59:59Z")),
        "duration_ms",
        json!(7 * 24 * 3600 * 1000),
    );
    let (s, out) = app.post("/api/v1/calls", &late).await;
    assert_eq!(
        s, 201,
        "the latest start and the longest duration still add up: {out}"
    );

    let mut n = 0;
    for (field, value) in [
        ("timeout_ms", json!(u64::MAX)),
        ("timeout_ms", json!(0)),
        ("retry_policy.retry_after_cap_secs", json!(u64::MAX)),
        (
            "retry_policy.retry_after_cap_secs",
            json!(7 * 24 * 3600 + 1),
        ),
        ("retry_policy.schedule_secs", json!([u64::MAX])),
        ("retry_policy.schedule_secs", json!(vec![1; 101])),
    ] {
        n += 1;
        let mut plugin = common::plugin_body(&format!("p{n}"));
        plugin["retry_policy"] = json!({"schedule_secs": [5], "max_attempts": 3,
                                        "jitter_pct": 0, "retry_after_cap_secs": 60});
        let plugin = with(plugin, field, value);
        refused(&app, "/api/v1/plugins", &plugin, field).await;
    }
    still_answers(&app).await;
}

async fn repeated_filters_and_long_searches_are_bounded(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.trigger(&invoice("INV-1")).await;

    let fifty = vec!["plugin=stripe"; 50].join("&");
    let (s, page) = app.get(&format!("/api/v1/triggers?{fifty}")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let statuses = vec!["status=not_yet_started"; 50].join("&");
    let (s, _) = app.get(&format!("/api/v1/triggers?{statuses}")).await;
    assert_eq!(s, 200);

    for (query, field) in [
        (vec!["plugin=stripe"; 51].join("&"), "plugin"),
        (vec!["status=finished"; 51].join("&"), "status"),
        (format!("q={}", "x".repeat(201)), "q"),
        (format!("q={}", "é".repeat(201)), "q"),
    ] {
        let (s, body) = app.get(&format!("/api/v1/triggers?{query}")).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field));
    }
    let (s, _) = app
        .get(&format!("/api/v1/triggers?q={}", "x".repeat(200)))
        .await;
    assert_eq!(s, 200, "200 characters are allowed");
    // Many distinct unknown names are refused at the first, not looked up one by one.
    let unknown: Vec<String> = (0..50).map(|i| format!("plugin=nope{i}")).collect();
    let (s, body) = app
        .get(&format!("/api/v1/triggers?{}", unknown.join("&")))
        .await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&body).1.as_deref(), Some("plugin"));
    still_answers(&app).await;
}

on_both_databases!(
    a_nul_character_is_refused_naming_the_field_except_in_a_payload,
    times_and_durations_out_of_range_are_refused_naming_the_field,
    repeated_filters_and_long_searches_are_bounded,
);
