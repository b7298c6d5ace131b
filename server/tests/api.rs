//! The REST API over real HTTP against the real server on port 0.

mod common;

use calltrail::service::{Limits, Permission, Role};
use common::{error_of, Db, TestApp};
use serde_json::{json, Value};

fn invoice(id: &str) -> Value {
    json!({
        "plugin": "stripe",
        "event_type": "invoice.available",
        "action": "Create invoice",
        "entity": {"type": "invoice", "id": id},
        "initiator": {"kind": "automation", "name": "Nightly billing run"},
        "payload": {"amount": 1200, "currency": "EUR"},
        "aggregation_key": "billing-run-2026-11-24"
    })
}

#[tokio::test]
async fn a_plugin_is_created_read_and_patched_and_never_shows_its_secrets() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let created = app.plugin("stripe").await;
    assert_eq!(created["name"], "stripe");
    assert_eq!(created["has_auth"], true);
    assert_eq!(created["has_signing_secret"], true);
    assert_eq!(
        created["retry_policy"]["max_attempts"], 7,
        "a default policy applies"
    );
    let id = created["id"].as_str().unwrap();

    let (s1, by_name) = app.get("/api/v1/plugins/stripe").await;
    let (s2, by_id) = app.get(&format!("/api/v1/plugins/{id}")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(by_name, by_id);
    let (_, list) = app.get("/api/v1/plugins").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let (status, patched) = app
        .patch(
            "/api/v1/plugins/stripe",
            &json!({"active": false, "auth": null, "timeout_ms": 5000}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["active"], false);
    assert_eq!(patched["has_auth"], false);
    assert_eq!(patched["has_signing_secret"], true, "absent fields stay");
    assert_eq!(patched["timeout_ms"], 5000);

    for body in [&created, &by_name, &list, &patched] {
        let text = body.to_string();
        assert!(!text.contains("PLANTED"), "a secret leaked: {text}");
        assert!(body.get("auth").is_none() && body.get("signing_secret").is_none());
    }
}

#[tokio::test]
async fn plugin_input_errors_name_the_field() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    let (status, body) = app
        .post("/api/v1/plugins", &common::plugin_body("stripe"))
        .await;
    assert_eq!(status, 409);
    assert_eq!(error_of(&body).0, "conflict");
    assert_eq!(error_of(&body).1.as_deref(), Some("name"));

    let cases = [
        (
            json!({"name": "Bad Name", "base_url": "https://x.io"}),
            "name",
        ),
        (json!({"name": "ok", "base_url": "ftp://x.io"}), "base_url"),
        (json!({"name": "ok"}), "base_url"),
        (
            json!({"name": "ok", "base_url": "https://x.io", "timeout_ms": 0}),
            "timeout_ms",
        ),
        (
            json!({"name": "ok", "base_url": "https://x.io", "routes": {"a.b": {"method": "FETCH", "path": "/x"}}}),
            "routes.a.b.method",
        ),
        (
            json!({"name": "ok", "base_url": "https://x.io", "retry_policy": {"schedule_secs": [], "max_attempts": 3, "jitter_pct": 0, "retry_after_cap_secs": 1}}),
            "retry_policy.schedule_secs",
        ),
        (
            json!({"name": "ok", "base_url": "https://x.io", "auth": {"type": "magic"}}),
            "auth.type",
        ),
    ];
    for (input, field) in cases {
        let (status, body) = app.post("/api/v1/plugins", &input).await;
        assert_eq!(status, 422, "{input} → {body}");
        let (code, got, message) = error_of(&body);
        assert_eq!(code, "validation_failed");
        assert_eq!(got.as_deref(), Some(field), "{input}: {message}");
    }
    let (_, list) = app.get("/api/v1/plugins").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
}

#[tokio::test]
async fn keys_are_required_and_roles_are_checked() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let url = app.url("/api/v1/plugins");
    let none = app.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let (_, body) = common::status_json(none).await;
    assert_eq!(error_of(&body).0, "unauthorized");
    let wrong = app
        .http
        .get(&url)
        .bearer_auth("ct_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let viewer = app.key("dashboard", Role::Viewer).await;
    let r = app
        .http
        .post(&url)
        .bearer_auth(&viewer)
        .json(&common::plugin_body("stripe"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, body) = common::status_json(r).await;
    assert_eq!(error_of(&body).0, "forbidden");
    let r = app
        .http
        .get(&url)
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for open in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
        let r = app.http.get(app.url(open)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{open} needs no key");
    }
}

#[tokio::test]
async fn a_trigger_is_created_not_yet_started_and_read_back_with_payload_and_logs() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    let t = app.trigger(&invoice("INV-1042")).await;
    assert_eq!(t["status"], "not_yet_started");
    assert_eq!(t["plugin"], "stripe");
    assert_eq!(t["entity"], json!({"type": "invoice", "id": "INV-1042"}));
    assert_eq!(
        t["initiator"],
        json!({"kind": "automation", "name": "Nightly billing run"})
    );
    assert_eq!(t["attempts"], 0);
    assert!(t["triggered_at"].is_null());
    assert!(t["last_error"].is_null());

    let (status, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    let mut listed = d["trigger"].clone();
    assert_eq!(
        listed["payload"],
        json!({"amount": 1200, "currency": "EUR"})
    );
    listed.as_object_mut().unwrap().remove("payload");
    assert_eq!(listed, t, "the created trigger equals the stored one");
    assert_eq!(d["attempts"], json!([]));
    assert_eq!(d["logs"][0]["step"], "queued");

    // Without an initiator, the API key is the initiator.
    let mut minimal = json!({"plugin": "stripe", "event_type": "customer.created", "payload": {}});
    let t2 = app.trigger(&minimal).await;
    assert_eq!(
        t2["initiator"],
        json!({"kind": "api_key", "name": "test-admin"})
    );
    // run_at becomes the scheduled time.
    minimal["run_at"] = json!("2030-01-01T00:00:00Z");
    let t3 = app.trigger(&minimal).await;
    assert_eq!(t3["scheduled_at"], "2030-01-01T00:00:00Z");
}

#[tokio::test]
async fn payload_values_under_sensitive_keys_are_shown_redacted() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    let mut body = invoice("INV-1");
    body["payload"] =
        json!({"amount": 1, "password": "PLANTED_PW", "card": {"token": "PLANTED_TOK"}});
    let t = app.trigger(&body).await;
    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(d["trigger"]["payload"]["password"], "[redacted]");
    assert_eq!(d["trigger"]["payload"]["card"]["token"], "[redacted]");
    assert_eq!(d["trigger"]["payload"]["amount"], 1);
}

#[tokio::test]
async fn bad_trigger_input_gets_a_clear_error_and_writes_nothing() {
    let app = TestApp::spawn_with(
        Db::Sqlite,
        Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        },
    )
    .await;
    app.plugin("stripe").await;
    let with = |k: &str, v: Value| {
        let mut b = invoice("INV-1");
        b[k] = v;
        b
    };
    let mut no_payload = invoice("INV-1");
    no_payload.as_object_mut().unwrap().remove("payload");
    let cases = [
        (with("plugin", json!("nope")), 422, "plugin"),
        (
            with("event_type", json!("invoice.deleted")),
            422,
            "event_type",
        ),
        (with("event_type", json!("bad type!")), 422, "event_type"),
        (no_payload, 422, "payload"),
        (with("run_at", json!("yesterday")), 422, "run_at"),
        (
            with("initiator", json!({"kind": "robot", "name": "x"})),
            422,
            "initiator.kind",
        ),
        (with("entity", json!({"type": "invoice"})), 422, "entity.id"),
        (with("plugin", json!(42)), 422, "plugin"),
        (
            with("payload", json!({"big": "x".repeat(5000)})),
            413,
            "payload",
        ),
    ];
    for (body, status, field) in cases {
        let (got, out) = app.post("/api/v1/triggers", &body).await;
        assert_eq!(got, status, "{field}: {out}");
        assert_eq!(error_of(&out).1.as_deref(), Some(field), "{out}");
    }

    let raw = |ct: &'static str, body: &'static str| {
        app.http
            .post(app.url("/api/v1/triggers"))
            .bearer_auth(&app.admin_key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw("application/json", "{\"plugin\": ").await.unwrap();
    assert_eq!(r.status(), 400);
    let (_, b) = common::status_json(r).await;
    assert!(error_of(&b).2.contains("not valid JSON"));
    let r = raw("text/plain", "{}").await.unwrap();
    assert_eq!(r.status(), 415);
    let (_, b) = common::status_json(r).await;
    assert_eq!(error_of(&b).0, "unsupported_media_type");

    let (_, list) = app.get("/api/v1/triggers").await;
    assert_eq!(list["items"], json!([]), "nothing was half-written");
}

#[tokio::test]
async fn unknown_ids_and_bad_ids_and_unknown_routes_answer_json() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (s, b) = app.get("/api/v1/triggers/not-a-uuid").await;
    assert_eq!((s, error_of(&b).1.as_deref()), (422, Some("id")));
    let (s, b) = app
        .get(&format!("/api/v1/triggers/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!((s, error_of(&b).0.as_str()), (404, "not_found"));
    let (s, b) = app.get("/api/v1/plugins/nope").await;
    assert_eq!((s, error_of(&b).0.as_str()), (404, "not_found"));
    let (s, b) = app.get("/api/v1/nothing-here").await;
    assert_eq!((s, error_of(&b).0.as_str()), (404, "not_found"));
    let r = app
        .http
        .delete(app.url("/api/v1/plugins"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let (_, b) = common::status_json(r).await;
    assert_eq!(error_of(&b).0, "method_not_allowed");
}

async fn idempotency_is_safe_under_concurrency(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let send = |body: Value| {
        app.http
            .post(app.url("/api/v1/triggers"))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", "order-42")
            .json(&body)
            .send()
    };
    let first = send(invoice("INV-1")).await.unwrap();
    assert_eq!(first.status(), 201);
    let (_, first) = common::status_json(first).await;
    let again = send(invoice("INV-1")).await.unwrap();
    assert_eq!(
        again.status(),
        200,
        "the same key and body return the original"
    );
    let (_, again) = common::status_json(again).await;
    assert_eq!(again["id"], first["id"]);
    let other = send(invoice("INV-2")).await.unwrap();
    assert_eq!(other.status(), 409);
    let (_, other) = common::status_json(other).await;
    assert_eq!(error_of(&other).0, "conflict");

    // 50 at once under a fresh key: exactly one trigger.
    let requests = (0..50).map(|_| {
        app.http
            .post(app.url("/api/v1/triggers"))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", "burst-1")
            .json(&invoice("INV-9"))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for r in responses {
        let r = r.unwrap();
        let status = r.status().as_u16();
        assert!(status == 201 || status == 200, "{status}");
        created += (status == 201) as usize;
        let (_, body) = common::status_json(r).await;
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!((created, ids.len()), (1, 1));
    let (_, list) = app
        .get("/api/v1/triggers?entity_type=invoice&entity_id=INV-9")
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_is_safe_under_concurrency_on_sqlite() {
    idempotency_is_safe_under_concurrency(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_is_safe_under_concurrency_on_postgres() {
    idempotency_is_safe_under_concurrency(Db::Postgres).await
}

#[tokio::test]
async fn a_reported_call_becomes_a_trigger_with_one_redacted_attempt() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("xero").await;
    let call = |status: u16, body: String| {
        json!({
            "plugin": "xero", "event_type": "invoice.created",
            "entity": {"type": "invoice", "id": "INV-7"},
            "payload": {"total": 10},
            "request": {"method": "POST", "url": "https://api.xero.com/api.xro/2.0/Invoices",
                        "headers": {"Authorization": "Bearer PLANTED_BEARER", "Accept": "application/json"},
                        "body": "{\"total\":10,\"client_secret\":\"PLANTED_CS\"}"},
            "response": {"status": status, "headers": {"Content-Type": "application/json"}, "body": body},
            "started_at": "2026-11-24T10:00:00Z", "duration_ms": 240
        })
    };
    let (s, failed) = app
        .post(
            "/api/v1/calls",
            &call(422, r#"{"Message":"Invalid contact"}"#.into()),
        )
        .await;
    assert_eq!(s, 201, "{failed}");
    assert_eq!(failed["status"], "erroneous");
    assert_eq!(failed["last_error"]["class"], "validation");
    assert_eq!(failed["last_error"]["status_code"], 422);
    assert_eq!(failed["triggered_at"], "2026-11-24T10:00:00Z");
    assert_eq!(failed["attempts"], 1);

    let (_, d) = app
        .get(&format!(
            "/api/v1/triggers/{}",
            failed["id"].as_str().unwrap()
        ))
        .await;
    let a = &d["attempts"][0];
    assert_eq!(a["started_by"]["kind"], "reported");
    assert_eq!(a["class"], "validation");
    assert_eq!(a["decision"]["action"], "stop");
    assert_eq!(a["request"]["headers"]["authorization"], "[redacted]");
    assert_eq!(a["response"]["body"], r#"{"Message":"Invalid contact"}"#);
    assert!(!d.to_string().contains("PLANTED"), "{d}");

    let (s, ok) = app
        .post("/api/v1/calls", &call(200, "x".repeat(70 * 1024)))
        .await;
    assert_eq!(s, 201);
    assert_eq!(ok["status"], "finished");
    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", ok["id"].as_str().unwrap()))
        .await;
    let resp = &d["attempts"][0]["response"];
    assert_eq!(resp["truncated"], true);
    assert_eq!(resp["body"].as_str().unwrap().len(), 64 * 1024);
}

/// A reported call carries the trigger's fields and the call's, each read as one
/// flattened struct; a wrong value in either still names its field, and nothing is written.
#[tokio::test]
async fn bad_reported_calls_name_the_field_in_either_part() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("xero").await;
    let call = || {
        json!({
            "plugin": "xero", "event_type": "invoice.created",
            "entity": {"type": "invoice", "id": "INV-7"},
            "request": {"method": "POST", "url": "https://api.xero.com/x"},
            "response": {"status": 200}
        })
    };
    let with = |path: &[&str], v: Option<Value>| {
        let mut b = call();
        let (last, parents) = path.split_last().unwrap();
        let parent = parents.iter().fold(&mut b, |b, k| &mut b[*k]);
        match v {
            Some(v) => parent[*last] = v,
            None => {
                parent.as_object_mut().unwrap().remove(*last);
            }
        }
        b
    };
    let cases = [
        (with(&["plugin"], Some(json!(42))), "plugin"),
        (with(&["event_type"], None), "event_type"),
        (with(&["entity", "type"], Some(json!(7))), "entity.type"),
        (with(&["entity", "id"], None), "entity.id"),
        (
            with(&["request", "method"], Some(json!(42))),
            "request.method",
        ),
        (with(&["request", "url"], None), "request.url"),
        (with(&["request"], None), "request"),
        (
            with(&["response", "status"], Some(json!("ok"))),
            "response.status",
        ),
        (with(&["duration_ms"], Some(json!("long"))), "duration_ms"),
        (
            with(&["started_at"], Some(json!("yesterday"))),
            "started_at",
        ),
    ];
    for (body, field) in cases {
        let (got, out) = app.post("/api/v1/calls", &body).await;
        assert_eq!(got, 422, "{field}: {out}");
        assert_eq!(error_of(&out).1.as_deref(), Some(field), "{body}: {out}");
    }
    let (_, list) = app.get("/api/v1/triggers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn the_list_filters_pages_and_names_bad_query_values() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    app.plugin("xero").await;
    for i in 0..7 {
        app.trigger(&invoice(&format!("INV-{i}"))).await;
    }
    let mut x = invoice("INV-X");
    x["plugin"] = json!("xero");
    x["event_type"] = json!("customer.created");
    app.trigger(&x).await;

    let (_, all) = app.get("/api/v1/triggers?plugin=stripe&plugin=xero").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 8);
    let (_, xero) = app.get("/api/v1/triggers?plugin=xero").await;
    assert_eq!(xero["items"][0]["entity"]["id"], "INV-X");
    assert_eq!(xero["items"].as_array().unwrap().len(), 1);
    let (_, q) = app.get("/api/v1/triggers?q=inv-x").await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    // A search needs 3 characters (a trigram index); fewer is refused by name, on
    // every route that takes the filter. Blank is no search at all.
    for path in [
        "/api/v1/triggers?q=in",
        "/api/v1/triggers?q=%20x%20",
        "/api/v1/triggers/count?q=in",
        "/api/v1/triggers/export?q=%C3%A9%C3%A9",
    ] {
        let (s, body) = app.get(path).await;
        let (code, field, message) = error_of(&body);
        assert_eq!((s, field.as_deref()), (422, Some("q")), "{path}: {body}");
        assert!(message.contains("at least 3"), "{code}: {message}");
    }
    let (s, blank) = app.get("/api/v1/triggers?q=%20%20").await;
    assert_eq!((s, blank["items"].as_array().unwrap().len()), (200, 8));
    let (s, three) = app.get("/api/v1/triggers/count?q=V-X").await;
    assert_eq!((s, &three["count"]), (200, &json!(1)));
    let (_, none) = app.get("/api/v1/triggers?status=finished").await;
    assert_eq!(none["items"], json!([]));

    // Pages of 3: 3 + 3 + 2, newest first, the last with no cursor.
    let mut seen = Vec::new();
    let mut path = "/api/v1/triggers?limit=3".to_string();
    loop {
        let (s, page) = app.get(&path).await;
        assert_eq!(s, 200);
        for t in page["items"].as_array().unwrap() {
            seen.push(t["scheduled_at"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/triggers?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);

    let bad = [
        ("status=done", "status"),
        ("scheduled_from=last-week", "scheduled_from"),
        ("triggered_to=2026-13-01T00:00:00Z", "triggered_to"),
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("plugin=nope", "plugin"),
        ("colour=red", "colour"),
        (
            "scheduled_from=2026-11-02T00:00:00Z&scheduled_to=2026-11-01T00:00:00Z",
            "scheduled_to",
        ),
    ];
    for (query, field) in bad {
        let (s, body) = app.get(&format!("/api/v1/triggers?{query}")).await;
        assert_eq!(s, 422, "{query}: {body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{query}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let r = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let routes = [
        ("/api/v1/plugins", "post"),
        ("/api/v1/plugins", "get"),
        ("/api/v1/plugins/{id}", "get"),
        ("/api/v1/plugins/{id}", "patch"),
        ("/api/v1/triggers", "post"),
        ("/api/v1/triggers", "get"),
        ("/api/v1/triggers/{id}", "get"),
        ("/api/v1/calls", "post"),
        ("/api/v1/triggers/{id}/rerun", "post"),
        ("/api/v1/aggregations/{key}/rerun", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys", "get"),
        ("/api/v1/api-keys/{id}", "delete"),
        ("/api/v1/migrations", "post"),
        ("/api/v1/migrations/{id}", "get"),
        ("/api/v1/migrations/{id}/cancel", "post"),
        ("/api/v1/openapi.json", "get"),
    ];
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
    // And every documented route is served: no documented path answers "no such route".
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "stripe").replace("{key}", "k"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(m, url)
                .bearer_auth(&app.admin_key)
                .send()
                .await
                .unwrap();
            let (_, body) = common::status_json(r).await;
            let msg = body["error"]["message"].as_str().unwrap_or("");
            assert!(
                !msg.contains("no such route"),
                "{method} {path} is documented but not served"
            );
        }
    }
    every_operation_declares_its_role_and_the_errors_it_can_answer(&doc);
}

/// What each operation's shape lets it answer is in the document, each error with the
/// `ErrorEnvelope` schema: 401 wherever a key is needed, 403 where the role is above
/// viewer, 400/413/415/422 with a body, 400/422 with a path segment, 422 with any other
/// parameter, 404 on an `{id}`, 500 and 503 everywhere storage is reached.
fn every_operation_declares_its_role_and_the_errors_it_can_answer(doc: &Value) {
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer",
        "keys are sent as Bearer tokens"
    );
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    let this_document = &doc["paths"]["/api/v1/openapi.json"]["get"];
    assert_eq!(
        this_document["security"],
        json!([]),
        "the document itself needs no key"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/api/v1/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let route = format!("{method} {path}");
            let role = op["x-required-role"].as_str().unwrap_or_default();
            assert!(
                Role::parse(role).is_some(),
                "{route} names its role in x-required-role, not {role:?}"
            );
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("Needs an API key"),
                "{route} says in words which key it needs: {description:?}"
            );
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let has_path = params.iter().any(|p| p["in"] == "path");
            let has_other_params = params.iter().any(|p| p["in"] != "path");
            let has_body = op["requestBody"].is_object();

            let mut expected = vec!["401", "500", "503"];
            if role != "viewer" {
                expected.push("403");
            }
            if has_body {
                expected.extend(["400", "413", "415", "422"]);
            }
            if has_path {
                expected.extend(["400", "422"]);
            }
            if has_other_params {
                expected.push("422");
            }
            if path.contains("{id}") {
                expected.push("404");
            }
            let responses = op["responses"].as_object().unwrap();
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{route} does not declare {status}; it declares {:?}",
                    responses.keys().collect::<Vec<_>>()
                );
            }
            if role == "viewer" {
                assert!(
                    !responses.contains_key("403"),
                    "{route} is open to every key, so it cannot answer 403"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorEnvelope",
                        "{route} answers {status} with the error body"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn every_operation_refuses_exactly_the_keys_below_the_role_it_declares() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let keys = [
        (Role::Viewer, app.key("dashboard", Role::Viewer).await),
        (Role::Ingest, app.key("billing", Role::Ingest).await),
        (Role::Operator, app.key("on-call", Role::Operator).await),
        (Role::Admin, app.admin_key.clone()),
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/api/v1/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let route = format!("{method} {path}");
            let least = Role::parse(op["x-required-role"].as_str().unwrap_or_default())
                .unwrap_or_else(|| panic!("{route} names no role"));
            // The least role names the permission it adds to the ones below it.
            let needed = match least {
                Role::Viewer => Permission::Read,
                Role::Ingest => Permission::Create,
                Role::Operator => Permission::Rerun,
                Role::Admin => Permission::Administer,
            };
            // A body that parses, so the answer is the role check's, not the body's.
            let body = match (method.as_str(), path.as_str()) {
                ("post", "/api/v1/plugins") => Some(common::plugin_body("hubspot")),
                ("post", "/api/v1/triggers") => Some(invoice("INV-1")),
                ("post", "/api/v1/api-keys") => Some(json!({"name": "k", "role": "viewer"})),
                ("post", "/api/v1/calls") => Some(json!({
                    "plugin": "stripe", "event_type": "invoice.created", "payload": {},
                    "request": {"method": "POST", "url": "https://api.example.com/x"},
                    "response": {"status": 200},
                })),
                ("post", "/api/v1/embed-tokens") => {
                    Some(json!({"entity": {"type": "invoice", "id": "INV-1"}}))
                }
                ("post", "/api/v1/users") => Some(json!({
                    "email": "matrix@example.com", "role": "viewer",
                    "password": "a long enough password",
                })),
                _ if op["requestBody"].is_object() => Some(json!({})),
                _ => None,
            };
            let url = app.url(&path.replace("{id}", "stripe").replace("{key}", "k"));
            for (role, key) in &keys {
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut request = app.http.request(m, &url).bearer_auth(key);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let (status, answer) = common::status_json(request.send().await.unwrap()).await;
                if !role.allows(needed) {
                    assert_eq!(status, 403, "{route} refuses a {role:?} key: {answer}");
                    assert_eq!(error_of(&answer).0, "forbidden");
                } else {
                    assert!(
                        status != 403 && status != 401,
                        "{route} lets a {role:?} key in: {status} {answer}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn no_request_makes_the_server_answer_5xx() {
    let app = TestApp::spawn(Db::Sqlite).await;
    app.plugin("stripe").await;
    let bodies = [
        "", "null", "[]", "42", "\"x\"", "{}", "{\"plugin\": null}", "{\"payload\": {}}",
        "{\"plugin\":\"stripe\",\"event_type\":\"invoice.available\",\"payload\":{},\"entity\":[]}",
        "{\"plugin\":\"stripe\",\"event_type\":\"invoice.available\",\"payload\":{},\"run_at\":\"9999-99-99\"}",
        "\u{0000}", "{\"a\":\"\\ud800\"}",
    ];
    for path in [
        "/api/v1/triggers",
        "/api/v1/calls",
        "/api/v1/plugins",
        "/api/v1/plugins/stripe",
    ] {
        for body in bodies {
            for method in [reqwest::Method::POST, reqwest::Method::PATCH] {
                let r = app
                    .http
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&app.admin_key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let s = r.status().as_u16();
                assert!(s < 500, "{method} {path} {body:?} → {s}");
                if s >= 400 {
                    let (_, b) = common::status_json(r).await;
                    error_of(&b);
                }
            }
        }
    }
    for q in [
        "limit=-1",
        "limit=99999999999",
        "cursor=%FF",
        "q=%25%25",
        "status=",
        "plugin=",
    ] {
        let (s, _) = app.get(&format!("/api/v1/triggers?{q}")).await;
        assert!(s < 500, "{q} → {s}");
    }
}
