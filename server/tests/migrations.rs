//! Trigger migrations: dry runs, re-executing a filter, creating triggers, cancel.

mod common;

use std::sync::Arc;
use std::time::Duration;

use calltrail::service::Service;

use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::Role;
use common::{error_of, Db, TestApp};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn setup(status: u16) -> (TestApp, MockServer, Executor) {
    setup_on(Db::Sqlite, status).await
}

async fn setup_on(db: Db, status: u16) -> (TestApp, MockServer, Executor) {
    let app = TestApp::spawn(db).await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"id": "x_1"})))
        .mount(&provider)
        .await;
    let (s, b) = app
        .post(
            "/api/v1/plugins",
            &json!({"name": "xero", "base_url": provider.uri(), "external_id_pointer": "/id",
                    "default_route": {"method": "POST", "path": "/invoices"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let ex = Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    );
    (app, provider, ex)
}

async fn wait_for(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    common::wait_for(Duration::from_secs(20), "the migration", || async {
        let (s, m) = app.get(&format!("/api/v1/migrations/{id}")).await;
        assert_eq!(s, 200, "{m}");
        done(&m).then_some(m)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_re_executes_the_failed_triggers_after_the_cause_is_fixed() {
    let (app, provider, ex) = setup(401).await;
    for i in 0..4 {
        app.trigger(&json!({"plugin": "xero", "event_type": "invoice.created",
                            "entity": {"type": "invoice", "id": format!("INV-{i}")}, "payload": {"i": i}}))
            .await;
    }
    ex.step().await.unwrap();
    provider.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x_1"})))
        .mount(&provider)
        .await;

    let spec = json!({"reason": "Xero token renewed", "dry_run": true,
                      "filter": {"plugin": ["xero"], "status": ["erroneous"]}});
    let (s, dry) = app.post("/api/v1/migrations", &spec).await;
    assert_eq!(s, 200, "{dry}");
    assert_eq!(dry["count"], 4);
    assert_eq!(dry["sample"].as_array().unwrap().len(), 4);
    let (_, still) = app.get("/api/v1/triggers?status=erroneous").await;
    assert_eq!(
        still["items"].as_array().unwrap().len(),
        4,
        "a dry run changes nothing"
    );

    let mut real = spec.clone();
    real["dry_run"] = json!(false);
    real["rate_per_sec"] = json!(1000);
    let (s, started) = app.post("/api/v1/migrations", &real).await;
    assert_eq!(s, 202, "{started}");
    assert_eq!(started["total"], 4);
    assert_eq!(started["status"], "running");
    let id = started["id"].as_str().unwrap().to_string();
    wait_for(&app, &id, |m| m["status"] == "completed").await;
    while ex.step().await.unwrap() > 0 {}
    let m = wait_for(&app, &id, |m| m["succeeded"] == 4).await;
    assert_eq!(
        (m["done"].clone(), m["failed"].clone()),
        (json!(4), json!(0))
    );
    assert_eq!(m["actor"], "test-admin");

    let (_, list) = app.get("/api/v1/triggers?status=finished").await;
    let t = &list["items"][0];
    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    let second = &d["attempts"][1];
    assert_eq!(second["started_by"]["kind"], "migration");
    assert!(second["started_by"]["actor"]
        .as_str()
        .unwrap()
        .contains(&id));
    assert!(d["logs"].to_string().contains("Xero token renewed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_creates_triggers_that_never_existed_and_checks_them_all_first() {
    let (app, _provider, _ex) = setup(200).await;
    let bad = json!({"reason": "backfill", "plugin": "xero", "event_type": "invoice.created",
                     "create": [{"entity": {"type": "invoice", "id": "A"}, "payload": {}},
                                {"entity": {"type": "invoice", "id": ""}, "payload": {}}]});
    let (s, body) = app.post("/api/v1/migrations", &bad).await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&body).1.as_deref(), Some("create[1].entity.id"));
    let (_, none) = app.get("/api/v1/triggers").await;
    assert_eq!(
        none["items"],
        json!([]),
        "nothing created when one item is wrong"
    );

    let good = json!({"reason": "backfill", "plugin": "xero", "event_type": "invoice.created", "rate_per_sec": 1000,
                      "create": [{"entity": {"type": "invoice", "id": "A"}, "payload": {"n": 1}},
                                 {"entity": {"type": "invoice", "id": "B"}, "payload": {"n": 2}}]});
    let (s, started) = app.post("/api/v1/migrations", &good).await;
    assert_eq!(s, 202, "{started}");
    let m = wait_for(&app, started["id"].as_str().unwrap(), |m| {
        m["status"] == "completed"
    })
    .await;
    assert_eq!(m["done"], 2);
    let (_, list) = app
        .get("/api/v1/triggers?entity_type=invoice&entity_id=B")
        .await;
    assert_eq!(list["items"][0]["status"], "not_yet_started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_migration_can_be_cancelled_and_only_admins_may_migrate() {
    let (app, _provider, _ex) = setup(200).await;
    let items: Vec<Value> = (0..20).map(|i| json!({"payload": {"i": i}})).collect();
    let (s, started) = app
        .post(
            "/api/v1/migrations",
            &json!({"reason": "slow", "plugin": "xero", "event_type": "e.x", "rate_per_sec": 5, "create": items}),
        )
        .await;
    assert_eq!(s, 202);
    let id = started["id"].as_str().unwrap();
    let (s, m) = app
        .post(&format!("/api/v1/migrations/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["status"], "cancelled");
    // At 5 a second, two seconds would add ten items if it carried on.
    let done_then = m["done"].clone();
    let (_, m) = app.get(&format!("/api/v1/migrations/{id}")).await;
    assert_eq!(m["done"], done_then, "{m}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, m) = app.get(&format!("/api/v1/migrations/{id}")).await;
    assert_eq!(
        m["done"], done_then,
        "nothing was done after the cancel: {m}"
    );
    assert!(m["done"].as_u64().unwrap() < 20, "it stopped: {m}");
    let (s, _) = app
        .post(&format!("/api/v1/migrations/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(s, 409);

    let operator = app.key("ops", Role::Operator).await;
    let r = app
        .http
        .post(app.url("/api/v1/migrations"))
        .bearer_auth(&operator)
        .json(&json!({"reason": "x", "dry_run": true, "filter": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, body) = app
        .post(
            "/api/v1/migrations",
            &json!({"dry_run": true, "filter": {}}),
        )
        .await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("reason")));
    let (s, body) = app
        .post("/api/v1/migrations", &json!({"reason": "x"}))
        .await;
    assert_eq!((s, error_of(&body).1.as_deref()), (422, Some("filter")));
}

/// Another process on the same database (a restart, or a second instance).
async fn another_instance(app: &TestApp) -> Arc<Service> {
    let store = calltrail::storage::connect(&app.db_url).await.unwrap();
    Service::new(
        store,
        calltrail::service::SecretBox::from_hex(common::TEST_KEY).unwrap(),
        Default::default(),
    )
}

async fn start(app: &TestApp, spec: Value) -> String {
    let (s, started) = app.post("/api/v1/migrations", &spec).await;
    assert_eq!(s, 202, "{started}");
    started["id"].as_str().unwrap().to_string()
}

fn create_spec(items: usize, rate: u32) -> Value {
    let create: Vec<Value> = (0..items).map(|i| json!({"payload": {"n": i}})).collect();
    json!({"reason": "backfill", "plugin": "xero", "event_type": "e.x", "rate_per_sec": rate,
           "create": create})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    common::query_i64(&app.db_url, sql).await
}

/// Attempts started by a migration, per trigger id, over every trigger.
async fn migration_attempts(app: &TestApp) -> std::collections::HashMap<String, usize> {
    let (_, list) = app.get("/api/v1/triggers?limit=500").await;
    let mut out = std::collections::HashMap::new();
    for t in list["items"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let (_, d) = app.get(&format!("/api/v1/triggers/{id}")).await;
        let n = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["started_by"]["kind"] == "migration")
            .count();
        out.insert(id.to_string(), n);
    }
    out
}

async fn drain(ex: &Executor) {
    for _ in 0..100 {
        if ex.step().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the executor still had work after 100 steps");
}

on_both_databases!(
    a_restarted_migration_creates_each_item_once_even_when_its_progress_was_lost,
    a_restarted_rerun_re_queues_each_trigger_once_even_when_its_counter_was_lost,
    a_migration_whose_owner_died_is_taken_over_once_its_lease_expires,
    a_filter_migration_re_executes_only_what_matched_when_it_started,
    migrations_are_listed_newest_first_to_admins_only,
);

async fn migrations_are_listed_newest_first_to_admins_only(db: Db) {
    let (app, _provider, _ex) = setup_on(db, 200).await;
    let (s, list) = app.get("/api/v1/migrations").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"], json!([]), "none yet");

    let first = start(&app, create_spec(2, 100)).await;
    let second = start(&app, create_spec(3, 100)).await;
    let (s, list) = app.get("/api/v1/migrations").await;
    assert_eq!(s, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [second.as_str(), first.as_str()],
        "newest first: {list}"
    );
    assert_eq!(items[0]["total"], 3);
    assert_eq!(items[1]["total"], 2);
    assert_eq!(items[0]["reason"], "backfill");

    let operator = app.key("ops", Role::Operator).await;
    let r = app
        .http
        .get(app.url("/api/v1/migrations"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only admins read migrations");
}

async fn a_restarted_migration_creates_each_item_once_even_when_its_progress_was_lost(db: Db) {
    let (app, _provider, _ex) = setup_on(db, 200).await;
    let id = start(&app, create_spec(5, 1000)).await;
    wait_for(&app, &id, |m| m["status"] == "completed").await;
    // The state a process leaves that died after creating items 2 to 4 but before
    // it recorded them: the triggers exist, their progress rows and count do not.
    common::exec_sql(
        &app.db_url,
        "DELETE FROM trigger_migration_items WHERE position >= 2",
    )
    .await;
    common::exec_sql(
        &app.db_url,
        &format!(
            "UPDATE trigger_migrations SET status = 'running', done = 2, finished_at = NULL, \
             owner = 'a-dead-instance', lease_expires_at = {}",
            common::time_literal(&app.db_url, chrono::DateTime::UNIX_EPOCH)
        ),
    )
    .await;

    let restarted = another_instance(&app).await;
    assert_eq!(restarted.resume_migrations().await.unwrap(), 1);
    let m = wait_for(&app, &id, |m| m["status"] == "completed").await;
    assert_eq!(m["done"], 5, "{m}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM triggers WHERE event_type = 'e.x'"
        )
        .await,
        5,
        "no item was created twice"
    );
}

async fn a_restarted_rerun_re_queues_each_trigger_once_even_when_its_counter_was_lost(db: Db) {
    let (app, _provider, ex) = setup_on(db, 401).await;
    for i in 0..3 {
        app.trigger(
            &json!({"plugin": "xero", "event_type": "invoice.created", "payload": {"i": i}}),
        )
        .await;
    }
    drain(&ex).await;
    let id = start(
        &app,
        json!({"reason": "token renewed", "rate_per_sec": 1000,
               "filter": {"plugin": ["xero"], "status": ["erroneous"]}}),
    )
    .await;
    wait_for(&app, &id, |m| m["status"] == "completed").await;
    drain(&ex).await;
    // A restart that finds the job running with its counter lost.
    common::exec_sql(
        &app.db_url,
        "UPDATE trigger_migrations SET status = 'running', done = 0, finished_at = NULL, \
         owner = NULL, lease_expires_at = NULL",
    )
    .await;
    let restarted = another_instance(&app).await;
    assert_eq!(restarted.resume_migrations().await.unwrap(), 1);
    let m = wait_for(&app, &id, |m| m["status"] == "completed").await;
    assert_eq!(
        (m["total"].clone(), m["done"].clone()),
        (json!(3), json!(3))
    );
    drain(&ex).await;
    let attempts = migration_attempts(&app).await;
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts.values().all(|n| *n == 1),
        "each trigger was re-executed by the migration exactly once: {attempts:?}"
    );
}

async fn a_migration_whose_owner_died_is_taken_over_once_its_lease_expires(db: Db) {
    let (app, _provider, _ex) = setup_on(db, 200).await;
    let store = app.service.store().clone();
    let now = calltrail::service::now();
    let record = calltrail::storage::MigrationRecord {
        id: uuid::Uuid::now_v7(),
        created_at: now,
        actor: "admin".into(),
        reason: "backfill".into(),
        kind: "create".into(),
        spec: json!({"plugin": "xero", "event_type": "e.x", "rate_per_sec": 1000,
                     "create": [{"payload": {"n": 0}}, {"payload": {"n": 1}}, {"payload": {"n": 2}}]}),
        status: "running".into(),
        total: 3,
        done: 0,
        finished_at: None,
        succeeded: 0,
        failed: 0,
    };
    let audit = calltrail::storage::AuditEntry {
        id: uuid::Uuid::now_v7(),
        at: now,
        actor: "admin".into(),
        action: "migration.create".into(),
        target: format!("migration:{}", record.id),
        reason: "backfill".into(),
        client: None,
        details: json!({}),
    };
    store.insert_migration(&record, audit).await.unwrap();
    // An instance took it and died: its lease runs for another 1.5 s.
    let ghost_until = calltrail::service::now() + chrono::Duration::milliseconds(1500);
    assert!(store
        .writes()
        .claim_migration(record.id, "a-dead-instance", ghost_until)
        .await
        .unwrap());

    let survivor = another_instance(&app).await;
    survivor.set_migration_lease(Duration::from_millis(600));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(survivor.clone().run_migrations(stopped));
    let m = wait_for(&app, &record.id.to_string(), |m| m["status"] == "completed").await;
    assert!(
        chrono::Utc::now() >= ghost_until,
        "it was taken over only after the lease expired"
    );
    assert_eq!(m["done"], 3);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM triggers WHERE event_type = 'e.x'"
        )
        .await,
        3
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .expect("the runner stops on shutdown")
        .unwrap();
}

async fn a_filter_migration_re_executes_only_what_matched_when_it_started(db: Db) {
    let (app, _provider, ex) = setup_on(db, 401).await;
    let mut first = Vec::new();
    for i in 0..4 {
        let t = app
            .trigger(
                &json!({"plugin": "xero", "event_type": "invoice.created", "payload": {"i": i}}),
            )
            .await;
        first.push(t["id"].as_str().unwrap().to_string());
    }
    drain(&ex).await;

    // This instance runs the job slowly, and is shut down part-way.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(app.service.clone().run_migrations(stopped));
    let id = start(
        &app,
        json!({"reason": "token renewed", "rate_per_sec": 4,
               "filter": {"plugin": ["xero"], "status": ["erroneous"]}}),
    )
    .await;
    wait_for(&app, &id, |m| m["done"].as_u64().unwrap() >= 1).await;
    // Triggers that start matching the filter after it started.
    for i in 0..3 {
        app.trigger(
            &json!({"plugin": "xero", "event_type": "invoice.created", "payload": {"late": i}}),
        )
        .await;
    }
    drain(&ex).await;
    let (_, late) = app.get("/api/v1/triggers?status=erroneous").await;
    assert_eq!(late["items"].as_array().unwrap().len(), 7, "{late}");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .expect("the job stops on shutdown")
        .unwrap();
    let (_, paused) = app.get(&format!("/api/v1/migrations/{id}")).await;
    assert_eq!(paused["status"], "running", "{paused}");
    assert!(paused["done"].as_u64().unwrap() < 4, "{paused}");

    // The restart carries on with the set fixed at the start.
    let restarted = another_instance(&app).await;
    assert_eq!(restarted.resume_migrations().await.unwrap(), 1);
    let m = wait_for(&app, &id, |m| m["status"] == "completed").await;
    assert_eq!(
        (m["total"].clone(), m["done"].clone()),
        (json!(4), json!(4))
    );
    drain(&ex).await;
    let attempts = migration_attempts(&app).await;
    assert_eq!(attempts.len(), 7);
    for (trigger, n) in &attempts {
        let expected = usize::from(first.contains(trigger));
        assert_eq!(
            *n, expected,
            "migration attempts of {trigger}: {attempts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_run_one_migration_once_and_hand_it_over_on_shutdown() {
    let (app, _provider, _ex) = setup_on(Db::Postgres, 200).await;
    let a = app.service.clone();
    let b = another_instance(&app).await;
    a.set_migration_lease(Duration::from_secs(3));
    b.set_migration_lease(Duration::from_secs(3));
    let (stop_a, stopped_a) = tokio::sync::watch::channel(false);
    let (stop_b, stopped_b) = tokio::sync::watch::channel(false);
    let runner_a = tokio::spawn(a.clone().run_migrations(stopped_a));

    // Who holds the lease, sampled all along.
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    let owners = Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let sampler = {
        let (pool, owners) = (pool.clone(), owners.clone());
        tokio::spawn(async move {
            for _ in 0..3000 {
                let owner: Option<Option<String>> =
                    sqlx::query_scalar("SELECT owner FROM trigger_migrations")
                        .fetch_optional(&pool)
                        .await
                        .unwrap();
                if let Some(owner) = owner {
                    owners.lock().unwrap().push(owner);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let id = start(&app, create_spec(40, 20)).await;
    wait_for(&app, &id, |m| m["done"].as_u64().unwrap() >= 1).await;
    // B looks for work every second while A runs the job.
    let runner_b = tokio::spawn(b.clone().run_migrations(stopped_b));
    wait_for(&app, &id, |m| m["done"].as_u64().unwrap() >= 15).await;
    stop_a.send(true).unwrap(); // A's SIGTERM
    tokio::time::timeout(Duration::from_secs(10), runner_a)
        .await
        .expect("A stops on shutdown")
        .unwrap();
    let m = wait_for(&app, &id, |m| m["status"] == "completed").await;
    sampler.abort();
    stop_b.send(true).unwrap();
    runner_b.await.unwrap();

    assert_eq!(m["done"], 40, "{m}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM triggers WHERE event_type = 'e.x'"
        )
        .await,
        40,
        "every item was created exactly once"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(DISTINCT idempotency_key) FROM triggers WHERE idempotency_key LIKE 'system/migration:%'"
        )
        .await,
        40
    );
    // One holder at a time: A until it let go, then B, never back and forth.
    let mut holders: Vec<String> = Vec::new();
    for owner in owners.lock().unwrap().iter().flatten() {
        if holders.last() != Some(owner) {
            holders.push(owner.clone());
        }
    }
    assert_eq!(
        holders.len(),
        2,
        "the lease changed hands once: {holders:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_migration_seals_its_payloads_yet_the_provider_gets_them() {
    let (app, provider, ex) = setup(200).await;
    let marker = format!("MARKER-{}", uuid::Uuid::now_v7().simple());
    let id = start(
        &app,
        json!({"reason": "backfill", "plugin": "xero", "event_type": "e.x", "rate_per_sec": 1000,
               "create": [{"payload": {"password": marker, "n": 1}}]}),
    )
    .await;
    let m = wait_for(&app, &id, |m| m["status"] == "completed").await;
    assert!(!m.to_string().contains(&marker), "{m}");
    let (_, list) = app.get("/api/v1/triggers?event_type=e.x").await;
    let t = list["items"][0]["id"].as_str().unwrap();
    let (_, d) = app.get(&format!("/api/v1/triggers/{t}")).await;
    assert_eq!(d["trigger"]["payload"]["password"], "[redacted]", "{d}");

    ex.step().await.unwrap();
    let sent = &provider.received_requests().await.unwrap()[0];
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        sent["password"],
        marker.as_str(),
        "the provider gets it as given"
    );

    let path = app
        .db_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    for file in [path.clone(), format!("{path}-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&marker),
            "{file} holds the payload's secret in plain text"
        );
    }
}

/// The real binary: SIGTERM pauses a running migration and gives its lease up, a
/// SIGKILL leaves the lease to expire; each restart carries on, and every item is
/// created exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_stopped_or_killed_mid_migration_creates_every_item_once() {
    const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    let command = || {
        let mut c = std::process::Command::new(BIN);
        c.env("CALLTRAIL_DATABASE_URL", &db_url)
            .env("CALLTRAIL_SECRET_KEY", "33".repeat(32))
            .env("CALLTRAIL_EXECUTOR", "off")
            .env("CALLTRAIL_MIGRATION_LEASE_SECS", "2")
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null());
        c
    };
    let out = command()
        .args(["api-key", "create", "--name", "ops", "--role", "admin"])
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let (mut server, base) = common::serve_binary(command().arg("serve")).await;
    let r = http
        .post(format!("{base}/api/v1/plugins"))
        .bearer_auth(&key)
        .json(
            &json!({"name": "xero", "base_url": "https://api.example.com",
                      "default_route": {"method": "POST", "path": "/invoices"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let started: Value = http
        .post(format!("{base}/api/v1/migrations"))
        .bearer_auth(&key)
        .json(&create_spec(30, 10))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().unwrap().to_string();
    let progress = |base: String, at_least: u64| {
        let (http, key, id) = (http.clone(), key.clone(), id.clone());
        async move {
            common::wait_for(Duration::from_secs(20), "migration progress", || async {
                let m =
                    common::get_json(&http, format!("{base}/api/v1/migrations/{id}"), &key).await;
                (m["done"].as_u64().unwrap() >= at_least).then_some(m)
            })
            .await
        }
    };
    progress(base.clone(), 3).await;

    // SIGTERM: the job stops between two items and gives its lease up.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = common::wait_for_exit(&mut server.0, Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    let paused = "SELECT COUNT(*) FROM trigger_migrations WHERE status = 'running' \
                  AND owner IS NULL AND done < 30";
    assert_eq!(common::query_i64(&db_url, paused).await, 1);

    // The restart carries on at once; SIGKILL it part-way.
    let (mut server, base) = common::serve_binary(command().arg("serve")).await;
    let m = progress(base.clone(), 1).await;
    let done_before_kill = m["done"].as_u64().unwrap();
    progress(base.clone(), done_before_kill + 3).await;
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    // The next restart takes it over once the dead process's lease has lapsed.
    let (_server, base) = common::serve_binary(command().arg("serve")).await;
    let m = progress(base.clone(), 30).await;
    let m = if m["status"] == "completed" {
        m
    } else {
        common::wait_for(Duration::from_secs(10), "completion", || async {
            let m = common::get_json(&http, format!("{base}/api/v1/migrations/{id}"), &key).await;
            (m["status"] == "completed").then_some(m)
        })
        .await
    };
    assert_eq!(m["done"], 30, "{m}");
    assert_eq!(
        common::query_i64(&db_url, "SELECT COUNT(*) FROM triggers").await,
        30,
        "every item was created exactly once"
    );
}
