//! Redaction: what is shown or recorded never carries a credential.
//! Rules are data (`RedactRules` per plugin plus these defaults), so tests build them.

use std::collections::BTreeMap;

use app::domain::RedactRules;
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

#[cfg(test)]
mod tests {
    use super::*;
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
