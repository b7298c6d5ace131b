//! The reader's time zone, for the components that show or pick a time.
//!
//! The server cannot know the zone, so it renders UTC; once the page is hydrated,
//! the browser says how far its zone is from UTC at a given instant (and what the
//! zone is called) and the components redraw in local time. Those questions are
//! asked of [`crate::browser`]; the arithmetic and the words around them are
//! shared by both builds, so the server's text is this same code with no offset.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::browser::{offset_minutes, zone_name};

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

/// `t` in UTC, as the server renders it: `2024-03-01 09:00:00 UTC`.
pub fn utc_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time as a table cell shows it, `28 Nov 02:55:15`, with the year only when
/// it is not this year: on the reader's clock in the browser, in UTC on the
/// server (whose page says its times are UTC).
pub fn compact_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    compact_at(t, now, offset_minutes(t).unwrap_or(0))
}

/// [`compact_time`] in UTC, as the server renders it (and the browser's first
/// render, before it switches to local time).
pub fn compact_utc(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    compact_at(t, now, 0)
}

/// `t` on the reader's clock (UTC on the server) in a chrono `format`.
pub fn local_format(t: DateTime<Utc>, format: &str) -> String {
    let local = t.naive_utc() + Duration::minutes(offset_minutes(t).unwrap_or(0));
    local.format(format).to_string()
}

/// Everything about a time for its tooltip: the reader's full local time, its
/// zone and offset, and UTC. `None` on the server.
pub fn full_local_time(t: DateTime<Utc>) -> Option<String> {
    let offset = offset_minutes(t)?;
    let local = t.naive_utc() + Duration::minutes(offset);
    let zone = zone_name().map(|z| format!("{z} ")).unwrap_or_default();
    Some(format!(
        "{} {zone}({}) · {}",
        local.format("%a %-d %b %Y %H:%M:%S"),
        offset_text(offset),
        utc_time(t)
    ))
}

/// What the page header says of times the server rendered (in UTC).
pub const UTC_NOTE: &str = "Times in UTC";

/// "Times in Europe/Berlin, UTC+01:00": what the page header says once;
/// [`UTC_NOTE`] on the server.
pub fn zone_note(now: DateTime<Utc>) -> String {
    match offset_minutes(now) {
        Some(offset) => match zone_name() {
            Some(zone) => format!("Times in {zone}, {}", offset_text(offset)),
            None => format!("Times in {}", offset_text(offset)),
        },
        None => UTC_NOTE.to_string(),
    }
}

/// The reader's zone in a few characters (`Europe/Berlin`, else `UTC+01:00`):
/// what a date filter names. "UTC" on the server.
pub fn zone_short(now: DateTime<Utc>) -> String {
    match offset_minutes(now) {
        Some(offset) => zone_name().unwrap_or_else(|| offset_text(offset)),
        None => "UTC".to_string(),
    }
}

/// Minutes the reader's clock is ahead of UTC now (0 on the server).
pub fn utc_offset_now(now: DateTime<Utc>) -> i32 {
    offset_minutes(now).unwrap_or(0) as i32
}

/// How long ago (or how soon) `t` is from `now`, in words: "4 min ago", "in 2 h".
pub fn relative_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let ahead = secs > 0;
    let abs = secs.unsigned_abs();
    let amount = match abs {
        0..=9 => return "just now".to_string(),
        10..=59 => format!("{abs} s"),
        60..=3599 => format!("{} min", abs / 60),
        3600..=86_399 => format!("{} h", abs / 3600),
        _ => {
            let days = abs / 86_400;
            format!("{days} {}", if days == 1 { "day" } else { "days" })
        }
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// When something is due, relative to `now`: "in 5 min", or "due now" once that
/// time has come (a retry that has not run yet is due, not "3 h ago": its plugin
/// is paused, or the executor has not reached it).
pub fn due_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if (t - now).num_seconds() < 10 {
        "due now".to_string()
    } else {
        relative_time(t, now)
    }
}

/// `UTC+01:00`, `UTC-05:30`.
pub fn offset_text(offset_minutes: i64) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.abs();
    format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

fn day_at(t: DateTime<Utc>, offset_minutes: i64, days: i64) -> String {
    let local = t.naive_utc() + Duration::minutes(offset_minutes) + Duration::days(days);
    local.format("%Y-%m-%d").to_string()
}

fn compact_at(t: DateTime<Utc>, now: DateTime<Utc>, offset_minutes: i64) -> String {
    let shift = Duration::minutes(offset_minutes);
    let local = t.naive_utc() + shift;
    let this_year = (now.naive_utc() + shift).year();
    if local.year() == this_year {
        local.format("%-d %b %H:%M:%S").to_string()
    } else {
        local.format("%-d %b %Y %H:%M:%S").to_string()
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
        assert_eq!(full_local_time(t), None);
        assert_eq!(zone_note(t), "Times in UTC");
        assert_eq!(
            compact_time(t, at("2024-06-01T00:00:00Z")),
            "1 Mar 23:30:00"
        );
    }

    #[test]
    fn a_reader_east_of_greenwich_is_already_on_the_next_day() {
        let t = at("2024-03-01T23:30:00Z");
        assert_eq!(day_at(t, 60, 0), "2024-03-02");
        assert_eq!(compact_at(t, t, 60), "2 Mar 00:30:00");
        assert_eq!(offset_text(60), "UTC+01:00");
    }

    #[test]
    fn a_reader_west_of_greenwich_sees_a_negative_offset_with_its_minutes() {
        let t = at("2024-03-01T02:00:00Z");
        assert_eq!(day_at(t, -330, 0), "2024-02-29");
        assert_eq!(compact_at(t, t, -330), "29 Feb 20:30:00");
        assert_eq!(offset_text(-330), "UTC-05:30");
    }

    #[test]
    fn a_compact_time_names_the_year_only_when_it_is_not_this_one() {
        let now = at("2026-11-28T08:00:00Z");
        assert_eq!(
            compact_at(at("2026-11-28T01:55:15Z"), now, 60),
            "28 Nov 02:55:15"
        );
        assert_eq!(
            compact_at(at("2025-11-28T01:55:15Z"), now, 60),
            "28 Nov 2025 02:55:15"
        );
        // New Year's Eve in UTC is already next year in Auckland, as is "now".
        let eve = at("2026-12-31T12:00:00Z");
        assert_eq!(compact_at(eve, eve, 13 * 60), "1 Jan 01:00:00");
        assert_eq!(compact_at(eve, now, 13 * 60), "1 Jan 2027 01:00:00");
    }

    #[test]
    fn relative_times_read_as_words_both_ways() {
        let now = at("2026-11-28T08:00:00Z");
        let ago = |secs: i64| relative_time(now - Duration::seconds(secs), now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(4 * 60 + 59), "4 min ago");
        assert_eq!(ago(3 * 3600), "3 h ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(-300), "in 5 min");
        assert_eq!(offset_text(-330), "UTC-05:30");
    }

    #[test]
    fn a_due_time_that_has_come_reads_due_now_not_ago() {
        let now = at("2026-11-28T08:00:00Z");
        let due = |secs: i64| due_time(now + Duration::seconds(secs), now);
        assert_eq!(due(300), "in 5 min");
        assert_eq!(due(3), "due now");
        assert_eq!(due(-3 * 3600), "due now");
    }
}
