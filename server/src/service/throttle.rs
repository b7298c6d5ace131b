//! Failed authentications, counted per client address. A key that is not in the
//! cache costs a database lookup; an address that keeps sending keys that fail
//! is refused (429, with when to try again) without one, until its budget
//! refills. A valid key in the cache is never throttled, so a busy application
//! sharing an address with a misconfigured one keeps working.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses remembered at most before the forgotten ones are dropped.
const MAX_ADDRESSES: usize = 10_000;

pub(super) struct FailureThrottle {
    /// `None`: failures are not throttled (a limit of 0).
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses over their budget, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailureThrottle {
    /// At most `per_minute` failures a minute per address (all at once, then one
    /// every `60 / per_minute` seconds); 0 turns throttling off.
    pub fn new(per_minute: u32) -> FailureThrottle {
        FailureThrottle {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long this address must wait before a key it sends is looked up, if it must.
    pub fn wait(&self, client: Option<IpAddr>) -> Option<Duration> {
        let key = bucket(client);
        let mut blocked = self.blocked.lock().expect("throttle lock");
        let until = *blocked.get(&key)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&key);
            return None;
        }
        Some(until - now)
    }

    /// Count a failure; over the budget, how long the address must now wait.
    pub fn failed(&self, client: Option<IpAddr>) -> Option<Duration> {
        let limiter = self.limiter.as_ref()?;
        let key = bucket(client);
        let denied = limiter.check_key(&key).err()?;
        let wait = denied.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked.lock().expect("throttle lock");
        if blocked.len() >= MAX_ADDRESSES {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            limiter.retain_recent();
        }
        blocked.insert(key, Instant::now() + wait);
        Some(wait)
    }
}

/// The budget an address draws on: its own, but one per IPv6 /64 (a host
/// usually holds the whole /64, and would otherwise have billions of budgets).
fn bucket(client: Option<IpAddr>) -> IpAddr {
    match client {
        None => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        Some(v4) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_is_refused_once_it_has_failed_more_often_than_its_budget() {
        let t = FailureThrottle::new(3);
        let a = ip("203.0.113.7");
        for _ in 0..3 {
            assert_eq!(t.failed(a), None);
            assert_eq!(t.wait(a), None);
        }
        let wait = t.failed(a).expect("the fourth failure is over the budget");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(t.wait(a).is_some());
        // Another address has its own budget.
        assert_eq!(t.wait(ip("198.51.100.1")), None);
        assert_eq!(t.failed(ip("198.51.100.1")), None);
    }

    #[test]
    fn an_ipv6_host_has_one_budget_for_its_whole_slash_64() {
        let t = FailureThrottle::new(1);
        assert_eq!(t.failed(ip("2001:db8:1:2::1")), None);
        assert!(t.failed(ip("2001:db8:1:2::ffff")).is_some());
        assert!(t.wait(ip("2001:db8:1:2:abcd::1")).is_some());
        assert_eq!(t.wait(ip("2001:db8:1:3::1")), None);
    }

    #[test]
    fn a_limit_of_zero_never_throttles() {
        let t = FailureThrottle::new(0);
        for _ in 0..100 {
            assert_eq!(t.failed(ip("203.0.113.7")), None);
        }
    }
}
