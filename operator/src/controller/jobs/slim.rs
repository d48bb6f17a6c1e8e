//! The job caches keep only what the loops read of ProwJobs and pods, so 10,000 of each fit in
//! little memory: the Pod cache holds [`JobPod`](crate::engine::job_pod::JobPod)s, read straight
//! from the watch.

use prow_api::ProwJob;
use prow_api::job::DecorationConfig;

use crate::engine::schedule::RERUN_LABEL;
use crate::job_labels::IS_OPTIONAL;

/// Keeps what the loops read of a ProwJob, whatever its state: of its metadata only the labels
/// the reporter and the scheduler read stay (`is-optional`, Gerrit's, `re-run`), of its
/// decoration only the pod timeouts, and the pod spec, annotations, extra refs, managed fields
/// and the other agents' specs go. The executor reads the whole job when it makes (or adopts) the
/// job's pod.
pub fn slim_prowjob(job: &mut ProwJob) {
    job.metadata.managed_fields = None;
    let meta = &mut job.metadata;
    meta.annotations = None;
    meta.owner_references = None;
    if let Some(labels) = meta.labels.as_mut() {
        labels.retain(|key, _| key == IS_OPTIONAL || key == RERUN_LABEL || key.starts_with("prow.k8s.io/gerrit-"));
    }
    let spec = &mut job.spec;
    spec.pod_spec = None;
    spec.extra_refs = None;
    spec.jenkins_spec = None;
    spec.pipeline_run_spec = None;
    spec.tekton_pipeline_run_spec = None;
    spec.rerun_auth_config = None;
    spec.reporter_config = None;
    spec.prowjob_defaults = None;
    spec.decoration_config = spec.decoration_config.take().map(|d| DecorationConfig {
        pod_pending_timeout: d.pod_pending_timeout,
        pod_running_timeout: d.pod_running_timeout,
        pod_unscheduled_timeout: d.pod_unscheduled_timeout,
        ..DecorationConfig::default()
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn prowjob(state: &str) -> ProwJob {
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1",
            "kind": "ProwJob",
            "metadata": {"name": "j", "namespace": "prow", "annotations": {"a": "b"},
                         "labels": {IS_OPTIONAL: "true", "prow.k8s.io/job": "unit"}},
            "spec": {"type": "presubmit", "job": "unit", "context": "unit", "report": true,
                     "agent": "kubernetes", "cluster": "default", "max_concurrency": 1, "job_queue_name": "q",
                     "rerun_command": "/test unit", "error_on_eviction": true,
                     "refs": {"org": "o", "repo": "r", "base_ref": "main",
                              "pulls": [{"number": 1, "author": "a", "sha": "s"}]},
                     "pod_spec": {"containers": [{"image": "i"}]},
                     "decoration_config": {"timeout": "2h", "pod_running_timeout": "1h"}},
            "status": {"state": state, "startTime": "2026-01-01T00:00:00Z"}
        }))
        .expect("a ProwJob")
    }

    #[test]
    fn a_job_keeps_what_the_reporter_the_limits_and_the_timeouts_read_whatever_its_state() {
        for state in ["triggered", "pending"] {
            a_job_keeps_what_the_loops_read(state);
        }
    }

    fn a_job_keeps_what_the_loops_read(state: &str) {
        let mut job = prowjob(state);
        slim_prowjob(&mut job);
        assert!(job.spec.pod_spec.is_none());
        assert!(job.metadata.annotations.is_none());
        let labels = job.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.keys().collect::<Vec<_>>(), [IS_OPTIONAL]);
        assert_eq!(job.spec.context.as_deref(), Some("unit"));
        assert_eq!(job.spec.refs.as_ref().map(|r| r.org.as_str()), Some("o"));
        let decoration = job.spec.decoration_config.clone().expect("the pod timeouts stay");
        assert!(decoration.pod_running_timeout.is_some());
        assert!(decoration.timeout.is_none());
        let spec = &job.spec;
        assert_eq!(
            (
                spec.agent.as_deref(),
                spec.cluster.as_deref(),
                spec.job_queue_name.as_deref()
            ),
            (Some("kubernetes"), Some("default"), Some("q"))
        );
        assert_eq!((spec.max_concurrency, spec.error_on_eviction), (Some(1), Some(true)));
        assert_eq!(spec.rerun_command.as_deref(), Some("/test unit"));
        assert!(job.status.is_some_and(|s| s.start_time.is_some()));
    }
}
