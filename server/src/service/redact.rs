//! Redaction: what is shown or recorded never carries a credential.
//! Rules are data (`RedactRules` per plugin plus these defaults), so tests build them.

use std::collections::BTreeMap;

use app::domain::{BodyEncoding, RedactRules};
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Headers that always carry credentials.
const SENSITIVE_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];

/// JSON keys whose values are redacted wherever they appear.
const SENSITIVE_KEYS: [&str; 8] = [
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_token",
    "refresh_token",
    "client_secret",
];

pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SENSITIVE_KEYS
        .iter()
        .any(|s| k == *s || k.ends_with(&format!("_{s}")))
}

pub fn headers(input: &BTreeMap<String, String>, rules: &RedactRules) -> BTreeMap<String, String> {
    input
        .iter()
        .map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            let secret = SENSITIVE_HEADERS.contains(&lower.as_str())
                || rules.headers.iter().any(|h| h.eq_ignore_ascii_case(name));
            let shown = if secret {
                REDACTED.to_string()
            } else {
                value.clone()
            };
            (lower, shown)
        })
        .collect()
}

/// The key of a sealed payload value as stored: `{"$sealed": "<base64>"}`.
pub const SEALED_KEY: &str = "$sealed";

fn is_sealed(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.contains_key(SEALED_KEY))
}

/// Apply `f` to every value that a redaction rule covers (sensitive keys anywhere,
/// the plugin's JSON pointers), in place.
pub fn for_each_secret(value: &mut Value, rules: &RedactRules, f: &mut dyn FnMut(&mut Value)) {
    fn walk(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        match v {
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

/// Replace sensitive keys, the plugin's JSON pointers and sealed values with `[redacted]`.
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
        _ => {}
    }
}

/// A body as text: JSON bodies are redacted structurally, others kept as they are.
pub fn body_text(body: &str, rules: &RedactRules) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => json(&v, rules).to_string(),
        Err(_) => body.to_string(),
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
}
