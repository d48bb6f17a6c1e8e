//! Upstream's `prow.k8s.io/v1` ProwJob, as our own Rust type.
//!
//! The JSON field names, the printer columns and the `api-approved.kubernetes.io` annotation are
//! upstream's, so `kubectl get prowjobs`, deck and crier work with the ProwJobs we create. We add
//! the short name `pj` and the category `prow`. Embedded Kubernetes and Tekton specs are
//! schemaless, which keeps the CRD small.
//!
//! Like upstream's, the CRD has **no status subresource**: status changes are ordinary updates or
//! patches of the whole object, which is what deck, crier and plank do.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::embedded::{Embedded, TektonPipelineRunSpec};
use crate::job::{DecorationConfig, JenkinsSpec, ProwJobDefaults, Refs, ReporterConfig, RerunAuthConfig};
use crate::kind::{KindDef, PrinterColumn, object};

#[doc = "ProwJob contains the spec as well as runtime metadata."]
// The fields have no doc comments: the CRD's schema takes the descriptions of `spec` and
// `status` from their types.
#[allow(missing_docs)]
#[derive(Deserialize, JsonSchema, Clone, Debug)]
pub struct ProwJob {
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: ProwJobSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ProwJobStatus>,
}

impl ProwJob {
    /// The kind in the API: `prow.k8s.io/v1` `ProwJob`.
    pub const KIND: KindDef = KindDef {
        group: "prow.k8s.io",
        version: "v1",
        api_version: "prow.k8s.io/v1",
        kind: "ProwJob",
        plural: "prowjobs",
        crd_name: "prowjobs.prow.k8s.io",
        short_names: &["pj"],
        categories: &["prow"],
        annotations: &[(
            "api-approved.kubernetes.io",
            "https://github.com/kubernetes/test-infra/pull/8669",
        )],
        printer_columns: &[
            PrinterColumn {
                name: "Job",
                type_: "string",
                json_path: ".spec.job",
                description: Some("The name of the job being run"),
            },
            PrinterColumn {
                name: "BuildId",
                type_: "string",
                json_path: ".status.build_id",
                description: Some("The ID of the job being run."),
            },
            PrinterColumn {
                name: "Type",
                type_: "string",
                json_path: ".spec.type",
                description: Some("The type of job being run."),
            },
            PrinterColumn {
                name: "Org",
                type_: "string",
                json_path: ".spec.refs.org",
                description: Some("The org for which the job is running."),
            },
            PrinterColumn {
                name: "Repo",
                type_: "string",
                json_path: ".spec.refs.repo",
                description: Some("The repo for which the job is running."),
            },
            PrinterColumn {
                name: "Pulls",
                type_: "string",
                json_path: ".spec.refs.pulls[*].number",
                description: Some("The pulls for which the job is running."),
            },
            PrinterColumn {
                name: "StartTime",
                type_: "date",
                json_path: ".status.startTime",
                description: Some("When the job started running."),
            },
            PrinterColumn {
                name: "CompletionTime",
                type_: "date",
                json_path: ".status.completionTime",
                description: Some("When the job finished running."),
            },
            PrinterColumn {
                name: "State",
                type_: "string",
                json_path: ".status.state",
                description: Some("The state of the job."),
            },
        ],
    };
}

object!(ProwJob, ProwJobSpec);

/// ProwJobSpec configures the details of the prow job: the job, its type, the refs it runs
/// against and how it runs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ProwJobSpec {
    /// How the job is triggered: presubmit, postsubmit, periodic or batch.
    #[serde(rename = "type")]
    pub job_type: ProwJobType,
    /// Which controller runs the job (`kubernetes`, `jenkins`, `tekton-pipeline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The build cluster the job runs in; empty means `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The namespace the job runs in (Tekton only; pods go to the pod namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name of the job.
    pub job: String,
    /// The code under test. Periodics may leave it unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refs: Option<Refs>,
    /// More repositories to clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_refs: Option<Vec<Refs>>,
    /// Whether the result is reported (GitHub status, Slack, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<bool>,
    /// The GitHub status context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The comment that reruns the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_command: Option<String>,
    /// How many runs of this job may run at once; 0 means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0))]
    pub max_concurrency: Option<i64>,
    /// Fails the job instead of reviving it when its pod is evicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_on_eviction: Option<bool>,
    /// The pod to run, for the `kubernetes` agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec: Option<Embedded<PodSpec>>,
    /// Jenkins settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_spec: Option<JenkinsSpec>,
    /// The Tekton PipelineRun (v1alpha1) to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_run_spec: Option<Embedded<TektonPipelineRunSpec>>,
    /// The Tekton PipelineRun to run, by Tekton API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tekton_pipeline_run_spec: Option<Embedded<TektonPipelineRunSpec>>,
    /// How the pod is decorated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration_config: Option<DecorationConfig>,
    /// Per-job reporter settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_config: Option<ReporterConfig>,
    /// Who may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_auth_config: Option<RerunAuthConfig>,
    /// Hides the job from deck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Defaults such as the tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prowjob_defaults: Option<ProwJobDefaults>,
    /// The queue whose capacity limits this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_queue_name: Option<String>,
}

/// How a job is triggered.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ProwJobType {
    /// On a pull request.
    Presubmit,
    /// After a push.
    Postsubmit,
    /// On a schedule.
    Periodic,
    /// On several pull requests merged together, started by tide.
    Batch,
}

impl ProwJobType {
    /// The upstream spelling, as used in labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ProwJobType::Presubmit => "presubmit",
            ProwJobType::Postsubmit => "postsubmit",
            ProwJobType::Periodic => "periodic",
            ProwJobType::Batch => "batch",
        }
    }
}

/// Where a job is in its life.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ProwJobState {
    /// Waiting for the scheduler to pick a build cluster.
    Scheduling,
    /// Created, with no pod yet.
    Triggered,
    /// The pod exists and runs.
    Pending,
    /// Finished successfully.
    Success,
    /// Finished with a test failure.
    Failure,
    /// Stopped before finishing (superseded, timed out or cancelled).
    Aborted,
    /// Could not run (infrastructure problem).
    Error,
    /// No state, or one upstream does not define: upstream's field is `omitempty` and a plain
    /// string, so a ProwJob may have none (Go's empty state). Nothing acts on such a job, as
    /// upstream's plank leaves it alone; it is never written. The default.
    #[serde(rename = "", other)]
    #[schemars(skip)]
    #[default]
    Unknown,
}

impl ProwJobState {
    /// Whether the job has finished.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProwJobState::Success | ProwJobState::Failure | ProwJobState::Aborted | ProwJobState::Error
        )
    }
}

/// ProwJobStatus provides runtime metadata, such as when it finished, whether it is running, etc.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[schemars(transform = state_required)]
pub struct ProwJobStatus {
    /// The job's state.
    #[serde(default)]
    pub state: ProwJobState,
    /// When the ProwJob was created.
    #[serde(default, rename = "startTime", skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the job's pod was created.
    #[serde(default, rename = "pendingTime", skip_serializing_if = "Option::is_none")]
    pub pending_time: Option<Time>,
    /// When the job finished; set exactly when the job is complete.
    #[serde(default, rename = "completionTime", skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// A human-readable account of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A link to the job's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How many times the pod was recreated after an unexpected stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_revival_count: Option<i64>,
    /// The name of the job's pod (the ProwJob's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// The build's id: unique and increasing per job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// The Jenkins build id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_build_id: Option<String>,
    /// The last state each reporter reported, so no state is reported twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_report_states: Option<BTreeMap<String, ProwJobState>>,
}

/// Keeps `state` required in the CRD, as upstream's is: the operator writes it always and reads
/// a ProwJob without one as [`ProwJobState::Unknown`].
fn state_required(schema: &mut schemars::Schema) {
    schema.insert("required".into(), serde_json::json!(["state"]));
    if let Some(state) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("state"))
        .and_then(serde_json::Value::as_object_mut)
    {
        state.remove("default");
    }
}

impl ProwJobStatus {
    /// The status of a job just made: `triggered`, started at `start_time`, nothing else yet.
    pub fn triggered(start_time: Option<Time>) -> Self {
        Self {
            state: ProwJobState::Triggered,
            start_time,
            pending_time: None,
            completion_time: None,
            description: None,
            url: None,
            pod_revival_count: None,
            pod_name: None,
            build_id: None,
            jenkins_build_id: None,
            prev_report_states: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(value: serde_json::Value) -> ProwJobStatus {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_status_without_a_state_or_with_one_upstream_does_not_define_reads_as_unknown() {
        // Upstream's `state` is `omitempty` and a plain string.
        assert_eq!(status(json!({})).state, ProwJobState::Unknown);
        assert_eq!(status(json!({"state": ""})).state, ProwJobState::Unknown);
        assert_eq!(status(json!({"state": "bogus"})).state, ProwJobState::Unknown);
        assert_eq!(status(json!({"state": "pending"})).state, ProwJobState::Pending);
        assert!(!ProwJobState::Unknown.is_final());
    }

    #[test]
    fn the_schema_keeps_state_required_and_lists_only_upstreams_states() {
        let schema = serde_json::to_value(schemars::schema_for!(ProwJobStatus)).unwrap();
        assert_eq!(schema["required"], json!(["state"]), "{schema}");
        let text = schema.to_string();
        assert!(text.contains("\"scheduling\"") && !text.contains("\"\""), "{text}");
    }
}
