//! A job pod as the job loops read it. The Pod cache holds these instead of whole Pods: a
//! Kubernetes `Pod` takes 2.4 KB before any of its fields is set (its spec and status are held
//! inline), so 10,000 cached job pods cost about 39 MB even with every field the loops do not
//! read cleared; a `JobPod` keeps only what they read.

use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Deserializer};

use crate::job_labels::{BUILD_ID, CREATED_BY_PROW, PROWJOB_ID};

/// What the job loops read of a job pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobPod {
    /// Its name, namespace, creation and deletion times and finalizers, and the labels naming its
    /// ProwJob and build (`prow.k8s.io/id`, `prow.k8s.io/build-id`, `created-by-prow`).
    pub metadata: ObjectMeta,
    /// `status.phase`.
    pub phase: Option<String>,
    /// `status.reason` (`Evicted`, `NodeLost`...).
    pub reason: Option<String>,
    /// `status.startTime`.
    pub start_time: Option<Time>,
    /// How each container, then each init container, ended; `None` for one that has not.
    pub terminations: Vec<Option<ContainerStateTerminated>>,
}

impl JobPod {
    /// `status.phase`, `Pending` when unset.
    pub fn phase(&self) -> &str {
        self.phase.as_deref().unwrap_or("Pending")
    }
}

/// To the API a job pod is a Pod: the Pod cache watches pods and keeps them as `JobPod`s (kube's
/// `Resource` follows from these two traits).
impl k8s_openapi::Resource for JobPod {
    const API_VERSION: &'static str = Pod::API_VERSION;
    const GROUP: &'static str = Pod::GROUP;
    const KIND: &'static str = Pod::KIND;
    const VERSION: &'static str = Pod::VERSION;
    const URL_PATH_SEGMENT: &'static str = Pod::URL_PATH_SEGMENT;
    type Scope = <Pod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for JobPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<'de> Deserialize<'de> for JobPod {
    /// Reads a Pod and keeps what the loops read of it, so a watch of job pods holds one whole
    /// Pod at a time, not a list page of them.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Pod::deserialize(deserializer).map(JobPod::from)
    }
}

impl From<Pod> for JobPod {
    fn from(pod: Pod) -> JobPod {
        let meta = pod.metadata;
        let labels = meta.labels.map(|mut labels| {
            labels.retain(|key, _| key == PROWJOB_ID || key == BUILD_ID || key == CREATED_BY_PROW);
            labels
        });
        let metadata = ObjectMeta {
            name: meta.name,
            namespace: meta.namespace,
            resource_version: meta.resource_version,
            creation_timestamp: meta.creation_timestamp,
            deletion_timestamp: meta.deletion_timestamp,
            finalizers: meta.finalizers,
            labels,
            ..ObjectMeta::default()
        };
        let status = pod.status.unwrap_or_default();
        let terminations = status
            .container_statuses
            .into_iter()
            .flatten()
            .chain(status.init_container_statuses.into_iter().flatten())
            .map(|container| {
                container
                    .state
                    .and_then(|state| state.terminated)
                    .map(|terminated| ContainerStateTerminated {
                        exit_code: terminated.exit_code,
                        finished_at: terminated.finished_at,
                        reason: terminated.reason,
                        ..ContainerStateTerminated::default()
                    })
            })
            .collect();
        JobPod {
            metadata,
            phase: status.phase,
            reason: status.reason,
            start_time: status.start_time,
            terminations,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_job_pod_keeps_what_the_loops_read_and_nothing_else() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "j", "namespace": "test-pods", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z", "deletionTimestamp": "2026-01-01T01:00:00Z",
                "finalizers": ["prow.x-k8s.io/gcsk8sreporter"],
                "annotations": {"a": "b"},
                "managedFields": [{"manager": "kubelet", "operation": "Update"}],
                "labels": {"created-by-prow": "true", "prow.k8s.io/id": "j", "prow.k8s.io/build-id": "42",
                           "prow.k8s.io/job": "unit"}
            },
            "spec": {"containers": [{"name": "test", "image": "i"}]},
            "status": {
                "phase": "Running", "reason": "Evicted", "startTime": "2026-01-01T00:00:01Z",
                "podIP": "10.0.0.1",
                "containerStatuses": [
                    {"name": "test", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                     "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "message": "m",
                                              "containerID": "c", "finishedAt": "2026-01-01T00:00:02Z"}}},
                    {"name": "sidecar", "ready": true, "restartCount": 0, "image": "i", "imageID": "",
                     "state": {"running": {}}}
                ],
                "initContainerStatuses": [
                    {"name": "clonerefs", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                     "state": {"terminated": {"exitCode": 0}}}
                ]
            }
        }))
        .unwrap();
        let lean = JobPod::from(pod);
        let meta = &lean.metadata;
        assert_eq!(meta.name.as_deref(), Some("j"));
        assert_eq!(meta.namespace.as_deref(), Some("test-pods"));
        assert!(meta.creation_timestamp.is_some() && meta.deletion_timestamp.is_some());
        assert_eq!(
            meta.finalizers.as_deref(),
            Some(&["prow.x-k8s.io/gcsk8sreporter".to_string()][..])
        );
        let labels: Vec<&String> = meta.labels.iter().flatten().map(|(k, _)| k).collect();
        assert_eq!(labels, ["created-by-prow", "prow.k8s.io/build-id", "prow.k8s.io/id"]);
        assert!(meta.annotations.is_none() && meta.managed_fields.is_none() && meta.uid.is_none());
        assert_eq!((lean.phase(), lean.reason.as_deref()), ("Running", Some("Evicted")));
        assert!(lean.start_time.is_some());
        let ends: Vec<Option<(i32, Option<&str>, bool)>> = lean
            .terminations
            .iter()
            .map(|t| {
                t.as_ref()
                    .map(|t| (t.exit_code, t.reason.as_deref(), t.finished_at.is_some()))
            })
            .collect();
        assert_eq!(
            ends,
            [Some((137, Some("OOMKilled"), true)), None, Some((0, None, false))],
            "containers, then init containers"
        );
        assert!(lean.terminations[0].as_ref().is_some_and(|t| t.message.is_none()));
    }

    #[test]
    fn a_pod_without_a_phase_is_pending() {
        assert_eq!(JobPod::default().phase(), "Pending");
    }
}
