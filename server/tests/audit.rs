//! The audit trail: what is recorded (key and plugin changes, with the client's
//! address and never a secret), and how admins read it (newest first, a page at
//! a time, by actor, action and time).

mod common;

use std::collections::HashSet;

use common::{error_of, Db, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    key_and_plugin_changes_are_audited_with_what_changed_but_no_secret,
    the_trail_is_read_newest_first_a_page_at_a_time_without_gaps_or_repeats,
    the_trail_is_narrowed_by_actor_action_and_time,
    a_bad_audit_parameter_is_refused_naming_it,
);

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

async fn key_and_plugin_changes_are_audited_with_what_changed_but_no_secret(db: Db) {
    let app = TestApp::spawn(db).await;
    let plugin = app.plugin("stripe").await;
    let pid = plugin["id"].as_str().unwrap();
    let (s, out) = app
        .patch(
            "/api/v1/plugins/stripe",
            &json!({
                "base_url": "https://api.stripe.test",
                "auth": {"type": "bearer", "token": "sk_live_ROTATED_MARKER"},
                "headers": {"x-api-key": "HEADER_MARKER"},
            }),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let (_, issued) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "billing", "role": "ingest", "plugins": ["stripe"]}),
        )
        .await;
    let kid = issued["id"].as_str().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/api-keys/{kid}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (s, trail) = app.get("/api/v1/audit?actor=test-admin").await;
    assert_eq!(s, 200, "{trail}");
    let actions: Vec<&str> = items(&trail)
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "api_key.revoke",
            "api_key.create",
            "plugin.update",
            "plugin.create"
        ],
        "newest first"
    );
    let [revoke, create, update, created] = &items(&trail)[..] else {
        unreachable!()
    };
    assert_eq!(revoke["target"], format!("api_key:{kid}"));
    assert_eq!(create["details"]["plugins"], json!(["stripe"]));
    assert_eq!(create["details"]["role"], "ingest");
    assert_eq!(update["target"], format!("plugin:{pid}"));
    let mut changed: Vec<&str> = update["details"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    changed.sort();
    assert_eq!(changed, ["auth", "base_url", "headers"]);
    assert_eq!(created["details"]["name"], "stripe");
    for entry in items(&trail) {
        assert_eq!(entry["client"], "127.0.0.1", "{entry}");
    }
    let text = trail.to_string();
    for secret in [
        "sk_live_ROTATED_MARKER",
        "HEADER_MARKER",
        "sk_live_PLANTED_MARKER",
        "whsec_PLANTED_SIGNING",
    ] {
        assert!(!text.contains(secret), "{secret} is not in the audit trail");
        let stored = common::query_i64(
            &app.db_url,
            &format!("SELECT COUNT(*) FROM audit_log WHERE details LIKE '%{secret}%'"),
        )
        .await;
        assert_eq!(stored, 0, "{secret} is not in the audit rows");
    }
}

/// Audit rows made by `actor`, one per action given, a few microseconds apart.
async fn plant(app: &TestApp, actor: &str, actions: &[&str]) {
    let store = calltrail::storage::connect(&app.db_url).await.unwrap();
    for action in actions {
        let who = calltrail::service::Principal::system(actor);
        let entry = who.audit(calltrail::service::now(), *action, "t", "why", json!({}));
        store.writes().insert_audit(&entry).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

async fn the_trail_is_read_newest_first_a_page_at_a_time_without_gaps_or_repeats(db: Db) {
    let app = TestApp::spawn(db).await;
    let actions: Vec<String> = (0..7).map(|i| format!("step.{i}")).collect();
    let names: Vec<&str> = actions.iter().map(String::as_str).collect();
    plant(&app, "planter", &names).await;
    let (_, all) = app.get("/api/v1/audit?limit=500").await;
    let everything: Vec<String> = items(&all)
        .iter()
        .map(|e| e["id"].as_str().unwrap().into())
        .collect();
    assert!(all["next_cursor"].is_null(), "one page holds it all: {all}");
    let times: Vec<&str> = items(&all)
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=3&cursor={c}"),
            None => "/api/v1/audit?limit=3".to_string(),
        };
        let (s, page) = app.get(&path).await;
        assert_eq!(s, 200, "{page}");
        assert!(items(&page).len() <= 3);
        seen.extend(
            items(&page)
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen, everything,
        "the pages together are the whole trail, in order"
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

async fn the_trail_is_narrowed_by_actor_action_and_time(db: Db) {
    let app = TestApp::spawn(db).await;
    plant(&app, "alice", &["rerun", "plugin.update"]).await;
    let middle = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    plant(&app, "bob", &["rerun", "api_key.revoke"]).await;

    let (_, page) = app.get("/api/v1/audit?actor=alice").await;
    let got: Vec<(&str, &str)> = items(&page)
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("alice", "plugin.update"), ("alice", "rerun")]);

    let (_, page) = app.get("/api/v1/audit?action=rerun").await;
    let actors: Vec<&str> = items(&page)
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["bob", "alice"]);

    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .replace('+', "%2B")
    };
    let (_, page) = app.get(&format!("/api/v1/audit?from={}", at(middle))).await;
    let actors: Vec<&str> = items(&page)
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["bob", "bob"],
        "from is inclusive of what came after"
    );
    let (_, page) = app
        .get(&format!(
            "/api/v1/audit?to={}&actor=alice&action=rerun",
            at(middle)
        ))
        .await;
    assert_eq!(items(&page).len(), 1, "{page}");
    let (_, page) = app.get("/api/v1/audit?actor=nobody").await;
    assert!(items(&page).is_empty() && page["next_cursor"].is_null());
}

async fn a_bad_audit_parameter_is_refused_naming_it(db: Db) {
    let app = TestApp::spawn(db).await;
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=0001-01-01T00:00:00Z", "from"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("cursor=garbage", "cursor"),
        ("plugin=stripe", "plugin"),
        ("actor=%00", "actor"),
    ] {
        let (s, body) = app.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(s, 422, "{query}: {body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{query}");
    }
}
