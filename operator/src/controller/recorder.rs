//! Records Events (`events.k8s.io/v1`). A repeat of the same Event (same object, type, reason
//! and note) within [`SERIES_TTL`] counts up the first one's series; an Event that says anything
//! different is an Event of its own. (kube-runtime's `Recorder` keys its series without the
//! note, so differing notes fold into one Event that shows only the first.)

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

use super::notices::Notice;
use super::status;

/// How long a repeat still counts up an earlier Event's series (as kube-runtime's recorder).
pub const SERIES_TTL: SignedDuration = SignedDuration::from_mins(6);

/// The longest note the API server accepts is 1 kB.
const MAX_NOTE_BYTES: usize = 1000;

/// The action every Event of the operator names.
const ACTION: &str = "Reconcile";

/// What makes two Events the same Event: everything a reader sees but the time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    regarding: (String, String, String, String),
    warning: bool,
    reason: String,
    note: String,
}

impl SeriesKey {
    /// The key of `notice` about `reference`.
    pub fn of(reference: &ObjectReference, notice: &Notice) -> Self {
        let part = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            regarding: (
                part(&reference.kind),
                part(&reference.namespace),
                part(&reference.name),
                part(&reference.uid),
            ),
            warning: notice.warning,
            reason: notice.reason.clone(),
            note: status::truncate(&notice.note, MAX_NOTE_BYTES),
        }
    }
}

/// An Event this process created: its name and its series so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// `metadata.name` of the Event.
    pub name: String,
    /// How often it happened.
    pub count: i32,
    /// When it last happened.
    pub last: Timestamp,
}

/// Whether a repeat at `now` continues the series of `recorded`.
pub fn continues(recorded: &Recorded, now: Timestamp) -> bool {
    now.duration_since(recorded.last) < SERIES_TTL
}

/// Who records: the controller and this replica.
#[derive(Clone, Debug)]
pub struct Reporter {
    /// `reportingController`.
    pub controller: String,
    /// `reportingInstance`.
    pub instance: String,
}

/// A new Event for `notice` about `reference`, happening at `now`.
pub fn event(reporter: &Reporter, reference: &ObjectReference, notice: &Notice, now: Timestamp) -> Event {
    let regarding = reference.name.clone().unwrap_or_else(|| reporter.controller.clone());
    Event {
        action: Some(ACTION.to_string()),
        reason: Some(notice.reason.clone()),
        note: Some(status::truncate(&notice.note, MAX_NOTE_BYTES)),
        type_: Some(if notice.warning { "Warning" } else { "Normal" }.to_string()),
        event_time: Some(MicroTime(now)),
        regarding: Some(reference.clone()),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone()),
        metadata: ObjectMeta {
            namespace: reference.namespace.clone(),
            name: Some(format!("{regarding}.{:x}", now.as_nanosecond())),
            ..ObjectMeta::default()
        },
        ..Event::default()
    }
}

/// Records Events through the API, remembering the series of those it created.
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    recorded: Mutex<HashMap<SeriesKey, Recorded>>,
}

impl Recorder {
    /// A recorder writing as `reporter` through `client`.
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            recorded: Mutex::default(),
        }
    }

    /// Records `notice` about `reference`: the series of the same Event when it is recent, a new
    /// Event otherwise.
    pub async fn publish(&self, reference: &ObjectReference, notice: &Notice) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = SeriesKey::of(reference, notice);
        let namespace = reference.namespace.clone().unwrap_or_else(|| "default".to_string());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let earlier = {
            let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
            recorded.retain(|_, r| continues(r, now));
            recorded.get(&key).cloned()
        };
        if let Some(earlier) = earlier {
            let count = earlier.count + 1;
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(now),
            };
            let patch = serde_json::json!({ "series": series });
            match api
                .patch(&earlier.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.remember(key, earlier.name, count, now);
                    return Ok(());
                }
                // Gone (the API server's Event TTL): a new Event instead.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let created = api
            .create(&PostParams::default(), &event(&self.reporter, reference, notice, now))
            .await?;
        self.remember(key, created.metadata.name.unwrap_or_default(), 1, now);
        Ok(())
    }

    fn remember(&self, key: SeriesKey, name: String, count: i32, now: Timestamp) {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Recorded { name, count, last: now });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance() -> ObjectReference {
        ObjectReference {
            api_version: Some("operator.prow.dev/v1alpha1".into()),
            kind: Some("ProwInstance".into()),
            namespace: Some("prow".into()),
            name: Some("prow".into()),
            uid: Some("u1".into()),
            ..ObjectReference::default()
        }
    }

    fn applied(note: &str) -> Notice {
        Notice {
            warning: false,
            reason: "Applied".into(),
            note: note.into(),
        }
    }

    #[test]
    fn events_with_different_notes_are_different_series() {
        let first = SeriesKey::of(&instance(), &applied("created Deployment prow/prow-deck"));
        let second = SeriesKey::of(&instance(), &applied("updated ConfigMap prow/prow-config"));
        assert_ne!(first, second);
        assert_eq!(
            first,
            SeriesKey::of(&instance(), &applied("created Deployment prow/prow-deck"))
        );
        let mut other = instance();
        other.uid = Some("u2".into());
        assert_ne!(
            first,
            SeriesKey::of(&other, &applied("created Deployment prow/prow-deck"))
        );
    }

    #[test]
    fn a_series_ends_after_its_ttl() {
        let start = Timestamp::from_second(1_000).unwrap();
        let recorded = Recorded {
            name: "prow.1".into(),
            count: 1,
            last: start,
        };
        assert!(continues(&recorded, start + SignedDuration::from_mins(5)));
        assert!(!continues(&recorded, start + SERIES_TTL));
    }

    #[test]
    fn a_new_event_says_who_what_and_when() {
        let reporter = Reporter {
            controller: "prow-operator".into(),
            instance: "replica-0".into(),
        };
        let now = Timestamp::from_second(1_000).unwrap();
        let event = event(&reporter, &instance(), &applied(&"x".repeat(3000)), now);
        assert_eq!(event.reason.as_deref(), Some("Applied"));
        assert_eq!(event.type_.as_deref(), Some("Normal"));
        assert_eq!(event.metadata.namespace.as_deref(), Some("prow"));
        assert!(event.metadata.name.unwrap().starts_with("prow."));
        assert!(event.note.unwrap().len() <= MAX_NOTE_BYTES);
        assert_eq!(event.reporting_instance.as_deref(), Some("replica-0"));
        assert!(event.series.is_none());
    }
}
