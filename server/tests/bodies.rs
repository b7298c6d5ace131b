//! Bodies of any bytes are recorded, on SQLite and PostgreSQL: a provider's NUL
//! bytes, invalid UTF-8 and binary answers, and reported calls whose bodies hold NUL.
//! Over real HTTP, against fake providers on 127.0.0.1.

mod common;

use std::sync::Arc;

use base64::Engine;
use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use common::{Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_databases!(
    a_pdf_answer_is_recorded_byte_for_byte_and_returned_in_base64,
    json_with_a_nul_escape_and_text_with_a_raw_nul_byte_are_recorded_as_text,
    a_nul_laden_500_then_a_success_records_both_attempts_and_finishes,
    a_reported_call_whose_bodies_hold_nul_is_recorded_faithfully,
    an_external_id_holding_nul_is_not_taken_and_the_trigger_still_finishes,
);

const PDF: &[u8] = b"%PDF-1.4\0\x01\x02 binary \xff\xfe\x80 %%EOF\xff";

async fn provider_plugin(app: &TestApp, base: &str) {
    let body = json!({
        "name": "stripe",
        "base_url": base,
        "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
        "timeout_ms": 2000,
        "retry_policy": {"schedule_secs": [0], "max_attempts": 3, "jitter_pct": 0, "retry_after_cap_secs": 3600}
    });
    let (status, out) = app.post("/api/v1/plugins", &body).await;
    assert_eq!(status, 201, "{out}");
}

async fn answer(provider: &MockServer, entity: &str, status: u16, body: &[u8]) {
    Mock::given(method("POST"))
        .and(path(format!("/v1/invoices/{entity}")))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_vec(), "application/octet-stream"),
        )
        .mount(provider)
        .await;
}

async fn trigger(app: &TestApp, entity: &str) -> String {
    let t = app
        .trigger(
            &json!({"plugin": "stripe", "event_type": "invoice.available",
                         "entity": {"type": "invoice", "id": entity}, "payload": {"n": 1}}),
        )
        .await;
    t["id"].as_str().unwrap().to_string()
}

/// Run the executor until the trigger is final; its detail then.
async fn run_until_final(app: &TestApp, id: &str) -> Value {
    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    for _ in 0..10 {
        ex.step().await.unwrap();
        let (s, d) = app.get(&format!("/api/v1/triggers/{id}")).await;
        assert_eq!(s, 200, "{d}");
        if ["finished", "erroneous"].contains(&d["trigger"]["status"].as_str().unwrap()) {
            return d;
        }
    }
    panic!("trigger {id} did not end within 10 executor steps");
}

/// The bytes an API response body stands for.
fn body_bytes(response: &Value) -> Vec<u8> {
    let body = response["body"].as_str().expect("a body");
    match response.get("body_encoding").and_then(Value::as_str) {
        None => body.as_bytes().to_vec(),
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("valid base64"),
        Some(other) => panic!("unknown body_encoding {other}"),
    }
}

async fn a_pdf_answer_is_recorded_byte_for_byte_and_returned_in_base64(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    answer(&provider, "PDF", 200, PDF).await;
    provider_plugin(&app, &provider.uri()).await;
    let id = trigger(&app, "PDF").await;

    let d = run_until_final(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{d}");
    let response = &attempts[0]["response"];
    assert_eq!(response["body_encoding"], "base64");
    assert_eq!(body_bytes(response), PDF);
    assert_eq!(response["truncated"], false);
}

async fn json_with_a_nul_escape_and_text_with_a_raw_nul_byte_are_recorded_as_text(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    let escaped = br#"{"note":"a\u0000b"}"#;
    let raw = b"{\"note\":\"a\0b\"}";
    answer(&provider, "ESCAPED", 200, escaped).await;
    answer(&provider, "RAW", 200, raw).await;
    provider_plugin(&app, &provider.uri()).await;
    let escaped_id = trigger(&app, "ESCAPED").await;
    let raw_id = trigger(&app, "RAW").await;

    let d = run_until_final(&app, &escaped_id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    let response = &d["attempts"][0]["response"];
    assert!(response.get("body_encoding").is_none(), "{response}");
    let recorded: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(recorded, json!({"note": "a\u{0}b"}));

    let d = run_until_final(&app, &raw_id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    let response = &d["attempts"][0]["response"];
    assert!(
        response.get("body_encoding").is_none(),
        "text with a NUL is still text: {response}"
    );
    assert_eq!(body_bytes(response), raw);
}

async fn a_nul_laden_500_then_a_success_records_both_attempts_and_finishes(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    let failure = b"\0\0internal error\0code 7\0\xff\0";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_raw(failure.to_vec(), "text/plain"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&provider)
        .await;
    answer(&provider, "FLAKY", 200, br#"{"id":"in_1"}"#).await;
    provider_plugin(&app, &provider.uri()).await;
    let id = trigger(&app, "FLAKY").await;

    let d = run_until_final(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["trigger"]["attempts"], 2);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "exactly the two calls made: {d}");
    assert_eq!(attempts[0]["response"]["status"], 500);
    assert_eq!(attempts[0]["class"], "server");
    assert_eq!(body_bytes(&attempts[0]["response"]), failure);
    assert_eq!(attempts[1]["response"]["status"], 200);
    assert_eq!(body_bytes(&attempts[1]["response"]), br#"{"id":"in_1"}"#);
    assert_eq!(provider.received_requests().await.unwrap().len(), 2);
}

async fn a_reported_call_whose_bodies_hold_nul_is_recorded_faithfully(db: Db) {
    let app = TestApp::spawn(db).await;
    provider_plugin(&app, "https://api.example.com").await;
    let call = json!({
        "plugin": "stripe", "event_type": "invoice.available", "payload": {"n": 1},
        "request": {"method": "POST", "url": "https://api.example.com/v1/invoices",
                    "body": "sent\u{0}with a NUL"},
        "response": {"status": 200, "body": "{\"note\":\"a\\u0000b\"}\u{0}trailing NUL"},
        "duration_ms": 5
    });
    let (s, out) = app.post("/api/v1/calls", &call).await;
    assert_eq!(s, 201, "{out}");
    let (s, d) = app
        .get(&format!("/api/v1/triggers/{}", out["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200, "{d}");
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["request"]["body"], "sent\u{0}with a NUL");
    assert_eq!(
        attempt["response"]["body"],
        "{\"note\":\"a\\u0000b\"}\u{0}trailing NUL"
    );
    assert!(attempt["response"].get("body_encoding").is_none());
}

#[tokio::test]
async fn the_openapi_document_describes_the_body_encoding() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (s, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    let schemas = &doc["components"]["schemas"];
    let response = &schemas["AttemptResponse"]["properties"];
    assert!(response["body"].is_object(), "{response}");
    assert!(response["body_encoding"].is_object(), "{response}");
    assert_eq!(
        schemas["BodyEncoding"]["enum"],
        json!(["base64"]),
        "{schemas}"
    );
}

async fn an_external_id_holding_nul_is_not_taken_and_the_trigger_still_finishes(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    answer(&provider, "EXT", 200, br#"{"id": "ext\u0000_1"}"#).await;
    provider_plugin(&app, &provider.uri()).await;
    let (status, out) = app
        .patch(
            "/api/v1/plugins/stripe",
            &json!({"external_id_pointer": "/id"}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let id = trigger(&app, "EXT").await;

    let d = run_until_final(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
    // An id that cannot be shown as text (PostgreSQL text holds no NUL) is left out.
    assert_eq!(d["trigger"]["external_id"], Value::Null, "{d}");
}
