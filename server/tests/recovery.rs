//! No trigger is lost to a hiccup: when the database refuses an outcome, or a plugin
//! cannot be read for a moment, the trigger ends up where its log says, and is
//! tried again by the policy. Real databases fail for real here: a database trigger
//! that refuses one attempt row, a renamed column, secrets sealed with another key.

mod common;

use std::sync::Arc;
use std::time::Duration;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{Limits, SecretBox, Service};
use common::{Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_databases!(
    an_outcome_the_database_refuses_is_recorded_as_internal_and_retried,
    a_batch_the_database_refuses_is_recorded_one_by_one_and_the_refused_one_as_internal,
    a_plugin_that_cannot_be_read_releases_its_trigger_until_it_can,
    secrets_sealed_with_another_key_are_an_internal_failure_retried_with_a_clear_message,
);

fn executor_for(service: Arc<Service>) -> Executor {
    Executor::new(
        service,
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            transient_retry: Duration::ZERO,
            ..Default::default()
        },
    )
}

async fn provider() -> MockServer {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext_1"})))
        .mount(&provider)
        .await;
    provider
}

async fn plugin(app: &TestApp, base: &str) {
    let (status, out) = app
        .post(
            "/api/v1/plugins",
            &json!({
                "name": "billing", "base_url": base, "timeout_ms": 2000,
                "default_route": {"method": "POST", "path": "/hook"},
                "auth": {"type": "bearer", "token": "sk_live_PLANTED"},
                "retry_policy": {"schedule_secs": [0], "max_attempts": 3, "jitter_pct": 0,
                                 "retry_after_cap_secs": 60}
            }),
        )
        .await;
    assert_eq!(status, 201, "{out}");
}

async fn trigger(app: &TestApp, n: u32) -> String {
    let t = app
        .trigger(
            &json!({"plugin": "billing", "event_type": "invoice.available",
                         "payload": {"n": n}}),
        )
        .await;
    t["id"].as_str().unwrap().to_string()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    let (s, d) = app.get(&format!("/api/v1/triggers/{id}")).await;
    assert_eq!(s, 200, "{d}");
    d
}

fn steps(d: &Value) -> Vec<String> {
    d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["step"].as_str().unwrap().to_string())
        .collect()
}

/// Run SQL on the test's database, as an operator (or a failing disk) would.
async fn sql(db: Db, url: &str, statements: &[String]) {
    match db {
        Db::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Db::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

/// Make the database refuse every attempt row of one trigger except those of class
/// `internal`: at once (the statement fails), or for the whole transaction (SQLite's
/// `RAISE(ROLLBACK)`, a deferred PostgreSQL constraint trigger that fails the commit).
fn refuse_attempts_of(db: Db, trigger_id: &str, whole_batch: bool) -> Vec<String> {
    match db {
        Db::Sqlite => {
            let hex = trigger_id.replace('-', "");
            let how = if whole_batch { "ROLLBACK" } else { "ABORT" };
            vec![format!(
                "CREATE TRIGGER refuse_attempts BEFORE INSERT ON attempts \
                 WHEN NEW.trigger_id = X'{hex}' AND NEW.class <> 'internal' \
                 BEGIN SELECT RAISE({how}, 'refused by the test'); END"
            )]
        }
        Db::Postgres => {
            let when =
                format!("WHEN (NEW.trigger_id = '{trigger_id}' AND NEW.class <> 'internal')");
            vec![
                "CREATE FUNCTION refuse_attempts() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                    .to_string(),
                if whole_batch {
                    format!(
                        "CREATE CONSTRAINT TRIGGER refuse_attempts AFTER INSERT ON attempts \
                         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} \
                         EXECUTE FUNCTION refuse_attempts()"
                    )
                } else {
                    format!(
                        "CREATE TRIGGER refuse_attempts BEFORE INSERT ON attempts \
                         FOR EACH ROW {when} EXECUTE FUNCTION refuse_attempts()"
                    )
                },
            ]
        }
    }
}

fn allow_attempts(db: Db) -> Vec<String> {
    match db {
        Db::Sqlite => vec!["DROP TRIGGER refuse_attempts".into()],
        Db::Postgres => vec!["DROP TRIGGER refuse_attempts ON attempts".into()],
    }
}

async fn refused_outcome_becomes_internal(db: Db, whole_batch: bool) {
    let app = TestApp::spawn(db).await;
    let provider = provider().await;
    plugin(&app, &provider.uri()).await;
    let refused = trigger(&app, 1).await;
    let fine = trigger(&app, 2).await;
    sql(
        db,
        &app.db_url,
        &refuse_attempts_of(db, &refused, whole_batch),
    )
    .await;
    let ex = executor_for(app.service.clone());

    assert_eq!(ex.step().await.unwrap(), 2);
    let d = detail(&app, &fine).await;
    assert_eq!(
        d["trigger"]["status"], "finished",
        "the other outcome is kept"
    );

    let d = detail(&app, &refused).await;
    assert_eq!(d["trigger"]["status"], "retrying", "{d}");
    assert_eq!(d["trigger"]["last_error"]["class"], "internal");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{d}");
    let a = &attempts[0];
    assert_eq!(a["class"], "internal");
    assert_eq!(a["number"], 1);
    assert_eq!(a["decision"]["action"], "retry");
    let reason = a["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("could not be recorded") && reason.contains("refused by the test"),
        "the reason names the database's refusal: {reason}"
    );
    assert!(reason.contains("Calltrail could not record or prepare this call"));
    assert_eq!(a["request"]["url"], format!("{}/hook", provider.uri()));
    assert_eq!(steps(&d).last().unwrap(), "retry scheduled");

    // The policy retries it; once the database takes it, it finishes.
    sql(db, &app.db_url, &allow_attempts(db)).await;
    assert_eq!(ex.step().await.unwrap(), 1);
    let d = detail(&app, &refused).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    let classes: Vec<&str> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["internal", "success"]);
}

async fn an_outcome_the_database_refuses_is_recorded_as_internal_and_retried(db: Db) {
    refused_outcome_becomes_internal(db, false).await;
}

async fn a_batch_the_database_refuses_is_recorded_one_by_one_and_the_refused_one_as_internal(
    db: Db,
) {
    refused_outcome_becomes_internal(db, true).await;
}

async fn a_plugin_that_cannot_be_read_releases_its_trigger_until_it_can(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = provider().await;
    plugin(&app, &provider.uri()).await;
    let id = trigger(&app, 1).await;
    let ex = executor_for(app.service.clone());
    // Claims still work (they read only the plugin's id and active flag); reading
    // the whole plugin fails with a database error.
    sql(
        db,
        &app.db_url,
        &["ALTER TABLE plugins RENAME COLUMN headers TO headers_away".into()],
    )
    .await;

    assert_eq!(ex.step().await.unwrap(), 1, "claimed");
    assert!(
        provider.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
    sql(
        db,
        &app.db_url,
        &["ALTER TABLE plugins RENAME COLUMN headers_away TO headers".into()],
    )
    .await;
    let d = detail(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "not_yet_started", "released: {d}");
    assert_eq!(d["trigger"]["attempts"], 0, "and not counted");
    assert!(d["attempts"].as_array().unwrap().is_empty());
    assert!(!d.to_string().contains("gone"), "{d}");

    assert_eq!(ex.step().await.unwrap(), 1);
    let d = detail(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert_eq!(d["trigger"]["attempts"], 1);
    assert_eq!(provider.received_requests().await.unwrap().len(), 1);
}

async fn secrets_sealed_with_another_key_are_an_internal_failure_retried_with_a_clear_message(
    db: Db,
) {
    let app = TestApp::spawn(db).await;
    let provider = provider().await;
    plugin(&app, &provider.uri()).await;
    let id = trigger(&app, 1).await;
    // An instance started with the wrong CALLTRAIL_SECRET_KEY.
    let wrong_key = Service::new(
        app.service.store().clone(),
        SecretBox::random(),
        Limits::default(),
    );
    let ex = executor_for(wrong_key);
    assert_eq!(ex.step().await.unwrap(), 1);
    assert!(provider.received_requests().await.unwrap().is_empty());
    let d = detail(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "retrying", "{d}");
    let a = &d["attempts"][0];
    assert_eq!(a["class"], "internal");
    let reason = a["decision"]["reason"].as_str().unwrap();
    assert!(reason.contains("CALLTRAIL_SECRET_KEY"), "{reason}");
    assert!(!d.to_string().contains("gone"), "{d}");

    // The instance with the right key delivers it.
    executor_for(app.service.clone()).step().await.unwrap();
    let d = detail(&app, &id).await;
    assert_eq!(d["trigger"]["status"], "finished", "{d}");
    assert!(!d.to_string().contains("PLANTED"), "no secret leaked");
}
