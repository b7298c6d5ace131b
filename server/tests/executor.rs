//! The executor against fake providers over real HTTP on 127.0.0.1.
//! Tests drive `step()` instead of sleeping; retry schedules are data.

mod common;

use std::sync::Arc;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{PluginInput, PluginPatch, Role};
use common::{admin, Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn executor(app: &TestApp, allow: &str) -> Executor {
    Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse(allow).unwrap()),
            ..Default::default()
        },
    )
}

async fn provider_plugin(app: &TestApp, name: &str, base: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": name,
        "base_url": base,
        "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
        "auth": {"type": "bearer", "token": "sk_live_PLANTED"},
        "signing_secret": SECRET,
        "external_id_pointer": "/id",
        "timeout_ms": 2000,
        "retry_policy": {"schedule_secs": [0], "max_attempts": 3, "jitter_pct": 0, "retry_after_cap_secs": 3600}
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, out) = app.post("/api/v1/plugins", &body).await;
    assert_eq!(status, 201, "{out}");
    out
}

fn invoice(plugin: &str, id: &str) -> Value {
    json!({"plugin": plugin, "event_type": "invoice.available",
           "entity": {"type": "invoice", "id": id}, "payload": {"amount": 1200, "currency": "EUR"}})
}

async fn detail(app: &TestApp, id: &Value) -> Value {
    let (s, d) = app
        .get(&format!("/api/v1/triggers/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    d
}

#[tokio::test]
async fn a_2xx_finishes_with_the_external_id_a_verified_signature_and_every_step_logged() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/invoices/INV-1"))
        .and(header("authorization", "Bearer sk_live_PLANTED"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "in_123"})))
        .expect(1)
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let t = app.trigger(&invoice("stripe", "INV-1")).await;
    let ex = executor(&app, "127.0.0.0/8");
    assert_eq!(ex.step().await.unwrap(), 1);
    assert_eq!(
        ex.step().await.unwrap(),
        0,
        "a finished trigger is not claimed again"
    );

    let d = detail(&app, &t["id"]).await;
    let tr = &d["trigger"];
    assert_eq!(tr["status"], "finished");
    assert_eq!(tr["external_id"], "in_123");
    assert_eq!(tr["attempts"], 1);
    assert!(tr["triggered_at"].is_string());
    let a = &d["attempts"][0];
    assert_eq!(a["class"], "success");
    assert_eq!(a["decision"]["action"], "finish");
    assert_eq!(a["decision"]["reason"], "finished: external id in_123");
    assert_eq!(a["started_by"]["kind"], "automatic");
    assert_eq!(a["request"]["headers"]["authorization"], "[redacted]");
    assert_eq!(a["response"]["status"], 201);
    let steps: Vec<&str> = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "queued",
            "claimed",
            "request sent",
            "response classified",
            "finished"
        ]
    );
    assert!(
        !d.to_string().contains("PLANTED"),
        "a credential leaked into the record"
    );

    // The receiver can verify the signature with an independent implementation.
    let received: Vec<Request> = provider.received_requests().await.unwrap();
    let r = &received[0];
    let mut headers = http::HeaderMap::new();
    for (k, v) in r.headers.iter() {
        headers.insert(k.clone(), v.clone());
    }
    let wh = standardwebhooks::Webhook::new(SECRET).unwrap();
    wh.verify(&r.body, &headers)
        .expect("the signature verifies");
    assert_eq!(
        r.headers.get("webhook-id").unwrap().to_str().unwrap(),
        format!("msg_{}", t["id"].as_str().unwrap().replace('-', ""))
    );
}

#[tokio::test]
async fn a_rotated_signing_secret_signs_the_next_delivery() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let rotated = "whsec_dGhpcyBpcyB0aGUgcm90YXRlZCBzZWNyZXQ=";
    let patch: PluginPatch = serde_json::from_value(json!({"signing_secret": rotated})).unwrap();
    app.service
        .update_plugin(&admin(), "stripe", patch)
        .await
        .unwrap();
    app.trigger(&invoice("stripe", "INV-2")).await;
    executor(&app, "127.0.0.0/8").step().await.unwrap();
    let r = &provider.received_requests().await.unwrap()[0];
    let mut headers = http::HeaderMap::new();
    for (k, v) in r.headers.iter() {
        headers.insert(k.clone(), v.clone());
    }
    standardwebhooks::Webhook::new(rotated)
        .unwrap()
        .verify(&r.body, &headers)
        .expect("new secret verifies");
    assert!(
        standardwebhooks::Webhook::new(SECRET)
            .unwrap()
            .verify(&r.body, &headers)
            .is_err(),
        "old secret no longer does"
    );
}

#[tokio::test]
async fn a_503_is_retried_on_the_schedule_and_is_erroneous_after_the_last_attempt() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down"))
        .expect(3)
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let t = app.trigger(&invoice("stripe", "INV-3")).await;
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "retrying");
    assert_eq!(d["trigger"]["last_error"]["class"], "server");
    assert!(d["attempts"][0]["decision"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("retry at "));
    ex.step().await.unwrap();
    ex.step().await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 0);
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "erroneous");
    assert_eq!(d["trigger"]["attempts"], 3);
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        3,
        "each retry is its own attempt row"
    );
    assert!(d["attempts"][2]["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("retries exhausted"));
}

#[tokio::test]
async fn a_429_with_retry_after_is_not_retried_earlier_than_asked() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let t = app.trigger(&invoice("stripe", "INV-4")).await;
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 0, "not due before Retry-After");
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "retrying");
    assert_eq!(d["trigger"]["last_error"]["class"], "rate_limited");
    let next =
        chrono::DateTime::parse_from_rfc3339(d["trigger"]["next_attempt_at"].as_str().unwrap())
            .unwrap();
    let wait = next.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!(
        (110..=121).contains(&wait),
        "retry in about 120 s, got {wait}"
    );
}

#[tokio::test]
async fn permanent_failures_stop_at_once_with_their_class() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    for (entity, status) in [("A", 401), ("B", 404), ("C", 422), ("D", 418)] {
        Mock::given(method("POST"))
            .and(path(format!("/v1/invoices/{entity}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": "no"})))
            .mount(&provider)
            .await;
    }
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let mut ids = Vec::new();
    for e in ["A", "B", "C", "D"] {
        ids.push(app.trigger(&invoice("stripe", e)).await["id"].clone());
    }
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 0, "nothing is retried");
    for (id, class) in ids
        .iter()
        .zip(["auth", "not_found", "validation", "permanent"])
    {
        let d = detail(&app, id).await;
        assert_eq!(d["trigger"]["status"], "erroneous", "{class}");
        assert_eq!(d["trigger"]["last_error"]["class"], class);
        assert_eq!(d["attempts"][0]["decision"]["action"], "stop");
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_failure_and_is_retried() {
    let app = TestApp::spawn(Db::Sqlite).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    provider_plugin(
        &app,
        "stripe",
        &format!("http://127.0.0.1:{port}"),
        json!({}),
    )
    .await;
    let t = app.trigger(&invoice("stripe", "INV-5")).await;
    executor(&app, "127.0.0.0/8").step().await.unwrap();
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "retrying");
    assert_eq!(d["trigger"]["last_error"]["class"], "network");
    assert!(d["attempts"][0]["response"].is_null());
}

#[tokio::test]
async fn a_provider_slower_than_the_plugins_timeout_is_a_timeout_with_its_own_hint_and_is_retried()
{
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "in_6"})))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({"timeout_ms": 200})).await;
    let t = app.trigger(&invoice("stripe", "INV-6")).await;
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "retrying");
    let error = &d["trigger"]["last_error"];
    assert_eq!(error["class"], "timeout", "{d}");
    assert!(error["status_code"].is_null());
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no answer within 200 ms"),
        "{error}"
    );
    let first = &d["attempts"][0];
    assert_eq!(first["class"], "timeout");
    assert!(first["response"].is_null());
    assert_eq!(first["decision"]["action"], "retry");
    assert!(
        first["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("did not answer within the plugin's timeout"),
        "{first}"
    );

    // The retry gets its answer in time and finishes the trigger.
    ex.step().await.unwrap();
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "finished");
    assert_eq!(d["attempts"][1]["class"], "success");
}

#[tokio::test]
async fn an_unreachable_provider_and_a_slow_one_are_told_apart() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let closed_url = format!("http://127.0.0.1:{port}");
    provider_plugin(&app, "gone", &closed_url, json!({"timeout_ms": 200})).await;
    provider_plugin(&app, "slow", &slow.uri(), json!({"timeout_ms": 200})).await;
    let a = app.trigger(&invoice("gone", "INV-A")).await;
    let b = app.trigger(&invoice("slow", "INV-B")).await;
    executor(&app, "127.0.0.0/8").step().await.unwrap();
    for (t, class) in [(a, "network"), (b, "timeout")] {
        let d = detail(&app, &t["id"]).await;
        assert_eq!(d["trigger"]["last_error"]["class"], class, "{d}");
        assert_eq!(d["trigger"]["status"], "retrying", "both are retried");
    }
}

/// The Idempotency-Key and webhook-id each request carried, in order, after checking
/// that its signature verifies with an independent implementation.
async fn keys_sent(provider: &MockServer) -> Vec<(String, String)> {
    let wh = standardwebhooks::Webhook::new(SECRET).unwrap();
    let mut keys = Vec::new();
    for r in provider.received_requests().await.unwrap() {
        let mut headers = http::HeaderMap::new();
        for (k, v) in r.headers.iter() {
            headers.insert(k.clone(), v.clone());
        }
        wh.verify(&r.body, &headers)
            .expect("every request's signature verifies");
        let get = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_string();
        keys.push((get("idempotency-key"), get("webhook-id")));
    }
    keys
}

#[tokio::test]
async fn a_manual_rerun_sends_a_new_idempotency_key_that_its_own_retries_keep() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    for status in [503, 422, 503] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&provider)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "in_9"})))
        .with_priority(2)
        .mount(&provider)
        .await;
    let extra = json!({"retry_policy": {"schedule_secs": [0], "max_attempts": 10,
                                        "jitter_pct": 0, "retry_after_cap_secs": 60}});
    provider_plugin(&app, "stripe", &provider.uri(), extra).await;
    let t = app.trigger(&invoice("stripe", "INV-9")).await;
    let id = t["id"].as_str().unwrap().to_string();
    let msg = format!("msg_{}", id.replace('-', ""));
    let ex = executor(&app, "127.0.0.0/8");

    // 503, retried automatically, then 422: both with the trigger's own key.
    ex.step().await.unwrap();
    ex.step().await.unwrap();
    assert_eq!(
        detail(&app, &t["id"]).await["trigger"]["status"],
        "erroneous"
    );

    // A rerun that resumes retries: 503, then its own automatic retry gets 200.
    let rerun = json!({"reason": "fixed the customer", "resume_retries": true});
    let (s, _) = app
        .post(&format!("/api/v1/triggers/{id}/rerun"), &rerun)
        .await;
    assert_eq!(s, 202);
    ex.step().await.unwrap();
    ex.step().await.unwrap();
    assert_eq!(
        detail(&app, &t["id"]).await["trigger"]["status"],
        "finished"
    );

    // A second rerun is again a new execution.
    let (s, _) = app
        .post(&format!("/api/v1/triggers/{id}/rerun"), &rerun)
        .await;
    assert_eq!(s, 202);
    ex.step().await.unwrap();

    let r1 = (format!("{id}.r1"), format!("{msg}.r1"));
    let r2 = (format!("{id}.r2"), format!("{msg}.r2"));
    let original = (id.clone(), msg.clone());
    assert_eq!(
        keys_sent(&provider).await,
        [original.clone(), original, r1.clone(), r1, r2.clone()]
    );

    // What was sent is what the log shows, on each attempt.
    let d = detail(&app, &t["id"]).await;
    let recorded: Vec<&str> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["request"]["headers"]["idempotency-key"].as_str().unwrap())
        .collect();
    let r1_key = format!("{id}.r1");
    assert_eq!(recorded, [&id, &id, &r1_key, &r1_key, &r2.0]);
    assert_eq!(d["attempts"][2]["started_by"]["kind"], "manual");
    assert_eq!(d["attempts"][3]["started_by"]["kind"], "automatic");
    assert_eq!(
        d["attempts"][4]["request"]["headers"]["webhook-id"],
        r2.1.as_str()
    );
}

#[tokio::test]
async fn internal_addresses_are_blocked_without_the_allow_list_and_not_retried() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    let localhost = provider.uri().replace("127.0.0.1", "localhost");
    provider_plugin(&app, "named", &localhost, json!({})).await;
    let a = app.trigger(&invoice("stripe", "INV-7")).await;
    let b = app.trigger(&invoice("named", "INV-8")).await;
    let ex = executor(&app, "");
    ex.step().await.unwrap();
    assert_eq!(ex.step().await.unwrap(), 0);
    for t in [a, b] {
        let d = detail(&app, &t["id"]).await;
        assert_eq!(d["trigger"]["status"], "erroneous");
        assert_eq!(d["trigger"]["last_error"]["class"], "network");
        // The guard's own words, not the transport's wrapping around them.
        assert!(
            d["trigger"]["last_error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("blocked: "),
            "{d}"
        );
    }
}

#[tokio::test]
async fn an_inactive_plugins_triggers_wait_and_run_once_it_is_activated() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({"active": false})).await;
    let wake = app.service.wake();
    let woken = || async {
        tokio::time::timeout(std::time::Duration::from_millis(100), wake.notified())
            .await
            .is_ok()
    };
    let _ = woken().await;
    let t = app.trigger(&invoice("stripe", "INV-9")).await;
    assert!(
        !woken().await,
        "a paused plugin's trigger does not wake the executor for a claim that finds nothing"
    );
    let ex = executor(&app, "127.0.0.0/8");
    assert_eq!(ex.step().await.unwrap(), 0);
    assert_eq!(
        detail(&app, &t["id"]).await["trigger"]["status"],
        "not_yet_started"
    );
    let (s, _) = app
        .patch("/api/v1/plugins/stripe", &json!({"active": true}))
        .await;
    assert_eq!(s, 200);
    assert!(woken().await, "activating the plugin wakes the executor");
    assert_eq!(ex.step().await.unwrap(), 1);
    assert_eq!(
        detail(&app, &t["id"]).await["trigger"]["status"],
        "finished"
    );
}

#[tokio::test]
async fn a_failed_trigger_is_rerun_by_an_operator_with_a_reason_and_turns_finished() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    let failing = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "token expired"})))
        .mount_as_scoped(&provider)
        .await;
    provider_plugin(&app, "xero", &provider.uri(), json!({})).await;
    let t = app.trigger(&invoice("xero", "INV-10")).await;
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    assert_eq!(
        detail(&app, &t["id"]).await["trigger"]["status"],
        "erroneous"
    );
    drop(failing);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "xero_9"})))
        .mount(&provider)
        .await;

    let path = format!("/api/v1/triggers/{}/rerun", t["id"].as_str().unwrap());
    let viewer = app.key("dash", Role::Viewer).await;
    let r = app
        .http
        .post(app.url(&path))
        .bearer_auth(&viewer)
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, body) = app.post(&path, &json!({})).await;
    assert_eq!(
        (s, common::error_of(&body).1.as_deref()),
        (422, Some("reason"))
    );

    let operator = app.key("ops-alice", Role::Operator).await;
    let r = app
        .http
        .post(app.url(&path))
        .bearer_auth(&operator)
        .json(&json!({"reason": "Xero token renewed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let queued: Value = r.json().await.unwrap();
    assert_eq!(queued["status"], "not_yet_started");
    assert_eq!(ex.step().await.unwrap(), 1);
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "finished");
    assert_eq!(d["trigger"]["external_id"], "xero_9");
    let second = &d["attempts"][1];
    assert_eq!(second["number"], 2);
    assert_eq!(
        second["started_by"],
        json!({"kind": "manual", "actor": "ops-alice"})
    );
    assert!(d["logs"].to_string().contains("Xero token renewed"));

    // The audit trail says who re-ran what, and why; only admins read it.
    let (s, audit) = app.get("/api/v1/audit").await;
    assert_eq!(s, 200, "{audit}");
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "rerun");
    assert_eq!(entry["actor"], "ops-alice");
    assert_eq!(entry["reason"], "Xero token renewed");
    assert_eq!(
        entry["target"],
        format!("trigger:{}", t["id"].as_str().unwrap())
    );
    let r = app
        .http
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_failing_manual_rerun_does_not_restart_automatic_retries_unless_asked() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&provider)
        .await;
    let mut p: PluginInput = serde_json::from_value(json!({
        "name": "slow", "base_url": provider.uri(),
        "routes": {"invoice.available": {"method": "POST", "path": "/x"}},
        "retry_policy": {"schedule_secs": [0], "max_attempts": 1, "jitter_pct": 0, "retry_after_cap_secs": 1}
    })).unwrap();
    p.timeout_ms = Some(1000);
    app.service.create_plugin(&admin(), p).await.unwrap();
    let t = app.trigger(&invoice("slow", "INV-11")).await;
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    let path = format!("/api/v1/triggers/{}/rerun", t["id"].as_str().unwrap());
    let (s, _) = app.post(&path, &json!({"reason": "try again"})).await;
    assert_eq!(s, 202);
    ex.step().await.unwrap();
    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "erroneous");
    assert!(d["attempts"][1]["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("not resumed"));
}

#[tokio::test]
async fn triggers_sharing_an_aggregation_key_are_listed_and_rerun_together() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    let failing = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422))
        .mount_as_scoped(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    for (i, key) in ["run-1", "run-1", "run-1", "run-2"].iter().enumerate() {
        let mut body = invoice("stripe", &format!("INV-{i}"));
        body["aggregation_key"] = json!(key);
        app.trigger(&body).await;
    }
    let ex = executor(&app, "127.0.0.0/8");
    ex.step().await.unwrap();
    drop(failing);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&provider)
        .await;
    let (_, group) = app.get("/api/v1/triggers?aggregation_key=run-1").await;
    assert_eq!(group["items"].as_array().unwrap().len(), 3);

    let (s, out) = app
        .post(
            "/api/v1/aggregations/run-1/rerun",
            &json!({"reason": "fixed the VAT rule"}),
        )
        .await;
    assert_eq!(s, 202, "{out}");
    assert_eq!(out["queued"], 3);
    ex.step().await.unwrap();
    let (_, group) = app
        .get("/api/v1/triggers?aggregation_key=run-1&status=finished")
        .await;
    assert_eq!(group["items"].as_array().unwrap().len(), 3);
    let (_, other) = app.get("/api/v1/triggers?aggregation_key=run-2").await;
    assert_eq!(
        other["items"][0]["status"], "erroneous",
        "other groups are untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_work_wakes_the_executor_of_another_instance_at_once_on_postgres() {
    let app = TestApp::spawn(Db::Postgres).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&provider)
        .await;
    provider_plugin(&app, "stripe", &provider.uri(), json!({})).await;
    // A second instance on the same database, polling only once a minute.
    let store = calltrail::storage::connect(&app.db_url).await.unwrap();
    let other = calltrail::service::Service::new(
        store,
        calltrail::service::SecretBox::from_hex(common::TEST_KEY).unwrap(),
        Default::default(),
    );
    let ex = Arc::new(Executor::new(
        other,
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            poll: std::time::Duration::from_secs(60),
            ..Default::default()
        },
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(ex.run(stopped));
    // Both instances listen for announcements now; the other one claimed once as it
    // started and polls only once a minute.
    let listening = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND query = 'LISTEN \"calltrail_due\"'";
    common::wait_until(
        std::time::Duration::from_secs(10),
        "both instances to listen",
        || async { common::query_i64(&app.db_url, listening).await >= 2 },
    )
    .await;
    let finished = |t: Value| {
        let app = &app;
        async move { detail(app, &t["id"]).await["trigger"]["status"] == "finished" }
    };
    let t = app.trigger(&invoice("stripe", "INV-N")).await;
    common::wait_until(
        std::time::Duration::from_secs(5),
        "the other instance to be woken",
        || finished(t.clone()),
    )
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn a_planted_secret_in_a_payload_reaches_the_provider_but_never_the_database_or_the_api() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "x", "token": "PLANTED_RESP"})),
        )
        .mount(&provider)
        .await;
    provider_plugin(
        &app,
        "stripe",
        &provider.uri(),
        json!({"redact": {"headers": [], "json_pointers": ["/card/number"]}}),
    )
    .await;
    let mut body = invoice("stripe", "INV-S");
    body["payload"] =
        json!({"amount": 5, "password": "PLANTED_PW", "card": {"number": "PLANTED_CARD"}});
    let t = app.trigger(&body).await;
    executor(&app, "127.0.0.0/8").step().await.unwrap();

    let sent = &provider.received_requests().await.unwrap()[0];
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        sent["password"], "PLANTED_PW",
        "the provider receives the payload as given"
    );
    assert_eq!(sent["card"]["number"], "PLANTED_CARD");

    let d = detail(&app, &t["id"]).await;
    assert_eq!(d["trigger"]["status"], "finished");
    assert_eq!(d["trigger"]["payload"]["password"], "[redacted]");
    assert_eq!(d["trigger"]["payload"]["card"]["number"], "[redacted]");
    assert!(!d.to_string().contains("PLANTED"), "{d}");

    // Not in the database file's bytes either (the WAL included).
    let path = app
        .db_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    for file in [path.clone(), format!("{path}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("PLANTED"),
                "{file} holds a secret in plain text"
            );
        }
    }
}

#[tokio::test]
async fn the_executor_refuses_to_start_with_a_lease_shorter_than_a_plugin_timeout() {
    let app = TestApp::spawn(Db::Sqlite).await;
    provider_plugin(
        &app,
        "slow",
        "https://api.example.com",
        json!({"timeout_ms": 5000}),
    )
    .await;
    let short = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            lease: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    );
    let err = short.check_lease().await.unwrap_err().to_string();
    assert!(err.contains("CALLTRAIL_LEASE_SECS"), "{err}");
    assert!(
        executor(&app, "").check_lease().await.is_ok(),
        "the default lease is long enough"
    );
}

/// A decision's words without its time ("retry at <time>: " is dropped).
fn without_time(reason: &str) -> String {
    reason
        .strip_prefix("retry at ")
        .and_then(|r| r.split_once(": "))
        .map_or(reason, |(_, rest)| rest)
        .to_string()
}

/// Every log message of one step, across triggers.
fn messages(details: &[Value], step: &str, starting: &str) -> std::collections::BTreeSet<String> {
    details
        .iter()
        .flat_map(|d| d["logs"].as_array().unwrap().iter())
        .filter(|l| l["step"] == step)
        .map(|l| l["message"].as_str().unwrap().to_string())
        .filter(|m| m.starts_with(starting))
        .collect()
}

/// The decisions (without their time) and trigger errors that followed one response status.
fn decisions_after(details: &[Value], status: u16) -> std::collections::BTreeSet<String> {
    details
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap().iter())
        .filter(|a| a["response"]["status"] == status)
        .map(|a| without_time(a["decision"]["reason"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_demo_tells_an_outage_and_a_refusal_in_the_executors_words() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let provider = MockServer::start().await;
    Mock::given(path("/v1/invoices/OUT-1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&provider)
        .await;
    Mock::given(path("/v1/invoices/BAD-1"))
        .respond_with(ResponseTemplate::new(422))
        .mount(&provider)
        .await;
    provider_plugin(&app, "provider", &provider.uri(), json!({})).await;
    let outage = app.trigger(&invoice("provider", "OUT-1")).await;
    let refusal = app.trigger(&invoice("provider", "BAD-1")).await;
    assert_eq!(executor(&app, "127.0.0.0/8").step().await.unwrap(), 2);
    let executed = [
        detail(&app, &outage["id"]).await,
        detail(&app, &refusal["id"]).await,
    ];
    assert_eq!(executed[0]["trigger"]["status"], "retrying");
    assert_eq!(executed[1]["trigger"]["status"], "erroneous");

    assert_eq!(
        calltrail::demo::seed(&app.service, 150, "http://127.0.0.1:9/_sandbox")
            .await
            .unwrap(),
        150
    );
    let (_, page) = app.get("/api/v1/triggers?limit=500").await;
    let mut demo = Vec::new();
    for t in page["items"].as_array().unwrap() {
        if t["plugin"] != "provider" {
            demo.push(detail(&app, &t["id"]).await);
        }
    }
    assert_eq!(demo.len(), 150);

    for (code, decided) in [("503 ", "a retry"), ("422 ", "a stop")] {
        let ours = messages(&executed, "response classified", code);
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!(
            messages(&demo, "response classified", code),
            ours,
            "the demo classifies a {code}response as the executor does"
        );
        let status = code.trim().parse().unwrap();
        assert_eq!(
            decisions_after(&demo, status),
            decisions_after(&executed, status),
            "the demo words {decided} after a {code}response as the executor does"
        );
    }
    let errors = |details: &[Value]| -> std::collections::BTreeSet<String> {
        details
            .iter()
            .filter_map(|d| d["trigger"]["last_error"]["message"].as_str())
            .filter(|m| m.starts_with("503 ") || m.starts_with("422 "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(errors(&demo), errors(&executed));
    assert!(
        messages(&demo, "claimed", "")
            .iter()
            .all(|m| m.starts_with("claimed by demo worker, attempt ")),
        "the demo's worker names its attempt like any worker"
    );
}
