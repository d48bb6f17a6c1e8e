//! What a pending ProwJob's pod means for the job, as plank decides it (reference §7.3).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use prow_api::{ProwJob, ProwJobState};

/// plank's timeouts and revival limit (config.yaml's `plank`; a job's `decoration_config`
/// overrides the timeouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long a pod may wait to be scheduled (default 5m).
    pub pod_unscheduled_timeout: Duration,
    /// How long a pod may stay pending once scheduled (default 10m).
    pub pod_pending_timeout: Duration,
    /// How long a pod may run (default 48h).
    pub pod_running_timeout: Duration,
    /// How many times a lost pod is recreated (default 3).
    pub max_revivals: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            pod_unscheduled_timeout: Duration::from_secs(5 * 60),
            pod_pending_timeout: Duration::from_secs(10 * 60),
            pod_running_timeout: Duration::from_secs(48 * 3600),
            max_revivals: 3,
        }
    }
}

impl Limits {
    /// These limits with the job's own `decoration_config` timeouts, where it sets valid ones.
    pub fn for_job(self, job: &ProwJob) -> Self {
        let Some(decoration) = &job.spec.decoration_config else {
            return self;
        };
        let pick = |own: &Option<String>, default: Duration| {
            own.as_deref()
                .and_then(|t| crate::duration::parse(t).ok())
                .unwrap_or(default)
        };
        Self {
            pod_unscheduled_timeout: pick(&decoration.pod_unscheduled_timeout, self.pod_unscheduled_timeout),
            pod_pending_timeout: pick(&decoration.pod_pending_timeout, self.pod_pending_timeout),
            pod_running_timeout: pick(&decoration.pod_running_timeout, self.pod_running_timeout),
            max_revivals: self.max_revivals,
        }
    }
}

/// What to do with a pending ProwJob.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Move the job to a final state (setting `completionTime`), deleting the pod if asked.
    Finish {
        /// The final state.
        state: ProwJobState,
        /// The job's new description.
        description: String,
        /// Whether to delete the pod.
        delete_pod: bool,
    },
    /// The pod was lost: count a revival and delete the pod so it is made again.
    Revive,
    /// The pod is missing: make it again, with a new build id.
    RecreatePod,
    /// Nothing changes; look again at this time (a timeout's deadline).
    WaitUntil(Timestamp),
}

fn finish(state: ProwJobState, description: &str, delete_pod: bool) -> Action {
    Action::Finish {
        state,
        description: description.to_string(),
        delete_pod,
    }
}

fn deadline(start: Timestamp, limit: Duration) -> Timestamp {
    let limit = SignedDuration::try_from(limit).unwrap_or(SignedDuration::MAX);
    start.saturating_add(limit).unwrap_or(Timestamp::MAX)
}

/// Decides a pending job from its pod (`None` when the pod is missing).
pub fn on_pending(job: &ProwJob, pod: Option<&Pod>, limits: Limits, now: Timestamp) -> Action {
    let Some(pod) = pod else { return Action::RecreatePod };
    let limits = limits.for_job(job);
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.as_deref().unwrap_or("Pending");
    let reason = status.reason.as_deref().unwrap_or_default();
    let deleting = pod.metadata.deletion_timestamp.is_some();
    let revivals = job.status.as_ref().and_then(|s| s.pod_revival_count).unwrap_or(0);
    let lost = reason == "Evicted" || (reason == "NodeLost" && deleting) || phase == "Unknown";
    if lost {
        if reason == "Evicted" && job.spec.error_on_eviction.unwrap_or(false) {
            return finish(ProwJobState::Error, "Job pod was evicted by the cluster.", false);
        }
        if revivals >= limits.max_revivals {
            return finish(ProwJobState::Error, "Job pod reached max revivals.", false);
        }
        return Action::Revive;
    }
    if deleting {
        return finish(ProwJobState::Error, "Pod got deleted unexpectedly", false);
    }
    let containers = || {
        status
            .container_statuses
            .iter()
            .flatten()
            .chain(status.init_container_statuses.iter().flatten())
    };
    let oom = containers().any(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"))
    });
    match phase {
        "Running" if oom => finish(ProwJobState::Error, "Job pod was OOM killed by the cluster.", false),
        "Succeeded" => {
            let all_passed = containers().all(|c| {
                c.state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code == 0 && t.finished_at.is_some())
            });
            if all_passed {
                finish(ProwJobState::Success, "Job succeeded.", false)
            } else {
                finish(
                    ProwJobState::Error,
                    "Pod succeeded, but not every container exited 0.",
                    false,
                )
            }
        }
        "Failed" => finish(ProwJobState::Failure, "Job failed.", false),
        "Pending" => match status.start_time.as_ref().map(|t| t.0) {
            None => {
                let created = pod.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
                let due = deadline(created, limits.pod_unscheduled_timeout);
                if now >= due {
                    finish(ProwJobState::Error, "Pod scheduling timeout.", true)
                } else {
                    Action::WaitUntil(due)
                }
            }
            Some(started) => {
                let due = deadline(started, limits.pod_pending_timeout);
                if now >= due {
                    finish(ProwJobState::Error, "Pod pending timeout.", true)
                } else {
                    Action::WaitUntil(due)
                }
            }
        },
        _ => {
            let started = status.start_time.as_ref().map_or(now, |t| t.0);
            let due = deadline(started, limits.pod_running_timeout);
            if now >= due {
                finish(ProwJobState::Aborted, "Pod running timeout.", true)
            } else {
                Action::WaitUntil(due)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn now() -> Timestamp {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    fn ago(minutes: i64) -> String {
        (now() - SignedDuration::from_mins(minutes)).to_string()
    }

    fn job(extra: Value) -> ProwJob {
        let mut value = json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": "j"},
            "spec": {"type": "presubmit", "job": "unit"}, "status": {"state": "pending"}
        });
        if let Some(spec) = extra.get("spec") {
            value["spec"]
                .as_object_mut()
                .unwrap()
                .extend(spec.as_object().unwrap().clone());
        }
        if let Some(count) = extra.get("revivals") {
            value["status"]["pod_revival_count"] = count.clone();
        }
        serde_json::from_value(value).unwrap()
    }

    fn pod(status: Value, metadata: Value) -> Pod {
        let mut meta = json!({"name": "j", "creationTimestamp": ago(1)});
        meta.as_object_mut()
            .unwrap()
            .extend(metadata.as_object().unwrap().clone());
        serde_json::from_value(json!({"metadata": meta, "status": status})).unwrap()
    }

    fn terminated(code: i32, reason: &str) -> Value {
        json!({"name": "test", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
               "state": {"terminated": {"exitCode": code, "reason": reason, "finishedAt": ago(0)}}})
    }

    fn decide(job: &ProwJob, pod: &Pod) -> Action {
        on_pending(job, Some(pod), Limits::default(), now())
    }

    fn state(action: Action) -> (ProwJobState, bool) {
        match action {
            Action::Finish { state, delete_pod, .. } => (state, delete_pod),
            other => panic!("expected a final state, got {other:?}"),
        }
    }

    #[test]
    fn the_pod_state_table() {
        use ProwJobState::*;
        let plain = job(json!({}));
        assert_eq!(on_pending(&plain, None, Limits::default(), now()), Action::RecreatePod);
        let succeeded = pod(
            json!({"phase": "Succeeded", "containerStatuses": [terminated(0, "Completed")]}),
            json!({}),
        );
        assert_eq!(state(decide(&plain, &succeeded)), (Success, false));
        let half = pod(
            json!({"phase": "Succeeded", "containerStatuses": [terminated(0, "Completed"), terminated(1, "Error")]}),
            json!({}),
        );
        assert_eq!(state(decide(&plain, &half)), (Error, false));
        assert_eq!(
            state(decide(&plain, &pod(json!({"phase": "Failed"}), json!({})))),
            (Failure, false)
        );
        let oom = pod(
            json!({"phase": "Running", "startTime": ago(5), "containerStatuses": [terminated(137, "OOMKilled")]}),
            json!({}),
        );
        assert_eq!(state(decide(&plain, &oom)), (Error, false));
        let deleted = pod(
            json!({"phase": "Running", "startTime": ago(5)}),
            json!({"deletionTimestamp": ago(0)}),
        );
        assert_eq!(state(decide(&plain, &deleted)), (Error, false));
    }

    #[test]
    fn evictions_and_lost_nodes_revive_until_the_limit() {
        let evicted = pod(json!({"phase": "Failed", "reason": "Evicted"}), json!({}));
        assert_eq!(decide(&job(json!({})), &evicted), Action::Revive);
        assert_eq!(
            state(decide(&job(json!({"revivals": 3})), &evicted)).0,
            ProwJobState::Error
        );
        assert_eq!(
            state(decide(&job(json!({"spec": {"error_on_eviction": true}})), &evicted)).0,
            ProwJobState::Error
        );
        let unknown = pod(json!({"phase": "Unknown"}), json!({}));
        assert_eq!(decide(&job(json!({})), &unknown), Action::Revive);
        let node_lost = pod(
            json!({"phase": "Running", "reason": "NodeLost"}),
            json!({"deletionTimestamp": ago(0)}),
        );
        assert_eq!(decide(&job(json!({})), &node_lost), Action::Revive);
    }

    #[test]
    fn timeouts_error_or_abort_and_delete_the_pod() {
        use ProwJobState::*;
        let plain = job(json!({}));
        let unscheduled = pod(json!({"phase": "Pending"}), json!({"creationTimestamp": ago(6)}));
        assert_eq!(state(decide(&plain, &unscheduled)), (Error, true));
        let waiting = pod(json!({"phase": "Pending"}), json!({"creationTimestamp": ago(1)}));
        assert_eq!(
            decide(&plain, &waiting),
            Action::WaitUntil(now() + SignedDuration::from_mins(4))
        );
        let stuck = pod(json!({"phase": "Pending", "startTime": ago(11)}), json!({}));
        assert_eq!(state(decide(&plain, &stuck)), (Error, true));
        let long = pod(json!({"phase": "Running", "startTime": ago(49 * 60)}), json!({}));
        assert_eq!(
            state(decide(&plain, &long)),
            (Aborted, true),
            "a running timeout aborts"
        );
        let own = job(json!({"spec": {"decoration_config": {"pod_running_timeout": "1h"}}}));
        let hour = pod(json!({"phase": "Running", "startTime": ago(61)}), json!({}));
        assert_eq!(
            state(decide(&own, &hour)),
            (Aborted, true),
            "the job's decoration_config overrides plank"
        );
    }
}
