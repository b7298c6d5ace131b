//! JSON for people: pretty-printed as `serde_json` prints it, each key, string,
//! number and literal in a span a stylesheet colours. A few lines of our own
//! rather than a highlighting crate in the browser's download.

use leptos::prelude::*;
use serde_json::Value;

/// What a piece of pretty-printed JSON is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonPart {
    Key,
    String,
    Number,
    /// `true`, `false` and `null`.
    Literal,
    /// Braces, brackets, commas, colons and white space.
    Plain,
}

impl JsonPart {
    /// The class its span carries; plain text needs no span.
    fn class(self) -> Option<&'static str> {
        match self {
            JsonPart::Key => Some("j-key"),
            JsonPart::String => Some("j-str"),
            JsonPart::Number => Some("j-num"),
            JsonPart::Literal => Some("j-lit"),
            JsonPart::Plain => None,
        }
    }
}

/// `value` as `serde_json::to_string_pretty` writes it, cut into pieces that say
/// what they are. Joined, the pieces are exactly that text.
pub fn json_pieces(value: &Value) -> Vec<(JsonPart, String)> {
    let mut out = Pieces::default();
    out.value(value, 0);
    out.0
}

#[derive(Default)]
struct Pieces(Vec<(JsonPart, String)>);

impl Pieces {
    fn push(&mut self, part: JsonPart, text: &str) {
        // Neighbouring plain text is one piece: fewer nodes to draw.
        if let (JsonPart::Plain, Some((JsonPart::Plain, last))) = (part, self.0.last_mut()) {
            last.push_str(text);
        } else {
            self.0.push((part, text.to_string()));
        }
    }

    fn newline(&mut self, depth: usize) {
        self.push(JsonPart::Plain, &format!("\n{}", "  ".repeat(depth)));
    }

    fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Null => self.push(JsonPart::Literal, "null"),
            Value::Bool(b) => self.push(JsonPart::Literal, if *b { "true" } else { "false" }),
            Value::Number(n) => self.push(JsonPart::Number, &n.to_string()),
            Value::String(s) => self.push(JsonPart::String, &quoted(s)),
            Value::Array(items) if items.is_empty() => self.push(JsonPart::Plain, "[]"),
            Value::Object(map) if map.is_empty() => self.push(JsonPart::Plain, "{}"),
            Value::Array(items) => {
                self.push(JsonPart::Plain, "[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(JsonPart::Plain, ",");
                    }
                    self.newline(depth + 1);
                    self.value(item, depth + 1);
                }
                self.newline(depth);
                self.push(JsonPart::Plain, "]");
            }
            Value::Object(map) => {
                self.push(JsonPart::Plain, "{");
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        self.push(JsonPart::Plain, ",");
                    }
                    self.newline(depth + 1);
                    self.push(JsonPart::Key, &quoted(key));
                    self.push(JsonPart::Plain, ": ");
                    self.value(item, depth + 1);
                }
                self.newline(depth);
                self.push(JsonPart::Plain, "}");
            }
        }
    }
}

/// A string as JSON writes it, quotes and escapes included.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A JSON value, pretty-printed and coloured. Scrollable, so it takes focus:
/// a keyboard user can scroll it too.
#[component]
pub fn JsonView(
    value: Value,
    /// The block's `data-testid`.
    #[prop(optional, into)]
    testid: Option<String>,
    /// What the block holds, for screen readers.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let pieces = json_pieces(&value);
    view! {
        <pre class="json" tabindex="0" role="region" aria-label=label data-testid=testid>
            {pieces
                .into_iter()
                .map(|(part, text)| match part.class() {
                    Some(class) => view! { <span class=class>{text}</span> }.into_any(),
                    None => text.into_any(),
                })
                .collect_view()}
        </pre>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn joined(value: &Value) -> String {
        json_pieces(value).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn the_pieces_join_into_what_serde_json_prints() {
        let values = [
            json!({"amount": 1200, "currency": "EUR", "paid": false, "note": null,
                   "lines": [{"sku": "A-1", "qty": 2.5}, [], {}], "empty": {},
                   "quote": "say \"hi\"\n", "unicode": "Zoë €"}),
            json!([1, "two", true]),
            json!("alone"),
            json!(-0.5),
            json!({}),
            json!([]),
        ];
        for v in values {
            assert_eq!(joined(&v), serde_json::to_string_pretty(&v).unwrap(), "{v}");
        }
    }

    #[test]
    fn keys_strings_numbers_and_literals_are_told_apart() {
        let pieces = json_pieces(&json!({"token": "[redacted]", "n": 3, "ok": true, "x": null}));
        let of = |part: JsonPart| -> Vec<String> {
            pieces
                .iter()
                .filter(|(p, _)| *p == part)
                .map(|(_, t)| t.clone())
                .collect()
        };
        assert_eq!(of(JsonPart::Key), ["\"n\"", "\"ok\"", "\"token\"", "\"x\""]);
        assert_eq!(of(JsonPart::String), ["\"[redacted]\""]);
        assert_eq!(of(JsonPart::Number), ["3"]);
        assert_eq!(of(JsonPart::Literal), ["true", "null"]);
        // Plain text between them is merged: no two plain pieces side by side.
        assert!(pieces
            .windows(2)
            .all(|w| !(w[0].0 == JsonPart::Plain && w[1].0 == JsonPart::Plain)));
    }
}
