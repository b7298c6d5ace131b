//! Reading a `#[serde(flatten)]` part of an input without losing the field path.
//!
//! serde reads a flattened struct from a buffer, so `serde_path_to_error` at the top
//! cannot see inside it: `"plugin": 42` would come back without naming `plugin`
//! (dtolnay/path-to-error#9). A part read through [`tracked`] follows its own path
//! and writes it into the error's message as "at `request.method`: …"; the API edge
//! takes it back out with [`located`], so the 4xx still names the field.

use serde::de::{Deserialize, Deserializer, Error};

const OPEN: &str = "at `";
const CLOSE: &str = "`: ";

/// `#[serde(flatten, deserialize_with = "flattened::tracked")]`
pub fn tracked<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            D::Error::custom(inner)
        } else {
            D::Error::custom(format!("{OPEN}{path}{CLOSE}{inner}"))
        }
    })
}

/// The path a [`tracked`] part put into `message`, and the rest of the message.
pub fn located(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(OPEN)?.split_once(CLOSE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Part {
        #[allow(dead_code)]
        name: String,
    }

    #[derive(Deserialize)]
    struct Input {
        #[serde(flatten, deserialize_with = "tracked")]
        #[allow(dead_code)]
        part: Part,
    }

    #[test]
    fn a_wrong_type_inside_a_flattened_part_keeps_its_path() {
        let e = serde_json::from_str::<Input>(r#"{"name": 42}"#)
            .err()
            .unwrap()
            .to_string();
        let (path, rest) = located(&e).unwrap();
        assert_eq!(path, "name");
        assert!(rest.starts_with("invalid type: integer `42`"), "{rest}");
        assert_eq!(located("missing field `name`"), None);
    }
}
