//! Where a retry is decided. Pure functions over data: the plugin's retry policy,
//! the attempt's class, a `Retry-After` if one came, and a jitter draw.

use chrono::{DateTime, Duration, Utc};

use app::domain::{DecisionAction, FailureClass, RetryPolicy};

/// What happens after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub action: DecisionAction,
    pub at: Option<DateTime<Utc>>,
}

/// Decide after attempt `number` (1-based) of a trigger.
///
/// `jitter` is a draw in [-1, 1] that spreads retries by up to the policy's
/// `jitter_pct`; tests pass 0. A `Retry-After` replaces the scheduled delay
/// (clamped by the cap) so the provider is never asked again earlier than it said.
/// `automatic` is false for a manual run that did not ask to resume retries.
pub fn decide(
    policy: &RetryPolicy,
    number: u32,
    class: FailureClass,
    retry_after: Option<std::time::Duration>,
    now: DateTime<Utc>,
    jitter: f64,
    automatic: bool,
) -> Next {
    if class == FailureClass::Success {
        return Next {
            action: DecisionAction::Finish,
            at: None,
        };
    }
    if !class.is_retryable() || !automatic || number >= policy.max_attempts {
        return Next {
            action: DecisionAction::Stop,
            at: None,
        };
    }
    // Every delay is clamped: a provider's Retry-After and a stored policy are input,
    // and a retry computed from them must never overflow a time or panic the task.
    let delay_ms = match retry_after {
        Some(asked) => {
            asked
                .as_secs()
                .min(policy.retry_after_cap_secs)
                .min(MAX_DELAY_SECS)
                * 1000
        }
        None => {
            let index = (number as usize)
                .saturating_sub(1)
                .min(policy.schedule_secs.len().saturating_sub(1));
            let base = policy.schedule_secs.get(index).copied().unwrap_or(60) as f64;
            let spread =
                base * f64::from(policy.jitter_pct.min(100)) / 100.0 * jitter.clamp(-1.0, 1.0);
            ((base + spread) * 1000.0).clamp(0.0, (MAX_DELAY_SECS * 1000) as f64) as u64
        }
    };
    // Both branches stay within MAX_DELAY_SECS, far inside i64 milliseconds.
    let delay = Duration::milliseconds(delay_ms as i64);
    Next {
        action: DecisionAction::Retry,
        at: Some(now.checked_add_signed(delay).unwrap_or(now)),
    }
}

/// No retry is scheduled further out than this, whatever a policy or a provider says
/// (plugins are checked to stay within 7 days; jitter may add up to as much again).
pub const MAX_DELAY_SECS: u64 = 30 * 24 * 3600;

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            schedule_secs: vec![5, 60, 300],
            max_attempts: 4,
            jitter_pct: 20,
            retry_after_cap_secs: 600,
        }
    }

    fn at(n: u32, class: FailureClass, ra: Option<u64>, jitter: f64) -> Next {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        decide(
            &policy(),
            n,
            class,
            ra.map(std::time::Duration::from_secs),
            now,
            jitter,
            true,
        )
    }

    fn secs_after(next: &Next) -> i64 {
        (next.at.unwrap() - DateTime::from_timestamp(1_000_000, 0).unwrap()).num_milliseconds()
    }

    #[test]
    fn retries_follow_the_schedule_and_stop_after_the_last_attempt() {
        assert_eq!(secs_after(&at(1, FailureClass::Server, None, 0.0)), 5_000);
        assert_eq!(secs_after(&at(2, FailureClass::Network, None, 0.0)), 60_000);
        assert_eq!(
            secs_after(&at(3, FailureClass::Timeout, None, 0.0)),
            300_000
        );
        assert_eq!(
            at(4, FailureClass::Server, None, 0.0).action,
            DecisionAction::Stop
        );
    }

    #[test]
    fn jitter_spreads_within_the_policy_percentage() {
        assert_eq!(secs_after(&at(2, FailureClass::Server, None, 1.0)), 72_000);
        assert_eq!(secs_after(&at(2, FailureClass::Server, None, -1.0)), 48_000);
    }

    #[test]
    fn a_429_with_retry_after_is_retried_no_earlier_than_asked_but_within_the_cap() {
        assert_eq!(
            secs_after(&at(1, FailureClass::RateLimited, Some(120), 0.0)),
            120_000
        );
        assert_eq!(
            secs_after(&at(1, FailureClass::RateLimited, Some(99_999), 0.0)),
            600_000
        );
    }

    #[test]
    fn a_huge_retry_after_is_clamped_to_the_cap_and_never_overflows() {
        assert_eq!(
            secs_after(&at(1, FailureClass::RateLimited, Some(u64::MAX), 0.0)),
            600_000,
            "the plugin's cap wins"
        );
        let unbounded = RetryPolicy {
            schedule_secs: vec![u64::MAX],
            max_attempts: 100,
            jitter_pct: 255,
            retry_after_cap_secs: u64::MAX,
        };
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let ceiling = MAX_DELAY_SECS as i64 * 1000;
        for (retry_after, jitter) in [(Some(u64::MAX), 0.0), (None, 1.0), (None, -1.0)] {
            let next = decide(
                &unbounded,
                1,
                FailureClass::RateLimited,
                retry_after.map(std::time::Duration::from_secs),
                now,
                jitter,
                true,
            );
            let after = (next.at.unwrap() - now).num_milliseconds();
            assert!((0..=ceiling).contains(&after), "{after} ms");
        }
        // Even at the end of time the decision is a time, not a panic.
        let next = decide(
            &unbounded,
            1,
            FailureClass::Server,
            Some(std::time::Duration::from_secs(u64::MAX)),
            DateTime::<Utc>::MAX_UTC,
            0.0,
            true,
        );
        assert_eq!(next.action, DecisionAction::Retry);
    }

    #[test]
    fn permanent_failures_stop_at_once_and_success_finishes() {
        for class in [
            FailureClass::Auth,
            FailureClass::NotFound,
            FailureClass::Validation,
            FailureClass::Permanent,
        ] {
            assert_eq!(
                at(1, class, None, 0.0).action,
                DecisionAction::Stop,
                "{class:?}"
            );
        }
        assert_eq!(
            at(1, FailureClass::Success, None, 0.0).action,
            DecisionAction::Finish
        );
    }

    #[test]
    fn a_manual_run_does_not_start_automatic_retries() {
        let now = Utc::now();
        let next = decide(&policy(), 1, FailureClass::Server, None, now, 0.0, false);
        assert_eq!(next.action, DecisionAction::Stop);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::from_timestamp(1_445_412_480, 0).unwrap(); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("30", now),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(std::time::Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
