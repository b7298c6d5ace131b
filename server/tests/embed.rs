//! An entity's log panel embedded in another application: the signed link an
//! admin issues, the page it opens, and the server functions that page calls,
//! none of which ever shows another entity.

mod common;

use std::process::{Command, Stdio};

use app::server_fns::{EmbeddedPanel, GetTrigger, ListPlugins, ListTriggers, RerunTrigger};
use calltrail::service::embed::{EmbedClaims, EXPIRED_MESSAGE};
use calltrail::service::{EmbedKey, EmbedSettings, Role};
use chrono::{Duration, Utc};
use common::{error_of, status_json, Db, TestApp};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

on_both_databases!(
    a_token_for_an_entity_shows_its_triggers_and_no_others,
    a_token_for_one_entity_finds_nothing_on_another,
    an_expired_altered_or_missing_token_gets_a_page_that_says_so,
    the_panels_server_functions_read_only_its_entity,
    only_admins_issue_embed_tokens,
    a_refused_request_names_its_field_and_issues_nothing,
    issuing_a_token_is_audited_without_the_token,
    only_a_token_that_may_rerun_reruns_and_only_its_entity,
    entity_ids_that_need_encoding_make_links_that_work,
);

/// The key the test server seals embed tokens with, so a test can craft one.
const EMBED_KEY: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

async fn spawn(db: Db) -> TestApp {
    let app = TestApp::spawn(db).await;
    app.service.set_embed(EmbedSettings {
        key: EmbedKey::from_hex(EMBED_KEY).unwrap(),
        ..EmbedSettings::default()
    });
    app.plugin("stripe").await;
    app
}

fn invoice(id: &str) -> Value {
    json!({
        "plugin": "stripe",
        "event_type": "invoice.available",
        "entity": {"type": "invoice", "id": id},
        "payload": {"amount": 1},
    })
}

async fn trigger_id(app: &TestApp, entity_id: &str) -> String {
    app.trigger(&invoice(entity_id)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Issue a token as the admin; the whole answer.
async fn issue(app: &TestApp, entity_id: &str, can_rerun: bool) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/embed-tokens",
            &json!({"entity": {"type": "invoice", "id": entity_id}, "can_rerun": can_rerun}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn token(app: &TestApp, entity_id: &str, can_rerun: bool) -> String {
    issue(app, entity_id, can_rerun).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// GET a page without any key, as a browser in an iframe does.
async fn page(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

/// Call a server function as the panel does: no key, the token in its header.
async fn call(app: &TestApp, token: Option<&str>, path: &str, args: &Value) -> (u16, Value) {
    // The panel's own fetches are same-origin (it is served by Calltrail).
    let mut r = app
        .http
        .post(app.url(path))
        .header("Sec-Fetch-Site", "same-origin")
        .json(args);
    if let Some(t) = token {
        r = r.header("X-Calltrail-Embed", t);
    }
    status_json(r.send().await.unwrap()).await
}

/// A server function's error body, which is the error itself.
fn code_of(body: &Value) -> String {
    error_of(&json!({ "error": body })).0
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of triggers, got {page}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn claims(entity_id: &str, exp: chrono::DateTime<Utc>) -> EmbedClaims {
    EmbedClaims {
        jti: uuid::Uuid::now_v7().simple().to_string(),
        iat: exp - Duration::seconds(900),
        exp,
        entity_type: "invoice".into(),
        entity_id: entity_id.into(),
        can_rerun: false,
        issuer: "test-admin".into(),
    }
}

async fn a_token_for_an_entity_shows_its_triggers_and_no_others(db: Db) {
    let app = spawn(db).await;
    let a1 = trigger_id(&app, "INV-A").await;
    let a2 = trigger_id(&app, "INV-A").await;
    let b = trigger_id(&app, "INV-B").await;

    let issued = issue(&app, "INV-A", false).await;
    let url = issued["url"].as_str().unwrap();
    let token = issued["token"].as_str().unwrap();
    assert_eq!(url, format!("/embed/invoice/INV-A?token={token}"));
    assert!(token.starts_with("v4.local."), "{token}");
    let expires_at: chrono::DateTime<Utc> = issued["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires_at - Utc::now();
    assert!(
        left > Duration::seconds(880) && left <= Duration::seconds(900),
        "15 minutes by default: {left}"
    );

    let (status, headers, html) = page(&app, url).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&a1) && html.contains(&a2),
        "A's triggers are shown"
    );
    assert!(!html.contains(&b) && !html.contains("INV-B"), "B's are not");
    assert!(html.contains("invoice / INV-A"));
    assert!(
        !html.contains("href=\"/?entity_type"),
        "no way out of the panel into the log"
    );
    assert!(
        !html.contains("data-testid=\"rerun\""),
        "no re-run without can_rerun"
    );
    // Newest first.
    assert!(html.find(&a2).unwrap() < html.find(&a1).unwrap());

    // It may be framed by the allowed origins ('self' by default), and nothing else refuses it.
    let csp: Vec<_> = headers
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        csp.len() == 1 && csp[0].ends_with("; frame-ancestors 'self'"),
        "{csp:?}"
    );
    assert!(headers.get("x-frame-options").is_none());

    // The allow-list is the configured one, on refusals too.
    app.service.set_embed(EmbedSettings {
        key: EmbedKey::from_hex(EMBED_KEY).unwrap(),
        frame_ancestors: EmbedSettings::parse_origins(
            "https://crm.example.com, https://*.example.org",
        )
        .unwrap(),
        ..EmbedSettings::default()
    });
    for path in [url.to_string(), "/embed/invoice/INV-A?token=nope".into()] {
        let (_, headers, _) = page(&app, &path).await;
        let policies: Vec<&str> = headers
            .get_all("content-security-policy")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            policies.len(),
            1,
            "one policy, or browsers enforce both: {policies:?}"
        );
        assert!(
            policies[0].ends_with("frame-ancestors https://crm.example.com https://*.example.org"),
            "{policies:?}"
        );
        assert!(
            !policies[0].contains("'none'; frame")
                && !policies[0].contains("frame-ancestors 'none'")
        );
    }
    // The rest of the app does not get the panel's allow-list.
    let (_, headers, _) = page(&app, "/").await;
    assert!(headers
        .get_all("content-security-policy")
        .iter()
        .all(|v| !v.to_str().unwrap().contains("crm.example.com")));
}

async fn a_token_for_one_entity_finds_nothing_on_another(db: Db) {
    let app = spawn(db).await;
    let b = trigger_id(&app, "INV-B").await;
    let token = token(&app, "INV-A", false).await;
    for path in [
        format!("/embed/invoice/INV-B?token={token}"),
        format!("/embed/customer/INV-A?token={token}"),
    ] {
        let (status, _, html) = page(&app, &path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("There is nothing to show here."), "{html}");
        assert!(!html.contains(&b));
    }
}

async fn an_expired_altered_or_missing_token_gets_a_page_that_says_so(db: Db) {
    let app = spawn(db).await;
    let a = trigger_id(&app, "INV-A").await;
    let key = EmbedKey::from_hex(EMBED_KEY).unwrap();

    let expired = key.seal(&claims("INV-A", Utc::now() - Duration::seconds(1)));
    let (status, _, html) = page(&app, &format!("/embed/invoice/INV-A?token={expired}")).await;
    assert_eq!(status, 401);
    assert!(html.contains(EXPIRED_MESSAGE), "{html}");
    assert!(html.contains("This link has expired — ask for a new one."));
    assert!(!html.contains(&a));

    let good = token(&app, "INV-A", false).await;
    let mut altered = good.clone().into_bytes();
    let i = altered.len() - 10;
    altered[i] = if altered[i] == b'x' { b'y' } else { b'x' };
    let altered = String::from_utf8(altered).unwrap();
    let forged = EmbedKey::random().seal(&claims("INV-A", Utc::now() + Duration::hours(1)));
    for bad in [altered.as_str(), forged.as_str(), "v4.local.AAAA"] {
        let (status, _, html) = page(&app, &format!("/embed/invoice/INV-A?token={bad}")).await;
        assert_eq!(status, 401, "{bad}");
        assert!(html.contains("This link is not valid"), "{html}");
        assert!(!html.contains(&a));
    }

    let (status, _, html) = page(&app, "/embed/invoice/INV-A").await;
    assert_eq!(status, 401);
    assert!(html.contains("This link has no token"), "{html}");

    // The same refusals reach the panel's server functions.
    let (status, body) = call(
        &app,
        Some(&expired),
        ListTriggers::PATH,
        &json!({"filter": {}, "cursor": null}),
    )
    .await;
    assert_eq!((status, code_of(&body)), (401, "unauthorized".into()));
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let (status, body) = call(&app, Some(&altered), GetTrigger::PATH, &json!({"id": a})).await;
    assert_eq!((status, code_of(&body)), (401, "unauthorized".into()));
}

async fn the_panels_server_functions_read_only_its_entity(db: Db) {
    let app = spawn(db).await;
    let a = trigger_id(&app, "INV-A").await;
    let b = trigger_id(&app, "INV-B").await;
    let token = token(&app, "INV-A", false).await;
    let t = Some(token.as_str());

    let (status, body) = call(
        &app,
        t,
        ListTriggers::PATH,
        &json!({"filter": {}, "cursor": null}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), std::slice::from_ref(&a));
    for filter in [
        json!({"entity_type": "invoice", "entity_id": "INV-B"}),
        json!({"entity_type": "customer"}),
        json!({"q": "INV-B"}),
    ] {
        let (status, body) = call(
            &app,
            t,
            ListTriggers::PATH,
            &json!({"filter": filter, "cursor": null}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(ids(&body).is_empty(), "{filter}: {body}");
    }

    let (status, body) = call(&app, t, GetTrigger::PATH, &json!({"id": b})).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, "not_found".into()),
        "{body}"
    );
    let (status, body) = call(&app, t, GetTrigger::PATH, &json!({"id": a})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trigger"]["id"], a.as_str());

    let (status, body) = call(&app, t, EmbeddedPanel::PATH, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"entity": {"type": "invoice", "id": "INV-A"}, "can_rerun": false})
    );
    // Plugins' configuration is not the panel's to read.
    let (status, body) = call(&app, t, ListPlugins::PATH, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body[0].get("routes").is_none(), "{body}");
    // Without the token (and without a session), the browser is nobody.
    let (status, body) = call(&app, None, EmbeddedPanel::PATH, &json!({})).await;
    assert_eq!((status, code_of(&body)), (401, "unauthorized".into()));
    // The token opens the panel only: it is no API key.
    for (name, value) in [
        ("Authorization", format!("Bearer {token}")),
        ("X-Calltrail-Embed", token.clone()),
    ] {
        let r = app
            .http
            .get(app.url("/api/v1/triggers"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{name}");
    }
}

async fn only_admins_issue_embed_tokens(db: Db) {
    let app = spawn(db).await;
    let body = json!({"entity": {"type": "invoice", "id": "INV-A"}});
    for role in [Role::Operator, Role::Viewer, Role::Ingest] {
        let key = app.key(role.as_str(), role).await;
        let r = app
            .http
            .post(app.url("/api/v1/embed-tokens"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, out) = status_json(r).await;
        assert_eq!(status, 403, "{role:?}: {out}");
        assert_eq!(error_of(&out).0, "forbidden");
    }
    let r = app
        .http
        .post(app.url("/api/v1/embed-tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(!audit.to_string().contains("embed_token"), "{audit}");
}

async fn a_refused_request_names_its_field_and_issues_nothing(db: Db) {
    let app = spawn(db).await;
    let cases = [
        (
            json!({"entity": {"type": "invoice", "id": "A"}, "expires_in": 59}),
            "expires_in",
        ),
        (
            json!({"entity": {"type": "invoice", "id": "A"}, "expires_in": 86_401}),
            "expires_in",
        ),
        (
            json!({"entity": {"type": "invoice", "id": "A"}, "expires_in": "soon"}),
            "expires_in",
        ),
        (json!({"entity": {"type": " ", "id": "A"}}), "entity.type"),
        (
            json!({"entity": {"type": "invoice", "id": "x".repeat(257)}}),
            "entity.id",
        ),
        (json!({"entity": {"type": "invoice"}}), "entity.id"),
        (json!({"expires_in": 900}), "entity"),
        (
            json!({"entity": {"type": "invoice", "id": "A"}, "can_rerun": "yes"}),
            "can_rerun",
        ),
    ];
    for (body, field) in cases {
        let (status, out) = app.post("/api/v1/embed-tokens", &body).await;
        assert_eq!(status, 422, "{body}: {out}");
        let (code, named, _) = error_of(&out);
        assert_eq!(
            (code.as_str(), named.as_deref()),
            ("validation_failed", Some(field)),
            "{body}"
        );
    }
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(!audit.to_string().contains("embed_token"), "{audit}");
    // The bounds themselves are allowed.
    for expires_in in [60, 86_400] {
        let (status, out) = app
            .post(
                "/api/v1/embed-tokens",
                &json!({"entity": {"type": "invoice", "id": "A"}, "expires_in": expires_in}),
            )
            .await;
        assert_eq!(status, 201, "{out}");
    }
}

async fn issuing_a_token_is_audited_without_the_token(db: Db) {
    let app = spawn(db).await;
    let issued = issue(&app, "INV-A", true).await;
    let token = issued["token"].as_str().unwrap();
    let (status, audit) = app.get("/api/v1/audit").await;
    assert_eq!(status, 200, "{audit}");
    let row = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "embed_token.issue")
        .unwrap_or_else(|| panic!("an audit row: {audit}"))
        .clone();
    assert_eq!(row["actor"], "test-admin");
    assert_eq!(row["target"], "entity:invoice/INV-A");
    assert_eq!(row["details"]["can_rerun"], true);
    assert_eq!(row["details"]["expires_at"], issued["expires_at"]);
    assert_eq!(row["details"]["token_id"].as_str().unwrap().len(), 32);
    assert!(
        !audit.to_string().contains(token),
        "the token itself is not kept"
    );
}

async fn only_a_token_that_may_rerun_reruns_and_only_its_entity(db: Db) {
    let app = spawn(db).await;
    let a = trigger_id(&app, "INV-A").await;
    let b = trigger_id(&app, "INV-B").await;
    let args = |id: &str| json!({"id": id, "reason": "customer asked"});

    let viewer = token(&app, "INV-A", false).await;
    let (status, body) = call(&app, Some(&viewer), RerunTrigger::PATH, &args(&a)).await;
    assert_eq!(
        (status, code_of(&body)),
        (403, "forbidden".into()),
        "{body}"
    );

    let operator = token(&app, "INV-A", true).await;
    let (status, body) = call(&app, Some(&operator), RerunTrigger::PATH, &args(&b)).await;
    assert_eq!(
        (status, code_of(&body)),
        (404, "not_found".into()),
        "{body}"
    );
    let (status, body) = call(
        &app,
        Some(&operator),
        RerunTrigger::PATH,
        &json!({"id": a, "reason": " "}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "reason");
    let (status, body) = call(&app, Some(&operator), RerunTrigger::PATH, &args(&a)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], a.as_str());

    let (_, audit) = app.get("/api/v1/audit").await;
    let reruns: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "rerun")
        .collect();
    assert_eq!(reruns.len(), 1, "{audit}");
    assert_eq!(reruns[0]["target"], format!("trigger:{a}"));
    assert_eq!(reruns[0]["reason"], "customer asked");
    assert!(
        reruns[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("embed token "),
        "{}",
        reruns[0]
    );

    // The panel shows the re-run button only with such a token.
    let (_, _, html) = page(&app, &format!("/embed/invoice/INV-A?token={operator}")).await;
    assert!(html.contains("data-testid=\"rerun\""), "{html}");
    let (status, body) = call(&app, Some(&operator), EmbeddedPanel::PATH, &json!({})).await;
    assert_eq!((status, body["can_rerun"].clone()), (200, json!(true)));
}

async fn entity_ids_that_need_encoding_make_links_that_work(db: Db) {
    let app = spawn(db).await;
    app.service.set_embed(EmbedSettings {
        key: EmbedKey::from_hex(EMBED_KEY).unwrap(),
        public_url: EmbedSettings::parse_public_url("https://ct.example.com/").unwrap(),
        ..EmbedSettings::default()
    });
    let odd = trigger_id(&app, "2024/07 #5?").await;
    let plain = trigger_id(&app, "2024").await;
    let issued = issue(&app, "2024/07 #5?", false).await;
    let url = issued["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://ct.example.com")
        .unwrap_or_else(|| panic!("absolute with CALLTRAIL_PUBLIC_URL: {url}"));
    assert!(
        path.starts_with("/embed/invoice/2024%2F07%20%235%3F?token="),
        "{path}"
    );
    let (status, _, html) = page(&app, path).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&odd) && !html.contains(&plain));
}

/// `calltrail embed-token` against the database and key the server uses.
#[tokio::test]
async fn the_command_line_prints_a_link_that_opens_the_panel() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    let bin = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_calltrail"))
            .args(args)
            .env("CALLTRAIL_DATABASE_URL", &db_url)
            .env(
                "CALLTRAIL_SECRET_KEY_FILE",
                dir.path().join("calltrail.key"),
            )
            .env("CALLTRAIL_EMBED_KEY_FILE", dir.path().join("embed.key"))
            .env_remove("CALLTRAIL_SECRET_KEY")
            .env_remove("CALLTRAIL_EMBED_KEY")
            .env_remove("CALLTRAIL_PUBLIC_URL")
            .env_remove("CALLTRAIL_LISTEN")
            .output()
            .expect("the binary runs")
    };
    let out = bin(&["api-key", "create", "--name", "ops", "--role", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();

    let (_server, base) = common::serve_binary(
        Command::new(env!("CARGO_BIN_EXE_calltrail"))
            .arg("serve")
            .env("CALLTRAIL_DATABASE_URL", &db_url)
            .env(
                "CALLTRAIL_SECRET_KEY_FILE",
                dir.path().join("calltrail.key"),
            )
            .env("CALLTRAIL_EMBED_KEY_FILE", dir.path().join("embed.key"))
            .env("CALLTRAIL_EXECUTOR", "off")
            .env_remove("CALLTRAIL_EMBED_KEY")
            .stderr(Stdio::null()),
    )
    .await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    assert_eq!(
        post("/api/v1/plugins", common::plugin_body("stripe"))
            .await
            .unwrap()
            .status(),
        201
    );
    let r = post("/api/v1/triggers", invoice("INV-CLI")).await.unwrap();
    let trigger: Value = r.json().await.unwrap();
    let id = trigger["id"].as_str().unwrap();

    let listen = base.trim_start_matches("http://");
    let out = bin(&[
        "embed-token",
        "--entity",
        "invoice/INV-CLI",
        "--listen",
        listen,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let url = stdout.lines().last().unwrap();
    assert!(
        url.starts_with(&format!("{base}/embed/invoice/INV-CLI?token=v4.local.")),
        "{stdout}"
    );
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(id));

    let out = bin(&["embed-token", "--entity", "INV-CLI"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TYPE/ID"));
    let out = bin(&[
        "embed-token",
        "--entity",
        "invoice/INV-CLI",
        "--expires-in",
        "5",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expires_in"));
}
