//! JobConfig: presubmits, postsubmits, periodics and presets, with upstream Prow's field names.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::job::{JobCounts, JobSet};
use crate::kind::{KindDef, PrinterColumn, object};
use crate::status::{Condition, Finding};

#[doc = "JobConfig holds Prow jobs in upstream Prow's own format: presubmits and postsubmits keyed by org/repo, periodics, and presets. A JobConfig with errors is left out on its own; its last accepted version stays in effect."]
// The fields have no doc comments: the CRD's schema takes the descriptions of `spec` and
// `status` from their types.
#[allow(missing_docs)]
#[derive(Deserialize, JsonSchema, Clone, Debug)]
pub struct JobConfig {
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: JobConfigSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobConfigStatus>,
}

impl JobConfig {
    /// The kind in the API: `operator.prow.dev/v1alpha1` `JobConfig`.
    pub const KIND: KindDef = KindDef {
        group: "operator.prow.dev",
        version: "v1alpha1",
        api_version: "operator.prow.dev/v1alpha1",
        kind: "JobConfig",
        plural: "jobconfigs",
        crd_name: "jobconfigs.operator.prow.dev",
        short_names: &["jc"],
        categories: &["prow"],
        annotations: &[],
        printer_columns: &[
            PrinterColumn {
                name: "Ready",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].status",
                description: Some("Whether the jobs are accepted and in effect."),
            },
            PrinterColumn {
                name: "Status",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].message",
                description: Some("The Ready condition's message."),
            },
            PrinterColumn {
                name: "Presubmits",
                type_: "integer",
                json_path: ".status.jobs.presubmits",
                description: Some("Accepted presubmits."),
            },
            PrinterColumn {
                name: "Postsubmits",
                type_: "integer",
                json_path: ".status.jobs.postsubmits",
                description: Some("Accepted postsubmits."),
            },
            PrinterColumn {
                name: "Periodics",
                type_: "integer",
                json_path: ".status.jobs.periodics",
                description: Some("Accepted periodics."),
            },
            PrinterColumn {
                name: "Age",
                type_: "date",
                json_path: ".metadata.creationTimestamp",
                description: None,
            },
        ],
    };
}

object!(JobConfig, JobConfigSpec);

/// Jobs in upstream Prow's own format: `presubmits` and `postsubmits` keyed by `org/repo`,
/// `periodics`, and `presets`. An existing job-config file pastes in unchanged.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct JobConfigSpec {
    /// The jobs and presets.
    #[serde(flatten)]
    pub jobs: JobSet,
}

/// The observed state of a JobConfig.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct JobConfigStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled, with kstatus semantics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation whose jobs are in effect: the latest one without errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_generation: Option<i64>,
    /// The jobs in effect, by type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobCounts>,
    /// Every problem found in the spec, with its field path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}
