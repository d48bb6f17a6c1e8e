//! kstatus conditions: one summary of an object's state in, the `Ready`, `Reconciling` and
//! `Stalled` conditions out. Pure: the clock is a parameter.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use prow_api::status::condition_type::{READY, RECONCILING, STALLED};

/// Where an object stands, in kstatus' terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Reconciled and in effect (`Ready=True`).
    Ready,
    /// Being worked on; it will settle by itself (`Reconciling=True`).
    Progressing,
    /// Stuck until the object or one of its inputs changes (`Stalled=True`).
    Stalled,
}

/// The state of an object: its health, a stable CamelCase reason and a message for humans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Ready, progressing or stalled.
    pub health: Health,
    /// A stable CamelCase reason, such as `Reconciled` or `SecretMissing`.
    pub reason: String,
    /// What it means, naming the objects and fields involved.
    pub message: String,
}

impl Summary {
    /// A summary with `health`, `reason` and `message`.
    pub fn new(health: Health, reason: &str, message: impl Into<String>) -> Self {
        Self {
            health,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// The longest condition message the API server accepts.
const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// The three conditions for `summary`. A condition whose status is unchanged from `previous`
/// keeps its `lastTransitionTime`; the others take `now`.
pub fn conditions(previous: &[Condition], summary: &Summary, generation: Option<i64>, now: &Time) -> Vec<Condition> {
    let message = truncate(&summary.message, MAX_MESSAGE_BYTES);
    let make = |type_: &str, active: bool, reason: &str, message: &str| {
        let status = if active { "True" } else { "False" };
        let last_transition_time = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| now.clone());
        Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            observed_generation: generation,
            last_transition_time,
        }
    };
    let (ready, reconciling, stalled) = match summary.health {
        Health::Ready => (true, false, false),
        Health::Progressing => (false, true, false),
        Health::Stalled => (false, false, true),
    };
    let settled = if ready { summary.reason.as_str() } else { "NotReady" };
    vec![
        make(READY, ready, &summary.reason, &message),
        if reconciling {
            make(RECONCILING, true, &summary.reason, &message)
        } else {
            make(RECONCILING, false, settled, "")
        },
        if stalled {
            make(STALLED, true, &summary.reason, &message)
        } else {
            make(STALLED, false, settled, "")
        },
    ]
}

/// Whether `conditions` say `type_` is `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == "True")
}

/// `conditions` without their timestamps, to tell whether a status write would change anything.
pub fn same(a: &[Condition], b: &[Condition]) -> bool {
    let key = |c: &Condition| {
        (
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            c.observed_generation,
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// `text` cut to at most `max` bytes (ending with `...` when cut), on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn find<'a>(conditions: &'a [Condition], type_: &str) -> &'a Condition {
        conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn ready_sets_only_ready_true() {
        let summary = Summary::new(Health::Ready, "Reconciled", "applied 12 objects");
        let conditions = conditions(&[], &summary, Some(3), &at(10));
        assert_eq!(find(&conditions, READY).status, "True");
        assert_eq!(find(&conditions, READY).reason, "Reconciled");
        assert_eq!(find(&conditions, RECONCILING).status, "False");
        assert_eq!(find(&conditions, STALLED).status, "False");
        assert!(conditions.iter().all(|c| c.observed_generation == Some(3)));
    }

    #[test]
    fn stalled_carries_reason_and_message_on_ready_and_stalled() {
        let summary = Summary::new(Health::Stalled, "SecretMissing", "Secret prow/hmac has no key hmac");
        let conditions = conditions(&[], &summary, Some(1), &at(10));
        assert_eq!(find(&conditions, READY).status, "False");
        assert_eq!(find(&conditions, READY).reason, "SecretMissing");
        assert_eq!(find(&conditions, STALLED).status, "True");
        assert_eq!(find(&conditions, STALLED).message, "Secret prow/hmac has no key hmac");
        assert_eq!(find(&conditions, RECONCILING).status, "False");
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let first = conditions(
            &[],
            &Summary::new(Health::Progressing, "Rollout", "deck 0/1"),
            None,
            &at(10),
        );
        let again = conditions(
            &first,
            &Summary::new(Health::Progressing, "Rollout", "deck 1/2"),
            None,
            &at(20),
        );
        assert_eq!(find(&again, RECONCILING).last_transition_time, at(10));
        let done = conditions(&again, &Summary::new(Health::Ready, "Reconciled", "ok"), None, &at(30));
        assert_eq!(find(&done, READY).last_transition_time, at(30));
        assert_eq!(find(&done, RECONCILING).last_transition_time, at(30));
        assert_eq!(find(&done, STALLED).last_transition_time, at(10));
    }

    #[test]
    fn same_ignores_timestamps_only() {
        let summary = Summary::new(Health::Ready, "Reconciled", "ok");
        let a = conditions(&[], &summary, Some(1), &at(10));
        let b = conditions(&[], &summary, Some(1), &at(99));
        assert!(same(&a, &b));
        let c = conditions(&[], &summary, Some(2), &at(10));
        assert!(!same(&a, &c));
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let summary = Summary::new(Health::Stalled, "Rejected", "é".repeat(MAX_MESSAGE_BYTES));
        let conditions = conditions(&[], &summary, None, &at(1));
        let message = &find(&conditions, READY).message;
        assert!(message.len() <= MAX_MESSAGE_BYTES);
        assert!(message.ends_with("..."));
    }
}
