//! Taking the log away as a file: the whole filtered set (more than a page), in
//! CSV or NDJSON, narrowed to the caller, capped, and safe to open in a spreadsheet.

mod common;

use calltrail::service::{Limits, Role};
use common::{error_of, status_json, Db, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    an_export_holds_every_matching_trigger_not_just_a_page,
    an_export_follows_the_filters_and_the_callers_scope,
    an_export_over_the_cap_is_refused_before_anything_is_sent,
    csv_cells_that_look_like_formulas_are_defused,
);

async fn export(
    app: &TestApp,
    key: &str,
    query: &str,
) -> (u16, String, reqwest::header::HeaderMap) {
    let r = app
        .http
        .get(app.url(&format!("/api/v1/triggers/export?{query}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

async fn seed(app: &TestApp, plugin: &str, n: usize) {
    let triggers: Vec<calltrail::service::TriggerInput> = (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "plugin": plugin, "event_type": "invoice.available",
                "entity": {"type": "invoice", "id": format!("{plugin}-{i}")},
                "payload": {"n": i},
            }))
            .unwrap()
        })
        .collect();
    for t in triggers {
        app.service
            .create_trigger(&common::admin(), t, None)
            .await
            .unwrap();
    }
}

async fn an_export_holds_every_matching_trigger_not_just_a_page(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    seed(&app, "stripe", 1203).await;
    let (s, csv, headers) = export(&app, &app.admin_key, "format=csv").await;
    assert_eq!(s, 200, "{csv}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(headers["x-total-count"], "1203");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert_eq!(&header[9], "status");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1203, "every trigger, across pages of 500");
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids.len(), 1203, "no trigger twice");
    assert_eq!(&rows[0][5], "stripe-1202", "newest first");

    let (s, ndjson, headers) = export(&app, &app.admin_key, "format=ndjson").await;
    assert_eq!(s, 200);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1203);
    assert_eq!(lines[0]["entity"]["id"], "stripe-1202");
    assert!(lines[0].get("payload").is_none(), "summaries, not payloads");
}

async fn an_export_follows_the_filters_and_the_callers_scope(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    seed(&app, "stripe", 3).await;
    seed(&app, "xero", 2).await;
    let (_, csv, _) = export(&app, &app.admin_key, "plugin=xero").await;
    assert_eq!(csv.lines().count(), 1 + 2);
    assert!(!csv.contains("stripe-"));

    // An ingest key exports only what it created: nothing here.
    let ingest = app.key("billing", Role::Ingest).await;
    let (s, csv, _) = export(&app, &ingest, "").await;
    assert_eq!(
        (s, csv.lines().count()),
        (200, 1),
        "the header alone: {csv}"
    );

    let (s, body, _) = export(&app, &app.admin_key, "format=xlsx").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("format")));
    let (s, body, _) = export(&app, &app.admin_key, "cursor=abc").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("cursor")));
    let r = app
        .http
        .get(app.url("/api/v1/triggers/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(status_json(r).await.0, 401);
}

async fn an_export_over_the_cap_is_refused_before_anything_is_sent(db: Db) {
    let app = TestApp::spawn_with(
        db,
        Limits {
            max_export_rows: 4,
            ..Limits::default()
        },
    )
    .await;
    app.plugin("stripe").await;
    seed(&app, "stripe", 5).await;
    let (s, body, _) = export(&app, &app.admin_key, "").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s, 422);
    let (_, field, message) = error_of(&body);
    assert_eq!(field.as_deref(), Some("filter"));
    assert!(
        message.contains("match 5 triggers") && message.contains("at most 4"),
        "{message}"
    );
    let (s, csv, _) = export(
        &app,
        &app.admin_key,
        "entity_type=invoice&entity_id=stripe-1",
    )
    .await;
    assert_eq!((s, csv.lines().count()), (200, 2));
}

async fn csv_cells_that_look_like_formulas_are_defused(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.trigger(&json!({
        "plugin": "stripe", "event_type": "invoice.available",
        "action": "=HYPERLINK(\"https://evil.example\",\"click\")",
        "entity": {"type": "invoice", "id": "+1"},
        "payload": {},
    }))
    .await;
    let (_, csv, _) = export(&app, &app.admin_key, "").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[3], "'=HYPERLINK(\"https://evil.example\",\"click\")");
    assert_eq!(&row[5], "'+1");
}
