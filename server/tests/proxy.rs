//! The executor goes direct whatever proxy the environment names: a proxy would
//! resolve provider names where the SSRF guard never sees them. Checked on the real
//! binary, started with HTTP_PROXY, HTTPS_PROXY and ALL_PROXY pointing at a listener
//! that counts every connection it gets.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get_json, KillOnDrop};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_calltrail");

/// A "proxy" that counts connections and closes them unanswered.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (format!("http://{addr}"), seen)
}

fn with_env(cmd: &mut Command, db: &str, proxy: &str) {
    cmd.env("CALLTRAIL_DATABASE_URL", db)
        .env("CALLTRAIL_SECRET_KEY", "22".repeat(32))
        .env("CALLTRAIL_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env_remove("CALLTRAIL_OUTBOUND_PROXY");
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env(var, proxy).env(var.to_lowercase(), proxy);
    }
    for var in ["NO_PROXY", "no_proxy"] {
        cmd.env_remove(var);
    }
}

/// Start `calltrail serve` on port 0 and read the address it says it listens on.
fn serve(db: &str, proxy: &str) -> (KillOnDrop, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    with_env(&mut cmd, db, proxy);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = KillOnDrop(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading to the end, so the server never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                let addr: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                    .collect();
                let _ = tx.send(addr);
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    (server, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_from_the_environment_are_ignored_and_the_call_goes_direct() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/proxy.db?mode=rwc", dir.path().display());
    let (proxy, proxied) = counting_listener().await;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext_1"})))
        .expect(1)
        .mount(&provider)
        .await;

    let mut create_key = Command::new(BIN);
    create_key.args(["api-key", "create", "--name", "proxy", "--role", "admin"]);
    with_env(&mut create_key, &db, &proxy);
    let out = create_key.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();

    let (_server, base) = serve(&db, &proxy);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let plugin = json!({
        "name": "direct", "base_url": provider.uri(), "timeout_ms": 2000,
        "default_route": {"method": "POST", "path": "/hook"},
        "retry_policy": {"schedule_secs": [1], "max_attempts": 2, "jitter_pct": 0,
                         "retry_after_cap_secs": 5}
    });
    let r = http
        .post(format!("{base}/api/v1/plugins"))
        .bearer_auth(&key)
        .json(&plugin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: serde_json::Value = http
        .post(format!("{base}/api/v1/triggers"))
        .bearer_auth(&key)
        .json(&json!({"plugin": "direct", "event_type": "ping", "payload": {"n": 1}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{base}/api/v1/triggers/{}", t["id"].as_str().unwrap());

    let deadline = Instant::now() + Duration::from_secs(20);
    let detail = loop {
        let d = get_json(&http, &url, &key).await;
        let status = d["trigger"]["status"].as_str().unwrap_or("").to_string();
        if status == "finished" || status == "erroneous" || Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(detail["trigger"]["status"], "finished", "{detail}");
    assert_eq!(detail["trigger"]["attempts"], 1);
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the proxy from the environment saw a connection"
    );
    assert_eq!(provider.received_requests().await.unwrap().len(), 1);
}
