//! What this term of leadership wrote and the caches may not show yet.

use std::collections::HashMap;
use std::time::Duration;

/// How long a write of this term may be missing from the caches before it counts as lost.
pub const CACHE_LAG: Duration = Duration::from_secs(10);

/// Keys noted in real time (this is about the caches' lag), each fresh for [`CACHE_LAG`]. Stale
/// entries are dropped in batches, so noting stays cheap however many there are.
#[derive(Debug)]
pub struct Recent<K> {
    noted: HashMap<K, std::time::Instant>,
    prune_at: usize,
}

impl<K> Default for Recent<K> {
    fn default() -> Self {
        Self {
            noted: HashMap::new(),
            prune_at: 1024,
        }
    }
}

impl<K: std::hash::Hash + Eq> Recent<K> {
    /// Notes `key` now.
    pub fn note(&mut self, key: K) {
        if self.noted.len() >= self.prune_at {
            self.noted.retain(|_, at| at.elapsed() < CACHE_LAG);
            self.prune_at = (self.noted.len() * 2).max(1024);
        }
        self.noted.insert(key, std::time::Instant::now());
    }

    /// Whether `key` was noted less than [`CACHE_LAG`] ago.
    pub fn fresh(&self, key: &K) -> bool {
        self.noted.get(key).is_some_and(|at| at.elapsed() < CACHE_LAG)
    }

    /// Forgets `key`.
    pub fn forget(&mut self, key: &K) {
        if !self.noted.is_empty() {
            self.noted.remove(key);
        }
    }
}
