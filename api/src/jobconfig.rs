//! JobConfig: presubmits, postsubmits, periodics and presets, with upstream Prow's field names.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::job::{JobCounts, JobSet};
use crate::status::{Condition, Finding};

/// Jobs in upstream Prow's own format: `presubmits` and `postsubmits` keyed by `org/repo`,
/// `periodics`, and `presets`. An existing job-config file pastes in unchanged.
// Each `printcolumn(...)` has its own `type_`; clippy reads them as one repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "operator.prow.dev",
    version = "v1alpha1",
    kind = "JobConfig",
    namespaced,
    status = "JobConfigStatus",
    shortname = "jc",
    category = "prow",
    doc = "JobConfig holds Prow jobs in upstream Prow's own format: presubmits and postsubmits keyed by org/repo, periodics, and presets. A JobConfig with errors is left out on its own; its last accepted version stays in effect.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the jobs are accepted and in effect."
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        description = "The Ready condition's message."
    ),
    printcolumn(
        name = "Presubmits",
        type_ = "integer",
        json_path = ".status.jobs.presubmits",
        description = "Accepted presubmits."
    ),
    printcolumn(
        name = "Postsubmits",
        type_ = "integer",
        json_path = ".status.jobs.postsubmits",
        description = "Accepted postsubmits."
    ),
    printcolumn(
        name = "Periodics",
        type_ = "integer",
        json_path = ".status.jobs.periodics",
        description = "Accepted periodics."
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
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
