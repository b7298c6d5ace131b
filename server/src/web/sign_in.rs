//! `POST /login` and `POST /logout`: plain form posts, so signing in works
//! without JavaScript. Failed attempts are slowed per email and per address.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many sign-in attempts pass before the next must wait.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    /// Attempts for one email in a burst, then one per `per_email_every`.
    pub per_email_burst: u32,
    pub per_email_every: Duration,
    /// Attempts from one address in a burst, then one per `per_address_every`.
    pub per_address_burst: u32,
    pub per_address_every: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            per_email_burst: 5,
            per_email_every: Duration::from_secs(60),
            per_address_burst: 30,
            per_address_every: Duration::from_secs(10),
        }
    }
}

/// Counts attempts; one over its quota waits (429 with `Retry-After`).
pub struct SignInGuard {
    email: DefaultKeyedRateLimiter<String>,
    address: DefaultKeyedRateLimiter<String>,
}

fn quota(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every.max(Duration::from_millis(1)))
        .expect("a positive period")
        .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least one"))
}

impl SignInGuard {
    pub fn new(limits: &SignInLimits) -> SignInGuard {
        SignInGuard {
            email: RateLimiter::keyed(quota(limits.per_email_burst, limits.per_email_every)),
            address: RateLimiter::keyed(quota(limits.per_address_burst, limits.per_address_every)),
        }
    }

    /// Count one attempt for this email and address: `Err(wait)` when either
    /// has used its quota.
    pub fn attempt(&self, email: &str, address: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let by_email = self
            .email
            .check_key(&crate::storage::accounts::email_key(email));
        let by_address = self.address.check_key(&address.to_string());
        let wait = [by_email.err(), by_address.err()]
            .into_iter()
            .flatten()
            .map(|not_until| not_until.wait_time_from(now))
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Forget keys that are back to a full quota (keeps memory bounded).
    pub fn shrink(&self) {
        self.email.retain_recent();
        self.address.retain_recent();
    }
}

/// Where to go after signing in: only a path on this site (`/…`, not `//host`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/?status=erroneous")), "/?status=erroneous");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn an_email_over_its_quota_waits() {
        let guard = SignInGuard::new(&SignInLimits {
            per_email_burst: 2,
            ..SignInLimits::default()
        });
        assert!(guard.attempt("Ada@example.com", "1.2.3.4").is_ok());
        assert!(guard.attempt("ada@example.com", "5.6.7.8").is_ok());
        let wait = guard.attempt("ada@example.com", "9.9.9.9").unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(guard.attempt("bob@example.com", "9.9.9.9").is_ok());
    }
}
