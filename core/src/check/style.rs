//! Two of upstream checkconfig's default warnings about how jobs are written rather than whether
//! they run: jobs on the kubernetes agent without the pod utilities (`non-decorated-jobs`), and
//! periodics with top-level clone settings, which have no effect on a job that clones its
//! `extra_refs` (`periodic-default-clone-config`). Warnings only: upstream fails on them under
//! `--strict` alone.

use prow_api::job::{JobBase, JobSet};

use super::{Findings, JobContext, field, item, key, rule};

/// Adds both warnings for every job of `jobs`.
pub(crate) fn check(jobs: &JobSet, ctx: &JobContext<'_>, root: &str, findings: &mut Findings) {
    for (repo, list) in &jobs.presubmits {
        for (index, job) in list.iter().enumerate() {
            let path = item(&key(&field(root, "presubmits"), repo), index);
            not_decorated(&job.base, ctx, &path, findings);
        }
    }
    for (repo, list) in &jobs.postsubmits {
        for (index, job) in list.iter().enumerate() {
            let path = item(&key(&field(root, "postsubmits"), repo), index);
            not_decorated(&job.base, ctx, &path, findings);
        }
    }
    for (index, job) in jobs.periodics.iter().enumerate() {
        let path = item(&field(root, "periodics"), index);
        not_decorated(&job.base, ctx, &path, findings);
        let set = [
            ("clone_depth", job.base.clone_depth.is_some_and(|d| d != 0)),
            (
                "clone_uri",
                job.base.clone_uri.as_deref().is_some_and(|u| !u.is_empty()),
            ),
            (
                "path_alias",
                job.base.path_alias.as_deref().is_some_and(|a| !a.is_empty()),
            ),
        ];
        if let Some((name, _)) = set.iter().find(|(_, is_set)| *is_set) {
            findings.warning(
                field(&path, name),
                rule::PERIODIC_DEFAULT_CLONE,
                format!(
                    "periodic {:?} sets {name}, which has no effect: a periodic clones only its extra_refs; set it there",
                    job.base.name
                ),
            );
        }
    }
}

fn not_decorated(base: &JobBase, ctx: &JobContext<'_>, path: &str, findings: &mut Findings) {
    if base.agent() == "kubernetes" && !base.decorate.unwrap_or(ctx.decorate_all_jobs) {
        findings.warning(
            field(path, "decorate"),
            rule::NON_DECORATED_JOBS,
            format!(
                "job {:?} runs on the kubernetes agent without the pod utilities: no clone, no artifacts, no timeout; set decorate: true",
                base.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use prow_api::status::Severity;
    use serde_json::json;

    use super::*;

    fn run(value: serde_json::Value, decorate_all_jobs: bool) -> Vec<(String, String, Severity)> {
        let jobs: JobSet = serde_json::from_value(value).expect("job set");
        let queues = Default::default();
        let ctx = JobContext {
            decorate_all_jobs,
            job_queues: &queues,
            clusters: crate::check::KnownClusters::Unknown,
            version: None,
        };
        let mut findings = Findings::default();
        check(&jobs, &ctx, "spec", &mut findings);
        findings
            .into_vec()
            .into_iter()
            .map(|f| (f.path, f.rule.unwrap_or_default(), f.severity))
            .collect()
    }

    /// Found on kubernetes-sigs/prow's and oss-test-infra's configurations by the checkconfig
    /// oracle: upstream's `--strict` refuses them; ours said nothing.
    #[test]
    fn undecorated_kubernetes_jobs_and_periodic_clone_settings_warn() {
        let pod = json!({"containers": [{"image": "x"}]});
        let jobs = json!({
            "presubmits": {"o/r": [{"name": "a", "spec": pod}, {"name": "b", "decorate": true, "spec": pod}]},
            "postsubmits": {"o/r": [{"name": "c", "agent": "jenkins"}]},
            "periodics": [{"name": "p", "interval": "1h", "decorate": true, "path_alias": "k8s.io/x", "spec": pod}]
        });
        assert_eq!(
            run(jobs.clone(), false),
            [
                (
                    "spec.presubmits[\"o/r\"][0].decorate".to_string(),
                    "non-decorated-jobs".to_string(),
                    Severity::Warning
                ),
                (
                    "spec.periodics[0].path_alias".to_string(),
                    "periodic-default-clone-config".to_string(),
                    Severity::Warning
                ),
            ]
        );
        assert_eq!(run(jobs, true).len(), 1, "decorate_all_jobs decorates the first");
    }
}
