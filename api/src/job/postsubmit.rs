//! Postsubmits: jobs that run after a push (a merge) to a branch or tag.

use crate::KubeSchema;
use serde::{Deserialize, Serialize};

use super::base::{Brancher, ChangeMatcher, JobBase};
use super::refs::UnknownFields;
use super::reporting::JenkinsSpec;
#[cfg(feature = "resource")]
use super::rules;

/// A job that runs on pushes, with upstream Prow's field names.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "resource", x_kube(
    validation = rules::job_name(),
    validation = rules::max_concurrency(),
    validation = rules::change_matchers_exclusive(),
    validation = rules::always_run_excludes_change_matchers()
))]
pub struct Postsubmit {
    /// The fields every job has.
    #[serde(flatten)]
    pub base: JobBase,
    /// Runs on every push to a matching branch. Unset with no changed-file filter means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_run: Option<bool>,
    /// Branch (and tag) filters.
    #[serde(flatten)]
    pub brancher: Brancher,
    /// Changed-file filters.
    #[serde(flatten)]
    pub changes: ChangeMatcher,
    /// The GitHub status context; defaults to the job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Posts no status for this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_report: Option<bool>,
    /// Jenkins settings, for the `jenkins` agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_spec: Option<JenkinsSpec>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}
