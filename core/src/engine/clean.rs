//! Cleaning up, as sinker does (reference §7.5): which ProwJobs and which job pods to delete.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use prow_api::upstream::config::Sinker;
use prow_api::{ProwJob, ProwJobType};

use super::job_pod::JobPod;
use crate::job_labels::{CREATED_BY_PROW, PROWJOB_ID};

/// Orphaned pods younger than this are left alone: their ProwJob may not be visible yet.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(30);

/// sinker's ages (config.yaml's `sinker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ages {
    /// Complete ProwJobs that started longer ago than this are deleted (default 168h).
    pub max_prowjob_age: Duration,
    /// Pods of complete jobs that started longer ago than this are deleted (default 24h).
    pub max_pod_age: Duration,
    /// Pods of jobs that completed longer ago than this are deleted (default `max_pod_age`).
    pub terminated_pod_ttl: Duration,
}

impl Default for Ages {
    fn default() -> Self {
        let day = Duration::from_secs(24 * 3600);
        Self {
            max_prowjob_age: 7 * day,
            max_pod_age: day,
            terminated_pod_ttl: day,
        }
    }
}

/// sinker's default `resync_period`.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(3600);

impl Ages {
    /// The ages config.yaml's `sinker` sets (`terminated_pod_ttl` defaults to `max_pod_age`),
    /// upstream's defaults for the rest and for values that are not Go durations.
    pub fn from_sinker(sinker: Option<&Sinker>) -> Self {
        let defaults = Self::default();
        let pick = |text: Option<&String>, default: Duration| {
            text.and_then(|t| crate::duration::parse(t).ok()).unwrap_or(default)
        };
        let sinker = sinker.cloned().unwrap_or_default();
        let max_pod_age = pick(sinker.max_pod_age.as_ref(), defaults.max_pod_age);
        Self {
            max_prowjob_age: pick(sinker.max_prowjob_age.as_ref(), defaults.max_prowjob_age),
            max_pod_age,
            terminated_pod_ttl: pick(sinker.terminated_pod_ttl.as_ref(), max_pod_age),
        }
    }
}

fn older_than(time: Option<Timestamp>, age: Duration, now: Timestamp) -> bool {
    time.and_then(|t| now.duration_since(t).try_into().ok())
        .is_some_and(|elapsed: Duration| elapsed > age)
}

/// The ProwJobs to delete: complete ones that started more than `max_prowjob_age` ago, except
/// the newest run of every configured periodic (horologium decides from it).
pub fn prowjobs_to_delete<'a, J: Borrow<ProwJob>>(
    jobs: &'a [J],
    periodics: &BTreeSet<String>,
    ages: &Ages,
    now: Timestamp,
) -> Vec<&'a ProwJob> {
    let mut newest: BTreeMap<&str, (Option<Timestamp>, &str)> = BTreeMap::new();
    for job in jobs
        .iter()
        .map(Borrow::borrow)
        .filter(|j| j.spec.job_type == ProwJobType::Periodic && periodics.contains(&j.spec.job))
    {
        let start = job.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0);
        let name = job.metadata.name.as_deref().unwrap_or_default();
        let entry = newest.entry(job.spec.job.as_str()).or_insert((start, name));
        if start > entry.0 {
            *entry = (start, name);
        }
    }
    let kept: BTreeSet<&str> = newest.values().map(|(_, name)| *name).collect();
    jobs.iter()
        .map(Borrow::borrow)
        .filter(|job| {
            let Some(status) = &job.status else { return false };
            status.completion_time.is_some()
                && older_than(status.start_time.as_ref().map(|t| t.0), ages.max_prowjob_age, now)
                && !kept.contains(job.metadata.name.as_deref().unwrap_or_default())
        })
        .collect()
}

/// Why a pod is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReason {
    /// Its job is complete and it started more than `max_pod_age` ago.
    Aged,
    /// Its job completed more than `terminated_pod_ttl` ago.
    Ttled,
    /// Its job is gone.
    Orphaned,
}

/// The job pods to delete, and why. Only pods labelled `created-by-prow: "true"` are
/// considered; a pod's job is found by `prow.k8s.io/id`, else by the pod's name.
pub fn pods_to_delete<'a, P: Borrow<JobPod>, J: Borrow<ProwJob>>(
    pods: &'a [P],
    jobs: &BTreeMap<String, J>,
    ages: &Ages,
    now: Timestamp,
) -> Vec<(&'a JobPod, PodReason)> {
    let mut doomed = Vec::new();
    for pod in pods.iter().map(Borrow::borrow) {
        let labels = pod.metadata.labels.as_ref();
        if labels.and_then(|l| l.get(CREATED_BY_PROW)).map(String::as_str) != Some("true") {
            continue;
        }
        let owner = labels.and_then(|l| l.get(PROWJOB_ID)).or(pod.metadata.name.as_ref());
        let Some(owner) = owner else { continue };
        match jobs.get(owner) {
            None => {
                if older_than(pod.metadata.creation_timestamp.as_ref().map(|t| t.0), ORPHAN_GRACE, now) {
                    doomed.push((pod, PodReason::Orphaned));
                }
            }
            Some(job) => {
                let Some(completion) = job.borrow().status.as_ref().and_then(|s| s.completion_time.as_ref()) else {
                    continue;
                };
                let pod_start = pod.start_time.as_ref().map(|t| t.0);
                if older_than(pod_start, ages.max_pod_age, now) {
                    doomed.push((pod, PodReason::Aged));
                } else if older_than(Some(completion.0), ages.terminated_pod_ttl, now) {
                    doomed.push((pod, PodReason::Ttled));
                }
            }
        }
    }
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(hours_ago: i64) -> String {
        let now: Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
        (now - k8s_openapi::jiff::SignedDuration::from_hours(hours_ago)).to_string()
    }

    fn now() -> Timestamp {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    fn job(name: &str, job: &str, job_type: &str, started_hours_ago: i64, completed_hours_ago: Option<i64>) -> ProwJob {
        let mut status = json!({"state": "success", "startTime": at(started_hours_ago)});
        if let Some(hours) = completed_hours_ago {
            status["completionTime"] = json!(at(hours));
        } else {
            status["state"] = json!("pending");
        }
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": name},
            "spec": {"type": job_type, "job": job}, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn sinker_settings_override_the_defaults() {
        let sinker: Sinker = serde_json::from_value(json!({"max_pod_age": "2h", "max_prowjob_age": "48h"})).unwrap();
        let ages = Ages::from_sinker(Some(&sinker));
        assert_eq!(ages.max_pod_age, Duration::from_secs(7200));
        assert_eq!(
            ages.terminated_pod_ttl,
            Duration::from_secs(7200),
            "the ttl follows max_pod_age"
        );
        assert_eq!(ages.max_prowjob_age, Duration::from_secs(48 * 3600));
        assert_eq!(Ages::from_sinker(None), Ages::default());
    }

    #[test]
    fn old_complete_jobs_go_but_each_periodics_newest_run_stays() {
        let jobs = vec![
            job("old-pre", "unit", "presubmit", 200, Some(199)),
            job("old-running", "unit", "presubmit", 200, None),
            job("young", "unit", "presubmit", 2, Some(1)),
            job("nightly-1", "nightly", "periodic", 400, Some(399)),
            job("nightly-2", "nightly", "periodic", 300, Some(299)),
            job("gone-periodic", "removed", "periodic", 300, Some(299)),
        ];
        let periodics = BTreeSet::from(["nightly".to_string()]);
        let names: Vec<&str> = prowjobs_to_delete(&jobs, &periodics, &Ages::default(), now())
            .iter()
            .map(|j| j.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["old-pre", "nightly-1", "gone-periodic"]);
    }

    fn pod(name: &str, labels: serde_json::Value, created_hours_ago: i64, started_hours_ago: Option<i64>) -> JobPod {
        let mut value =
            json!({"metadata": {"name": name, "labels": labels, "creationTimestamp": at(created_hours_ago)}});
        if let Some(hours) = started_hours_ago {
            value["status"] = json!({"startTime": at(hours)});
        }
        JobPod::from(serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(value).unwrap())
    }

    #[test]
    fn pods_of_complete_jobs_age_out_and_orphans_go() {
        let done_long_ago = job("a", "unit", "presubmit", 30, Some(29));
        let done_recently = job("b", "unit", "presubmit", 2, Some(1));
        let running = job("c", "unit", "presubmit", 30, None);
        let jobs = BTreeMap::from([
            ("a".to_string(), &done_long_ago),
            ("b".to_string(), &done_recently),
            ("c".to_string(), &running),
        ]);
        let prow = json!({"created-by-prow": "true"});
        let pods = vec![
            pod("a", prow.clone(), 30, Some(30)),
            pod("b", prow.clone(), 2, Some(2)),
            pod("c", prow.clone(), 30, Some(30)),
            pod("orphan", prow.clone(), 1, Some(1)),
            pod("just-born-orphan", json!({"created-by-prow": "true"}), 0, None),
            pod("not-ours", json!({}), 100, Some(100)),
            pod(
                "by-label",
                json!({"created-by-prow": "true", "prow.k8s.io/id": "a"}),
                30,
                Some(30),
            ),
        ];
        let ttl = Ages {
            terminated_pod_ttl: Duration::from_secs(1800),
            ..Ages::default()
        };
        let verdicts: Vec<(&str, PodReason)> = pods_to_delete(&pods, &jobs, &ttl, now())
            .into_iter()
            .map(|(p, r)| (p.metadata.name.as_deref().unwrap(), r))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("a", PodReason::Aged),
                ("b", PodReason::Ttled),
                ("orphan", PodReason::Orphaned),
                ("by-label", PodReason::Aged)
            ]
        );
    }
}
