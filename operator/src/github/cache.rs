//! A small, bounded cache whose entries expire after a fixed time-to-live.
//!
//! It holds the trust answers (org membership, collaborator status) so that a burst of webhooks
//! for one PR costs one GitHub request per user. Time comes from a [`Clock`], so tests control it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A monotonic time source.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real clock, [`Instant::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A map whose entries live for `ttl`, holding at most `capacity` entries. When full, expired
/// entries go first, then the oldest inserted ones.
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
    entries: HashMap<K, Entry<V>>,
    /// Insertion order, for eviction; an element whose `seq` no longer matches its entry is stale.
    order: VecDeque<(K, u64)>,
    next_seq: u64,
}

struct Entry<V> {
    value: V,
    expires: Instant,
    seq: u64,
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache on the real clock. A `capacity` of 0 or a zero `ttl` disables caching.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self::with_clock(ttl, capacity, Arc::new(SystemClock))
    }

    /// A cache on the given clock.
    pub fn with_clock(ttl: Duration, capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl,
            capacity,
            clock,
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// The value for `key`, unless absent or expired (an expired entry is removed).
    pub fn get(&mut self, key: &K) -> Option<V> {
        let now = self.clock.now();
        match self.entries.get(key) {
            Some(entry) if entry.expires > now => Some(entry.value.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` for `key` for one `ttl` from now, evicting if the cache is full.
    pub fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let now = self.clock.now();
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, e| e.expires > now);
            while self.entries.len() >= self.capacity {
                let Some((old, seq)) = self.order.pop_front() else {
                    break;
                };
                if self.entries.get(&old).is_some_and(|e| e.seq == seq) {
                    self.entries.remove(&old);
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = now.checked_add(self.ttl).unwrap_or(now);
        self.entries.insert(key.clone(), Entry { value, expires, seq });
        self.order.push_back((key, seq));
        if self.order.len() > self.capacity.saturating_mul(2).max(16) {
            let entries = &self.entries;
            self.order
                .retain(|(k, seq)| entries.get(k).is_some_and(|e| e.seq == *seq));
        }
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// How many entries are held (expired ones included until touched or evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct ManualClock {
        start: Instant,
        offset: Mutex<Duration>,
    }

    impl ManualClock {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                start: Instant::now(),
                offset: Mutex::new(Duration::ZERO),
            })
        }
        fn advance(&self, by: Duration) {
            *self.offset.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            self.start + *self.offset.lock().unwrap()
        }
    }

    const TTL: Duration = Duration::from_secs(300);

    #[test]
    fn entries_expire_after_the_ttl() {
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(TTL, 10, clock.clone());
        cache.insert("alice", true);
        assert_eq!(cache.get(&"alice"), Some(true));
        clock.advance(Duration::from_secs(299));
        assert_eq!(cache.get(&"alice"), Some(true));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&"alice"), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn reinserting_refreshes_the_ttl_and_value() {
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(TTL, 10, clock.clone());
        cache.insert("alice", true);
        clock.advance(Duration::from_secs(200));
        cache.insert("alice", false);
        clock.advance(Duration::from_secs(200));
        assert_eq!(cache.get(&"alice"), Some(false));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_full_cache_evicts_expired_entries_first() {
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(TTL, 2, clock.clone());
        cache.insert("old", 1);
        clock.advance(Duration::from_secs(200));
        cache.insert("young", 2);
        clock.advance(Duration::from_secs(150)); // "old" expired, "young" has 150 s left
        cache.insert("new", 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"young"), Some(2));
        assert_eq!(cache.get(&"new"), Some(3));
    }

    #[test]
    fn a_full_cache_evicts_the_oldest_insert() {
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(TTL, 2, clock.clone());
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("a", 10); // "a" is now newer than "b"
        cache.insert("c", 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"b"), None);
        assert_eq!(cache.get(&"a"), Some(10));
        assert_eq!(cache.get(&"c"), Some(3));
    }

    #[test]
    fn the_bound_holds_under_many_inserts() {
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(TTL, 5, clock.clone());
        for i in 0..1000 {
            cache.insert(i % 37, i);
            assert!(cache.len() <= 5);
            assert!(cache.order.len() <= 16 + 1);
        }
        assert_eq!(cache.get(&(999 % 37)), Some(999));
    }

    #[test]
    fn zero_capacity_or_ttl_disables_caching() {
        let mut cache = TtlCache::new(TTL, 0);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None);
        let mut cache = TtlCache::new(Duration::ZERO, 10);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None);
    }

    #[test]
    fn remove_forgets() {
        let mut cache = TtlCache::new(TTL, 10);
        cache.insert("a", 1);
        cache.remove(&"a");
        assert_eq!(cache.get(&"a"), None);
    }
}
