use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::FailureClass;

word_enum! {
    pub enum StartedByKind {
        Automatic,
        Manual,
        Migration,
        Reported,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartedBy {
    pub kind: StartedByKind,
    pub actor: Option<String>,
}

/// The request as sent, with credentials already replaced by `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptRequest {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text when it is UTF-8 text (NUL characters included); otherwise
    /// (a PDF, gzip, invalid UTF-8) its bytes in base64, and `body_encoding` says so.
    #[serde(default)]
    pub body: Option<String>,
    /// Present only when `body` is not the text itself: `"base64"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<BodyEncoding>,
    #[serde(default)]
    pub truncated: bool,
}

word_enum! {
    /// How a body that is not text is written into a JSON string.
    pub enum BodyEncoding {
        Base64,
    }
}

impl AttemptResponse {
    /// How many bytes a base64 body holds; `None` for a text body.
    pub fn binary_len(&self) -> Option<usize> {
        let body = self.body.as_deref()?;
        match self.body_encoding? {
            BodyEncoding::Base64 => {
                let padding = body.bytes().rev().take_while(|b| *b == b'=').count();
                Some((body.len() / 4 * 3).saturating_sub(padding))
            }
        }
    }

    /// The first `max` bytes of a base64 body, for a hex preview; `None` for a
    /// text body (or base64 that does not decode).
    pub fn binary_prefix(&self, max: usize) -> Option<Vec<u8>> {
        let body = self.body.as_deref()?;
        match self.body_encoding? {
            BodyEncoding::Base64 => decode_base64_prefix(body, max),
        }
    }
}

/// Standard base64 (with or without padding), decoded until `max` bytes are out.
/// Small enough to write here rather than ship a crate to the browser for it.
fn decode_base64_prefix(text: &str, max: usize) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(max.min(text.len()));
    let (mut bits, mut held) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        bits = (bits << 6) | value(c)?;
        held += 6;
        if held >= 8 {
            held -= 8;
            if out.len() == max {
                break;
            }
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    Some(out)
}

word_enum! {
    pub enum DecisionAction {
        Finish,
        Retry,
        Stop,
    }
}

/// What was decided after an attempt, and why, in words an administrator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Decision {
    pub action: DecisionAction,
    pub at: Option<DateTime<Utc>>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub id: Uuid,
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub started_by: StartedBy,
    pub request: AttemptRequest,
    pub response: Option<AttemptResponse>,
    pub class: FailureClass,
    pub decision: Decision,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_is_the_one_serde_writes_and_reads_back() {
        for &k in StartedByKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(StartedByKind::parse(k.as_str()), Some(k));
        }
        for &a in DecisionAction::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            assert_eq!(DecisionAction::parse(a.as_str()), Some(a));
        }
        let words = |all: &[&str]| all.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(
            StartedByKind::ALL
                .iter()
                .map(|k| k.as_str().to_string())
                .collect::<Vec<_>>(),
            words(&["automatic", "manual", "migration", "reported"])
        );
        assert_eq!(
            DecisionAction::ALL
                .iter()
                .map(|a| a.as_str().to_string())
                .collect::<Vec<_>>(),
            words(&["finish", "retry", "stop"])
        );
        let base64: &'static str = BodyEncoding::Base64.into();
        assert_eq!(serde_json::to_value(BodyEncoding::Base64).unwrap(), base64);
        assert_eq!(StartedByKind::parse("Manual"), None);
    }

    fn response(body: &str, encoding: Option<BodyEncoding>) -> AttemptResponse {
        AttemptResponse {
            status: 200,
            headers: BTreeMap::new(),
            body: Some(body.into()),
            body_encoding: encoding,
            truncated: false,
        }
    }

    #[test]
    fn a_base64_body_tells_how_many_bytes_it_holds_and_a_text_body_does_not() {
        let b64 = Some(BodyEncoding::Base64);
        assert_eq!(response("JVBERi0xLjQA/w==", b64).binary_len(), Some(10));
        assert_eq!(response("AAECAw==", b64).binary_len(), Some(4));
        assert_eq!(response("AAEC", b64).binary_len(), Some(3));
        assert_eq!(response("", b64).binary_len(), Some(0));
        assert_eq!(response("AAEC", None).binary_len(), None);
    }

    #[test]
    fn a_base64_body_gives_its_first_bytes_for_a_preview_and_a_text_body_none() {
        let b64 = Some(BodyEncoding::Base64);
        assert_eq!(
            response("AP8BAgMEBQ==", b64).binary_prefix(64),
            Some(vec![0x00, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05])
        );
        assert_eq!(
            response("AP8BAgMEBQ==", b64).binary_prefix(2),
            Some(vec![0x00, 0xff])
        );
        assert_eq!(
            response("JVBERi0xLjQA/w==", b64)
                .binary_prefix(64)
                .map(|b| b.len()),
            response("JVBERi0xLjQA/w==", b64).binary_len()
        );
        assert_eq!(
            response("AP8", b64).binary_prefix(64),
            Some(vec![0x00, 0xff])
        );
        assert_eq!(response("not*base64", b64).binary_prefix(64), None);
        assert_eq!(response("AAEC", None).binary_prefix(64), None);
    }

    #[test]
    fn a_text_body_serialises_without_an_encoding_and_a_binary_one_with_it() {
        let text = serde_json::to_value(response("hi", None)).unwrap();
        assert!(text.get("body_encoding").is_none(), "{text}");
        let binary = serde_json::to_value(response("AAEC", Some(BodyEncoding::Base64))).unwrap();
        assert_eq!(binary["body_encoding"], "base64");
        assert_eq!(binary["body"], "AAEC");
    }
}
