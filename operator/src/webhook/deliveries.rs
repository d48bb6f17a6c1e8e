//! A bounded memory of `X-GitHub-Delivery` ids, so a redelivered event is acknowledged and not
//! acted on again. An id is recorded once its event was acted on, so a delivery that failed is
//! acted on when it is redelivered. The oldest ids are forgotten first; memory stays flat however
//! many arrive.

use std::collections::{HashSet, VecDeque};

/// Delivery ids seen recently.
#[derive(Debug)]
pub struct Deliveries {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl Deliveries {
    /// Remembers up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Whether `id` was recorded (and not forgotten yet).
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Records `id`; returns false when it was recorded already.
    pub fn record(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(id.to_string());
        self.seen.insert(id.to_string());
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_caught_and_memory_is_bounded() {
        let mut deliveries = Deliveries::new(3);
        assert!(deliveries.record("a"));
        assert!(!deliveries.record("a"));
        for id in ["b", "c", "d"] {
            assert!(deliveries.record(id));
        }
        assert_eq!(deliveries.len(), 3);
        assert!(deliveries.record("a"), "the oldest was forgotten");
        for n in 0..10_000 {
            deliveries.record(&n.to_string());
        }
        assert_eq!(deliveries.len(), 3);
    }
}
