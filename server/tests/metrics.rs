//! `/metrics` in Prometheus text: what an operator's dashboard reads after
//! triggers are created and executed against a fake provider.

mod common;

use std::sync::Arc;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use common::{Db, TestApp};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_databases!(
    metrics_count_triggers_attempts_by_class_the_queue_and_requests,
    a_metrics_token_keeps_other_scrapers_out,
);

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    r.text().await.unwrap()
}

async fn metrics_count_triggers_attempts_by_class_the_queue_and_requests(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&provider)
        .await;
    // A name of its own: every test server in this process shares one recorder.
    let plugin = format!("metrics-{}", uuid::Uuid::now_v7().simple());
    let (s, body) = app
        .post(
            "/api/v1/plugins",
            &json!({"name": plugin, "base_url": provider.uri(),
                    "default_route": {"method": "POST", "path": "/hook"},
                    "retry_policy": {"schedule_secs": [600], "max_attempts": 3,
                                     "jitter_pct": 0, "retry_after_cap_secs": 60}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    for i in 0..3 {
        app.trigger(&json!({"plugin": plugin, "event_type": "x.y", "payload": {"i": i}}))
            .await;
    }
    let text = scrape(&app).await;
    let created = format!("calltrail_triggers_created_total{{plugin=\"{plugin}\"}}");
    assert_eq!(sample(&text, &created), Some(3.0), "{text}");
    assert!(sample(&text, "calltrail_queue_depth{state=\"due\"}").unwrap() >= 3.0);

    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    assert_eq!(ex.step().await.unwrap(), 3);
    // The queue is read at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let text = scrape(&app).await;
    let failed = format!("calltrail_attempts_total{{plugin=\"{plugin}\",class=\"server\"}}");
    assert_eq!(sample(&text, &failed), Some(3.0), "{text}");
    let delays = format!("calltrail_delivery_delay_seconds_count{{plugin=\"{plugin}\"}}");
    assert_eq!(sample(&text, &delays), Some(3.0), "{text}");
    let responses = format!("calltrail_provider_response_seconds_count{{plugin=\"{plugin}\"}}");
    assert_eq!(sample(&text, &responses), Some(3.0));
    assert!(
        sample(&text, "calltrail_queue_depth{state=\"scheduled\"}").unwrap() >= 3.0,
        "retries wait 600 s: {text}"
    );
    // Requests by route template, not by raw path.
    assert!(
        text.lines().any(|l| l.starts_with(
            "calltrail_http_requests_total{route=\"/api/v1/triggers\",method=\"POST\",status=\"201\"}"
        )),
        "{text}"
    );
    assert!(text.contains("# HELP calltrail_attempts_total"));
}

async fn a_metrics_token_keeps_other_scrapers_out(db: Db) {
    let app = TestApp::spawn(db).await;
    app.service.set_metrics_token(Some("scrape-me".into()));
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("calltrail_"));
}
