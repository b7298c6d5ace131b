//! The admin pages' server functions (audit trail, users, API keys, embed links)
//! over real HTTP, as a signed-in browser calls them: they do what the REST calls
//! do, audited the same way, refuse everyone but admins, and never hand back a
//! password or a stored key.

mod common;

use app::server_fns::{
    ChangeUser, CreateUser, IssueApiKey, IssueEmbedToken, ListApiKeys, ListUsers, ReadAuditTrail,
    RevokeApiKey,
};
use common::{Browser, Db, TestApp, PASSWORD};
use leptos::server_fn::ServerFn;
use serde_json::{json, Value};

on_both_databases!(
    keys_issued_from_the_pages_work_once_shown_and_stop_when_revoked,
    users_added_from_the_pages_sign_in_and_bad_input_names_its_field,
    an_admin_cannot_disable_or_demote_themselves,
    the_admin_functions_refuse_everyone_but_admins,
    an_embed_link_issued_from_the_pages_opens_its_panel,
);

/// An admin user signed in, and their id.
async fn admin_browser(app: &TestApp) -> (Browser, String, String) {
    let email = format!("admin-{}@example.com", uuid::Uuid::now_v7().simple());
    let id = app.user(&email, "admin", None).await;
    (app.sign_in(&email, PASSWORD).await, id, email)
}

/// The field a refusal names.
fn field(body: &Value) -> Option<&str> {
    body["field"].as_str()
}

async fn keys_issued_from_the_pages_work_once_shown_and_stop_when_revoked(db: Db) {
    let app = TestApp::spawn(db).await;
    let (browser, _, email) = admin_browser(&app).await;
    let (status, new) = browser
        .call_fn(
            IssueApiKey::PATH,
            &json!({"input": {"name": "billing-sync", "role": "viewer"}}),
        )
        .await;
    assert_eq!(status, 200, "{new}");
    let key = new["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ct_"), "{new}");

    let (status, _) = app.get_as(&key, "/api/v1/plugins").await;
    assert_eq!(status, 200, "the key shown works");

    let (_, listed) = browser.call_fn(ListApiKeys::PATH, &json!({})).await;
    let listed_text = listed.to_string();
    assert!(listed_text.contains("billing-sync"), "{listed}");
    assert!(!listed_text.contains(&key), "the list never shows the key");

    let id = new["id"].as_str().unwrap();
    let (status, revoked) = browser
        .call_fn(RevokeApiKey::PATH, &json!({ "id": id }))
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, _) = app.get_as(&key, "/api/v1/plugins").await;
    assert_eq!(status, 401, "a revoked key is refused at once");

    // Both are in the trail under the admin's name, and the filter narrows to them.
    let (status, page) = browser
        .call_fn(
            ReadAuditTrail::PATH,
            &json!({"query": {"actor": email, "action": "api_key.revoke"}}),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["target"], format!("api_key:{id}"));
    let (_, page) = browser
        .call_fn(ReadAuditTrail::PATH, &json!({"query": {"actor": email}}))
        .await;
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..2],
        ["api_key.revoke", "api_key.create"],
        "newest first"
    );
    assert!(
        !page.to_string().contains(&key),
        "the trail never holds the key"
    );
}

async fn users_added_from_the_pages_sign_in_and_bad_input_names_its_field(db: Db) {
    let app = TestApp::spawn(db).await;
    let (browser, _, _) = admin_browser(&app).await;
    let (status, refused) = browser
        .call_fn(
            CreateUser::PATH,
            &json!({"email": "ada@example.com", "role": "operator", "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, field(&refused)),
        (422, Some("password")),
        "{refused}"
    );
    assert!(
        refused["message"].as_str().unwrap().contains("12"),
        "{refused}"
    );

    let password = "a long enough password";
    let (status, user) = browser
        .call_fn(
            CreateUser::PATH,
            &json!({"email": "ada@example.com", "role": "operator", "password": password}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["role"], "operator");
    assert!(!user.to_string().contains(password));
    app.sign_in("ada@example.com", password).await;

    let (status, refused) = browser
        .call_fn(
            CreateUser::PATH,
            &json!({"email": "ADA@example.com", "role": "viewer", "password": password}),
        )
        .await;
    assert_eq!((status, field(&refused)), (409, Some("email")), "{refused}");

    let id = user["id"].as_str().unwrap();
    let new_password = "another long password";
    let (status, changed) = browser
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": id, "change": {"role": "viewer", "password": new_password}}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "viewer");
    let r = app.post_sign_in("ada@example.com", password, "/").await;
    assert_eq!(r.status().as_u16(), 401, "the old password no longer works");
    app.sign_in("ada@example.com", new_password).await;

    let (status, changed) = browser
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": id, "change": {"disabled": true}}),
        )
        .await;
    assert_eq!((status, &changed["disabled"]), (200, &json!(true)));
    let r = app.post_sign_in("ada@example.com", new_password, "/").await;
    assert_eq!(r.status().as_u16(), 401, "a disabled user cannot sign in");

    let (_, users) = browser.call_fn(ListUsers::PATH, &json!({})).await;
    let text = users.to_string();
    assert!(
        text.contains("ada@example.com") && !text.contains("argon2"),
        "{users}"
    );
}

async fn an_admin_cannot_disable_or_demote_themselves(db: Db) {
    let app = TestApp::spawn(db).await;
    let (browser, me, _) = admin_browser(&app).await;
    let (status, refused) = browser
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": me, "change": {"disabled": true}}),
        )
        .await;
    assert_eq!(
        (status, field(&refused)),
        (409, Some("disabled")),
        "{refused}"
    );
    let (status, refused) = browser
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": me, "change": {"role": "viewer"}}),
        )
        .await;
    assert_eq!((status, field(&refused)), (409, Some("role")), "{refused}");
    // Still an admin, still signed in.
    let (status, _) = browser.call_fn(ListUsers::PATH, &json!({})).await;
    assert_eq!(status, 200);
    // Their own password they may change; another admin may disable them.
    let (status, _) = browser
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": me, "change": {"password": "a brand new password"}}),
        )
        .await;
    assert_eq!(status, 200);
    let (other, _, _) = admin_browser(&app).await;
    let (status, changed) = other
        .call_fn(
            ChangeUser::PATH,
            &json!({"id": me, "change": {"disabled": true}}),
        )
        .await;
    assert_eq!((status, &changed["disabled"]), (200, &json!(true)));
}

async fn the_admin_functions_refuse_everyone_but_admins(db: Db) {
    let app = TestApp::spawn(db).await;
    for role in ["viewer", "operator"] {
        let email = format!("{role}@example.com");
        let id = app.user(&email, role, None).await;
        let browser = app.sign_in(&email, PASSWORD).await;
        let calls = [
            (ReadAuditTrail::PATH, json!({"query": {}})),
            (ListUsers::PATH, json!({})),
            (
                CreateUser::PATH,
                json!({"email": "eve@example.com", "role": "admin", "password": "twelve chars ok"}),
            ),
            (
                ChangeUser::PATH,
                json!({"id": id, "change": {"role": "admin"}}),
            ),
            (ListApiKeys::PATH, json!({})),
            (
                IssueApiKey::PATH,
                json!({"input": {"name": "x", "role": "admin"}}),
            ),
            (
                IssueEmbedToken::PATH,
                json!({"input": {"entity": {"type": "invoice", "id": "INV-1"}}}),
            ),
        ];
        for (path, args) in calls {
            let (status, body) = browser.call_fn(path, &args).await;
            assert_eq!(status, 403, "{role} {path}: {body}");
        }
    }
}

async fn an_embed_link_issued_from_the_pages_opens_its_panel(db: Db) {
    let app = TestApp::spawn(db).await;
    let (browser, _, email) = admin_browser(&app).await;
    let (status, token) = browser
        .call_fn(
            IssueEmbedToken::PATH,
            &json!({"input": {"entity": {"type": "invoice", "id": "INV-7"}, "expires_in": 3600}}),
        )
        .await;
    assert_eq!(status, 200, "{token}");
    let url = token["url"].as_str().unwrap();
    assert!(url.starts_with("/embed/invoice/INV-7?token="), "{url}");
    let r = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "the link opens without a session");

    let (_, page) = browser
        .call_fn(
            ReadAuditTrail::PATH,
            &json!({"query": {"actor": email, "action": "embed_token.issue"}}),
        )
        .await;
    assert_eq!(page["items"][0]["target"], "entity:invoice/INV-7", "{page}");
}
