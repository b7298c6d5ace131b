//! Secrets that cannot leak: distinct marker secrets planted wherever an
//! application or an admin puts credentials reach the provider (where they are
//! meant to) through the real binary, and appear nowhere else: not in the
//! database's bytes, an API answer, an export, a page, a server function, or the
//! server's log.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use app::server_fns::{GetTrigger, ListPlugins, ListTriggers};
use calltrail::executor::outbound::AllowList;
use calltrail::executor::{Executor, ExecutorConfig};
use calltrail::service::{Limits, PluginPatch, SecretBox, Service};
use common::{
    admin, error_of, exec_sql, fresh_db, query_text, serve_binary, wait_for, Db, TestApp,
};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

/// One marker per place a secret is planted, none a part of another.
struct Markers {
    auth: String,
    header: String,
    payload: String,
    form: String,
    query: String,
    error_query: String,
    query_auth: String,
    route: String,
    request_query: String,
}

impl Markers {
    fn new() -> Markers {
        let m = |what: &str| format!("MK{what}{}", uuid::Uuid::now_v7().simple());
        Markers {
            auth: m("auth"),
            header: m("header"),
            payload: m("payload"),
            form: m("form"),
            query: m("query"),
            error_query: m("errquery"),
            query_auth: m("queryauth"),
            route: m("route"),
            request_query: m("reqquery"),
        }
    }

    fn all(&self) -> [(&'static str, &str); 9] {
        [
            ("plugin auth token", &self.auth),
            ("sensitive static header", &self.header),
            ("camelCase payload key", &self.payload),
            ("form-encoded reported body", &self.form),
            ("reported call URL query", &self.query),
            ("URL in a reported error", &self.error_query),
            ("query-parameter auth", &self.query_auth),
            ("route path query", &self.route),
            (
                "query string of a request to Calltrail",
                &self.request_query,
            ),
        ]
    }

    /// Fail naming the marker and where it was found.
    fn assert_absent(&self, place: &str, haystack: &str) {
        for (what, marker) in self.all() {
            assert!(
                !haystack.contains(marker),
                "the {what} secret appears in {place}"
            );
        }
    }
}

/// What a signed-in browser reads: the pages and the server functions they call.
async fn browser_reads(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    trigger_ids: &[String],
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for page in ["/", "/triggers", "/plugins"] {
        let r = http
            .get(format!("{base}{page}"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        seen.push((format!("page {page}"), r.text().await.unwrap()));
    }
    let mut calls = vec![
        (ListTriggers::PATH, json!({"filter": {}, "cursor": null})),
        (ListPlugins::PATH, json!({})),
    ];
    calls.extend(
        trigger_ids
            .iter()
            .map(|id| (GetTrigger::PATH, json!({ "id": id }))),
    );
    for (path, args) in calls {
        let r = http
            .post(format!("{base}{path}"))
            .header("Cookie", cookie)
            .header("Origin", base)
            .json(&args)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        seen.push((format!("server function {path}"), text));
    }
    seen
}

async fn marker_secrets_reach_the_provider_and_nowhere_else(db: Db) {
    let marks = Markers::new();
    let fresh = fresh_db(db).await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let command = || {
        let mut c = Command::new(BIN);
        c.env("CALLTRAIL_DATABASE_URL", &fresh.url)
            .env("CALLTRAIL_SECRET_KEY", "5a".repeat(32))
            .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
            // As talkative as an operator chasing a problem would make it.
            .env("RUST_LOG", "debug")
            .env("LEPTOS_SITE_ROOT", "target/site");
        c
    };
    let key = common::cli_admin_key(&mut command());
    let mut add_user = command()
        .args([
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = add_user.stdin.take().unwrap();
        writeln!(stdin, "{}", common::PASSWORD).unwrap();
    }
    assert!(add_user.wait().unwrap().success());
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, base) = serve_binary(command().arg("serve").stderr(log)).await;

    let provider = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext_1"})))
        .mount(&provider)
        .await;

    let http = reqwest::Client::new();
    let mut answers: Vec<(String, String)> = Vec::new();
    let send = |r: reqwest::RequestBuilder, what: &str| {
        let what = what.to_string();
        let r = r.bearer_auth(&key);
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (what, status, text)
        }
    };
    // Every answer is kept, to be searched for markers at the end.
    fn keep(answers: &mut Vec<(String, String)>, answer: (String, u16, String)) -> (u16, Value) {
        let (what, status, text) = answer;
        let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
        answers.push((what, text));
        (status, value)
    }

    // A route that would keep a credential in its query string is refused, without
    // echoing it; the same credential as query-parameter auth is sealed.
    let crm = |path: &str| {
        json!({
            "name": "crm",
            "base_url": provider.uri(),
            "routes": {"invoice.available": {"method": "POST", "path": path}},
            "headers": {"X-Auth-Token": marks.header, "Accept": "application/json"},
            "auth": {"type": "bearer", "token": marks.auth},
        })
    };
    let refused = send(
        http.post(format!("{base}/api/v1/plugins"))
            .json(&crm(&format!(
                "/v1/invoices/{{entity_id}}?api_key={}",
                marks.route
            ))),
        "refused plugin",
    )
    .await;
    let (status, body) = keep(&mut answers, refused);
    assert_eq!(status, 422, "{body}");
    let (_, field, _) = error_of(&body);
    assert_eq!(
        field.as_deref(),
        Some("routes.invoice.available.path"),
        "{body}"
    );

    let created = send(
        http.post(format!("{base}/api/v1/plugins"))
            .json(&crm("/v1/invoices/{entity_id}")),
        "create plugin crm",
    )
    .await;
    let (status, plugin) = keep(&mut answers, created);
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["headers"]["X-Auth-Token"], "[redacted]", "{plugin}");
    assert_eq!(plugin["headers"]["Accept"], "application/json", "{plugin}");

    let legacy = send(
        http.post(format!("{base}/api/v1/plugins")).json(&json!({
            "name": "legacy",
            "base_url": provider.uri(),
            "routes": {"invoice.available": {"method": "GET", "path": "/legacy/{entity_id}?page=1"}},
            "auth": {"type": "query", "name": "api_key", "value": marks.query_auth},
        })),
        "create plugin legacy",
    )
    .await;
    let (status, body) = keep(&mut answers, legacy);
    assert_eq!(status, 201, "{body}");

    let mut trigger_ids = Vec::new();
    for plugin in ["crm", "legacy"] {
        let made = send(
            http.post(format!("{base}/api/v1/triggers")).json(&json!({
                "plugin": plugin, "event_type": "invoice.available",
                "entity": {"type": "invoice", "id": "INV-1"},
                "payload": {"accessToken": marks.payload, "amount": 5},
            })),
            "create trigger",
        )
        .await;
        let (status, t) = keep(&mut answers, made);
        assert_eq!(status, 201, "{t}");
        trigger_ids.push(t["id"].as_str().unwrap().to_string());
    }

    // Calls the application made itself: a form body, a token in the URL, and a
    // transport error that names the URL it failed on.
    let reported = [
        json!({
            "plugin": "crm", "event_type": "token.fetched", "payload": {"n": 1},
            "request": {"method": "POST",
                        "url": format!("https://auth.example.com/oauth/token?token={}&tenant=acme", marks.query),
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                        "body": format!("grant_type=client_credentials&client_id=app&client_secret={}", marks.form)},
            "response": {"status": 200, "body": "{\"token_type\":\"Bearer\"}"},
        }),
        json!({
            "plugin": "crm", "event_type": "token.fetched", "payload": {"n": 2},
            "request": {"method": "GET", "url": "https://auth.example.com/ping"},
            "response": null,
            "error": format!("error sending request for url (https://auth.example.com/ping?sig={}): connection refused", marks.error_query),
        }),
    ];
    for call in reported {
        let done = send(
            http.post(format!("{base}/api/v1/calls")).json(&call),
            "report a call",
        )
        .await;
        let (status, t) = keep(&mut answers, done);
        assert_eq!(status, 201, "{t}");
        trigger_ids.push(t["id"].as_str().unwrap().to_string());
    }

    // Both executed triggers finish at the provider.
    for id in &trigger_ids[..2] {
        let url = format!("{base}/api/v1/triggers/{id}");
        wait_for(Duration::from_secs(20), "the trigger to finish", || {
            let r = http.get(&url).bearer_auth(&key).send();
            async move {
                let d: Value = r.await.ok()?.json().await.ok()?;
                (d["trigger"]["status"] == "finished").then_some(())
            }
        })
        .await;
    }

    // The provider got every secret meant for it.
    let received = provider.received_requests().await.unwrap();
    let to_crm = received
        .iter()
        .find(|r| r.url.path() == "/v1/invoices/INV-1")
        .expect("crm was called");
    let header = |name: &str| {
        to_crm
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(header("authorization"), format!("Bearer {}", marks.auth));
    assert_eq!(header("x-auth-token"), marks.header);
    assert_eq!(header("accept"), "application/json");
    let sent: Value = serde_json::from_slice(&to_crm.body).unwrap();
    assert_eq!(sent["accessToken"], marks.payload.as_str());
    let to_legacy = received
        .iter()
        .find(|r| r.url.path() == "/legacy/INV-1")
        .expect("legacy was called");
    let query: Vec<(String, String)> = to_legacy.url.query_pairs().into_owned().collect();
    assert!(query.contains(&("page".into(), "1".into())), "{query:?}");
    assert!(
        query.contains(&("api_key".into(), marks.query_auth.clone())),
        "{query:?}"
    );

    // What an operator reads says the secrets were there, redacted.
    for id in &trigger_ids {
        let read = send(
            http.get(format!("{base}/api/v1/triggers/{id}")),
            "trigger detail",
        )
        .await;
        keep(&mut answers, read);
    }
    let error_detail: Value = serde_json::from_str(&answers.last().unwrap().1).unwrap();
    let error = error_detail["trigger"]["last_error"]["message"]
        .as_str()
        .unwrap();
    assert!(
        error.contains("?sig=[redacted]): connection refused"),
        "{error}"
    );
    let crm_detail: Value = serde_json::from_str(
        &answers
            .iter()
            .find(|(w, t)| w == "trigger detail" && t.contains(&trigger_ids[0]))
            .unwrap()
            .1,
    )
    .unwrap();
    let request = &crm_detail["attempts"][0]["request"];
    assert_eq!(
        request["headers"]["authorization"], "[redacted]",
        "{request}"
    );
    assert_eq!(
        request["headers"]["x-auth-token"], "[redacted]",
        "{request}"
    );
    assert_eq!(
        crm_detail["trigger"]["payload"]["accessToken"],
        "[redacted]"
    );
    let legacy_detail: Value = serde_json::from_str(
        &answers
            .iter()
            .find(|(w, t)| w == "trigger detail" && t.contains(&trigger_ids[1]))
            .unwrap()
            .1,
    )
    .unwrap();
    let url = legacy_detail["attempts"][0]["request"]["url"]
        .as_str()
        .unwrap();
    assert!(url.ends_with("?page=1&api_key=[redacted]"), "{url}");
    let form_detail: Value = serde_json::from_str(
        &answers
            .iter()
            .find(|(w, t)| w == "trigger detail" && t.contains(&trigger_ids[2]))
            .unwrap()
            .1,
    )
    .unwrap();
    let request = &form_detail["attempts"][0]["request"];
    assert_eq!(
        request["body"],
        "grant_type=client_credentials&client_id=app&client_secret=[redacted]"
    );
    assert_eq!(
        request["url"],
        "https://auth.example.com/oauth/token?token=[redacted]&tenant=acme"
    );

    // A link with a token in it (an embed URL, a pasted link) is not logged whole.
    let linked = http
        .get(format!("{base}/healthz?token={}", marks.request_query))
        .send()
        .await
        .unwrap();
    assert!(linked.status().is_success());
    for path in [
        "/api/v1/triggers".to_string(),
        "/api/v1/plugins".to_string(),
        "/api/v1/plugins/crm".to_string(),
        "/api/v1/plugins/legacy".to_string(),
        "/api/v1/audit".to_string(),
        "/api/v1/openapi.json".to_string(),
        "/api/v1/triggers/export?format=csv".to_string(),
        "/api/v1/triggers/export?format=ndjson".to_string(),
    ] {
        let read = send(http.get(format!("{base}{path}")), &format!("GET {path}")).await;
        keep(&mut answers, read);
    }
    let export = &answers
        .iter()
        .find(|(what, _)| what.ends_with("format=ndjson"))
        .unwrap()
        .1;
    assert_eq!(
        export.lines().count(),
        4,
        "the export holds every trigger: {export}"
    );
    for (what, text) in &answers {
        marks.assert_absent(&format!("the API answer to {what}"), text);
    }
    // Each place searched holds what was recorded (so an empty read cannot pass).
    let signed_in = common::no_redirects()
        .post(format!("{base}/login"))
        .header("Origin", &base)
        .form(&[
            ("email", "ops@example.com"),
            ("password", common::PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = common::session_cookie(&signed_in).expect("signing in sets the session cookie");
    let reads = browser_reads(&http, &base, &cookie, &trigger_ids).await;
    assert!(reads[0].1.contains("<html"), "{}", reads[0].1);
    assert!(reads.iter().any(|(_, text)| text.contains(&trigger_ids[0])));
    for (what, text) in reads {
        marks.assert_absent(&what, &text);
    }
    let bytes = common::database_bytes(db, &fresh.url);
    assert!(
        bytes
            .iter()
            .any(|(_, text)| text.contains("auth.example.com/oauth/token")),
        "the database's bytes were read"
    );
    for (what, text) in bytes {
        marks.assert_absent(&what, &text);
    }
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("listening") && log.contains("DEBUG"),
        "the log was captured, debug lines included"
    );
    marks.assert_absent("the server's log", &log);
}

fn executor(app: &TestApp) -> Executor {
    Executor::new(
        app.service.clone(),
        ExecutorConfig {
            allow: Arc::new(AllowList::parse("127.0.0.0/8").unwrap()),
            ..Default::default()
        },
    )
}

async fn provider_answering_200() -> MockServer {
    let provider = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext_1"})))
        .mount(&provider)
        .await;
    provider
}

fn crm_plugin(base: &str, headers: Value) -> Value {
    json!({
        "name": "crm",
        "base_url": base,
        "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
        "headers": headers,
        "auth": {"type": "bearer", "token": "sk_live_crm"},
        "retry_policy": {"schedule_secs": [60], "max_attempts": 3, "jitter_pct": 0,
                         "retry_after_cap_secs": 60},
    })
}

fn invoice(id: &str, payload: Value) -> Value {
    json!({"plugin": "crm", "event_type": "invoice.available",
           "entity": {"type": "invoice", "id": id}, "payload": payload})
}

/// A sealed value copied (by someone with write access to the database) from one
/// trigger's payload into another's does not open there: the executor records an
/// `internal` failure and sends nothing, rather than handing the secret over.
async fn a_sealed_value_copied_into_another_trigger_is_never_sent(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = provider_answering_200().await;
    let (status, body) = app
        .post("/api/v1/plugins", &crm_plugin(&provider.uri(), json!({})))
        .await;
    assert_eq!(status, 201, "{body}");
    app.trigger(&invoice("A", json!({"token": "MK_A_TOKEN", "to": "a"})))
        .await;
    let b = app
        .trigger(&invoice("B", json!({"token": "MK_B_TOKEN", "to": "b"})))
        .await;
    let copied = exec_sql(
        &app.db_url,
        "UPDATE triggers SET payload = (SELECT payload FROM triggers WHERE entity_id = 'A') \
         WHERE entity_id = 'B'",
    )
    .await;
    assert_eq!(copied, 1);

    let ex = executor(&app);
    assert_eq!(ex.step().await.unwrap(), 2);
    let received = provider.received_requests().await.unwrap();
    let paths: Vec<&str> = received.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, ["/v1/invoices/A"], "B's call is never sent");
    let sent: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(sent["token"], "MK_A_TOKEN");

    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", b["id"].as_str().unwrap()))
        .await;
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["class"], "internal", "{d}");
    let error = d["trigger"]["last_error"]["message"].as_str().unwrap();
    assert!(error.contains("cannot be unsealed"), "{error}");
    assert!(!d.to_string().contains("MK_A_TOKEN"), "{d}");
}

/// A payload may not bring its own sealed values: only Calltrail seals.
async fn a_payload_that_brings_a_sealed_value_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    app.post(
        "/api/v1/plugins",
        &crm_plugin("https://api.example.com", json!({})),
    )
    .await;
    let (status, body) = app
        .post(
            "/api/v1/triggers",
            &invoice("A", json!({"nested": [{"$sealed": "AAAA"}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (code, field, _) = error_of(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("validation_failed", Some("payload"))
    );
    let (_, list) = app.get("/api/v1/triggers").await;
    assert_eq!(list["items"], json!([]), "nothing was written");
}

/// Sensitive static headers (by their names, or named by the plugin's redaction
/// rules) are sealed, shown as `[redacted]`, kept when an admin sends the plugin
/// back as shown, and still sent to the provider.
async fn a_sensitive_static_header_is_sealed_shown_redacted_and_still_sent(db: Db) {
    let app = TestApp::spawn(db).await;
    let provider = provider_answering_200().await;
    let headers = json!({"X-Api-Key": "MK_HEADER_KEY", "Cookie": "sid=MK_COOKIE",
                         "X-Partner": "MK_PARTNER", "X-Tenant": "acme"});
    let mut body = crm_plugin(&provider.uri(), headers);
    body["redact"] = json!({"headers": ["x-partner"], "json_pointers": []});
    let (status, plugin) = app.post("/api/v1/plugins", &body).await;
    assert_eq!(status, 201, "{plugin}");
    let shown = json!({"X-Api-Key": "[redacted]", "Cookie": "[redacted]",
                       "X-Partner": "[redacted]", "X-Tenant": "acme"});
    assert_eq!(plugin["headers"], shown);
    let (_, got) = app.get("/api/v1/plugins/crm").await;
    assert_eq!(got["headers"], shown);
    let stored = query_text(&app.db_url, "SELECT headers FROM plugins")
        .await
        .unwrap();
    assert!(!stored.contains("MK_"), "{stored}");

    // Sent back as shown, with one plain header changed: the secrets stay.
    let (status, patched) = app
        .patch(
            "/api/v1/plugins/crm",
            &json!({"headers": {"X-Api-Key": "[redacted]", "Cookie": "[redacted]",
                                "X-Partner": "[redacted]", "X-Tenant": "globex"}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    // A new sensitive header cannot be "[redacted]": there is nothing to keep.
    let (status, body) = app
        .patch(
            "/api/v1/plugins/crm",
            &json!({"headers": {"X-Api-Key": "[redacted]", "X-Auth-Token": "[redacted]"}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, field, _) = error_of(&body);
    assert_eq!(field.as_deref(), Some("headers.X-Auth-Token"));

    let t = app.trigger(&invoice("A", json!({"n": 1}))).await;
    executor(&app).step().await.unwrap();
    let received = provider.received_requests().await.unwrap();
    let h = |name: &str| {
        received[0]
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(h("x-api-key"), "MK_HEADER_KEY");
    assert_eq!(h("cookie"), "sid=MK_COOKIE");
    assert_eq!(h("x-partner"), "MK_PARTNER");
    assert_eq!(h("x-tenant"), "globex");
    let (_, d) = app
        .get(&format!("/api/v1/triggers/{}", t["id"].as_str().unwrap()))
        .await;
    let recorded = &d["attempts"][0]["request"]["headers"];
    assert_eq!(recorded["x-api-key"], "[redacted]", "{recorded}");
    assert_eq!(recorded["cookie"], "[redacted]", "{recorded}");
    assert_eq!(recorded["x-partner"], "[redacted]", "{recorded}");
    assert_eq!(recorded["x-tenant"], "globex", "{recorded}");
}

/// When the key that sealed a plugin's headers is gone, an admin can still give
/// them again; a header left as `[redacted]` is refused by name, never sealed as
/// the word itself.
async fn headers_sealed_under_a_lost_key_can_be_given_again(db: Db) {
    let app = TestApp::spawn(db).await;
    let body = crm_plugin("https://api.example.com", json!({"X-Api-Key": "MK_OLD"}));
    let (status, _) = app.post("/api/v1/plugins", &body).await;
    assert_eq!(status, 201);
    let store = calltrail::storage::connect(&app.db_url).await.unwrap();
    let other_key = Service::new(store, SecretBox::random(), Limits::default());
    let patch = |v: Value| serde_json::from_value::<PluginPatch>(v).unwrap();

    let kept = other_key
        .update_plugin(&admin(), "crm", patch(json!({"display_name": "CRM"})))
        .await
        .unwrap_err();
    assert_eq!(kept.field(), Some("headers.X-Api-Key"), "{kept:?}");
    let given = other_key
        .update_plugin(
            &admin(),
            "crm",
            patch(json!({"headers": {"X-Api-Key": "MK_NEW"},
                         "auth": {"type": "bearer", "token": "sk_new"}})),
        )
        .await
        .unwrap();
    assert_eq!(given.headers["X-Api-Key"], "[redacted]");
    let record = other_key
        .store()
        .reads()
        .get_plugin(&calltrail::storage::PluginKey::Name("crm".into()))
        .await
        .unwrap()
        .unwrap();
    let opened = other_key.unseal(&record).unwrap();
    let headers: Vec<(&str, &str)> = opened
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()))
        .collect();
    assert_eq!(headers, [("X-Api-Key", "MK_NEW")]);
}

/// A credential written into a plugin's URL would be stored in plain text: it is
/// refused, naming the field and never echoing the value; query auth is the way.
async fn a_credential_in_a_plugin_url_is_refused_without_echoing_it(db: Db) {
    let app = TestApp::spawn(db).await;
    let cases = [
        ("https://ann:MK_PW@api.example.com", None, "base_url"),
        ("https://api.example.com/?key=MK_KEY", None, "base_url"),
        (
            "https://api.example.com",
            Some("/v1/x?page=1&access_token=MK_TOKEN"),
            "routes.invoice.available.path",
        ),
    ];
    for (base_url, path, field) in cases {
        let mut body = crm_plugin(base_url, json!({}));
        if let Some(path) = path {
            body["routes"]["invoice.available"]["path"] = json!(path);
        }
        let (status, answer) = app.post("/api/v1/plugins", &body).await;
        assert_eq!(status, 422, "{answer}");
        let (_, got, _) = error_of(&answer);
        assert_eq!(got.as_deref(), Some(field), "{answer}");
        assert!(!answer.to_string().contains("MK_"), "{answer}");
    }
    let mut fine = crm_plugin("https://api.example.com/?region=eu", json!({}));
    fine["routes"]["invoice.available"]["path"] = json!("/v1/x?page=1&monkey=2");
    let (status, answer) = app.post("/api/v1/plugins", &fine).await;
    assert_eq!(
        status, 201,
        "ordinary query parameters stay allowed: {answer}"
    );
}

on_both_databases!(
    a_credential_in_a_plugin_url_is_refused_without_echoing_it,
    headers_sealed_under_a_lost_key_can_be_given_again,
    marker_secrets_reach_the_provider_and_nowhere_else,
    a_sealed_value_copied_into_another_trigger_is_never_sent,
    a_payload_that_brings_a_sealed_value_is_refused,
    a_sensitive_static_header_is_sealed_shown_redacted_and_still_sent,
);
