//! The ProwJob watch reads each ProwJob on its own. One the operator cannot read (a value of the
//! wrong type, stored under a looser CRD) is left out of the cache with one Warning (logged, and
//! an Event on it) per version, and every other job goes on. One without a state it knows is
//! kept, as upstream keeps it, and left alone, with one Warning per version too.
//!
//! kube-runtime's typed watcher decodes a whole list page, or a whole event, at once: a single
//! undecodable ProwJob failed the list, the watcher listed again and failed again, forever, and
//! the job caches never filled.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt, future};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, Resource};
use prow_api::{ProwJob, ProwJobState};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::warn;

use crate::controller::Context;
use crate::controller::notices::Notice;

/// A ProwJob as listed or watched: read, or not readable, with why.
#[derive(Clone, Debug)]
pub enum Listed {
    /// A ProwJob the operator can read.
    Readable(Box<ProwJob>),
    /// One it cannot.
    Unreadable {
        /// Its metadata (the API server checks metadata, so it always reads).
        metadata: Box<ObjectMeta>,
        /// What is wrong: the field path and the problem.
        problem: String,
    },
}

impl<'de> Deserialize<'de> for Listed {
    /// Reads the ProwJob from its JSON text directly; only one that fails is read again, to learn
    /// where. (Building a `Value` first would cost every event a second decoding.) Watch events and
    /// list pages come from serde_json, whose deserializer hands out the raw text.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        if let Ok(job) = serde_json::from_str::<ProwJob>(raw.get()) {
            return Ok(Listed::Readable(Box::new(job)));
        }
        // Only for the unreadable: read again, as a value (whose errors name the wrong type, not
        // a text position), to learn where it fails.
        let value: Value = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        let problem = match serde_path_to_error::deserialize::<_, ProwJob>(&value) {
            Ok(job) => return Ok(Listed::Readable(Box::new(job))),
            Err(error) => error.to_string(),
        };
        let metadata = value
            .get("metadata")
            .and_then(|m| ObjectMeta::deserialize(m).ok())
            .unwrap_or_default();
        let metadata = Box::new(metadata);
        Ok(Listed::Unreadable { metadata, problem })
    }
}

impl Resource for Listed {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        ProwJob::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        ProwJob::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        ProwJob::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        ProwJob::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        match self {
            Listed::Readable(job) => &job.metadata,
            Listed::Unreadable { metadata, .. } => metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Listed::Readable(job) => &mut job.metadata,
            Listed::Unreadable { metadata, .. } => metadata,
        }
    }
}

/// The ProwJobs warned about, by uid, with the version warned about: one Warning per version,
/// however often a relist brings it back.
#[derive(Default)]
pub struct Warned {
    warned: Mutex<HashMap<String, String>>,
}

impl Warned {
    /// Whether `metadata`'s version is new here (and is now remembered).
    fn first_time(&self, metadata: &ObjectMeta) -> bool {
        let uid = metadata.uid.clone().unwrap_or_default();
        let version = metadata.resource_version.clone().unwrap_or_default();
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        warned
            .insert(uid, version.clone())
            .is_none_or(|before| before != version)
    }

    /// Forgets a ProwJob that is fine again or gone.
    fn forget(&self, metadata: &ObjectMeta) {
        if let Some(uid) = &metadata.uid {
            let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
            if !warned.is_empty() {
                warned.remove(uid);
            }
        }
    }
}

/// Every readable ProwJob's events; an unreadable one is left out (an update that makes a job
/// unreadable takes it out of the cache, as a deletion) with one Warning per version.
pub fn prowjob_events(
    client: Client,
    ctx: Arc<Context>,
) -> impl Stream<Item = Result<Event<ProwJob>, watcher::Error>> + Send {
    let warned = Arc::new(Warned::default());
    watcher(Api::<Listed>::all(client), watcher::Config::default())
        .default_backoff()
        .filter_map(move |event| {
            future::ready(match event {
                Ok(event) => readable(event, &warned, &ctx).map(Ok),
                Err(error) => Some(Err(error)),
            })
        })
}

/// The event for the cache, if any.
fn readable(event: Event<Listed>, warned: &Warned, ctx: &Arc<Context>) -> Option<Event<ProwJob>> {
    let skip = |metadata: &ObjectMeta, problem: &str| {
        if warned.first_time(metadata) {
            warn_about(metadata, "Unreadable", &cannot_be_read(metadata, problem), ctx);
        }
    };
    // A job without a state it knows is kept, as upstream keeps it, and left alone.
    let check_state = |job: &ProwJob| {
        let unknown = job.status.as_ref().is_some_and(|s| s.state == ProwJobState::Unknown);
        if !unknown {
            warned.forget(&job.metadata);
        } else if warned.first_time(&job.metadata) {
            warn_about(&job.metadata, "UnknownState", &no_known_state(&job.metadata), ctx);
        }
    };
    match event {
        Event::Init => Some(Event::Init),
        Event::InitDone => Some(Event::InitDone),
        Event::InitApply(Listed::Readable(job)) => {
            check_state(&job);
            Some(Event::InitApply(*job))
        }
        Event::Apply(Listed::Readable(job)) => {
            check_state(&job);
            Some(Event::Apply(*job))
        }
        Event::Delete(Listed::Readable(job)) => {
            warned.forget(&job.metadata);
            Some(Event::Delete(*job))
        }
        Event::InitApply(Listed::Unreadable { metadata, problem }) => {
            skip(&metadata, &problem);
            None
        }
        Event::Apply(Listed::Unreadable { metadata, problem }) => {
            skip(&metadata, &problem);
            placeholder(*metadata).map(Event::Delete)
        }
        Event::Delete(Listed::Unreadable { metadata, .. }) => {
            warned.forget(&metadata);
            placeholder(*metadata).map(Event::Delete)
        }
    }
}

fn describe(metadata: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        metadata.namespace.as_deref().unwrap_or_default(),
        metadata.name.as_deref().unwrap_or_default()
    )
}

fn cannot_be_read(metadata: &ObjectMeta, problem: &str) -> String {
    format!(
        "ProwJob {} cannot be read ({problem}): the operator leaves it alone until it is fixed or \
         deleted, and runs every other job",
        describe(metadata)
    )
}

fn no_known_state(metadata: &ObjectMeta) -> String {
    format!(
        "ProwJob {} has no status.state, or one upstream Prow does not define (scheduling, \
         triggered, pending, success, failure, aborted, error): nothing runs it, as upstream's \
         plank leaves such a job alone",
        describe(metadata)
    )
}

/// A stand-in for an unreadable ProwJob, carrying only its metadata: enough to take it out of
/// the cache and the run index.
fn placeholder(metadata: ObjectMeta) -> Option<ProwJob> {
    let spec = serde_json::from_value(serde_json::json!({"type": "periodic", "job": ""})).ok()?;
    Some(ProwJob {
        metadata,
        spec,
        status: None,
    })
}

/// Logs a Warning about a ProwJob and records it as an Event on it.
fn warn_about(metadata: &ObjectMeta, reason: &str, note: &str, ctx: &Arc<Context>) {
    warn!(prowjob = %describe(metadata), reason, "{note}");
    let reference = ObjectReference {
        api_version: Some(ProwJob::api_version(&()).into_owned()),
        kind: Some(ProwJob::kind(&()).into_owned()),
        namespace: metadata.namespace.clone(),
        name: metadata.name.clone(),
        uid: metadata.uid.clone(),
        resource_version: metadata.resource_version.clone(),
        ..ObjectReference::default()
    };
    let notice = Notice {
        warning: true,
        reason: reason.to_string(),
        note: note.to_string(),
    };
    let ctx = ctx.clone();
    tokio::spawn(async move { ctx.publish(&reference, &notice).await });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(value: Value) -> Listed {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    fn prowjob(status: Value) -> Value {
        json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
            "metadata": {"name": "unit", "namespace": "prow", "uid": "u1", "resourceVersion": "7"},
            "spec": {"type": "periodic", "job": "unit", "agent": "kubernetes"},
            "status": status
        })
    }

    #[test]
    fn a_readable_prowjob_is_read_whole_even_without_a_state() {
        let Listed::Readable(job) = listed(prowjob(json!({"startTime": "2026-01-01T00:00:00Z"}))) else {
            panic!("readable");
        };
        assert_eq!(job.status.unwrap().state, prow_api::ProwJobState::Unknown);
    }

    #[test]
    fn an_unreadable_prowjob_keeps_its_metadata_and_says_where_it_fails() {
        let mut value = prowjob(json!({"state": "triggered", "startTime": "yesterday"}));
        let Listed::Unreadable { metadata, problem } = listed(value.clone()) else {
            panic!("unreadable");
        };
        assert_eq!(metadata.name.as_deref(), Some("unit"));
        assert!(problem.starts_with("status.startTime: "), "{problem}");
        value["spec"]["type"] = json!(5);
        let Listed::Unreadable { problem, .. } = listed(value) else {
            panic!("unreadable");
        };
        assert!(problem.starts_with("spec.type: invalid type: integer `5`"), "{problem}");
    }

    #[test]
    fn one_unreadable_item_leaves_the_rest_of_a_list_readable() {
        let page = json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJobList", "metadata": {"resourceVersion": "9"},
            "items": [prowjob(json!({"state": "pending"})), {"metadata": {"name": "bad"}, "spec": {"type": 5}}]
        });
        let list: kube::core::ObjectList<Listed> = serde_json::from_str(&page.to_string()).unwrap();
        assert!(matches!(list.items[0], Listed::Readable(_)));
        assert!(matches!(list.items[1], Listed::Unreadable { .. }));
    }

    #[test]
    fn each_version_of_an_unreadable_prowjob_is_warned_about_once() {
        let warned = Warned::default();
        let meta = |version: &str| ObjectMeta {
            uid: Some("u1".into()),
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        };
        assert!(warned.first_time(&meta("1")));
        assert!(
            !warned.first_time(&meta("1")),
            "a relist brings it back: no new warning"
        );
        assert!(warned.first_time(&meta("2")));
        warned.forget(&meta("2"));
        assert!(warned.first_time(&meta("2")));
    }

    #[test]
    fn an_update_that_makes_a_job_unreadable_takes_it_out_of_the_cache() {
        let placeholder = placeholder(ObjectMeta {
            name: Some("unit".into()),
            namespace: Some("prow".into()),
            ..ObjectMeta::default()
        })
        .unwrap();
        assert_eq!(placeholder.metadata.name.as_deref(), Some("unit"));
        assert!(placeholder.status.is_none());
    }
}
