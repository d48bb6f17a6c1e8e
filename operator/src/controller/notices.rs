//! Which Events a status change deserves: one when an object stalls (or stalls for a new reason)
//! and one when it recovers, never one per reconcile. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use prow_api::status::condition_type::{READY, RECONCILING, STALLED};

use super::status::{Health, Summary};

/// An Event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// The CamelCase reason.
    pub reason: String,
    /// The message.
    pub note: String,
}

/// The Event for going from `previous` conditions to `next`, if any.
pub fn transition(previous: &[Condition], next: &Summary) -> Option<Notice> {
    let stalled = previous.iter().find(|c| c.type_ == STALLED && c.status == "True");
    match (stalled, next.health) {
        (Some(before), Health::Stalled) if before.reason == next.reason && before.message == next.message => None,
        (_, Health::Stalled) => Some(Notice {
            warning: true,
            reason: next.reason.clone(),
            note: next.message.clone(),
        }),
        (Some(before), _) => Some(Notice {
            warning: false,
            reason: "Recovered".into(),
            note: format!("{} resolved; {}", before.reason, next.message),
        }),
        (None, _) => None,
    }
}

/// The Event for going from `previous` conditions to `next` ones, if any.
pub fn transition_between(previous: &[Condition], next: &[Condition]) -> Option<Notice> {
    let active = |type_: &str| next.iter().find(|c| c.type_ == type_ && c.status == "True");
    let summary = if let Some(stalled) = active(STALLED) {
        Summary::new(Health::Stalled, &stalled.reason, stalled.message.clone())
    } else if let Some(ready) = active(READY) {
        Summary::new(Health::Ready, &ready.reason, ready.message.clone())
    } else {
        let reconciling = active(RECONCILING)?;
        Summary::new(Health::Progressing, &reconciling.reason, reconciling.message.clone())
    };
    transition(previous, &summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::status::conditions;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn after(summary: &Summary) -> Vec<Condition> {
        conditions(&[], summary, Some(1), &Time(Timestamp::UNIX_EPOCH))
    }

    #[test]
    fn stalling_warns_once_and_recovering_is_recorded() {
        let missing = Summary::new(Health::Stalled, "SecretMissing", "Secret prow/hmac not found");
        let first = transition(&[], &missing).unwrap();
        assert!(first.warning);
        assert_eq!(first.reason, "SecretMissing");
        assert_eq!(transition(&after(&missing), &missing), None);
        let ready = Summary::new(Health::Ready, "Reconciled", "ok");
        let recovered = transition(&after(&missing), &ready).unwrap();
        assert!(!recovered.warning);
        assert_eq!(recovered.reason, "Recovered");
        assert_eq!(recovered.note, "SecretMissing resolved; ok");
        assert_eq!(transition(&after(&ready), &ready), None);
    }

    #[test]
    fn transitions_can_be_read_from_conditions() {
        let missing = after(&Summary::new(Health::Stalled, "Rejected", "generation 2 is rejected"));
        let ready = after(&Summary::new(Health::Ready, "Accepted", "in effect"));
        assert_eq!(transition_between(&ready, &missing).unwrap().reason, "Rejected");
        assert_eq!(transition_between(&missing, &ready).unwrap().reason, "Recovered");
        assert_eq!(transition_between(&ready, &ready), None);
    }

    #[test]
    fn a_new_stall_reason_warns_again() {
        let missing = Summary::new(Health::Stalled, "SecretMissing", "Secret prow/hmac not found");
        let invalid = Summary::new(Health::Stalled, "InvalidSpec", "spec.version: empty");
        assert_eq!(transition(&after(&missing), &invalid).unwrap().reason, "InvalidSpec");
    }
}
