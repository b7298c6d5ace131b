//! `POST /login` and `POST /logout`: plain form posts, so signing in works
//! without JavaScript. Failed attempts are slowed per email and per address.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Counts failed sign-ins per email and per address (governor's quota); a
/// failure over the quota blocks that email or address until a cell is free
/// again, so a correct password has to wait too. Successful sign-ins cost nothing.
pub struct SignInGuard {
    email: DefaultKeyedRateLimiter<String>,
    address: DefaultKeyedRateLimiter<String>,
    /// `email:…` / `address:…` → blocked until then.
    blocked: Mutex<HashMap<String, Instant>>,
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
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, address: &str) -> [String; 2] {
        [
            format!("email:{}", crate::storage::accounts::email_key(email)),
            format!("address:{address}"),
        ]
    }

    /// `Err(wait)` while this email or address is blocked.
    pub fn check(&self, email: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let blocked = self.blocked.lock().expect("not poisoned");
        let wait = Self::keys(email, address)
            .iter()
            .filter_map(|k| blocked.get(k))
            .filter(|until| **until > now)
            .map(|until| *until - now)
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Count a failed sign-in: `Err(wait)` when it went over the quota of its
    /// email or its address, which are then blocked for `wait`.
    pub fn failed(&self, email: &str, address: &str) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        let [email_key, address_key] = Self::keys(email, address);
        let over = [
            (self.email.check_key(&email_key), email_key),
            (self.address.check_key(&address_key), address_key),
        ];
        let now = Instant::now();
        let mut blocked = self.blocked.lock().expect("not poisoned");
        let mut longest = None;
        for (result, key) in over {
            if let Err(not_until) = result {
                let wait = not_until.wait_time_from(clock.now());
                blocked.insert(key, now + wait);
                longest = longest.max(Some(wait));
            }
        }
        match longest {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Forget what has expired (keeps memory bounded).
    pub fn shrink(&self) {
        self.email.retain_recent();
        self.address.retain_recent();
        let now = Instant::now();
        self.blocked
            .lock()
            .expect("not poisoned")
            .retain(|_, until| *until > now);
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
    fn an_email_over_its_quota_of_failures_waits() {
        let guard = SignInGuard::new(&SignInLimits {
            per_email_burst: 2,
            ..SignInLimits::default()
        });
        assert!(guard.failed("Ada@example.com", "1.2.3.4").is_ok());
        assert!(guard.failed("ada@example.com", "5.6.7.8").is_ok());
        assert!(guard.check("ada@example.com", "9.9.9.9").is_ok());
        let wait = guard.failed("ada@example.com", "9.9.9.9").unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(guard.check("ADA@example.com", "1.1.1.1").is_err());
        assert!(guard.check("bob@example.com", "9.9.9.9").is_ok());
    }

    #[test]
    fn an_address_over_its_quota_of_failures_waits_whatever_the_email() {
        let guard = SignInGuard::new(&SignInLimits {
            per_address_burst: 2,
            ..SignInLimits::default()
        });
        for email in ["a@example.com", "b@example.com"] {
            assert!(guard.failed(email, "1.2.3.4").is_ok());
        }
        assert!(guard.failed("c@example.com", "1.2.3.4").is_err());
        assert!(guard.check("d@example.com", "1.2.3.4").is_err());
        assert!(guard.check("d@example.com", "5.6.7.8").is_ok());
    }
}
