//! The reader's time zone, for the components that show or pick a time.
//!
//! The server cannot know the zone, so it renders UTC; once the page is hydrated,
//! the browser says how far its zone is from UTC at a given instant and the
//! components redraw in local time. That question to the browser is `browser`, the
//! only code in the components built for hydration alone; the arithmetic around it
//! is shared by both builds, so the server's text is this same code with no offset.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// `YYYY-MM-DD` of the day `t` falls on where the reader is (UTC on the server),
/// moved by `days` (a range's exclusive end is shown as the day before).
pub fn local_day(t: DateTime<Utc>, days: i64) -> String {
    day_at(t, offset_minutes(t).unwrap_or(0), days)
}

/// Midnight at the start of `day` where the reader is (UTC on the server), as an instant.
pub fn local_midnight(day: NaiveDate) -> Option<DateTime<Utc>> {
    let guess = day.and_hms_opt(0, 0, 0)?.and_utc();
    Some(guess - Duration::minutes(offset_minutes(guess).unwrap_or(0)))
}

/// `t` on the reader's clock with its offset, `2024-03-01 10:00:00 (UTC+01:00)`;
/// `None` on the server, which shows `utc_time` instead.
pub fn local_time(t: DateTime<Utc>) -> Option<String> {
    offset_minutes(t).map(|offset| clock_at(t, offset))
}

/// `t` in UTC, as the server renders it: `2024-03-01 09:00:00 UTC`.
pub fn utc_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Minutes the reader's zone is ahead of UTC at `t`; `None` where the zone is not
/// known (on the server).
fn offset_minutes(t: DateTime<Utc>) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        Some(browser::offset_minutes(t))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = t;
        None
    }
}

fn day_at(t: DateTime<Utc>, offset_minutes: i64, days: i64) -> String {
    let local = t.naive_utc() + Duration::minutes(offset_minutes) + Duration::days(days);
    local.format("%Y-%m-%d").to_string()
}

fn clock_at(t: DateTime<Utc>, offset_minutes: i64) -> String {
    let local = t.naive_utc() + Duration::minutes(offset_minutes);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.abs();
    format!(
        "{} (UTC{sign}{:02}:{:02})",
        local.format("%Y-%m-%d %H:%M:%S"),
        abs / 60,
        abs % 60
    )
}

/// What only the browser knows.
#[cfg(feature = "hydrate")]
mod browser {
    use chrono::{DateTime, Utc};
    use js_sys::wasm_bindgen::JsValue;

    /// Minutes the browser's zone is ahead of UTC at `t`.
    pub fn offset_minutes(t: DateTime<Utc>) -> i64 {
        let date = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
        // getTimezoneOffset is minutes *behind* UTC (positive west of Greenwich).
        -(date.get_timezone_offset() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_server_renders_utc_days_and_no_local_clock() {
        let t = at("2024-03-01T23:30:00Z");
        assert_eq!(local_day(t, 0), "2024-03-01");
        assert_eq!(local_day(t, -1), "2024-02-29");
        assert_eq!(
            local_midnight(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()),
            Some(at("2024-03-01T00:00:00Z"))
        );
        assert_eq!(utc_time(t), "2024-03-01 23:30:00 UTC");
        assert_eq!(local_time(t), None);
    }

    #[test]
    fn a_reader_east_of_greenwich_is_already_on_the_next_day() {
        let t = at("2024-03-01T23:30:00Z");
        assert_eq!(day_at(t, 60, 0), "2024-03-02");
        assert_eq!(clock_at(t, 60), "2024-03-02 00:30:00 (UTC+01:00)");
    }

    #[test]
    fn a_reader_west_of_greenwich_sees_a_negative_offset_with_its_minutes() {
        let t = at("2024-03-01T02:00:00Z");
        assert_eq!(day_at(t, -330, 0), "2024-02-29");
        assert_eq!(clock_at(t, -330), "2024-02-29 20:30:00 (UTC-05:30)");
    }
}
