//! Short-lived caches for what every ingest reads: the caller's API key and the
//! plugin. For plugins, a few seconds of staleness across instances is the price;
//! a revoked key is dropped at once on every instance (see `auth`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_ENTRIES: usize = 10_000;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() > MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            // Still full of fresh entries (someone sends many distinct keys): a
            // cache may forget, but it may not grow without bound.
            if entries.len() > MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    /// Keep only the entries `keep` accepts.
    pub fn retain(&self, keep: impl Fn(&K, &V) -> bool) {
        let mut entries = self.entries.lock().expect("cache lock");
        entries.retain(|k, (v, _)| keep(k, v));
    }

    pub fn clear(&self) {
        self.entries.lock().expect("cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let c = TtlCache::new(Duration::from_millis(30));
        c.put("a", 1);
        assert_eq!(c.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&"a"), None);
        c.put("b", 2);
        c.clear();
        assert_eq!(c.get(&"b"), None);
    }

    #[test]
    fn entries_can_be_dropped_by_what_they_hold() {
        let c = TtlCache::new(Duration::from_secs(30));
        c.put("a", 1);
        c.put("b", 2);
        c.retain(|_, v| *v != 1);
        assert_eq!((c.get(&"a"), c.get(&"b")), (None, Some(2)));
    }

    #[test]
    fn a_cache_full_of_fresh_entries_starts_over_instead_of_growing() {
        let c = TtlCache::new(Duration::from_secs(30));
        for i in 0..=MAX_ENTRIES + 1 {
            c.put(i, i);
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES + 1);
    }
}
