//! Waking the job loops when an instance appears or changes.
//!
//! A ProwJob reconciled while no instance runs its function (its instance deleted and not created
//! again yet, or the function not native) is left until something changes, and a report retried
//! with backoff meanwhile is dropped the same way. So when an instance is created again, or its
//! spec changes, every ProwJob of its namespace that is unfinished or unreported is woken: a
//! report held back by an outage is made even after its instance was re-created.

use std::collections::HashMap;
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use prow_api::{ProwInstance, ProwJob};

use super::InstanceSettings;
use crate::engine::report::REPORTER;

/// What identifies one version of an instance's spec: its uid and generation.
type Fingerprint = (String, Option<i64>);

/// The instances seen last, by namespace and name.
#[derive(Default)]
pub struct KnownInstances(HashMap<(String, String), Fingerprint>);

impl KnownInstances {
    /// Takes in `instances` as they are now; returns the ProwJob namespaces of those that are new
    /// (a uid not seen under their name) or whose spec changed since the last call.
    pub fn changed(&mut self, instances: &[(Arc<ProwInstance>, Arc<InstanceSettings>)]) -> Vec<String> {
        let mut now = HashMap::with_capacity(instances.len());
        let mut changed = Vec::new();
        for (instance, settings) in instances {
            let key = (instance.namespace().unwrap_or_default(), instance.name_any());
            let fingerprint = (instance.uid().unwrap_or_default(), instance.metadata.generation);
            if self.0.get(&key) != Some(&fingerprint) {
                changed.push(settings.namespaces.prowjob.clone());
            }
            now.insert(key, fingerprint);
        }
        self.0 = now;
        changed.sort();
        changed.dedup();
        changed
    }
}

/// The ProwJobs of `namespace` to wake, each with whether its state is still to be reported:
/// those not complete, and those whose state the GitHub reporter has not recorded.
pub fn to_wake(jobs: &[Arc<ProwJob>], namespace: &str) -> Vec<(ObjectRef<ProwJob>, bool)> {
    jobs.iter()
        .filter(|job| job.metadata.namespace.as_deref() == Some(namespace))
        .filter_map(|job| {
            let status = job.status.as_ref();
            let unfinished = status.is_none_or(|s| s.completion_time.is_none());
            let unreported =
                status.is_some_and(|s| s.prev_report_states.as_ref().and_then(|r| r.get(REPORTER)) != Some(&s.state));
            (unfinished || unreported).then(|| (ObjectRef::from_obj(job.as_ref()), unreported))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(uid: &str, generation: i64) -> (Arc<ProwInstance>, Arc<InstanceSettings>) {
        let instance: ProwInstance = serde_json::from_value(json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
            "metadata": {"name": "prow", "namespace": "prow", "uid": uid, "generation": generation},
            "spec": {"version": "v1", "github": {"org": "o", "hmacSecretRef": {"name": "h", "key": "k"},
                     "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}}}
        }))
        .expect("instance");
        let settings = InstanceSettings::of(&instance);
        (Arc::new(instance), Arc::new(settings))
    }

    fn job(name: &str, namespace: &str, status: serde_json::Value) -> Arc<ProwJob> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"type": "periodic", "job": name},
                "status": status
            }))
            .expect("ProwJob"),
        )
    }

    #[test]
    fn an_instance_created_again_or_edited_is_a_change_and_a_status_write_is_not() {
        let mut known = KnownInstances::default();
        assert_eq!(known.changed(&[instance("a", 1)]), ["prow"]);
        assert!(known.changed(&[instance("a", 1)]).is_empty());
        assert_eq!(known.changed(&[instance("a", 2)]), ["prow"]);
        assert!(known.changed(&[]).is_empty());
        assert_eq!(known.changed(&[instance("b", 1)]), ["prow"]);
    }

    #[test]
    fn unfinished_and_unreported_jobs_of_the_namespace_are_woken() {
        let jobs = [
            job(
                "running",
                "prow",
                json!({"state": "pending", "startTime": "2026-12-06T00:00:00Z"}),
            ),
            job(
                "unreported",
                "prow",
                json!({"state": "success", "startTime": "2026-12-06T00:00:00Z",
                       "completionTime": "2026-12-06T00:01:00Z",
                       "prev_report_states": {"github-reporter": "pending"}}),
            ),
            job(
                "done",
                "prow",
                json!({"state": "success", "startTime": "2026-12-06T00:00:00Z",
                       "completionTime": "2026-12-06T00:01:00Z",
                       "prev_report_states": {"github-reporter": "success"}}),
            ),
            job("elsewhere", "other", json!({"state": "pending"})),
        ];
        let woken: Vec<(String, bool)> = to_wake(&jobs, "prow")
            .into_iter()
            .map(|(job, report)| (job.name, report))
            .collect();
        assert_eq!(woken, [("running".to_string(), true), ("unreported".to_string(), true)]);
    }
}
