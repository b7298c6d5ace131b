//! The log's activity chart: how many attempts ran in each hour of the last day
//! (or each day of the last week), by outcome, for the triggers a filter matches.
//!
//! The periods are cut where the reader lives: an hour or a day starts on the
//! reader's clock (`utc_offset_minutes`), so "today" is the reader's today. The
//! cutting is plain arithmetic here, shared by the server and the browser.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{FailureClass, QueryError};

word_enum! {
    /// How far back the chart looks, and the period of each of its bars.
    #[derive(Default)]
    pub enum ActivityWindow {
        /// The last 24 hours, hour by hour.
        #[default]
        #[serde(rename = "24h")]
        #[strum(serialize = "24h")]
        Day,
        /// The last 7 days, day by day.
        #[serde(rename = "7d")]
        #[strum(serialize = "7d")]
        Week,
    }
}

impl ActivityWindow {
    /// What the button says.
    pub fn label(self) -> &'static str {
        match self {
            ActivityWindow::Day => "24 h",
            ActivityWindow::Week => "7 days",
        }
    }

    /// How many bars.
    pub fn buckets(self) -> u32 {
        match self {
            ActivityWindow::Day => 24,
            ActivityWindow::Week => 7,
        }
    }

    /// How long each bar is.
    pub fn bucket(self) -> Duration {
        match self {
            ActivityWindow::Day => Duration::hours(1),
            ActivityWindow::Week => Duration::days(1),
        }
    }

    /// Where the first bar starts, so that the last one is the reader's current
    /// hour (or day) and holds `now`. A zone that changes its offset within the
    /// week (summer time) is cut at the offset it has now.
    pub fn start(self, now: DateTime<Utc>, utc_offset_minutes: i32) -> DateTime<Utc> {
        let offset = Duration::minutes(utc_offset_minutes as i64);
        let bucket_secs = self.bucket().num_seconds();
        let local = (now + offset).timestamp();
        let current_local_start = local - local.rem_euclid(bucket_secs);
        let current = DateTime::from_timestamp(current_local_start, 0).unwrap_or(now) - offset;
        current - self.bucket() * (self.buckets() as i32 - 1)
    }
}

/// The most a zone is ahead of or behind UTC (UTC+14:00 … UTC-12:00, with room).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// Attempts per bar, by outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TriggerActivity {
    pub window: ActivityWindow,
    /// Oldest first; each bar starts where the one before ends.
    pub buckets: Vec<ActivityBucket>,
}

/// One bar of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityBucket {
    pub start: DateTime<Utc>,
    /// Attempts started in this period per class (`success`, `server`, …);
    /// classes with none are absent.
    pub by_class: BTreeMap<String, u64>,
}

word_enum! {
    /// How an attempt ended, as the chart colours it.
    pub enum Outcome {
        Succeeded,
        /// Failed in a way that is retried (throttled, outage, unreachable).
        Transient,
        /// Failed in a way no retry fixes (credentials, validation, not found).
        Failed,
    }
}

impl Outcome {
    pub fn of(class: FailureClass) -> Outcome {
        if class == FailureClass::Success {
            Outcome::Succeeded
        } else if class.is_retryable() {
            Outcome::Transient
        } else {
            Outcome::Failed
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "Succeeded",
            Outcome::Transient => "Failed, retryable",
            Outcome::Failed => "Failed",
        }
    }
}

impl ActivityBucket {
    /// The bar's attempts per outcome, in `Outcome::ALL`'s order.
    pub fn by_outcome(&self) -> [u64; 3] {
        let mut out = [0; 3];
        for (class, n) in &self.by_class {
            let outcome = FailureClass::parse(class)
                .map(Outcome::of)
                .unwrap_or(Outcome::Failed);
            let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(2);
            out[i] += n;
        }
        out
    }

    pub fn total(&self) -> u64 {
        self.by_class.values().sum()
    }
}

impl TriggerActivity {
    /// The chart with every bar present: `counts` are (bar index, class, n) as
    /// storage groups them; bars with no attempts stay empty.
    pub fn new(
        window: ActivityWindow,
        start: DateTime<Utc>,
        counts: impl IntoIterator<Item = (u32, FailureClass, u64)>,
    ) -> TriggerActivity {
        let mut buckets: Vec<ActivityBucket> = (0..window.buckets())
            .map(|i| ActivityBucket {
                start: start + window.bucket() * i as i32,
                by_class: BTreeMap::new(),
            })
            .collect();
        for (i, class, n) in counts {
            if let Some(b) = buckets.get_mut(i as usize) {
                *b.by_class.entry(class.as_str().to_string()).or_default() += n;
            }
        }
        TriggerActivity { window, buckets }
    }
}

/// The activity chart's query: which window and where the reader's clock is, and
/// the list's filters.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityQuery {
    pub window: ActivityWindow,
    pub utc_offset_minutes: i32,
    pub filter: super::TriggerFilter,
}

impl ActivityQuery {
    /// `window=24h|7d&utc_offset_minutes=60&<the list's filters>`; no page.
    pub fn parse(query: &str) -> Result<ActivityQuery, QueryError> {
        let pairs: Vec<(String, String)> = serde_html_form::from_str(query)
            .map_err(|e| QueryError::new("query", e.to_string()))?;
        let mut window = ActivityWindow::default();
        let mut utc_offset_minutes = 0;
        let mut rest = Vec::new();
        for (name, value) in pairs {
            match name.as_str() {
                "window" => {
                    window = ActivityWindow::parse(&value).ok_or_else(|| {
                        QueryError::new(
                            "window",
                            format!("{value:?} is not a window; use 24h or 7d"),
                        )
                    })?
                }
                "utc_offset_minutes" => {
                    utc_offset_minutes = value
                        .parse::<i32>()
                        .ok()
                        .filter(|m| (-MAX_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(m))
                        .ok_or_else(|| {
                            QueryError::new(
                                "utc_offset_minutes",
                                format!(
                                    "utc_offset_minutes is minutes east of UTC, \
                                     -{MAX_UTC_OFFSET_MINUTES} to {MAX_UTC_OFFSET_MINUTES}"
                                ),
                            )
                        })?
                }
                "cursor" | "limit" => {
                    return Err(QueryError::new(
                        name,
                        "the activity covers the whole filtered set; it takes no cursor or limit",
                    ))
                }
                _ => rest.push((name, value)),
            }
        }
        let rest = serde_html_form::to_string(&rest).unwrap_or_default();
        Ok(ActivityQuery {
            window,
            utc_offset_minutes,
            filter: super::ListQuery::parse(&rest)?.filter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_last_hour_bar_holds_now_and_the_first_starts_23_hours_before_it() {
        let now = at("2026-11-28T08:44:19Z");
        assert_eq!(
            ActivityWindow::Day.start(now, 0),
            at("2026-11-27T09:00:00Z")
        );
        // Half-hour zones cut hours at :30 UTC: 14:14 in India is in the hour from 08:30Z.
        assert_eq!(
            ActivityWindow::Day.start(now, 330),
            at("2026-11-27T09:30:00Z")
        );
    }

    #[test]
    fn days_start_at_the_readers_midnight() {
        let now = at("2026-11-28T08:44:19Z");
        // Auckland (UTC+13) is already at 21:44 on the 28th: its 28th began at 11:00Z on the 27th.
        assert_eq!(
            ActivityWindow::Week.start(now, 13 * 60),
            at("2026-11-21T11:00:00Z")
        );
        assert_eq!(
            ActivityWindow::Week.start(now, -5 * 60),
            at("2026-11-22T05:00:00Z")
        );
    }

    #[test]
    fn every_bar_is_present_and_counts_land_in_theirs() {
        let start = at("2026-11-27T09:00:00Z");
        let a = TriggerActivity::new(
            ActivityWindow::Day,
            start,
            [
                (0, FailureClass::Success, 2),
                (23, FailureClass::Server, 1),
                (23, FailureClass::Auth, 3),
                (99, FailureClass::Success, 9),
            ],
        );
        assert_eq!(a.buckets.len(), 24);
        assert_eq!(a.buckets[1].start, at("2026-11-27T10:00:00Z"));
        assert_eq!(a.buckets[0].by_outcome(), [2, 0, 0]);
        assert_eq!(a.buckets[23].by_outcome(), [0, 1, 3]);
        assert_eq!(a.buckets[23].total(), 4);
        assert_eq!(a.buckets[5].total(), 0);
    }

    #[test]
    fn the_query_reads_window_offset_and_the_lists_filters() {
        let q = ActivityQuery::parse("window=7d&utc_offset_minutes=-330&status=erroneous").unwrap();
        assert_eq!(q.window, ActivityWindow::Week);
        assert_eq!(q.utc_offset_minutes, -330);
        assert_eq!(q.filter.status, [super::super::Status::Erroneous]);
        assert_eq!(
            ActivityQuery::parse("").unwrap().window,
            ActivityWindow::Day
        );
        let field = |q: &str| ActivityQuery::parse(q).unwrap_err().field;
        assert_eq!(field("window=1y"), "window");
        assert_eq!(field("utc_offset_minutes=5000"), "utc_offset_minutes");
        // The smallest i32 has no absolute value: refused, not a panic.
        assert_eq!(
            field("utc_offset_minutes=-2147483648"),
            "utc_offset_minutes"
        );
        assert_eq!(field("cursor=x"), "cursor");
        assert_eq!(field("colour=red"), "colour");
    }
}
