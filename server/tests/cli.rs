//! The `calltrail` binary as a newcomer uses it: migrate, demo, api-key create, serve.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

fn calltrail(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/ct.db?mode=rwc", dir.display()),
        )
        .env("CALLTRAIL_SECRET_KEY_FILE", dir.join("calltrail.key"))
        .env_remove("CALLTRAIL_SECRET_KEY")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn demo_data_fills_every_status_and_a_new_key_reads_it_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let out = calltrail(dir.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = calltrail(dir.path(), &["demo", "--triggers", "300"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo_out = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(demo_out.contains("300 triggers"));
    // The demo leaves an admin who can sign in at once, its password printed.
    let password = demo_out
        .lines()
        .find_map(|l| l.strip_prefix("sign in at /login as admin@example.com with the password "))
        .unwrap_or_else(|| panic!("the demo prints how to sign in: {demo_out}"))
        .trim()
        .to_string();
    // A second run does not duplicate the demo.
    let again = calltrail(dir.path(), &["demo"]);
    assert!(again.status.success());
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("password"),
        "a second run does not make a new password"
    );

    let out = calltrail(
        dir.path(),
        &["api-key", "create", "--name", "ops", "--role", "operator"],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().to_string();
    assert!(
        key.starts_with("ct_") && !key.contains(' '),
        "the key is alone on the last line: {stdout:?}"
    );
    let bad = calltrail(
        dir.path(),
        &["api-key", "create", "--name", "x", "--role", "root"],
    );
    assert!(!bad.status.success(), "an unknown role is refused");

    let (mut server, base) = common::serve_binary(
        Command::new(BIN)
            .arg("serve")
            .env(
                "CALLTRAIL_DATABASE_URL",
                format!("sqlite://{}/ct.db?mode=rwc", dir.path().display()),
            )
            .env(
                "CALLTRAIL_SECRET_KEY_FILE",
                dir.path().join("calltrail.key"),
            )
            .env("CALLTRAIL_EXECUTOR", "off")
            .stderr(Stdio::null()),
    )
    .await;

    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/api/v1/triggers?limit=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for status in [
        "not_yet_started",
        "running",
        "retrying",
        "finished",
        "erroneous",
    ] {
        let page = common::get_json(
            &http,
            format!("{base}/api/v1/triggers?status={status}"),
            &key,
        )
        .await;
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty(), "the demo has {status} triggers");
    }
    let page = common::get_json(
        &http,
        format!("{base}/api/v1/triggers?status=erroneous&limit=1"),
        &key,
    )
    .await;
    let id = page["items"][0]["id"].as_str().unwrap();
    let detail = common::get_json(&http, format!("{base}/api/v1/triggers/{id}"), &key).await;
    assert!(
        !detail["attempts"].as_array().unwrap().is_empty(),
        "failed demo triggers have attempts"
    );
    let browser = common::no_redirects();
    let signed_in = browser
        .post(format!("{base}/login"))
        .header("Origin", &base)
        .form(&[
            ("email", "admin@example.com"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303, "the demo's admin signs in");
    let cookie = common::session_cookie(&signed_in).unwrap();
    let page_html = browser
        .get(format!("{base}/"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page_html.contains("Erroneous") && page_html.contains("Finished"),
        "the log page lists the demo"
    );

    // SIGTERM stops it cleanly.
    send_sigterm(server.0.id());
    let status = common::wait_for_exit(&mut server.0, Duration::from_secs(15)).await;
    assert!(status.success(), "exit after SIGTERM: {status}");
}

fn send_sigterm(pid: u32) {
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The first-run experience: the demo's sandbox provider answers on the server
/// itself, waiting triggers are executed, and a failed one turns green on a rerun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_executes_against_its_sandbox_and_a_rerun_turns_a_failure_green() {
    let dir = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| {
        c.env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/ct.db?mode=rwc", dir.path().display()),
        )
        .env(
            "CALLTRAIL_SECRET_KEY_FILE",
            dir.path().join("calltrail.key"),
        )
        .env("CALLTRAIL_SANDBOX", "on")
        .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.1/32");
    };
    // The server first, on a port of its choosing; the demo then seeds the database
    // it serves, with the sandbox at the address it printed.
    let mut serve = Command::new(BIN);
    serve.arg("serve").stderr(Stdio::null());
    env(&mut serve);
    let (mut server, base) = common::serve_binary(&mut serve).await;
    let mut demo = Command::new(BIN);
    demo.args(["demo", "--triggers", "200"])
        .env("CALLTRAIL_SANDBOX_URL", format!("{base}/_sandbox"));
    env(&mut demo);
    let out = demo.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut key = Command::new(BIN);
    key.args(["api-key", "create", "--name", "newcomer", "--role", "admin"]);
    env(&mut key);
    let out = String::from_utf8(key.output().unwrap().stdout).unwrap();
    let key = out.lines().last().unwrap().to_string();

    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, key, base) = (http.clone(), key.clone(), base.clone());
        async move {
            match http
                .get(format!("{base}{path}"))
                .bearer_auth(&key)
                .send()
                .await
            {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            }
        }
    };
    // The sandbox's waiting triggers are executed: none stays not yet started.
    common::wait_until(
        Duration::from_secs(30),
        "the sandbox's triggers to be executed",
        || async {
            get("/api/v1/triggers?plugin=sandbox&status=not_yet_started".into())
                .await
                .is_some_and(|page| page["items"].as_array().unwrap().is_empty())
        },
    )
    .await;
    // A simulated 422 failed live; a historic failure (no simulation) re-runs green.
    let failed = get("/api/v1/triggers?plugin=sandbox&status=erroneous&limit=500".into())
        .await
        .unwrap();
    let mut historic = None;
    for t in failed["items"].as_array().unwrap() {
        let d = get(format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
            .await
            .unwrap();
        if d["trigger"]["payload"].get("simulate").is_none() {
            historic = Some(t["id"].as_str().unwrap().to_string());
            break;
        }
    }
    let id = historic.expect("the demo has a failed sandbox trigger to re-run");
    let r = http
        .post(format!("{base}/api/v1/triggers/{id}/rerun"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"reason": "token renewed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let d = common::wait_for(
        Duration::from_secs(15),
        "the rerun to turn green",
        || async {
            let d = get(format!("/api/v1/triggers/{id}")).await.unwrap();
            (d["trigger"]["status"] == "finished").then_some(d)
        },
    )
    .await;
    assert!(d["trigger"]["external_id"]
        .as_str()
        .unwrap()
        .starts_with("sbx_"));
    send_sigterm(server.0.id());
    common::wait_for_exit(&mut server.0, Duration::from_secs(15)).await;
}

/// A switch, a number or a list the binary cannot use stops it before it opens anything,
/// naming the value, as every other `CALLTRAIL_*` setting does.
#[tokio::test]
async fn a_sandbox_or_pool_setting_it_cannot_use_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (setting, value, command) in [
        ("CALLTRAIL_SANDBOX", "yes", "serve"),
        ("CALLTRAIL_DB_POOL", "many", "migrate"),
        ("CALLTRAIL_DB_POOL", "0", "migrate"),
        ("CALLTRAIL_TRUSTED_PROXIES", "10.0.0.0/8,proxy.lan", "serve"),
        ("CALLTRAIL_AUTH_FAILURES_PER_MINUTE", "lots", "serve"),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.arg(command)
            .env(
                "CALLTRAIL_DATABASE_URL",
                format!("sqlite://{}/ct.db?mode=rwc", dir.path().display()),
            )
            .env(
                "CALLTRAIL_SECRET_KEY_FILE",
                dir.path().join("calltrail.key"),
            )
            .env("CALLTRAIL_LISTEN", "127.0.0.1:0")
            .env("CALLTRAIL_EXECUTOR", "off")
            .env(setting, value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = common::KillOnDrop(cmd.spawn().expect("the binary starts"));
        let status = common::wait_for_exit(&mut child.0, Duration::from_secs(10)).await;
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(
            !status.success() && stderr.contains(&format!("'{value}'")),
            "{setting}={value} is refused by `calltrail {command}`: {status}, {stderr}"
        );
    }
}

on_both_databases!(keys_are_issued_listed_and_revoked_from_the_command_line_and_a_running_server_refuses_a_revoked_one_at_once);

use common::Db;

/// `calltrail api-key …` on a database, as an operator types it.
fn key_command(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("api-key")
        .args(args)
        .env("CALLTRAIL_DATABASE_URL", db_url)
        .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
        .output()
        .expect("the binary runs")
}

fn stdout_of(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn keys_are_issued_listed_and_revoked_from_the_command_line_and_a_running_server_refuses_a_revoked_one_at_once(
    db: Db,
) {
    let fresh = common::fresh_db(db).await;
    let url = fresh.url.clone();
    let store = calltrail::storage::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let service = calltrail::service::Service::new(
        store,
        calltrail::service::SecretBox::from_hex(common::TEST_KEY).unwrap(),
        Default::default(),
    );
    common::plugin_via_service(&service, "stripe").await;
    let admin = service
        .create_api_key("admin", calltrail::service::Role::Admin)
        .await
        .unwrap();

    let out = stdout_of(&key_command(
        &url,
        &[
            "create",
            "--name",
            "billing",
            "--role",
            "ingest",
            "--plugins",
            "stripe",
            "--expires-in",
            "30",
        ],
    ));
    let key = out.lines().last().unwrap().to_string();
    assert!(key.starts_with("ct_") && !key.contains(' '), "{out:?}");
    assert!(out.contains("ingest") && out.contains("stripe"), "{out}");
    let id = out
        .split("with id ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();

    for (args, says) in [
        (
            vec![
                "create",
                "--name",
                "x",
                "--role",
                "viewer",
                "--plugins",
                "nope",
            ],
            "plugins",
        ),
        (
            vec![
                "create",
                "--name",
                "x",
                "--role",
                "viewer",
                "--expires-at",
                "2001-01-01T00:00:00Z",
            ],
            "expires_at",
        ),
        (
            vec![
                "create",
                "--name",
                "x",
                "--role",
                "viewer",
                "--expires-at",
                "soon",
            ],
            "RFC 3339",
        ),
        (vec!["revoke", "not-an-id"], "UUID"),
    ] {
        let out = key_command(&url, &args);
        assert!(!out.status.success(), "{args:?} is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }

    let list = stdout_of(&key_command(&url, &["list"]));
    let mut lines = list.lines();
    let heading = lines.next().unwrap();
    for column in [
        "ID",
        "NAME",
        "ROLE",
        "PLUGINS",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "REVOKED",
    ] {
        assert!(heading.contains(column), "{heading}");
    }
    let row = list.lines().find(|l| l.contains(&id)).unwrap();
    assert!(
        row.contains("billing") && row.contains("ingest") && row.contains("stripe"),
        "{row}"
    );
    assert!(row.ends_with('-'), "not revoked: {row}");
    assert!(!list.contains(&key), "the list never shows a key");

    let (_server, base) = common::serve_binary(
        Command::new(BIN)
            .arg("serve")
            .env("CALLTRAIL_DATABASE_URL", &url)
            .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
            .env("CALLTRAIL_EXECUTOR", "off")
            .stderr(Stdio::null()),
    )
    .await;
    let http = reqwest::Client::new();
    let status = || async {
        http.get(format!("{base}/api/v1/triggers"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status().await, 200, "the server knows (and caches) the key");

    let out = stdout_of(&key_command(&url, &["revoke", &id]));
    assert!(out.contains("revoked"), "{out}");
    common::wait_until(
        Duration::from_secs(3),
        "the running server to refuse the key",
        || async { status().await == 401 },
    )
    .await;

    let list = stdout_of(&key_command(&url, &["list"]));
    let row = list.lines().find(|l| l.contains(&id)).unwrap();
    assert!(!row.ends_with('-'), "revoked, with its time: {row}");
    let trail = common::get_json(&http, format!("{base}/api/v1/audit?actor=cli"), &admin).await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_key.revoke", "api_key.create"], "{trail}");
}
