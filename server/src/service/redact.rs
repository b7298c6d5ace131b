//! Redaction: what is shown or recorded never carries a credential.
//! Rules are data (`RedactRules` per plugin plus these defaults), so tests build them.
//!
//! A name (JSON key, header, form field, query parameter) is read as words:
//! `accessToken`, `access_token`, `ACCESS-TOKEN` and `accesstoken` all end in the
//! word `token`. A name is sensitive when one of its words (or two adjacent words
//! joined, `api`+`key`) ends in a credential word, unless a word after it says the
//! value only describes the credential (`token_type`, `password_changed_at`,
//! `token_expires_in`): those are kept, because an operator needs them to debug.

use std::collections::BTreeMap;

use app::domain::{BodyEncoding, RedactRules};
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Word endings that name a credential. Matched against each word of a name and
/// each pair of adjacent words joined, so `api_key`, `apiKey` and `apikey` agree.
const CREDENTIAL_WORDS: [&str; 27] = [
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "auth",
    "authorization",
    "cookie",
    "cookies",
    "credential",
    "credentials",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "signingkey",
    "masterkey",
    "encryptionkey",
    "subscriptionkey",
    "sessionid",
    "sessionkey",
    "sessiontoken",
    "jsessionid",
];

/// Words that, after a credential word, say the value describes it rather than
/// being it: `token_type: "Bearer"`, `password_changed_at`, `tokenUrl`.
const DESCRIBING_WORDS: [&str; 22] = [
    "type",
    "at",
    "expires",
    "expiry",
    "expiration",
    "ttl",
    "url",
    "uri",
    "endpoint",
    "length",
    "count",
    "hint",
    "name",
    "enabled",
    "required",
    "version",
    "scope",
    "scopes",
    "method",
    "format",
    "kind",
    "status",
];

/// A name cut into lowercase words: at `-`, `_`, `.`, spaces and other
/// punctuation, and at camelCase humps (`APIKey` is `api` + `key`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // `accessToken` and the `K` of `APIKey` start a word; `API` does not.
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Whether the words name a credential, `extra` adding words that count only
/// where this name lives (`key` for headers and query strings).
fn names_a_credential(words: &[String], extra: &[&str]) -> bool {
    let is_credential =
        |w: &str| CREDENTIAL_WORDS.iter().any(|c| w.ends_with(c)) || extra.contains(&w);
    for (i, w) in words.iter().enumerate() {
        let pair = words.get(i + 1).map(|next| format!("{w}{next}"));
        let end = match pair {
            Some(p) if CREDENTIAL_WORDS.contains(&p.as_str()) => i + 1,
            _ if is_credential(w) => i,
            _ => continue,
        };
        let described = words[end + 1..]
            .iter()
            .any(|after| DESCRIBING_WORDS.contains(&after.as_str()));
        if !described {
            return true;
        }
    }
    false
}

/// A JSON key or form field that carries a credential.
pub fn is_sensitive_key(key: &str) -> bool {
    names_a_credential(&words(key), &[])
}

/// A header that carries a credential: a sensitive key, or any `*-key` but the
/// idempotency key Calltrail sends itself.
pub fn is_sensitive_header(name: &str) -> bool {
    let w = words(name);
    if w == ["idempotency", "key"] {
        return false;
    }
    names_a_credential(&w, &[]) || w.last().is_some_and(|last| last == "key")
}

/// A query parameter that carries a credential: a sensitive key, `key`,
/// `signature` or `sig` (signed URLs).
pub fn is_sensitive_query_param(name: &str) -> bool {
    names_a_credential(&words(name), &["key", "sig", "signature"])
}

/// A header whose value is a secret: it looks like a credential, or the plugin's
/// rules name it.
pub fn is_secret_header(name: &str, rules: &RedactRules) -> bool {
    is_sensitive_header(name) || rules.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
}

pub fn headers(input: &BTreeMap<String, String>, rules: &RedactRules) -> BTreeMap<String, String> {
    input
        .iter()
        .map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            let shown = if is_secret_header(name, rules) {
                REDACTED.to_string()
            } else {
                text(value)
            };
            (lower, shown)
        })
        .collect()
}

/// `name=value` pairs joined by `&` (a query string, a fragment, a form body),
/// with the values of sensitive names replaced. Anything else is kept as it is.
fn pairs(s: &str, sensitive: fn(&str) -> bool) -> String {
    s.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if sensitive(&decoded(name)) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn decoded(name: &str) -> String {
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(n, _)| n.into_owned())
        .unwrap_or_default()
}

/// A URL as recorded: the values of sensitive query (and fragment) parameters and
/// a password in its user info replaced. Written as given otherwise (no
/// re-encoding), so what the operator reads is what was sent.
pub fn url(u: &str) -> String {
    let (before_fragment, fragment) = match u.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (u, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = user_password(base);
    if let Some(q) = query {
        out.push('?');
        out.push_str(&pairs(q, is_sensitive_query_param));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&pairs(f, is_sensitive_query_param));
    }
    out
}

/// `https://user:pass@host/…` without the password.
fn user_password(base: &str) -> String {
    let Some(scheme_end) = base.find("://") else {
        return base.to_string();
    };
    let rest = &base[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:{REDACTED}{}",
                &base[..scheme_end + 3],
                &rest[at..]
            ),
            None => base.to_string(),
        },
        None => base.to_string(),
    }
}

/// Whether a URL carries a credential in its query, fragment or user info.
pub fn url_has_secret(u: &str) -> bool {
    u.contains("://") && url(u) != u
}

/// Free text (an error message, a log line, a text body) with every `http://` or
/// `https://` URL in it redacted: transports put the URL in their errors.
pub fn text(s: &str) -> String {
    if !s.contains("://") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = find_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        // `(for url (https://…?token=x))`: closing punctuation is the sentence's.
        while end > 0
            && matches!(
                tail.as_bytes()[end - 1],
                b')' | b',' | b'.' | b';' | b':' | b']'
            )
        {
            end -= 1;
        }
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
        if end == 0 {
            // Not a URL after all: move on by one character.
            let step = rest.chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..step]);
            rest = &rest[step..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the next `http://` or `https://` starts; reads only up to it, so a body
/// with many URLs is still read once.
fn find_url(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("http") {
        let at = from + i;
        let rest = &s[at..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Whether a body is `application/x-www-form-urlencoded` by its shape: one line of
/// `name=value` pairs joined by `&`, names being plain field names.
fn looks_form_encoded(body: &str) -> bool {
    let body = body.trim_end_matches(['\r', '\n']);
    !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.split('&').all(|pair| match pair.split_once('=') {
            Some((name, _)) => {
                !name.is_empty()
                    && name.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b'_' | b'-' | b'.' | b'[' | b']' | b'%' | b'+')
                    })
            }
            None => false,
        })
}

/// The key of a sealed payload value as stored: `{"$sealed": "<base64>"}`.
pub const SEALED_KEY: &str = "$sealed";

fn is_sealed(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.contains_key(SEALED_KEY))
}

/// Whether a sealed value appears anywhere in `v`.
pub fn contains_sealed(v: &Value) -> bool {
    is_sealed(v)
        || match v {
            Value::Object(map) => map.values().any(contains_sealed),
            Value::Array(items) => items.iter().any(contains_sealed),
            _ => false,
        }
}

/// Apply `f` to every value that a redaction rule covers (sensitive keys anywhere,
/// strings holding a URL with a credential, the plugin's JSON pointers), in place.
pub fn for_each_secret(value: &mut Value, rules: &RedactRules, f: &mut dyn FnMut(&mut Value)) {
    fn walk(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        match v {
            // A URL with a token in its query is sealed whole.
            Value::String(s) if url_has_secret(s) => f(v),
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if is_sensitive_key(k) && !child.is_null() {
                        f(child);
                    } else {
                        walk(child, f);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, f)),
            _ => {}
        }
    }
    walk(value, f);
    for pointer in &rules.json_pointers {
        if let Some(v) = value.pointer_mut(pointer) {
            if !v.is_null() {
                f(v);
            }
        }
    }
}

/// Replace sensitive keys, the plugin's JSON pointers and sealed values with
/// `[redacted]`, and the credentials in URLs inside strings.
pub fn json(value: &Value, rules: &RedactRules) -> Value {
    let mut out = value.clone();
    redact_keys(&mut out);
    for pointer in &rules.json_pointers {
        if let Some(v) = out.pointer_mut(pointer) {
            *v = Value::String(REDACTED.into());
        }
    }
    out
}

fn redact_keys(v: &mut Value) {
    if is_sealed(v) {
        *v = Value::String(REDACTED.into());
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if is_sensitive_key(k) && !child.is_null() {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact_keys(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_keys),
        Value::String(s) if s.contains("://") => *s = text(s),
        _ => {}
    }
}

/// A body as text: JSON bodies are redacted structurally, form-encoded ones field
/// by field, and in any other text the URLs.
pub fn body_text(body: &str, rules: &RedactRules) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => json(&v, rules).to_string(),
        Err(_) if looks_form_encoded(body) => pairs(body, is_sensitive_key),
        Err(_) => text(body),
    }
}

/// Cut a body at `max` bytes on a character boundary; says whether it was cut.
pub fn cap(body: String, max: usize) -> (String, bool) {
    if body.len() <= max {
        return (body, false);
    }
    let mut end = max;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    (body[..end].to_string(), true)
}

/// A body received as bytes, as recorded: UTF-8 text goes through `body_text` and
/// `cap`; any other bytes (a PDF, gzip, one invalid byte) are kept as they are,
/// capped at `max`, in base64 with `BodyEncoding::Base64`. When `cut_short`, the
/// bytes are a prefix of a longer body, so a last character that was cut in two
/// is dropped rather than turning a text body into a binary one. Says whether the
/// recorded body was cut.
pub fn body_bytes(
    mut bytes: Vec<u8>,
    rules: &RedactRules,
    max: usize,
    cut_short: bool,
) -> (String, Option<BodyEncoding>, bool) {
    if cut_short {
        if let Err(e) = std::str::from_utf8(&bytes) {
            if e.error_len().is_none() {
                bytes.truncate(e.valid_up_to());
            }
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let (text, cut) = cap(body_text(&text, rules), max);
            (text, None, cut)
        }
        Err(not_text) => {
            use base64::Engine;
            let mut raw = not_text.into_bytes();
            let cut = raw.len() > max;
            raw.truncate(max);
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            (encoded, Some(BodyEncoding::Base64), cut)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_text_stays_text_nul_included_and_json_is_still_redacted() {
        let rules = RedactRules::default();
        let (body, encoding, cut) = body_bytes(b"a\0b".to_vec(), &rules, 100, false);
        assert_eq!((body.as_str(), encoding, cut), ("a\0b", None, false));
        let (body, encoding, _) = body_bytes(
            br#"{"token":"sk_1","n":"\u0000"}"#.to_vec(),
            &rules,
            100,
            false,
        );
        assert_eq!(encoding, None);
        assert_eq!(body, r#"{"n":"\u0000","token":"[redacted]"}"#);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_kept_byte_for_byte_in_base64_and_capped() {
        use base64::Engine;
        let pdf = b"%PDF-1.4\0\xff\xfe".to_vec();
        let (body, encoding, cut) = body_bytes(pdf.clone(), &RedactRules::default(), 100, false);
        assert_eq!(encoding, Some(BodyEncoding::Base64));
        assert!(!cut);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .unwrap();
        assert_eq!(decoded, pdf);
        let (body, _, cut) = body_bytes(pdf.clone(), &RedactRules::default(), 4, false);
        assert!(cut);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .unwrap();
        assert_eq!(decoded, b"%PDF");
    }

    #[test]
    fn a_text_body_cut_inside_a_character_stays_text() {
        let cut_in_two = "prix: 12 €".as_bytes()[..11].to_vec();
        let (body, encoding, _) =
            body_bytes(cut_in_two.clone(), &RedactRules::default(), 100, true);
        assert_eq!((body.as_str(), encoding), ("prix: 12 ", None));
        let (_, encoding, _) = body_bytes(cut_in_two, &RedactRules::default(), 100, false);
        assert_eq!(
            encoding,
            Some(BodyEncoding::Base64),
            "a whole body that ends mid-character is not text"
        );
    }
    use serde_json::json;

    #[test]
    fn credentials_in_headers_and_bodies_are_replaced() {
        let rules = RedactRules {
            headers: vec!["X-Card-Token".into()],
            json_pointers: vec!["/card/number".into()],
        };
        let h = BTreeMap::from([
            ("Authorization".to_string(), "Bearer sk_live_1".to_string()),
            ("X-Card-Token".to_string(), "tok".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ]);
        let out = headers(&h, &rules);
        assert_eq!(out["authorization"], REDACTED);
        assert_eq!(out["x-card-token"], REDACTED);
        assert_eq!(out["accept"], "application/json");

        let body = json!({"card": {"number": "4242"}, "password": "p", "nested": [{"client_secret": "s"}], "amount": 5});
        let red = json(&body, &rules);
        assert_eq!(
            red,
            json!({"card": {"number": REDACTED}, "password": REDACTED, "nested": [{"client_secret": REDACTED}], "amount": 5})
        );
    }

    #[test]
    fn cap_cuts_on_a_character_boundary() {
        let (s, cut) = cap("ééé".to_string(), 3);
        assert_eq!(s, "é");
        assert!(cut);
        assert_eq!(cap("ok".into(), 3), ("ok".into(), false));
    }

    #[test]
    fn a_credential_key_is_caught_in_any_spelling() {
        for key in [
            "accessToken",
            "access_token",
            "ACCESS-TOKEN",
            "accesstoken",
            "AccessToken",
            "clientSecret",
            "client_secret",
            "privateKey",
            "private_key",
            "apiKey",
            "api_key",
            "APIKey",
            "apikey",
            "x-api-key",
            "password",
            "passwd",
            "new_password",
            "pwd",
            "authorization",
            "Authorization",
            "refreshToken",
            "sessionId",
            "session_id",
            "JSESSIONID",
            "cookie",
            "Set-Cookie",
            "signing_secret",
            "credentials",
            "auth",
            "X-Amz-Security-Token",
            "aws_secret_access_key",
        ] {
            assert!(is_sensitive_key(key), "{key} should be redacted");
        }
    }

    #[test]
    fn a_key_that_describes_a_credential_or_only_resembles_one_is_kept() {
        for key in [
            "tokenized_at",
            "token_type",
            "tokenType",
            "password_changed_at",
            "token_expires_in",
            "tokenUrl",
            "auth_type",
            "author",
            "key",
            "idempotency_key",
            "monkey",
            "amount",
            "secretary",
            "keyboard",
            "sort_key",
            "passage",
        ] {
            assert!(!is_sensitive_key(key), "{key} should be kept");
        }
    }

    #[test]
    fn credential_headers_are_caught_and_ordinary_ones_kept() {
        for name in [
            "authorization",
            "Proxy-Authorization",
            "x-auth-token",
            "private-token",
            "x-api-key",
            "api-key",
            "x-functions-key",
            "Ocp-Apim-Subscription-Key",
            "x-client-secret",
            "cookie",
            "set-cookie",
            "X-CSRF-Token",
        ] {
            assert!(is_sensitive_header(name), "{name} should be redacted");
        }
        for name in [
            "accept",
            "content-type",
            "idempotency-key",
            "webhook-id",
            "x-request-id",
            "retry-after",
            "keep-alive",
        ] {
            assert!(!is_sensitive_header(name), "{name} should be kept");
        }
    }

    #[test]
    fn a_form_encoded_body_loses_its_credentials_field_by_field() {
        let body = "grant_type=client_credentials&client_id=app&client_secret=S3CR3T&scope=read";
        assert_eq!(
            body_text(body, &RedactRules::default()),
            "grant_type=client_credentials&client_id=app&client_secret=[redacted]&scope=read"
        );
        let login = "username=ann&password=hunter2\n";
        assert_eq!(
            body_text(login, &RedactRules::default()),
            "username=ann&password=[redacted]"
        );
        let prose = "Please pay: amount=5 & token=abc";
        assert_eq!(
            body_text(prose, &RedactRules::default()),
            prose,
            "text with spaces is not a form"
        );
    }

    #[test]
    fn credentials_in_a_url_query_fragment_or_user_info_are_replaced() {
        assert_eq!(
            url("https://api.example.com/v1/x?token=T1&page=2&api_key=K1&key=K2&sig=S&signature=S2&access_token=A&password=P&X-Amz-Signature=Z"),
            "https://api.example.com/v1/x?token=[redacted]&page=2&api_key=[redacted]&key=[redacted]&sig=[redacted]&signature=[redacted]&access_token=[redacted]&password=[redacted]&X-Amz-Signature=[redacted]"
        );
        assert_eq!(
            url("https://ann:hunter2@example.com/cb#access_token=A&state=s"),
            "https://ann:[redacted]@example.com/cb#access_token=[redacted]&state=s"
        );
        let plain = "https://api.example.com/v1/invoices/INV-1?page=2&monkey=1";
        assert_eq!(url(plain), plain);
        assert!(!url_has_secret(plain));
        assert!(url_has_secret("https://h/?token=x"));
    }

    #[test]
    fn a_transport_error_keeps_its_words_but_not_the_token_in_its_url() {
        let e = "error sending request for url (http://127.0.0.1:9/hook?token=T0K&n=1): connection refused";
        assert_eq!(
            text(e),
            "error sending request for url (http://127.0.0.1:9/hook?token=[redacted]&n=1): connection refused"
        );
        assert_eq!(text("no url here"), "no url here");
        assert_eq!(
            text("see http://a/?key=1 and https://b/?sig=2, httpx://c/?token=3"),
            "see http://a/?key=[redacted] and https://b/?sig=[redacted], httpx://c/?token=3"
        );
    }

    #[test]
    fn a_large_body_full_of_urls_is_redacted_in_linear_time() {
        let body = "http://h/?token=t ".repeat(50_000);
        let started = std::time::Instant::now();
        let out = text(&body);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(out, "http://h/?token=[redacted] ".repeat(50_000));
    }

    #[test]
    fn a_url_with_a_credential_inside_json_is_redacted_and_sealed_whole() {
        let body = json!({"callback": "https://h/cb?token=T", "home": "https://h/"});
        assert_eq!(
            json(&body, &RedactRules::default()),
            json!({"callback": "https://h/cb?token=[redacted]", "home": "https://h/"})
        );
        let mut sealed = body.clone();
        for_each_secret(&mut sealed, &RedactRules::default(), &mut |v| {
            *v = Value::String("SEALED".into())
        });
        assert_eq!(sealed, json!({"callback": "SEALED", "home": "https://h/"}));
    }
}
