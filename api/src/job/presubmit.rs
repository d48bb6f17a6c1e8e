//! Presubmits: jobs that run on pull requests.

use crate::KubeSchema;
use serde::{Deserialize, Serialize};

use super::base::{Brancher, ChangeMatcher, JobBase};
use super::refs::UnknownFields;
use super::reporting::JenkinsSpec;
#[cfg(feature = "resource")]
use super::rules;

/// A job that runs on pull requests, with upstream Prow's field names.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "resource", x_kube(
    validation = rules::job_name(),
    validation = rules::max_concurrency(),
    validation = rules::change_matchers_exclusive(),
    validation = rules::always_run_excludes_change_matchers(),
    validation = rules::trigger_with_rerun_command()
))]
pub struct Presubmit {
    /// The fields every job has.
    #[serde(flatten)]
    pub base: JobBase,
    /// Runs on every pull request (on matching branches), without a comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_run: Option<bool>,
    /// An optional job does not block merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// The regex of comments that start the job; default `(?m)^/test( | .* )<name>,?($|\s.*)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The comment that reruns the job; default `/test <name>`. It must match `trigger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_command: Option<String>,
    /// Tide runs the job before merging even if it would not run otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_before_merge: Option<bool>,
    /// Branch filters.
    #[serde(flatten)]
    pub brancher: Brancher,
    /// Changed-file filters.
    #[serde(flatten)]
    pub changes: ChangeMatcher,
    /// The GitHub status context; defaults to the job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Posts no status and no comment for this job.
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

impl Presubmit {
    /// The GitHub status context: `context`, or the job name.
    pub fn context(&self) -> &str {
        self.context
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(&self.base.name)
    }

    /// Whether the job blocks merging: neither optional nor unreported.
    pub fn is_required(&self) -> bool {
        !self.optional.unwrap_or(false) && !self.skip_report.unwrap_or(false)
    }
}
