//! The log's activity chart (`GET /api/v1/triggers/activity`): attempts per hour
//! or day by class, for the list's filters, on both databases.

mod common;

use chrono::{DateTime, Duration, Timelike, Utc};
use common::{Db, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    the_last_day_counts_each_attempt_once_in_its_hour_by_class,
    the_filters_narrow_the_attempts_counted,
    the_week_is_cut_at_the_readers_midnights_and_older_attempts_are_left_out,
    a_bad_window_or_offset_is_refused_by_name,
);

/// A call the application made itself at `at`, answered with `status`.
async fn reported(app: &TestApp, plugin: &str, entity: &str, status: u16, at: DateTime<Utc>) {
    let (s, body) = app
        .post(
            "/api/v1/calls",
            &json!({
                "plugin": plugin, "event_type": "invoice.available",
                "entity": {"type": "invoice", "id": entity},
                "payload": {"n": 1},
                "request": {"method": "POST", "url": "https://api.example.com/v1/invoices", "headers": {}, "body": "{}"},
                "response": {"status": status, "headers": {}, "body": "{}"},
                "started_at": at.to_rfc3339(), "duration_ms": 120
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

async fn activity(app: &TestApp, query: &str) -> Value {
    let (s, body) = app.get(&format!("/api/v1/triggers/activity?{query}")).await;
    assert_eq!(s, 200, "{body}");
    body
}

fn start_of(bucket: &Value) -> DateTime<Utc> {
    bucket["start"].as_str().unwrap().parse().unwrap()
}

/// Attempts of `class` in all the buckets.
fn sum(a: &Value, class: &str) -> u64 {
    a["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["by_class"][class].as_u64().unwrap_or(0))
        .sum()
}

/// The bucket `at` falls in.
fn bucket_of(a: &Value, at: DateTime<Utc>, len: Duration) -> &Value {
    a["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| start_of(b) <= at && at < start_of(b) + len)
        .unwrap_or_else(|| panic!("no bucket holds {at}: {a}"))
}

async fn the_last_day_counts_each_attempt_once_in_its_hour_by_class(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let now = Utc::now();
    let ok = now - Duration::minutes(20);
    let outage = now - Duration::hours(5);
    reported(&app, "stripe", "INV-1", 200, ok).await;
    reported(&app, "stripe", "INV-2", 503, outage).await;
    reported(&app, "stripe", "INV-3", 422, outage).await;
    // A day and more ago: outside the last 24 hours.
    reported(&app, "stripe", "INV-4", 200, now - Duration::hours(30)).await;

    let a = activity(&app, "").await;
    assert_eq!(a["window"], "24h");
    let buckets = a["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    for pair in buckets.windows(2) {
        assert_eq!(start_of(&pair[1]) - start_of(&pair[0]), Duration::hours(1));
    }
    let last = start_of(&buckets[23]);
    assert!(
        last <= now && now < last + Duration::hours(1),
        "the last hour holds now"
    );
    assert_eq!(
        (last.minute(), last.second()),
        (0, 0),
        "hours start on the hour in UTC"
    );

    assert_eq!(
        bucket_of(&a, ok, Duration::hours(1))["by_class"],
        json!({"success": 1})
    );
    assert_eq!(
        bucket_of(&a, outage, Duration::hours(1))["by_class"],
        json!({"server": 1, "validation": 1})
    );
    assert_eq!(
        sum(&a, "success"),
        1,
        "the call 30 hours ago is not in the last day"
    );
}

async fn the_filters_narrow_the_attempts_counted(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    let at = Utc::now() - Duration::minutes(10);
    reported(&app, "stripe", "INV-1", 200, at).await;
    reported(&app, "xero", "INV-1", 503, at).await;
    reported(&app, "xero", "INV-2", 401, at).await;

    let a = activity(&app, "plugin=xero").await;
    assert_eq!(
        (sum(&a, "success"), sum(&a, "server"), sum(&a, "auth")),
        (0, 1, 1)
    );
    let a = activity(&app, "entity_type=invoice&entity_id=INV-1").await;
    assert_eq!(
        (sum(&a, "success"), sum(&a, "server"), sum(&a, "auth")),
        (1, 1, 0)
    );
    let a = activity(&app, "status=finished").await;
    assert_eq!((sum(&a, "success"), sum(&a, "server")), (1, 0));
    let a = activity(&app, "q=INV-2").await;
    assert_eq!(sum(&a, "auth"), 1);
    assert_eq!(sum(&a, "server") + sum(&a, "success"), 0);

    // The same numbers through the service, as a page's server function asks.
    let filter = app::domain::TriggerFilter {
        plugin: vec!["xero".into()],
        ..Default::default()
    };
    let a = app
        .service
        .trigger_activity(
            &common::admin(),
            filter,
            app::domain::ActivityWindow::Day,
            0,
        )
        .await
        .unwrap();
    let by_outcome = a.buckets.iter().fold([0; 3], |mut s, b| {
        for (s, n) in s.iter_mut().zip(b.by_outcome()) {
            *s += n;
        }
        s
    });
    assert_eq!(by_outcome, [0, 1, 1], "succeeded, retryable, failed");
}

async fn the_week_is_cut_at_the_readers_midnights_and_older_attempts_are_left_out(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let now = Utc::now();
    let recent = now - Duration::days(2);
    reported(&app, "stripe", "INV-1", 200, recent).await;
    reported(&app, "stripe", "INV-2", 200, now - Duration::days(10)).await;

    // Auckland in summer: 13 hours ahead; a reader in India: 5:30.
    for offset in [780, 330, -300] {
        let a = activity(&app, &format!("window=7d&utc_offset_minutes={offset}")).await;
        assert_eq!(a["window"], "7d");
        let buckets = a["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 7);
        for b in buckets {
            let local = start_of(b) + Duration::minutes(offset);
            assert_eq!(
                (local.hour(), local.minute()),
                (0, 0),
                "a day starts at the reader's midnight"
            );
        }
        let last = start_of(&buckets[6]);
        assert!(last <= now && now < last + Duration::days(1));
        assert_eq!(sum(&a, "success"), 1, "ten days ago is not in the week");
        assert_eq!(
            bucket_of(&a, recent, Duration::days(1))["by_class"]["success"],
            1
        );
    }
}

async fn a_bad_window_or_offset_is_refused_by_name(db: Db) {
    let app = TestApp::spawn(db).await;
    for (query, field) in [
        ("window=1y", "window"),
        ("utc_offset_minutes=9000", "utc_offset_minutes"),
        ("utc_offset_minutes=east", "utc_offset_minutes"),
        ("cursor=abc", "cursor"),
        ("status=done", "status"),
        ("colour=red", "colour"),
    ] {
        let (s, body) = app.get(&format!("/api/v1/triggers/activity?{query}")).await;
        assert_eq!(s, 422, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    let viewer = app.key("viewer", calltrail::service::Role::Viewer).await;
    let (s, _) = app.get_as(&viewer, "/api/v1/triggers/activity").await;
    assert_eq!(s, 200, "a viewer reads the chart");
    let (s, _) = app
        .http
        .get(app.url("/api/v1/triggers/activity"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 401, "nobody without a key");
}

#[tokio::test]
async fn the_openapi_document_describes_the_activity_route() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/api/v1/triggers/activity"]["get"];
    assert!(op.is_object(), "GET /api/v1/triggers/activity is missing");
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["window", "utc_offset_minutes", "plugin", "status", "q"] {
        assert!(names.contains(&name), "{name} is not described: {names:?}");
    }
    assert!(doc["components"]["schemas"]["TriggerActivity"].is_object());
}
