//! API keys as admins manage them over REST: issued once with a role, a plugin
//! scope and an expiry; listed without the key; revoked at once, on every
//! instance; failed keys throttled per address; the caller's address recorded.

mod common;

use std::time::Duration;

use calltrail::service::{Limits, Role, Service, TrustedProxies};
use common::{error_of, status_json, Db, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    an_admin_issues_a_key_lists_it_without_the_key_and_revokes_it,
    a_new_key_is_refused_field_by_field_and_nothing_is_written,
    an_expired_key_is_refused_even_while_it_is_cached,
    a_plugin_scoped_key_sees_only_its_plugins_even_after_a_rename,
    no_role_below_admin_may_manage_keys_or_read_the_audit_trail,
    repeated_bad_keys_from_one_address_get_429_while_a_valid_key_still_works,
    a_key_records_when_it_was_last_used_at_most_once_a_minute,
    the_client_address_is_the_peer_unless_a_trusted_proxy_names_another,
);

async fn delete(app: &TestApp, path: &str) -> (u16, Value) {
    let key = app.admin_key.clone();
    app.send_as(&key, reqwest::Method::DELETE, path, None).await
}

async fn issue(app: &TestApp, body: Value) -> Value {
    let (s, out) = app.post("/api/v1/api-keys", &body).await;
    assert_eq!(s, 201, "{out}");
    out
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn listed<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("key {id} is listed: {list}"))
}

async fn an_admin_issues_a_key_lists_it_without_the_key_and_revokes_it(db: Db) {
    let app = TestApp::spawn(db).await;
    let issued = issue(&app, json!({"name": "billing", "role": "ingest"})).await;
    let key = issued["key"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("ct_"), "{issued}");
    assert_eq!(issued["name"], "billing");
    assert_eq!(issued["role"], "ingest");
    assert_eq!(issued["plugins"], Value::Null);
    assert_eq!(issued["created_by"], "test-admin");
    assert_eq!(issued["revoked_at"], Value::Null);
    assert!(key.starts_with(issued["prefix"].as_str().unwrap()));

    // The key works, with the role it was given.
    let (s, _) = app.get_as(&key, "/api/v1/triggers").await;
    assert_eq!(s, 200);
    let (s, body) = app.get_as(&key, "/api/v1/api-keys").await;
    assert_eq!(s, 403, "an ingest key does not manage keys: {body}");

    // Listed, but never the key nor its hash.
    let (s, list) = app.get("/api/v1/api-keys").await;
    assert_eq!(s, 200, "{list}");
    let entry = listed(&list, &id);
    assert_eq!(entry["name"], "billing");
    assert!(entry.get("key").is_none() && entry.get("key_hash").is_none());
    let text = list.to_string();
    assert!(!text.contains(&key) && !text.contains(&sha256_hex(&key)));

    // Only its hash is stored, and the audit trail does not hold it either.
    let stored = common::query_i64(
        &app.db_url,
        &format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{}'",
            sha256_hex(&key)
        ),
    )
    .await;
    assert_eq!(stored, 1);
    let leaked = common::query_i64(
        &app.db_url,
        &format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{key}' OR name = '{key}' OR prefix = '{key}'"
        ),
    )
    .await
        + common::query_i64(
            &app.db_url,
            &format!("SELECT COUNT(*) FROM audit_log WHERE details LIKE '%{key}%'"),
        )
        .await;
    assert_eq!(leaked, 0, "the key itself is nowhere in the database");

    // Revoked: refused at once, with a message that says so.
    let (s, revoked) = delete(&app, &format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(s, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (s, body) = app.get_as(&key, "/api/v1/triggers").await;
    assert_eq!(s, 401, "{body}");
    let (code, _, message) = error_of(&body);
    assert_eq!(code, "unauthorized");
    assert!(message.contains("revoked"), "{message}");
    // Revoking it again changes nothing; the list shows when it was revoked.
    let (s, again) = delete(&app, &format!("/api/v1/api-keys/{id}")).await;
    assert_eq!((s, &again["revoked_at"]), (200, &revoked["revoked_at"]));
    let (_, list) = app.get("/api/v1/api-keys").await;
    assert_eq!(listed(&list, &id)["revoked_at"], revoked["revoked_at"]);
    let revocations = common::query_i64(
        &app.db_url,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'api_key.revoke'",
    )
    .await;
    assert_eq!(revocations, 1, "one revocation, one audit row");

    // A key does not revoke itself (an admin locking itself out by accident).
    let (_, list) = app.get("/api/v1/api-keys").await;
    let own = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "test-admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = delete(&app, &format!("/api/v1/api-keys/{own}")).await;
    assert_eq!((s, error_of(&body).0.as_str()), (409, "conflict"), "{body}");
    assert_eq!(app.get("/api/v1/api-keys").await.0, 200, "still valid");

    // Unknown and unreadable ids.
    let (s, body) = delete(&app, &format!("/api/v1/api-keys/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = delete(&app, "/api/v1/api-keys/not-an-id").await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("id")));
}

async fn a_new_key_is_refused_field_by_field_and_nothing_is_written(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        (json!({"name": "x", "role": "root"}), "role"),
        (json!({"name": "x", "role": "Admin"}), "role"),
        (
            json!({"name": "x", "role": "viewer", "plugins": ["stripe", "nope"]}),
            "plugins",
        ),
        (
            json!({"name": "x", "role": "viewer", "plugins": []}),
            "plugins",
        ),
        (
            json!({"name": "x", "role": "viewer", "expires_at": past}),
            "expires_at",
        ),
        (
            json!({"name": "x", "role": "viewer", "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (json!({"name": "  ", "role": "viewer"}), "name"),
        (json!({"role": "viewer"}), "name"),
    ];
    for (body, field) in cases {
        let (s, out) = app.post("/api/v1/api-keys", &body).await;
        assert_eq!(s, 422, "{body} → {out}");
        let (code, f, _) = error_of(&out);
        assert_eq!(
            (code.as_str(), f.as_deref()),
            ("validation_failed", Some(field)),
            "{body}"
        );
    }
    let (_, list) = app.get("/api/v1/api-keys").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the test's admin key: {list}"
    );
    let audited = common::query_i64(
        &app.db_url,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'api_key.create' AND actor = 'test-admin'",
    )
    .await;
    assert_eq!(audited, 0);
}

async fn an_expired_key_is_refused_even_while_it_is_cached(db: Db) {
    let app = TestApp::spawn(db).await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let issued = issue(
        &app,
        json!({"name": "temp", "role": "viewer", "expires_at": soon.to_rfc3339()}),
    )
    .await;
    let key = issued["key"].as_str().unwrap().to_string();
    assert!(issued["expires_at"].is_string(), "{issued}");
    let (s, _) = app.get_as(&key, "/api/v1/triggers").await;
    assert_eq!(s, 200, "valid until it expires");
    let wait = soon - chrono::Utc::now() + chrono::Duration::milliseconds(100);
    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
    let (s, body) = app.get_as(&key, "/api/v1/triggers").await;
    assert_eq!(s, 401, "{body}");
    let message = error_of(&body).2;
    assert!(message.contains("expired"), "{message}");

    // A key that expired before this instance ever saw it is refused the same way.
    let other = issue(&app, json!({"name": "old", "role": "viewer"})).await;
    let changed = common::exec_sql(
        &app.db_url,
        &format!(
            "UPDATE api_keys SET expires_at = {} WHERE id = {}",
            common::time_literal(&app.db_url, chrono::DateTime::from_timestamp(1, 0).unwrap()),
            id_literal(&app, other["id"].as_str().unwrap())
        ),
    )
    .await;
    assert_eq!(changed, 1);
    let (s, body) = app
        .get_as(other["key"].as_str().unwrap(), "/api/v1/triggers")
        .await;
    assert_eq!(s, 401, "{body}");
    assert!(
        error_of(&body)
            .2
            .contains("expired at 1970-01-01T00:00:01Z"),
        "{body}"
    );
}

/// An id as the database holds it (SQLite keeps UUIDs as 16 bytes).
fn id_literal(app: &TestApp, id: &str) -> String {
    let hex = id.replace('-', "");
    if app.db_url.starts_with("sqlite") {
        format!("X'{hex}'")
    } else {
        format!("'{id}'::uuid")
    }
}

fn invoice(plugin: &str, id: &str) -> Value {
    json!({
        "plugin": plugin,
        "event_type": "invoice.available",
        "entity": {"type": "invoice", "id": id},
        "payload": {"amount": 1},
    })
}

async fn a_plugin_scoped_key_sees_only_its_plugins_even_after_a_rename(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    let mine = app.trigger(&invoice("stripe", "INV-1")).await;
    let other = app.trigger(&invoice("xero", "INV-2")).await;
    let issued = issue(
        &app,
        json!({"name": "dashboard", "role": "viewer", "plugins": ["stripe"]}),
    )
    .await;
    assert_eq!(issued["plugins"], json!(["stripe"]));
    let key = issued["key"].as_str().unwrap().to_string();

    let (_, page) = app.get_as(&key, "/api/v1/triggers").await;
    let ids: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [&mine["id"]], "only stripe's trigger: {page}");
    let other_path = format!("/api/v1/triggers/{}", other["id"].as_str().unwrap());
    let (s, _) = app.get_as(&key, &other_path).await;
    assert_eq!(s, 404, "another plugin's trigger is not found");
    let (_, count) = app.get_as(&key, "/api/v1/triggers/count").await;
    assert_eq!(count["count"], 1, "{count}");
    let (_, plugins) = app.get_as(&key, "/api/v1/plugins").await;
    let names: Vec<&Value> = plugins["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!("stripe")]);
    let (s, _) = app.get_as(&key, "/api/v1/plugins/xero").await;
    assert_eq!(s, 404);

    // The scope is kept by id: a renamed plugin stays in it, under its new name.
    let (s, renamed) = app
        .patch("/api/v1/plugins/stripe", &json!({"name": "stripe-eu"}))
        .await;
    assert_eq!(s, 200, "{renamed}");
    let (_, page) = app.get_as(&key, "/api/v1/triggers").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let (_, list) = app.get("/api/v1/api-keys").await;
    assert_eq!(
        listed(&list, issued["id"].as_str().unwrap())["plugins"],
        json!(["stripe-eu"])
    );
}

async fn no_role_below_admin_may_manage_keys_or_read_the_audit_trail(db: Db) {
    let app = TestApp::spawn(db).await;
    let target = issue(&app, json!({"name": "target", "role": "viewer"})).await;
    let target_path = format!("/api/v1/api-keys/{}", target["id"].as_str().unwrap());
    let body = json!({"name": "sneaky", "role": "admin"});
    for role in [Role::Viewer, Role::Operator, Role::Ingest] {
        let key = app.key(role.as_str(), role).await;
        let attempts = [
            (reqwest::Method::POST, "/api/v1/api-keys", Some(&body)),
            (reqwest::Method::GET, "/api/v1/api-keys", None),
            (reqwest::Method::DELETE, target_path.as_str(), None),
            (reqwest::Method::GET, "/api/v1/audit", None),
        ];
        for (method, path, body) in attempts {
            let (s, out) = app.send_as(&key, method.clone(), path, body).await;
            assert_eq!(s, 403, "{role:?}: {method} {path} → {out}");
            assert_eq!(error_of(&out).0, "forbidden");
        }
    }
    let (_, list) = app.get("/api/v1/api-keys").await;
    assert!(listed(&list, target["id"].as_str().unwrap())["revoked_at"].is_null());
    assert!(!list.to_string().contains("sneaky"));
}

async fn repeated_bad_keys_from_one_address_get_429_while_a_valid_key_still_works(db: Db) {
    let limits = Limits {
        auth_failures_per_minute: 5,
        ..Limits::default()
    };
    let app = TestApp::spawn_with(db, limits).await;
    let valid = app.key("app", Role::Viewer).await;
    let (s, _) = app.get_as(&valid, "/api/v1/triggers").await;
    assert_eq!(s, 200);
    // A request without a key costs no lookup, and is not counted.
    for _ in 0..10 {
        let r = app
            .http
            .get(app.url("/api/v1/triggers"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    for i in 0..5 {
        let (s, body) = app
            .get_as(&format!("ct_guess{i}"), "/api/v1/triggers")
            .await;
        assert_eq!(s, 401, "failure {i} is within the budget: {body}");
    }
    let r = app
        .http
        .get(app.url("/api/v1/triggers"))
        .bearer_auth("ct_guess5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let (_, body) = status_json(r).await;
    assert_eq!(error_of(&body).0, "rate_limited");
    let (s, _) = app.get_as("ct_guess6", "/api/v1/triggers").await;
    assert_eq!(s, 429, "still throttled");
    // The application that shares the address is not.
    for _ in 0..3 {
        let (s, _) = app.get_as(&valid, "/api/v1/triggers").await;
        assert_eq!(s, 200);
    }
}

async fn a_key_records_when_it_was_last_used_at_most_once_a_minute(db: Db) {
    let app = TestApp::spawn(db).await;
    let issued = issue(&app, json!({"name": "app", "role": "viewer"})).await;
    let (id, key) = (
        issued["id"].as_str().unwrap(),
        issued["key"].as_str().unwrap(),
    );
    assert!(issued["last_used_at"].is_null());
    let (s, _) = app.get_as(key, "/api/v1/triggers").await;
    assert_eq!(s, 200);
    let first = common::wait_for(
        Duration::from_secs(5),
        "the key's use to be written",
        || async {
            let (_, list) = app.get("/api/v1/api-keys").await;
            let used = listed(&list, id)["last_used_at"].clone();
            used.is_string().then_some(used)
        },
    )
    .await;
    for _ in 0..20 {
        app.get_as(key, "/api/v1/triggers").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = app.get("/api/v1/api-keys").await;
    assert_eq!(
        listed(&list, id)["last_used_at"],
        first,
        "written once within the minute"
    );
}

async fn the_client_address_is_the_peer_unless_a_trusted_proxy_names_another(db: Db) {
    // Without trusted proxies, X-Forwarded-For is anyone's to write: ignored.
    let app = TestApp::spawn(db).await;
    let r = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&app.admin_key)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"name": "a", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, trail) = app
        .get("/api/v1/audit?action=api_key.create&actor=test-admin")
        .await;
    assert_eq!(trail["items"][0]["client"], "127.0.0.1", "{trail}");

    // Behind a trusted proxy (here, the loopback), the address it names.
    let limits = Limits {
        trusted_proxies: TrustedProxies::parse("127.0.0.0/8").unwrap(),
        ..Limits::default()
    };
    let app = TestApp::spawn_with(db, limits).await;
    let r = app
        .http
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&app.admin_key)
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .json(&json!({"name": "b", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, trail) = app
        .get("/api/v1/audit?action=api_key.create&actor=test-admin")
        .await;
    assert_eq!(trail["items"][0]["client"], "203.0.113.7", "{trail}");
}

/// A second instance on the same database, serving on a port of its own.
async fn another_instance(app: &TestApp) -> String {
    let store = calltrail::storage::connect(&app.db_url).await.unwrap();
    let service = Service::new(
        store,
        calltrail::service::SecretBox::from_hex(common::TEST_KEY).unwrap(),
        Limits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = calltrail::config::leptos_options("target/site", addr);
    tokio::spawn(async move {
        calltrail::serve(listener, service, options, std::future::pending())
            .await
            .unwrap()
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_instance_is_refused_by_another_within_a_second() {
    let app = TestApp::spawn(Db::Postgres).await;
    let b = another_instance(&app).await;
    let issued = issue(&app, json!({"name": "app", "role": "viewer"})).await;
    let key = issued["key"].as_str().unwrap().to_string();
    let on_b = || async {
        app.http
            .get(format!("{b}/api/v1/triggers"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    // Both instances know the key (and cache it for 30 s), once B listens (its
    // first LISTEN drops whatever it cached: revocations may have been missed).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.get_as(&key, "/api/v1/triggers").await.0, 200);
    assert_eq!(on_b().await, 200);

    let (s, _) = delete(
        &app,
        &format!("/api/v1/api-keys/{}", issued["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.get_as(&key, "/api/v1/triggers").await.0,
        401,
        "at once here"
    );
    common::wait_until(
        Duration::from_secs(1),
        "the other instance to refuse the key",
        || async { on_b().await == 401 },
    )
    .await;
}
