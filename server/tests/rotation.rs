//! Key rotation through the real binary: `calltrail secrets rotate` re-seals every
//! stored secret (plugin auth, signing secret, sensitive headers, trigger payloads,
//! a migration's create items, and values from before owners or header sealing)
//! under the new key; it is idempotent; then the old key can be removed and
//! everything still executes.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use common::{exec_sql, fresh_db, get_json, query_text, serve_binary, wait_for, Db};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

/// A value sealed the way Calltrail sealed before owners (nonce ‖ ciphertext, no
/// associated data), as a stored payload holds it.
fn sealed_the_first_way(hex_key: &str, json_value: &Value) -> String {
    use base64::Engine;
    let cipher = XChaCha20Poly1305::new_from_slice(&hex::decode(hex_key).unwrap()).unwrap();
    let nonce = [9u8; 24];
    let mut bytes = nonce.to_vec();
    bytes.extend(
        cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                json_value.to_string().as_bytes(),
            )
            .unwrap(),
    );
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Keys<'a> {
    current: &'a str,
    previous: Option<&'a str>,
}

fn calltrail(db_url: &str, keys: &Keys) -> Command {
    let mut c = Command::new(BIN);
    c.env("CALLTRAIL_DATABASE_URL", db_url)
        .env("CALLTRAIL_SECRET_KEY", keys.current)
        .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env("RUST_LOG", "warn")
        .env_remove("CALLTRAIL_SECRET_KEY_PREVIOUS")
        .stderr(Stdio::inherit());
    if let Some(previous) = keys.previous {
        c.env("CALLTRAIL_SECRET_KEY_PREVIOUS", previous);
    }
    c
}

/// `calltrail secrets rotate`: whether it says everything is current, and what it printed.
fn rotate(db_url: &str, keys: &Keys) -> (bool, String) {
    let out = calltrail(db_url, keys)
        .args(["secrets", "rotate", "--batch", "2"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn post(http: &reqwest::Client, url: String, key: &str, body: Value) -> Value {
    let r = http
        .post(url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn after_rotation_the_old_key_can_go_and_everything_still_executes(db: Db) {
    let old = "0a".repeat(32);
    let new = "0b".repeat(32);
    let fresh = fresh_db(db).await;
    let url = fresh.url.clone();
    let only_old = Keys {
        current: &old,
        previous: None,
    };
    let provider = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext"})))
        .mount(&provider)
        .await;

    // Under the old key: a plugin with every kind of secret, triggers and a
    // create migration, none executed yet.
    let key = common::cli_admin_key(&mut calltrail(&url, &only_old));
    let http = reqwest::Client::new();
    {
        let mut serve = calltrail(&url, &only_old);
        serve.arg("serve").env("CALLTRAIL_EXECUTOR", "off");
        let (_server, base) = serve_binary(&mut serve).await;
        post(&http, format!("{base}/api/v1/plugins"), &key, json!({
            "name": "crm",
            "base_url": provider.uri(),
            "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
            "headers": {"X-Api-Key": "MK_HEADER"},
            "auth": {"type": "bearer", "token": "MK_AUTH"},
            "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }))
        .await;
        for (id, payload) in [
            ("T1", json!({"accessToken": "MK_PAYLOAD"})),
            ("T2", json!({"token": "replaced below"})),
        ] {
            post(
                &http,
                format!("{base}/api/v1/triggers"),
                &key,
                json!({
                    "plugin": "crm", "event_type": "invoice.available",
                    "entity": {"type": "invoice", "id": id}, "payload": payload,
                }),
            )
            .await;
        }
        let m = post(&http, format!("{base}/api/v1/migrations"), &key, json!({
            "reason": "backfill", "plugin": "crm", "event_type": "invoice.available",
            "rate_per_sec": 1000,
            "create": [{"entity": {"type": "invoice", "id": "T3"}, "payload": {"password": "MK_MIGRATION"}}],
        }))
        .await;
        let m_url = format!("{base}/api/v1/migrations/{}", m["id"].as_str().unwrap());
        wait_for(Duration::from_secs(20), "the migration to complete", || {
            let get = get_json(&http, m_url.clone(), &key);
            async move { (get.await["status"] == "completed").then_some(()) }
        })
        .await;
    }
    // What a database from before this change holds: a payload value sealed
    // without an owner, and a sensitive static header in plain text.
    let legacy = sealed_the_first_way(&old, &json!("MK_LEGACY_PAYLOAD"));
    let planted = exec_sql(
        &url,
        &format!(
            "UPDATE triggers SET payload = '{{\"token\":{{\"$sealed\":\"{legacy}\"}}}}' \
             WHERE entity_id = 'T2'"
        ),
    )
    .await;
    assert_eq!(planted, 1);
    exec_sql(
        &url,
        "UPDATE plugins SET headers = '{\"X-Api-Key\":\"[redacted]\",\"X-Legacy-Token\":\"MK_LEGACY_HEADER\"}'",
    )
    .await;

    // Without the old key nothing opens: rotation says so, changes nothing, and
    // fails, so the operator keeps the old key.
    let (ok, said) = rotate(
        &url,
        &Keys {
            current: &new,
            previous: None,
        },
    );
    assert!(!ok, "{said}");
    assert!(
        said.contains("plugins: 0 re-sealed, 0 already current, 0 changed meanwhile, 1 failed"),
        "{said}"
    );
    assert!(
        said.contains("triggers: 0 re-sealed, 0 already current, 0 changed meanwhile, 3 failed"),
        "{said}"
    );
    assert!(said.contains("keep the previous"), "{said}");

    let both = Keys {
        current: &new,
        previous: Some(&old),
    };
    let (ok, said) = rotate(&url, &both);
    assert!(ok, "{said}");
    assert!(
        said.contains("plugins: 1 re-sealed, 0 already current"),
        "{said}"
    );
    assert!(
        said.contains("triggers: 3 re-sealed, 0 already current"),
        "{said}"
    );
    assert!(
        said.contains("migrations: 1 re-sealed, 0 already current"),
        "{said}"
    );
    let headers = query_text(&url, "SELECT headers FROM plugins")
        .await
        .unwrap();
    assert!(
        !headers.contains("MK_LEGACY_HEADER"),
        "moved into the sealed map: {headers}"
    );

    // Again: nothing left to do (and a run cut short would finish here).
    let (ok, said) = rotate(&url, &both);
    assert!(ok, "{said}");
    assert!(
        said.contains("plugins: 0 re-sealed, 1 already current"),
        "{said}"
    );
    assert!(
        said.contains("triggers: 0 re-sealed, 3 already current"),
        "{said}"
    );
    assert!(
        said.contains("migrations: 0 re-sealed, 1 already current"),
        "{said}"
    );

    // The old key is gone: every trigger still executes with every secret.
    let mut serve = calltrail(
        &url,
        &Keys {
            current: &new,
            previous: None,
        },
    );
    serve.arg("serve");
    let (_server, base) = serve_binary(&mut serve).await;
    let finished = format!("{base}/api/v1/triggers?status=finished");
    wait_for(
        Duration::from_secs(20),
        "all three triggers to finish",
        || {
            let get = get_json(&http, finished.clone(), &key);
            async move { (get.await["items"].as_array()?.len() == 3).then_some(()) }
        },
    )
    .await;
    let received = provider.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let mut payloads = Vec::new();
    for r in &received {
        let h = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_string();
        assert_eq!(h("authorization"), "Bearer MK_AUTH");
        assert_eq!(h("x-api-key"), "MK_HEADER");
        assert_eq!(h("x-legacy-token"), "MK_LEGACY_HEADER");
        assert!(h("webhook-signature").starts_with("v1,"));
        payloads.push(String::from_utf8(r.body.clone()).unwrap());
    }
    payloads.sort();
    assert_eq!(
        payloads,
        [
            r#"{"accessToken":"MK_PAYLOAD"}"#,
            r#"{"password":"MK_MIGRATION"}"#,
            r#"{"token":"MK_LEGACY_PAYLOAD"}"#,
        ]
    );
    let plugin = get_json(&http, format!("{base}/api/v1/plugins/crm"), &key).await;
    assert_eq!(
        plugin["headers"],
        json!({"X-Api-Key": "[redacted]", "X-Legacy-Token": "[redacted]"})
    );
}

/// A database from before sensitive static headers were sealed holds them in
/// plain text: the first start with the key seals them, and they are still sent.
async fn plain_sensitive_headers_are_sealed_at_start_and_still_sent(db: Db) {
    let key_hex = "0c".repeat(32);
    let keys = Keys {
        current: &key_hex,
        previous: None,
    };
    let fresh = fresh_db(db).await;
    let url = fresh.url.clone();
    let provider = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext"})))
        .mount(&provider)
        .await;
    let key = common::cli_admin_key(&mut calltrail(&url, &keys));
    let http = reqwest::Client::new();
    {
        let mut serve = calltrail(&url, &keys);
        serve.arg("serve").env("CALLTRAIL_EXECUTOR", "off");
        let (_server, base) = serve_binary(&mut serve).await;
        post(&http, format!("{base}/api/v1/plugins"), &key, json!({
            "name": "crm",
            "base_url": provider.uri(),
            "routes": {"invoice.available": {"method": "POST", "path": "/v1/invoices/{entity_id}"}},
            "headers": {"X-Tenant": "acme"},
        }))
        .await;
    }
    exec_sql(
        &url,
        "UPDATE plugins SET headers = '{\"X-Api-Key\":\"MK_PLAIN_HEADER\",\"X-Tenant\":\"acme\"}'",
    )
    .await;

    let mut serve = calltrail(&url, &keys);
    serve.arg("serve");
    let (_server, base) = serve_binary(&mut serve).await;
    let headers = query_text(&url, "SELECT headers FROM plugins")
        .await
        .unwrap();
    assert_eq!(headers, r#"{"X-Api-Key":"[redacted]","X-Tenant":"acme"}"#);
    post(
        &http,
        format!("{base}/api/v1/triggers"),
        &key,
        json!({
            "plugin": "crm", "event_type": "invoice.available",
            "entity": {"type": "invoice", "id": "INV-1"}, "payload": {"n": 1},
        }),
    )
    .await;
    let finished = format!("{base}/api/v1/triggers?status=finished");
    wait_for(Duration::from_secs(20), "the trigger to finish", || {
        let get = get_json(&http, finished.clone(), &key);
        async move { (get.await["items"].as_array()?.len() == 1).then_some(()) }
    })
    .await;
    let received = provider.received_requests().await.unwrap();
    let sent = received[0]
        .headers
        .get("x-api-key")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(sent, "MK_PLAIN_HEADER");
}

on_both_databases!(
    after_rotation_the_old_key_can_go_and_everything_still_executes,
    plain_sensitive_headers_are_sealed_at_start_and_still_sent,
);
