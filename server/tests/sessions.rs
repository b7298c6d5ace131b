//! People in the browser: signing in and out, sessions that end when they
//! should, pages and server functions closed without one, the Host check and
//! the security headers. Real server, real HTTP, both databases.

mod common;

use std::time::Duration;

use app::server_fns::{GetTrigger, ListPlugins, ListTriggers};
use calltrail::service::Limits;
use common::{no_redirects, session_cookie, Db, TestApp, PASSWORD};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

on_both_databases!(
    signing_in_sets_a_session_cookie_and_opens_the_log,
    behind_https_the_session_cookie_is_secure,
    a_wrong_password_and_an_unknown_email_get_the_same_message,
    repeated_failed_sign_ins_are_slowed_down,
    signing_out_ends_the_session,
    disabling_a_user_ends_their_sessions_at_once,
    a_new_password_ends_every_session_of_that_user,
    an_idle_session_ends,
    a_session_ends_at_its_absolute_lifetime_however_much_it_is_used,
    pages_send_a_browser_without_a_session_to_sign_in,
    server_functions_need_a_session_and_a_request_from_our_own_pages,
    the_server_answers_only_to_its_own_host_names,
    every_response_carries_the_security_headers,
    server_functions_and_the_rest_api_agree_on_every_role_and_scope,
);

fn audit_actions(app_audit: &Value) -> Vec<String> {
    app_audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn signing_in_sets_a_session_cookie_and_opens_the_log(db: Db) {
    let app = TestApp::spawn(db).await;
    app.user("ada@example.com", "viewer", None).await;
    // Email case does not matter.
    let r = app
        .post_sign_in("Ada@Example.com", PASSWORD, "/?status=erroneous")
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/?status=erroneous");
    let set_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("calltrail_session="))
        .expect("a session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http on loopback: {set_cookie}"
    );
    let cookie = session_cookie(&r).unwrap();

    let page = no_redirects()
        .get(app.url("/"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"empty\""),
        "the (empty) log is shown"
    );
    assert!(
        html.contains("action=\"/logout\""),
        "with a sign-out button"
    );

    let (_, audit) = app.get("/api/v1/audit").await;
    let signed_in = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.signed_in")
        .expect("the sign-in is audited");
    assert_eq!(signed_in["actor"], "ada@example.com");
    assert_eq!(signed_in["client"], "127.0.0.1");

    // `next` leads only to pages of this site.
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let r = app.post_sign_in("ada@example.com", PASSWORD, evil).await;
        assert_eq!(r.headers()["location"], "/", "{evil}");
    }
}

async fn behind_https_the_session_cookie_is_secure(db: Db) {
    let app = TestApp::spawn_configured(db, Limits::default(), |s| {
        s.web.sessions.secure = true;
    })
    .await;
    app.user("ada@example.com", "viewer", None).await;
    let r = app.post_sign_in("ada@example.com", PASSWORD, "/").await;
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_message(db: Db) {
    let app = TestApp::spawn(db).await;
    app.user("ada@example.com", "viewer", None).await;
    let mut pages = Vec::new();
    for (email, password) in [
        ("ada@example.com", "WRONG-PASSWORD-PLANTED"),
        ("nobody@example.com", PASSWORD),
    ] {
        let r = app.post_sign_in(email, password, "/?plugin=stripe").await;
        assert_eq!(r.status(), 401, "{email}");
        assert!(session_cookie(&r).is_none(), "no session for {email}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("That email and password do not match an account."),
            "the page says why: {html}"
        );
        assert!(html.contains("<form"), "and shows the form again");
        assert!(
            html.contains("name=\"next\" value=\"/?plugin=stripe\""),
            "still going where it was going: {html}"
        );
        pages.push(html);
    }
    let (_, audit) = app.get("/api/v1/audit").await;
    let actions = audit_actions(&audit);
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "user.sign_in_failed")
            .count(),
        2,
        "{actions:?}"
    );
    assert!(
        !audit.to_string().contains("WRONG-PASSWORD-PLANTED"),
        "no password in the audit trail"
    );
}

async fn repeated_failed_sign_ins_are_slowed_down(db: Db) {
    let app = TestApp::spawn_configured(db, Limits::default(), |s| {
        s.web.sign_in.per_email_burst = 3;
    })
    .await;
    app.user("ada@example.com", "viewer", None).await;
    // Signing in successfully costs nothing.
    for _ in 0..5 {
        app.sign_in("ada@example.com", PASSWORD).await;
    }
    for _ in 0..3 {
        let r = app
            .post_sign_in("ada@example.com", "not the password", "/")
            .await;
        assert_eq!(r.status(), 401);
    }
    // The failure over the quota is slowed, and so is the right password after it.
    for password in ["still not it", PASSWORD] {
        let r = app.post_sign_in("ADA@example.com", password, "/").await;
        assert_eq!(r.status(), 429);
        assert!(session_cookie(&r).is_none());
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Too many failed sign-ins. Try again in"),
            "{html}"
        );
    }
    // Another email is not slowed by ada's failures.
    app.user("bob@example.com", "viewer", None).await;
    app.sign_in("bob@example.com", PASSWORD).await;
}

async fn signing_out_ends_the_session(db: Db) {
    let app = TestApp::spawn(db).await;
    app.user("ada@example.com", "viewer", None).await;
    let browser = app.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(browser.get("/").await.status(), 200);
    let r = browser.sign_out().await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    // The old cookie is worth nothing now, even if a copy was kept.
    assert_eq!(browser.get("/").await.status(), 303);
    let (status, _) = browser.call_fn(ListPlugins::PATH, &json!({})).await;
    assert_eq!(status, 401);
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(audit_actions(&audit).contains(&"user.signed_out".to_string()));
}

async fn disabling_a_user_ends_their_sessions_at_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = app.user("ada@example.com", "viewer", None).await;
    let first = app.sign_in("ada@example.com", PASSWORD).await;
    let second = app.sign_in("ada@example.com", PASSWORD).await;
    assert_ne!(
        first.cookie, second.cookie,
        "each sign-in has its own session"
    );
    let (status, user) = app
        .patch(&format!("/api/v1/users/{id}"), &json!({"disabled": true}))
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["disabled"], true);
    for browser in [&first, &second] {
        assert_eq!(browser.get("/").await.status(), 303);
        let (status, body) = browser.call_fn(ListPlugins::PATH, &json!({})).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    }
    let r = app.post_sign_in("ada@example.com", PASSWORD, "/").await;
    assert_eq!(r.status(), 401, "a disabled user cannot sign in");
    // Enabled again, they sign in again.
    app.patch(&format!("/api/v1/users/{id}"), &json!({"disabled": false}))
        .await;
    app.sign_in("ada@example.com", PASSWORD).await;
}

async fn a_new_password_ends_every_session_of_that_user(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = app.user("ada@example.com", "viewer", None).await;
    app.user("bob@example.com", "viewer", None).await;
    let ada = app.sign_in("ada@example.com", PASSWORD).await;
    let bob = app.sign_in("bob@example.com", PASSWORD).await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ada.get("/").await.status(), 303, "ada's session ended");
    assert_eq!(bob.get("/").await.status(), 200, "bob's did not");
    let r = app.post_sign_in("ada@example.com", PASSWORD, "/").await;
    assert_eq!(r.status(), 401, "the old password is gone");
    app.sign_in("ada@example.com", "a brand new passphrase")
        .await;
}

async fn an_idle_session_ends(db: Db) {
    let app = TestApp::spawn_configured(db, Limits::default(), |s| {
        s.web.sessions.idle = Duration::from_secs(1);
    })
    .await;
    app.user("ada@example.com", "viewer", None).await;
    let browser = app.sign_in("ada@example.com", PASSWORD).await;
    let r = browser.get("/").await;
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("calltrail_session="))
        .expect("each request renews the idle expiry");
    assert!(cookie.contains("Max-Age=1"), "{cookie}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let r = browser.get("/").await;
    assert_eq!(r.status(), 303, "an idle session has ended");
}

async fn a_session_ends_at_its_absolute_lifetime_however_much_it_is_used(db: Db) {
    let app = TestApp::spawn_configured(db, Limits::default(), |s| {
        s.web.sessions.absolute = Duration::from_secs(2);
    })
    .await;
    app.user("ada@example.com", "viewer", None).await;
    let browser = app.sign_in("ada@example.com", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(browser.get("/").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(browser.get("/").await.status(), 303);
}

async fn pages_send_a_browser_without_a_session_to_sign_in(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = no_redirects()
        .get(app.url("/?status=erroneous"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2F%3Fstatus%3Derroneous"
    );
    let r = no_redirects()
        .get(app.url("/login?next=%2F%3Fstatus%3Derroneous"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("method=\"post\""), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(
        html.contains("value=\"/?status=erroneous\""),
        "the form carries next: {html}"
    );
    assert!(
        !html.contains("class=\"filters\""),
        "no log without a session"
    );
    // Files the sign-in page needs are served to everyone.
    let r = no_redirects()
        .get(app.url("/pkg/none.css"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 303);
}

async fn server_functions_need_a_session_and_a_request_from_our_own_pages(db: Db) {
    let app = TestApp::spawn(db).await;
    let http = no_redirects();
    let r = http
        .post(app.url(ListPlugins::PATH))
        .header("Origin", &app.base)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized", "{body}");
    assert!(body["message"].as_str().unwrap().contains("sign in"));

    let browser = app.browser().await;
    let (status, _) = browser.call_fn(ListPlugins::PATH, &json!({})).await;
    assert_eq!(status, 200);
    // The same session, from another site's page, or saying nothing: refused.
    for (header, value) in [
        ("Origin", "http://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("X-Nothing", "x"),
    ] {
        let r = http
            .post(app.url(ListPlugins::PATH))
            .header("Cookie", &browser.cookie)
            .header(header, value)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "forbidden");
    }
    let r = http
        .post(app.url(ListPlugins::PATH))
        .header("Cookie", &browser.cookie)
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "what a browser sends from our own page");
    // Sign-in and sign-out forms from another site are refused too.
    let r = http
        .post(app.url("/login"))
        .header("Origin", "http://evil.example")
        .form(&[("email", "a@example.com"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(app.url("/logout"))
        .header("Cookie", &browser.cookie)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(browser.get("/").await.status(), 200, "still signed in");
}

async fn the_server_answers_only_to_its_own_host_names(db: Db) {
    let app = TestApp::spawn(db).await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    for path in [
        "/api/v1/plugins",
        "/healthz",
        "/login",
        "/",
        "/pkg/calltrail.css",
    ] {
        let r = no_redirects()
            .get(app.url(path))
            .header("Host", "evil.example")
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 421, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "wrong_host", "{body}");
        assert_eq!(body["error"]["field"], "Host");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = reqwest::Client::new()
            .get(app.url("/healthz"))
            .header("Host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }

    let app = TestApp::spawn_configured(db, Limits::default(), |s| {
        let addr = "127.0.0.1:1".parse().unwrap();
        s.hosts = calltrail::guard::AllowedHosts::new(addr, None, "calltrail.internal").unwrap();
    })
    .await;
    let r = reqwest::Client::new()
        .get(app.url("/healthz"))
        .header("Host", "calltrail.internal")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a configured name is answered");
}

async fn every_response_carries_the_security_headers(db: Db) {
    let app = TestApp::spawn(db).await;
    let browser = app.browser().await;
    let pages = [browser.get("/").await, browser.get("/login").await];
    for r in pages {
        let h = r.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap()
            .to_string();
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        let nonce = script_src
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("scripts are allowed by a nonce")
            .to_string();
        let html = r.text().await.unwrap();
        // Every inline script of the page carries this response's nonce.
        let scripts = html.matches("<script").count();
        assert!(scripts > 0);
        assert_eq!(
            html.matches(&format!("nonce=\"{nonce}\"")).count(),
            scripts,
            "{html}"
        );
    }
    let second = browser.get("/").await;
    let again = second.headers()["content-security-policy"].clone();
    let first = browser.get("/").await.headers()["content-security-policy"].clone();
    assert_ne!(again, first, "a new nonce each time");

    let (_, _) = app.get("/api/v1/plugins").await;
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/plugins"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

/// What one caller sees: trigger ids listed, whether the hubspot trigger is
/// found, plugin names.
#[derive(Debug, PartialEq)]
struct Seen {
    listed: Vec<String>,
    /// `found`, or the error's code.
    hubspot_found: String,
    plugins: Vec<String>,
}

/// `found` for a 200, else the code of the error (server functions answer every
/// refusal with 500 and the error itself; REST with its status and an envelope).
fn outcome(status: u16, body: &Value) -> String {
    if status == 200 {
        "found".into()
    } else {
        let code = body["error"]["code"].as_str().or(body["code"].as_str());
        code.unwrap_or("no code").to_string()
    }
}

fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn server_functions_and_the_rest_api_agree_on_every_role_and_scope(db: Db) {
    let app = TestApp::spawn(db).await;
    app.plugin("stripe").await;
    app.plugin("hubspot").await;
    let trigger = |plugin: &str, id: &str| {
        json!({"plugin": plugin, "event_type": "invoice.available",
               "entity": {"type": "invoice", "id": id}, "payload": {}})
    };
    app.trigger(&trigger("stripe", "INV-1")).await;
    let hubspot = app.trigger(&trigger("hubspot", "INV-2")).await;
    let hubspot_id = hubspot["id"].as_str().unwrap().to_string();

    for role in ["viewer", "operator", "admin", "ingest"] {
        let key = app
            .key(role, calltrail::service::Role::parse(role).unwrap())
            .await;
        let http = reqwest::Client::new();
        let get = |path: String| {
            let (http, key) = (http.clone(), key.clone());
            async move {
                let r = http.get(path).bearer_auth(key).send().await.unwrap();
                common::status_json(r).await
            }
        };
        let (_, list) = get(app.url("/api/v1/triggers")).await;
        let (status, found) = get(app.url(&format!("/api/v1/triggers/{hubspot_id}"))).await;
        let (_, plugins) = get(app.url("/api/v1/plugins")).await;
        let rest = Seen {
            listed: ids(&list),
            hubspot_found: outcome(status, &found),
            plugins: names(&plugins["items"]),
        };

        let email = format!("{role}@example.com");
        app.user(&email, role, None).await;
        let browser = app.sign_in(&email, PASSWORD).await;
        let (_, list) = browser
            .call_fn(ListTriggers::PATH, &json!({"filter": {}, "cursor": null}))
            .await;
        let (status, found) = browser
            .call_fn(GetTrigger::PATH, &json!({"id": hubspot_id}))
            .await;
        let (_, plugins) = browser.call_fn(ListPlugins::PATH, &json!({})).await;
        let pages = Seen {
            listed: ids(&list),
            hubspot_found: outcome(status, &found),
            plugins: names(&plugins),
        };
        assert_eq!(pages, rest, "a {role} sees the same through both");
        if role == "ingest" {
            assert!(pages.listed.is_empty(), "ingest reads only its own");
            assert_eq!(pages.hubspot_found, "not_found");
        } else {
            assert_eq!(pages.listed.len(), 2, "{role}");
            assert_eq!(pages.hubspot_found, "found");
        }
    }

    // A user limited to stripe: hubspot's trigger does not exist for them.
    app.user("stripe-only@example.com", "viewer", Some(vec!["stripe"]))
        .await;
    let browser = app.sign_in("stripe-only@example.com", PASSWORD).await;
    let (_, list) = browser
        .call_fn(ListTriggers::PATH, &json!({"filter": {}, "cursor": null}))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["plugin"], "stripe", "{list}");
    let (status, body) = browser
        .call_fn(GetTrigger::PATH, &json!({"id": hubspot_id}))
        .await;
    assert_eq!(outcome(status, &body), "not_found");
    let (_, plugins) = browser.call_fn(ListPlugins::PATH, &json!({})).await;
    assert_eq!(names(&plugins), ["stripe"]);
    // Asking for hubspot by filter shows nothing either.
    let (_, list) = browser
        .call_fn(
            ListTriggers::PATH,
            &json!({"filter": {"plugin": ["hubspot"]}, "cursor": null}),
        )
        .await;
    assert!(
        list["items"]
            .as_array()
            .is_none_or(|items| items.is_empty()),
        "{list}"
    );
    assert!(!list.to_string().contains(&hubspot_id), "{list}");
}

/// The settings as `calltrail serve` reads them: the public URL's host and the
/// extra host names are answered to, and an https public URL makes cookies Secure.
#[tokio::test]
async fn serve_reads_the_public_url_and_allowed_hosts() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_calltrail");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/ct.db?mode=rwc", dir.path().display());
    let mut add = Command::new(BIN)
        .args([
            "user",
            "add",
            "--email",
            "ada@example.com",
            "--role",
            "viewer",
        ])
        .env("CALLTRAIL_DATABASE_URL", &db)
        .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());

    let (_server, base) = common::serve_binary(
        Command::new(BIN)
            .arg("serve")
            .env("CALLTRAIL_DATABASE_URL", &db)
            .env("CALLTRAIL_SECRET_KEY", common::TEST_KEY)
            .env("CALLTRAIL_EXECUTOR", "off")
            .env("CALLTRAIL_PUBLIC_URL", "https://calltrail.example.com")
            .env("CALLTRAIL_ALLOWED_HOSTS", "ops.internal")
            .stderr(Stdio::null()),
    )
    .await;
    let http = no_redirects();
    for (host, status) in [
        ("calltrail.example.com", 200),
        ("ops.internal", 200),
        ("evil.example", 421),
    ] {
        let r = http
            .get(format!("{base}/healthz"))
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{host}");
    }
    let r = http
        .post(format!("{base}/login"))
        .header("Origin", &base)
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}
