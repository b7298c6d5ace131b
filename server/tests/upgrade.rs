//! Upgrading a PostgreSQL database written before times became `timestamptz`
//! (schema 22 and earlier kept microsecond integers): every time keeps its
//! microsecond, an absent time stays absent, and an operator querying by hand
//! reads times, not numbers.

mod common;

use chrono::{DateTime, Utc};
use sqlx::Connection;

/// The PostgreSQL migrations before `0023_timestamptz`, copied to a folder of their own.
fn migrations_before_timestamptz() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let all = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0023" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_times_keep_every_microsecond_when_they_become_timestamptz() {
    let fresh = common::fresh_db(common::Db::Postgres).await;
    let mut c = sqlx::PgConnection::connect(&fresh.url).await.unwrap();
    let before = migrations_before_timestamptz();
    sqlx::migrate::Migrator::new(before.path())
        .await
        .unwrap()
        .run(&mut c)
        .await
        .unwrap();

    // 2026-11-28T02:55:15.123456Z, one microsecond later, and a time before 2000
    // (PostgreSQL's own epoch) to show the conversion does not care which side.
    let (scheduled, triggered, logged, early) = (
        1_795_834_515_123_456_i64,
        1_795_834_515_123_457_i64,
        1_795_834_516_000_001_i64,
        946_684_799_999_999_i64,
    );
    let statements = [
        format!(
            "INSERT INTO plugins (id, name, display_name, kind, base_url, active, timeout_ms, \
             routes, headers, retry_policy, redact, created_at, updated_at) VALUES \
             ('018f0000-0000-7000-8000-000000000001', 'xero', 'Xero', 'http', \
             'http://127.0.0.1:9', TRUE, 1000, '{{}}', '{{}}', '{{}}', '[]', {early}, {scheduled})"
        ),
        format!(
            "INSERT INTO triggers (id, plugin_id, event_type, initiator_kind, initiator_name, \
             payload, status, scheduled_at, triggered_at, finished_at, next_attempt_at) VALUES \
             ('018f0000-0000-7000-8000-000000000002', '018f0000-0000-7000-8000-000000000001', \
             'invoice.created', 'automation', 'billing', '{{}}', 'retrying', {scheduled}, \
             {triggered}, NULL, {triggered})"
        ),
        format!(
            "INSERT INTO trigger_logs (trigger_id, at, step, message) VALUES \
             ('018f0000-0000-7000-8000-000000000002', {logged}, 'queued', 'queued')"
        ),
        format!(
            "INSERT INTO audit_log (id, at, actor, action, target, reason, details) VALUES \
             ('018f0000-0000-7000-8000-000000000003', {logged}, 'admin', 'rerun', 't', 'r', '{{}}')"
        ),
    ];
    for statement in &statements {
        sqlx::Executor::execute(&mut c, statement.as_str())
            .await
            .unwrap();
    }

    // The upgrade, as `calltrail serve` or `calltrail migrate` runs it.
    let store = calltrail::storage::connect(&fresh.url).await.unwrap();
    store.migrate().await.unwrap();

    type Times = (
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let (s, t, f, n): Times = sqlx::query_as(
        "SELECT scheduled_at, triggered_at, finished_at, next_attempt_at FROM triggers",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(s, at(scheduled));
    assert_eq!(t, Some(at(triggered)));
    assert_eq!(f, None, "an absent time stays absent");
    assert_eq!(n, Some(at(triggered)));

    let (created, updated): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("SELECT created_at, updated_at FROM plugins")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!((created, updated), (at(early), at(scheduled)));
    let log: DateTime<Utc> = sqlx::query_scalar("SELECT at FROM trigger_logs")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let audit: DateTime<Utc> = sqlx::query_scalar("SELECT at FROM audit_log")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!((log, audit), (at(logged), at(logged)));

    // What an operator sees in psql.
    let shown: String = sqlx::query_scalar(
        "SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM triggers",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(shown, "2026-11-28 02:55:15.123456");
    let due: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM triggers WHERE next_attempt_at < TIMESTAMPTZ '2026-11-28 02:55:16Z'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(due, 1, "times compare with time literals");
}
