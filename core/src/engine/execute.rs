//! plank's decisions (reference §7.3): whether a triggered ProwJob gets its pod, what a pending
//! job's pod means for the job, and the build ids runs get.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use prow_api::upstream::config::Plank;
use prow_api::{ProwJob, ProwJobState};

use super::job_pod::JobPod;
use crate::job_labels::BUILD_ID;

/// The finalizer crier's pod reporter puts on job pods; a pod that is revived loses it.
pub const GCSK8S_FINALIZER: &str = "prow.x-k8s.io/gcsk8sreporter";

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
    /// The limits config.yaml's `plank` sets, upstream's defaults for the rest (and for values
    /// that are not Go durations, which the instance's check reports).
    pub fn from_plank(plank: Option<&Plank>) -> Self {
        let defaults = Self::default();
        let Some(plank) = plank else { return defaults };
        let pick = |text: &Option<String>, default: Duration| {
            text.as_deref()
                .and_then(|t| crate::duration::parse(t).ok())
                .unwrap_or(default)
        };
        Self {
            pod_unscheduled_timeout: pick(&plank.pod_unscheduled_timeout, defaults.pod_unscheduled_timeout),
            pod_pending_timeout: pick(&plank.pod_pending_timeout, defaults.pod_pending_timeout),
            pod_running_timeout: pick(&plank.pod_running_timeout, defaults.pod_running_timeout),
            max_revivals: plank.max_revivals.unwrap_or(defaults.max_revivals),
        }
    }

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

/// What to do with a triggered ProwJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Triggered {
    /// Its pod exists already (made before a restart or a lost write): the job is pending with
    /// the pod's build id.
    Adopt {
        /// The build id on the pod, when it has one.
        build_id: Option<String>,
    },
    /// A concurrency limit is reached: look again later.
    Wait(String),
    /// Make its pod.
    Start,
}

/// Decides a triggered job: `pod` is its pod when one exists, `admitted` whether the
/// concurrency limits let it start ([`super::limits::may_start`]).
pub fn on_triggered(pod: Option<&JobPod>, admitted: Result<(), String>) -> Triggered {
    if let Some(pod) = pod {
        let build_id = pod.metadata.labels.as_ref().and_then(|l| l.get(BUILD_ID)).cloned();
        return Triggered::Adopt { build_id };
    }
    match admitted {
        Ok(()) => Triggered::Start,
        Err(reason) => Triggered::Wait(reason),
    }
}

/// What the API server's refusal to create a job's pod means for the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateRefused {
    /// The pod exists already (an earlier attempt or another replica made it): adopt it once
    /// the cache shows it.
    Exists,
    /// A later attempt may succeed: try again, with backoff, and leave the job as it is.
    Retry,
    /// No attempt will succeed: end the job in `error` with this description.
    Fail(String),
}

/// Decides what a refused pod create means, from the API server's answer: its status `code`,
/// `reason` and `message`, or `None` when no answer came (a timeout, a lost connection).
///
/// Upstream's plank ends the job in `error` on every 4xx. Here what a retry can fix is retried
/// instead: no answer, 5xx, 429 and 408; 404 (the pod namespace does not exist yet, and the
/// instance creates it); a 409 other than `AlreadyExists`; and the 403s of a namespace being
/// terminated or a full quota. The rest (an invalid pod, 422; a request the API server or its
/// admission refuses for good, 400 and other 403s) ends the job with the API server's message.
pub fn on_create_refused(answer: Option<(u16, &str, &str)>) -> CreateRefused {
    let Some((code, reason, message)) = answer else {
        return CreateRefused::Retry;
    };
    let passing_forbidden =
        code == 403 && (message.contains("because it is being terminated") || message.contains("exceeded quota"));
    match code {
        409 if reason == "AlreadyExists" => CreateRefused::Exists,
        404 | 408 | 409 | 429 => CreateRefused::Retry,
        _ if code >= 500 || passing_forbidden => CreateRefused::Retry,
        _ => {
            let message = message.trim().trim_end_matches('.');
            CreateRefused::Fail(format!("Pod can not be created: {message}."))
        }
    }
}

/// Build ids, unique and increasing like upstream's snowflake ids: the milliseconds since the
/// snowflake epoch (2010-11-04T01:42:54.657Z) shifted left by 22 bits, plus a sequence for ids
/// made within one millisecond. Ids made after a restart are larger as long as the clock moved on.
#[derive(Debug, Default)]
pub struct BuildIds {
    last: AtomicU64,
}

/// The snowflake epoch, in milliseconds since the Unix epoch.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

impl BuildIds {
    /// The next build id at `now`.
    pub fn next(&self, now: Timestamp) -> String {
        let millis = u64::try_from(now.as_millisecond() - SNOWFLAKE_EPOCH_MS).unwrap_or(0);
        let floor = millis << 22;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let id = floor.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, id, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return id.to_string(),
                Err(seen) => last = seen,
            }
        }
    }
}

/// Whether the pod of a complete job must be stopped: it is still active (neither `Succeeded`
/// nor `Failed`, and not being deleted), and the job was aborted (by a newer run, the trigger or
/// the running timeout) or gave up on a pod that stayed `Pending` (the scheduling and pending
/// timeouts). Other results keep their pod for its logs until sinker's ages.
pub fn stop_pod_of_complete_job(job: &ProwJob, pod: &JobPod) -> bool {
    let Some(status) = &job.status else { return false };
    let phase = pod.phase();
    let active = !matches!(phase, "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_none();
    let gave_up = status.state == ProwJobState::Aborted || (status.state == ProwJobState::Error && phase == "Pending");
    status.completion_time.is_some() && active && gave_up
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
pub fn on_pending(job: &ProwJob, pod: Option<&JobPod>, limits: Limits, now: Timestamp) -> Action {
    let Some(pod) = pod else { return Action::RecreatePod };
    let limits = limits.for_job(job);
    let phase = pod.phase();
    let reason = pod.reason.as_deref().unwrap_or_default();
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
    let oom = pod
        .terminations
        .iter()
        .flatten()
        .any(|t| t.reason.as_deref() == Some("OOMKilled"));
    match phase {
        "Running" if oom => finish(ProwJobState::Error, "Job pod was OOM killed by the cluster.", false),
        "Succeeded" => {
            let all_passed = pod
                .terminations
                .iter()
                .all(|t| t.as_ref().is_some_and(|t| t.exit_code == 0 && t.finished_at.is_some()));
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
        "Pending" => match pod.start_time.as_ref().map(|t| t.0) {
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
            let started = pod.start_time.as_ref().map_or(now, |t| t.0);
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

    fn pod(status: Value, metadata: Value) -> JobPod {
        let mut meta = json!({"name": "j", "creationTimestamp": ago(1)});
        meta.as_object_mut()
            .unwrap()
            .extend(metadata.as_object().unwrap().clone());
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(json!({"metadata": meta, "status": status})).unwrap();
        JobPod::from(pod)
    }

    fn terminated(code: i32, reason: &str) -> Value {
        json!({"name": "test", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
               "state": {"terminated": {"exitCode": code, "reason": reason, "finishedAt": ago(0)}}})
    }

    fn decide(job: &ProwJob, pod: &JobPod) -> Action {
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
    fn triggered_jobs_start_wait_or_are_adopted() {
        assert_eq!(on_triggered(None, Ok(())), Triggered::Start);
        assert_eq!(on_triggered(None, Err("full".into())), Triggered::Wait("full".into()));
        let existing = pod(json!({}), json!({"labels": {"prow.k8s.io/build-id": "42"}}));
        assert_eq!(
            on_triggered(Some(&existing), Err("full".into())),
            Triggered::Adopt {
                build_id: Some("42".into())
            },
            "a pod made before a restart is adopted, limits or not"
        );
    }

    #[test]
    fn complete_jobs_stop_only_pods_they_gave_up_on() {
        let done = |state: &str| {
            let mut value = job(json!({}));
            let status = value.status.as_mut().unwrap();
            status.state = serde_json::from_value(json!(state)).unwrap();
            status.completion_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
            value
        };
        let running = pod(json!({"phase": "Running"}), json!({}));
        let waiting = pod(json!({"phase": "Pending"}), json!({}));
        let failed = pod(json!({"phase": "Failed"}), json!({}));
        let going = pod(json!({"phase": "Running"}), json!({"deletionTimestamp": ago(0)}));
        assert!(stop_pod_of_complete_job(&done("aborted"), &running));
        assert!(stop_pod_of_complete_job(&done("error"), &waiting));
        assert!(
            !stop_pod_of_complete_job(&done("error"), &running),
            "an OOM kill keeps its pod"
        );
        assert!(!stop_pod_of_complete_job(&done("aborted"), &failed));
        assert!(!stop_pod_of_complete_job(&done("aborted"), &going));
        assert!(!stop_pod_of_complete_job(&done("success"), &running));
        assert!(!stop_pod_of_complete_job(&job(json!({})), &running), "not complete");
    }

    #[test]
    fn build_ids_increase_and_never_repeat() {
        let ids = BuildIds::default();
        let first: u64 = ids.next(now()).parse().unwrap();
        let second: u64 = ids.next(now()).parse().unwrap();
        let earlier: u64 = ids.next(now() - SignedDuration::from_secs(60)).parse().unwrap();
        assert!(first < second && second < earlier, "{first} {second} {earlier}");
        assert_eq!(first.to_string().len(), 19, "upstream-sized snowflake ids");
        let restarted = BuildIds::default();
        let later: u64 = restarted.next(now() + SignedDuration::from_millis(1)).parse().unwrap();
        assert!(later > second, "a restart a millisecond later still counts up");
    }

    #[test]
    fn plank_settings_override_the_defaults() {
        let plank: Plank = serde_json::from_value(
            json!({"pod_pending_timeout": "15m", "max_revivals": 1, "pod_running_timeout": "bogus"}),
        )
        .unwrap();
        let limits = Limits::from_plank(Some(&plank));
        assert_eq!(limits.pod_pending_timeout, Duration::from_secs(900));
        assert_eq!(limits.max_revivals, 1);
        assert_eq!(limits.pod_running_timeout, Limits::default().pod_running_timeout);
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

    #[test]
    fn a_pod_create_is_retried_unless_the_api_server_refuses_the_pod_for_good() {
        use CreateRefused::*;
        let missing = "namespaces \"test-pods\" not found";
        assert_eq!(on_create_refused(None), Retry, "no answer: a timeout");
        assert_eq!(on_create_refused(Some((404, "NotFound", missing))), Retry);
        assert_eq!(on_create_refused(Some((500, "InternalError", "etcd timeout"))), Retry);
        assert_eq!(on_create_refused(Some((503, "ServiceUnavailable", ""))), Retry);
        assert_eq!(on_create_refused(Some((429, "TooManyRequests", "slow down"))), Retry);
        assert_eq!(on_create_refused(Some((408, "Timeout", "request timed out"))), Retry);
        assert_eq!(on_create_refused(Some((409, "Conflict", "try again"))), Retry);
        assert_eq!(
            on_create_refused(Some((
                403,
                "Forbidden",
                "pods \"j\" is forbidden: unable to create new content in namespace test-pods because it is being terminated"
            ))),
            Retry
        );
        assert_eq!(
            on_create_refused(Some((
                403,
                "Forbidden",
                "pods \"j\" is forbidden: exceeded quota: pods"
            ))),
            Retry
        );
        assert_eq!(
            on_create_refused(Some((409, "AlreadyExists", "pods \"j\" already exists"))),
            Exists
        );
        assert_eq!(
            on_create_refused(Some((
                422,
                "Invalid",
                "Pod \"j\" is invalid: spec.containers[0].image: Required value"
            ))),
            Fail("Pod can not be created: Pod \"j\" is invalid: spec.containers[0].image: Required value.".into())
        );
        assert!(matches!(
            on_create_refused(Some((403, "Forbidden", "pods is forbidden: User cannot create pods"))),
            Fail(_)
        ));
        assert!(matches!(on_create_refused(Some((400, "BadRequest", "bad"))), Fail(_)));
    }
}
