//! Opaque page cursors: the (scheduled_at, id) of the last row shown.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use super::ServiceError;
use crate::storage::Cursor;

pub fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("1:{}:{}", c.scheduled_at.timestamp_micros(), c.id))
}

pub fn decode_cursor(s: &str) -> Result<Cursor, ServiceError> {
    let bad = || {
        ServiceError::invalid(
            "cursor",
            "this cursor is not one we issued; start from the first page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    let (Some("1"), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    Ok(Cursor {
        scheduled_at: chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        id: Uuid::parse_str(id).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = Cursor {
            scheduled_at: chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        let err = decode_cursor("not-a-cursor").unwrap_err();
        assert_eq!(err.field(), Some("cursor"));
    }
}
