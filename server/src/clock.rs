//! The clock every layer reads: now, at the precision storage keeps.
//!
//! It sits below the service and storage alike, so storage never has to reach
//! up into the service for the time.

use chrono::{DateTime, Utc};

/// Now, at the precision storage keeps (microseconds), so what a request returns
/// equals what a later read returns.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// `t` cut to microseconds, the precision both databases keep.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_carries_no_nanoseconds_below_a_microsecond() {
        assert_eq!(now().timestamp_subsec_nanos() % 1_000, 0);
    }

    #[test]
    fn truncate_drops_only_what_is_below_a_microsecond() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let cut = truncate(t);
        assert_eq!(cut.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(cut.timestamp(), t.timestamp());
    }
}
