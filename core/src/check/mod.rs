//! The checker: pure functions from specs to [`Finding`]s, each with an exact, user-facing field
//! path (`spec.presubmits["org/repo"][3].run_if_changed`), a message that says what is wrong and
//! how to fix it, and the name of the rule (upstream checkconfig's name where it has one).
//!
//! It implements upstream Prow's load-time validation and the checkconfig checks that concern a
//! single object (see the reference, §3.4, §4 and §5), so a configuration the operator accepts is
//! one upstream Prow accepts too. Nothing here panics or stops at the first problem: every
//! finding of every object is collected.
//!
//! - [`check_jobs`]: one JobSet (a JobConfig, or one upstream job file).
//! - [`check_across`]: what needs every JobSet of an instance together: duplicate jobs, contexts,
//!   periodic names and preset label sets in different objects, and everything that depends on
//!   presets, which apply instance-wide (preset values clashing with a job's, and volume mounts
//!   naming a volume neither the job nor its presets define).
//! - [`check_job_sizes`]: what of a JobConfig no job-config ConfigMap can hold.
//! - [`check_plugins`], [`check_labels`], [`check_instance`]: the other kinds.

mod across;
mod branches;
mod decoration;
mod instance;
mod job_type;
mod jobs;
mod label_set;
mod labels;
mod plugin_versions;
mod plugins;
mod pod_spec;
mod presets;
mod size;
mod strict;
mod style;
mod tide_plugins;

use std::collections::BTreeSet;

use prow_api::job::JobSet;
use prow_api::status::{Finding, Severity};
use prow_api::{LabelSetSpec, PluginConfigSpec, ProwInstanceSpec};

pub(crate) use crate::field_path::{field, item, key};
pub use crate::rule;
pub use plugins::REGISTERED_PLUGINS;

/// What job checks need to know about the instance.
#[derive(Debug, Clone, Copy)]
pub struct JobContext<'a> {
    /// `decorate_all_jobs`: jobs that do not set `decorate` are decorated.
    pub decorate_all_jobs: bool,
    /// The keys of `plank.job_queue_capacities`, which `job_queue_name` must name.
    pub job_queues: &'a BTreeSet<String>,
    /// The build clusters a job's `cluster` may name.
    pub clusters: KnownClusters<'a>,
    /// The upstream version the instance deploys (`spec.version`), whose job rules apply; the
    /// newest rules when `None`.
    pub version: Option<&'a str>,
}

/// What is known of the build clusters jobs may run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownClusters<'a> {
    /// The instance's aliases (besides `default`): a job naming another is an error.
    Instance(&'a BTreeSet<String>),
    /// No instance is among the inputs: a job naming a cluster other than `default` is a warning.
    NoInstance,
    /// The instance's aliases are in Secrets not read here: nothing is checked.
    Unknown,
}

/// Findings for one JobSet; `root` is the field path prefix, e.g. "spec" for a JobConfig.
pub fn check_jobs(jobs: &JobSet, ctx: &JobContext<'_>, root: &str) -> Vec<Finding> {
    let mut findings = Findings::default();
    jobs::check(jobs, ctx, root, &mut findings);
    style::check(jobs, ctx, root, &mut findings);
    findings.into_vec()
}

/// Findings for the size of a JobConfig's jobs once rendered: each job (and the presets) too
/// large for any job-config ConfigMap, however the JobConfig is split. Paths start with `root`.
pub fn check_job_sizes(jobs: &JobSet, root: &str) -> Vec<Finding> {
    let mut findings = Findings::default();
    size::check(jobs, crate::render::job_config::MAX_DATA_BYTES, root, &mut findings);
    findings.into_vec()
}

/// Findings that need every JobSet of an instance together: the same job (repo, name,
/// overlapping branches) or context in two objects, duplicate preset label sets, periodic names,
/// and everything that depends on presets (which apply to every job of the instance). Each
/// finding is reported against the object (by index into `sets`) that holds it.
///
/// A clash between two objects is reported against the later one only, so the earlier keeps
/// working: order `sets` oldest first, and a newcomer that clashes is the one refused. Paths start
/// with `spec`, as in a JobConfig; see [`check_across_at`] for another prefix.
pub fn check_across(sets: &[&JobSet]) -> Vec<(usize, Finding)> {
    check_across_at(sets, "spec")
}

/// [`check_across`] with the field path prefix `root` (empty for upstream job files).
pub fn check_across_at(sets: &[&JobSet], root: &str) -> Vec<(usize, Finding)> {
    across::check(sets, root)
}

/// Findings for what the pod builder would refuse in the decorated jobs of `jobs` once the
/// instance's decoration defaults (`inputs`) are merged in: no utility image, storage, bucket or
/// credentials. Paths start with `root`.
pub fn check_decoration(jobs: &JobSet, inputs: &crate::podspec::PodInputs, root: &str) -> Vec<Finding> {
    let mut findings = Findings::default();
    decoration::check_resolved(jobs, inputs, root, &mut findings);
    findings.into_vec()
}

/// Findings for a PluginConfig. `native_trigger` is whether the operator's native trigger runs,
/// in which case hook's own `trigger` plugin is refused; `version` is the upstream version the
/// instance deploys, whose plugins are the ones hook knows (`None`: any supported version).
pub fn check_plugins(spec: &PluginConfigSpec, native_trigger: bool, version: Option<&str>) -> Vec<Finding> {
    let mut findings = Findings::default();
    plugins::check(spec, native_trigger, version, "spec", &mut findings);
    findings.into_vec()
}

/// `mismatched-tide` warnings for a PluginConfig, against the tide queries of the instance's
/// config.yaml overlay `config`.
pub fn check_tide_plugins(config: Option<&serde_json::Value>, spec: &PluginConfigSpec) -> Vec<Finding> {
    let mut findings = Findings::default();
    tide_plugins::check(config, spec, "spec", &mut findings);
    findings.into_vec()
}

/// Findings for a LabelSet.
pub fn check_labels(spec: &LabelSetSpec) -> Vec<Finding> {
    let mut findings = Findings::default();
    label_set::check(spec, "spec", &mut findings);
    findings.into_vec()
}

/// The instance: native/upstream conflicts (same meaning as the CRD's CEL rules, for offline use)
/// and unknown keys in the `config` overlay (KeyTree ProwConfig; the job keys
/// presubmits/postsubmits/periodics/presets are not allowed in the overlay: jobs belong in
/// JobConfigs).
pub fn check_instance(spec: &ProwInstanceSpec) -> Vec<Finding> {
    let mut findings = Findings::default();
    instance::check(spec, "spec", &mut findings);
    findings.into_vec()
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Collects findings.
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, severity: Severity, path: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(Finding {
            severity,
            path: path.into(),
            message: message.into(),
            rule: Some(rule.to_string()),
        });
    }

    /// Records an error.
    pub(crate) fn error(&mut self, path: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, rule, message);
    }

    /// Records a warning.
    pub(crate) fn warning(&mut self, path: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, rule, message);
    }

    /// Reports every key of an `unknown` map as an `unknown-fields` warning.
    pub(crate) fn unknown(&mut self, unknown: &prow_api::job::UnknownFields, path: &str) {
        for key in unknown.keys() {
            // Upstream ignores the key (checkconfig warns with unknown-fields-all): a warning.
            self.warning(
                field(path, key),
                rule::UNKNOWN_FIELDS,
                format!("upstream Prow does not accept key {key:?} here: check its spelling and level, or remove it"),
            );
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_the_spec() {
        assert_eq!(field("", "spec"), "spec");
        assert_eq!(field("spec", "presubmits"), "spec.presubmits");
        assert_eq!(key("spec.presubmits", "org/repo"), "spec.presubmits[\"org/repo\"]");
        assert_eq!(item("spec.periodics", 0), "spec.periodics[0]");
        assert_eq!(
            field("spec.labels", "prow.k8s.io/type"),
            "spec.labels[\"prow.k8s.io/type\"]"
        );
        assert_eq!(field("spec", "branch-protection"), "spec.branch-protection");
    }

    #[test]
    fn unknown_keys_only_warn() {
        let mut findings = Findings::default();
        let mut unknown = prow_api::job::UnknownFields::new();
        unknown.insert("alwaysRun".into(), serde_json::Value::Bool(true));
        findings.unknown(&unknown, "spec.presubmits[\"o/r\"][0]");
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "spec.presubmits[\"o/r\"][0].alwaysRun");
        assert_eq!(findings[0].rule.as_deref(), Some("unknown-fields"));
        assert!(findings[0].message.contains("\"alwaysRun\""));
        assert!(
            !has_errors(&findings),
            "upstream ignores the key: a warning (an error under --strict)"
        );
    }
}
