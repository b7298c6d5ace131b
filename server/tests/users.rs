//! `/api/v1/users` and `calltrail user add`: who may sign in, as admins manage it.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use calltrail::service::Role;
use common::{error_of, Db, TestApp, PASSWORD};
use serde_json::{json, Value};

on_both_databases!(
    an_admin_adds_lists_and_changes_users_and_never_sees_a_password,
    bad_user_input_names_its_field_and_adds_nobody,
    only_admins_manage_users,
);

fn user_body(email: &str) -> Value {
    json!({"email": email, "role": "operator", "plugins": ["stripe"], "password": "twelve chars ok"})
}

async fn an_admin_adds_lists_and_changes_users_and_never_sees_a_password(db: Db) {
    let app = TestApp::spawn(db).await;
    let stripe = app.plugin("stripe").await;
    let (status, user) = app
        .post("/api/v1/users", &user_body("Ada@Example.com"))
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "Ada@Example.com");
    assert_eq!(user["role"], "operator");
    assert_eq!(user["plugins"], json!(["stripe"]));
    assert_eq!(user["disabled"], false);
    let text = user.to_string();
    assert!(
        !text.contains("twelve chars ok") && !text.contains("argon2"),
        "{text}"
    );

    // The same address in another case is the same person.
    let (status, body) = app
        .post("/api/v1/users", &user_body("ada@example.COM"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(error_of(&body).1.as_deref(), Some("email"));

    let (status, list) = app.get("/api/v1/users").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("argon2"));

    let id = user["id"].as_str().unwrap();
    let (status, changed) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"role": "viewer", "plugins": null}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "viewer");
    assert_eq!(changed["plugins"], Value::Null, "null lifts the limit");
    // By id works as well as by name.
    let (_, changed) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"plugins": [stripe["id"]]}),
        )
        .await;
    assert_eq!(changed["plugins"], json!(["stripe"]));

    let unknown = uuid::Uuid::now_v7();
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{unknown}"),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(status, 404);

    let (_, audit) = app.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"user.created"), "{actions:?}");
    assert!(actions.contains(&"user.changed"), "{actions:?}");
    assert!(!audit.to_string().contains("twelve chars ok"));

    // The list says when each user last signed in: never, until they do.
    let last_sign_in = |list: &Value| list["items"][0]["last_sign_in_at"].clone();
    assert_eq!(last_sign_in(&app.get("/api/v1/users").await.1), Value::Null);
    let before = chrono::Utc::now();
    app.sign_in("Ada@Example.com", "twelve chars ok").await;
    let at = last_sign_in(&app.get("/api/v1/users").await.1);
    let at: chrono::DateTime<chrono::Utc> = at.as_str().expect("a time").parse().unwrap();
    assert!(
        at >= before - chrono::Duration::seconds(1),
        "{at} vs {before}"
    );
}

async fn bad_user_input_names_its_field_and_adds_nobody(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    let cases = [
        (json!({"email": "not-an-email"}), "email"),
        (json!({"email": "a@b"}), "email"),
        (json!({"email": "two words@example.com"}), "email"),
        (json!({"password": "short"}), "password"),
        (json!({"role": "root"}), "role"),
        (json!({"plugins": ["stripe", "nope"]}), "plugins"),
    ];
    for (change, field) in cases {
        let mut body = user_body("ada@example.com");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = app.post("/api/v1/users", &body).await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(error_of(&answer).1.as_deref(), Some(field), "{answer}");
    }
    let (status, answer) = app
        .post(
            "/api/v1/users",
            &json!({"email": "ada@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_of(&answer).1.as_deref(), Some("password"));
    let (_, list) = app.get("/api/v1/users").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nobody was added"
    );

    let id = app.user("bob@example.com", "viewer", None).await;
    let (status, answer) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"password": "short"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&answer).1.as_deref()),
        (422, Some("password"))
    );
    let (status, _) = app
        .patch(&format!("/api/v1/users/{id}"), &json!({"role": "root"}))
        .await;
    assert_eq!(status, 422);
    // Nothing changed: the old password still signs in.
    app.sign_in("bob@example.com", PASSWORD).await;
}

async fn only_admins_manage_users(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = app.user("bob@example.com", "viewer", None).await;
    for role in [Role::Viewer, Role::Operator, Role::Ingest] {
        let key = app.key("k", role).await;
        let http = reqwest::Client::new();
        let answers = [
            http.get(app.url("/api/v1/users"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap(),
            http.post(app.url("/api/v1/users"))
                .bearer_auth(&key)
                .json(&user_body("eve@example.com"))
                .send()
                .await
                .unwrap(),
            http.patch(app.url(&format!("/api/v1/users/{id}")))
                .bearer_auth(&key)
                .json(&json!({"role": "admin"}))
                .send()
                .await
                .unwrap(),
        ];
        for r in answers {
            let (status, body) = common::status_json(r).await;
            assert_eq!(status, 403, "{role:?}: {body}");
        }
    }
    let (_, list) = app.get("/api/v1/users").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "no eve");
    assert_eq!(list["items"][0]["role"], "viewer", "bob is no admin");
}

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

fn user_add(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["user", "add"])
        .args(args)
        .env(
            "CALLTRAIL_DATABASE_URL",
            format!("sqlite://{}/ct.db?mode=rwc", dir.display()),
        )
        .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_command_line_adds_lists_and_disables_users() {
    let dir = tempfile::tempdir().unwrap();
    let out = user_add(
        dir.path(),
        &["--email", "ops@example.com", "--role", "operator"],
        "a password from stdin\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ops@example.com"));

    let short = user_add(
        dir.path(),
        &["--email", "x@example.com", "--role", "viewer"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));
    let unknown_plugin = user_add(
        dir.path(),
        &[
            "--email",
            "y@example.com",
            "--role",
            "viewer",
            "--plugins",
            "nope",
        ],
        "a password from stdin\n",
    );
    assert!(!unknown_plugin.status.success());
    assert!(String::from_utf8_lossy(&unknown_plugin.stderr).contains("plugins"));

    let url = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    let store = calltrail::storage::connect(&url).await.unwrap();
    let service = calltrail::service::Service::new(
        store,
        calltrail::service::SecretBox::from_hex(common::TEST_KEY).unwrap(),
        Default::default(),
    );
    let signed_in = service
        .sign_in("ops@example.com", "a password from stdin", None)
        .await
        .unwrap();
    assert_eq!(signed_in.principal.role, Role::Operator);
    assert!(service
        .sign_in("x@example.com", "short", None)
        .await
        .is_err());

    // Listed, then disabled from the command line: signing in no longer works.
    let user_cmd = |args: &[&str]| {
        Command::new(BIN)
            .arg("user")
            .args(args)
            .env("CALLTRAIL_DATABASE_URL", &url)
            .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
            .output()
            .unwrap()
    };
    let list = user_cmd(&["list"]);
    assert!(list.status.success());
    let table = String::from_utf8_lossy(&list.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("ops@example.com"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("operator") && row.contains("active"), "{row}");
    let disabled = user_cmd(&["disable", "--email", "OPS@example.com"]);
    assert!(
        disabled.status.success(),
        "{}",
        String::from_utf8_lossy(&disabled.stderr)
    );
    assert!(service
        .sign_in("ops@example.com", "a password from stdin", None)
        .await
        .is_err());
    let table = String::from_utf8_lossy(&user_cmd(&["list"]).stdout).to_string();
    assert!(
        table
            .lines()
            .any(|l| l.contains("ops@example.com") && l.contains("disabled")),
        "{table}"
    );
    let nobody = user_cmd(&["disable", "--email", "nobody@example.com"]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user with the email"));
}
