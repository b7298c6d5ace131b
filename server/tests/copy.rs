//! `calltrail copy`: from the one-binary SQLite file to PostgreSQL, as an
//! operator moves: everything readable afterwards with the same keys, nothing lost.

mod common;

use std::process::{Command, Stdio};

use calltrail::storage::copy::TABLES as TABLES_WITH_DATA;
use common::Db;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

fn calltrail(dir: &std::path::Path, db_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env("CALLTRAIL_DATABASE_URL", db_url)
        .env("CALLTRAIL_SECRET_KEY_FILE", dir.join("calltrail.key"))
        .env("CALLTRAIL_EMBED_KEY_FILE", dir.join("calltrail-embed.key"))
        .env_remove("CALLTRAIL_SECRET_KEY")
        .env_remove("CALLTRAIL_CONFIG")
        .env("RUST_BACKTRACE", "0");
    cmd
}

fn run(mut cmd: Command, args: &[&str]) -> String {
    let out = cmd.args(args).stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "calltrail {args:?}: {text}");
    text
}

/// Every trigger (id, status, attempts) and one trigger's detail, as the API shows them.
async fn what_the_api_shows(
    base: &str,
    key: &str,
) -> (
    Vec<(String, String, u64)>,
    serde_json::Value,
    serde_json::Value,
) {
    let http = reqwest::Client::new();
    let page = common::get_json(&http, format!("{base}/api/v1/triggers?limit=500"), key).await;
    let mut rows: Vec<(String, String, u64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
                t["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    let with_attempts = rows
        .iter()
        .find(|r| r.2 > 0)
        .expect("a trigger with attempts");
    let detail = common::get_json(
        &http,
        format!("{base}/api/v1/triggers/{}", with_attempts.0),
        key,
    )
    .await;
    // The counts per status, which PostgreSQL keeps from the copied rows' inserts.
    let counts = common::get_json(&http, format!("{base}/api/v1/triggers/count"), key).await;
    (rows, detail, counts)
}

#[tokio::test]
async fn copy_moves_everything_from_sqlite_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    run(calltrail(dir.path(), &sqlite), &["migrate"]);
    run(
        calltrail(dir.path(), &sqlite),
        &["demo", "--triggers", "120"],
    );
    let key = common::cli_admin_key(&mut calltrail(dir.path(), &sqlite));
    let mut add = calltrail(dir.path(), &sqlite);
    add.args([
        "user",
        "add",
        "--email",
        "ada@example.com",
        "--role",
        "viewer",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null());
    let mut child = add.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery staple\n")
            .unwrap();
    }
    assert!(child.wait().unwrap().success());

    // What the SQLite instance shows (executor off: nothing moves meanwhile).
    let mut serve = calltrail(dir.path(), &sqlite);
    serve
        .args(["serve", "--executor", "off"])
        .stderr(Stdio::null());
    let (server, base) = common::serve_binary(&mut serve).await;
    let before = what_the_api_shows(&base, &key).await;
    drop(server);

    let pg = common::fresh_db(Db::Postgres).await;
    let out = run(
        calltrail(dir.path(), &sqlite),
        &["copy", "--from", &sqlite, "--to", &pg.url],
    );
    for table in TABLES_WITH_DATA {
        let sqlite_rows =
            common::query_i64(&sqlite, &format!("SELECT COUNT(*) FROM {table}")).await;
        let pg_rows = common::query_i64(&pg.url, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(sqlite_rows, pg_rows, "{table}: {out}");
    }
    assert!(
        out.contains("triggers"),
        "the copy reports its tables: {out}"
    );

    // The PostgreSQL instance, with the same key files, shows the same log to
    // the same API key; the user signs in with the same password.
    let mut serve = calltrail(dir.path(), &pg.url);
    serve
        .args(["serve", "--executor", "off"])
        .stderr(Stdio::null());
    let (_server, base) = common::serve_binary(&mut serve).await;
    let after = what_the_api_shows(&base, &key).await;
    assert_eq!(
        before.0, after.0,
        "every trigger with its status and attempts"
    );
    assert_eq!(before.1, after.1, "a trigger's payload, attempts and logs");
    assert_eq!(before.2, after.2, "the counts per status");
    let sign_in = common::no_redirects()
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery staple"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), 303, "the copied user signs in");
    // New rows go on after the copied ones (generated log ids included).
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/api/v1/triggers"))
        .bearer_auth(&key)
        .json(&json!({"plugin": "sandbox", "event_type": "invoice.available", "payload": {"n": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    // A second copy into a database that has data is refused, and changes nothing.
    let mut again = calltrail(dir.path(), &sqlite);
    let refused = again
        .args(["copy", "--from", &sqlite, "--to", &pg.url])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already holds data"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
