//! A job's `decoration_config`: durations, clone credentials, upload settings, and keys upstream
//! does not accept at any level of it; and, with the instance's decoration defaults merged in,
//! what the pod builder needs (utility images, storage, bucket, credentials). The rules are the
//! pod builder's own ([`crate::podspec::validate`]), so `check` refuses what the executor would.

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements};

use prow_api::job::{DecorationConfig, JobBase, JobSet};

use super::{Findings, field, item, key, rule, strict};
use crate::duration;
use crate::podspec::{PodError, PodInputs, resolve, validate};

/// Checks a job's `decoration_config` at `path`.
pub(crate) fn check(config: &DecorationConfig, path: &str, findings: &mut Findings) {
    findings.unknown(&config.unknown, path);
    for problem in validate::decoration(config, path) {
        report(&problem, findings);
    }
    for (key, secret) in [
        ("oauth_token_secret", &config.oauth_token_secret),
        ("github_app_private_key_secret", &config.github_app_private_key_secret),
    ] {
        if let Some(secret) = secret {
            findings.unknown(&secret.unknown, &field(path, key));
        }
    }
    if let Some(images) = &config.utility_images {
        findings.unknown(&images.unknown, &field(path, "utility_images"));
    }
    if let Some(resources) = &config.resources {
        let resources_path = field(path, "resources");
        findings.unknown(&resources.unknown, &resources_path);
        for (key, value) in [
            ("clonerefs", &resources.clonerefs),
            ("initupload", &resources.initupload),
            ("place_entrypoint", &resources.place_entrypoint),
            ("sidecar", &resources.sidecar),
        ] {
            if let Some(value) = value {
                strict::read::<ResourceRequirements>(
                    &value.raw(),
                    &field(&resources_path, key),
                    "ResourceRequirements",
                    findings,
                );
            }
        }
    }
    if let Some(gcs) = &config.gcs_configuration {
        findings.unknown(&gcs.unknown, &field(path, "gcs_configuration"));
    }
    if let Some(censoring) = &config.censoring_options {
        findings.unknown(&censoring.unknown, &field(path, "censoring_options"));
    }
    if let Some(scheduling) = &config.scheduling_options {
        let scheduling_path = field(path, "scheduling_options");
        findings.unknown(&scheduling.unknown, &scheduling_path);
        if let Some(affinity) = &scheduling.affinity {
            strict::read::<Affinity>(
                &affinity.raw(),
                &field(&scheduling_path, "affinity"),
                "Affinity",
                findings,
            );
        }
    }
}

fn report(problem: &PodError, findings: &mut Findings) {
    findings.error(problem.path(), problem.rule(), problem.message());
}

/// Checks every decorated job of `jobs` (whose field paths start at `root`) with the decoration
/// defaults of `inputs` merged in, as the executor merges them: what the pod builder would refuse
/// and the job's own settings do not already show (no utility image, storage, bucket or
/// credentials, or a path strategy without its default org and repo).
pub(crate) fn check_resolved(jobs: &JobSet, inputs: &PodInputs, root: &str, findings: &mut Findings) {
    let decorated = |base: &JobBase| {
        base.agent() == prow_api::job::DEFAULT_AGENT && base.decorate.unwrap_or(inputs.decorate_all_jobs)
    };
    let mut one = |base: &JobBase, repo: &str, path: &str| {
        if !decorated(base) {
            return;
        }
        let own = base.decoration_config.clone().unwrap_or_default();
        let merged = resolve(&inputs.decoration_defaults, repo, base.cluster(), &own);
        let at = field(path, "decoration_config");
        let known = validate::decoration(&own, &at);
        for problem in validate::resolved_decoration(&merged, &at) {
            if !known.contains(&problem) {
                report(&problem, findings);
            }
        }
    };
    for (repo, list) in &jobs.presubmits {
        for (index, job) in list.iter().enumerate() {
            one(&job.base, repo, &item(&key(&field(root, "presubmits"), repo), index));
        }
    }
    for (repo, list) in &jobs.postsubmits {
        for (index, job) in list.iter().enumerate() {
            one(&job.base, repo, &item(&key(&field(root, "postsubmits"), repo), index));
        }
    }
    for (index, job) in jobs.periodics.iter().enumerate() {
        let repo = job
            .base
            .extra_refs
            .as_ref()
            .and_then(|refs| refs.first())
            .map(|r| format!("{}/{}", r.org, r.repo))
            .unwrap_or_default();
        one(&job.base, &repo, &item(&field(root, "periodics"), index));
    }
}

/// Reports `text` at `path` unless it is a Go duration of zero or more.
pub(crate) fn check_duration(text: &str, path: &str, findings: &mut Findings) -> Option<std::time::Duration> {
    match duration::parse(text) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            findings.error(path, rule::DURATION, error.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(value: serde_json::Value) -> Vec<String> {
        let config: DecorationConfig = serde_json::from_value(value).expect("decoration config");
        let mut findings = Findings::default();
        check(&config, "spec.periodics[0].decoration_config", &mut findings);
        findings
            .into_vec()
            .into_iter()
            .map(|f| f.path.replace("spec.periodics[0].decoration_config", "@"))
            .collect()
    }

    #[test]
    fn valid_config_is_fine() {
        assert!(
            paths(json!({
                "timeout": "2h0m0s", "grace_period": "15m", "pod_pending_timeout": "15m",
                "gcs_configuration": {"bucket": "s3://b", "path_strategy": "explicit"},
                "resources": {"sidecar": {"requests": {"cpu": "100m"}}},
                "oauth_token_secret": {"name": "oauth", "key": "token"},
                "scheduling_options": {"affinity": {"nodeAffinity": {}}}
            }))
            .is_empty()
        );
    }

    #[test]
    fn durations_must_parse() {
        assert_eq!(
            paths(
                json!({"timeout": "2 hours", "grace_period": "-1s", "pod_running_timeout": "1d", "pod_unscheduled_timeout": "5m"})
            ),
            ["@.timeout", "@.grace_period", "@.pod_running_timeout"]
        );
    }

    #[test]
    fn ssh_and_oauth_do_not_combine() {
        assert_eq!(
            paths(json!({"ssh_key_secrets": ["ssh"], "oauth_token_secret": {"name": "o", "key": "k"}})),
            ["@.oauth_token_secret"]
        );
        assert!(paths(json!({"ssh_key_secrets": [], "oauth_token_secret": {"name": "o", "key": "k"}})).is_empty());
    }

    #[test]
    fn path_strategy_is_an_enum() {
        assert_eq!(
            paths(json!({"gcs_configuration": {"path_strategy": "flat"}})),
            ["@.gcs_configuration.path_strategy"]
        );
    }

    #[test]
    fn unknown_keys_at_every_level() {
        assert_eq!(
            paths(json!({
                "timout": "1h",
                "utility_images": {"clonerefs": "x", "clonref": "y"},
                "gcs_configuration": {"bucket": "b", "path-strategy": "explicit"},
                "resources": {"sidecar": {"request": {}}, "initupload2": {}},
                "oauth_token_secret": {"name": "o", "key": "k", "namespace": "n"},
                "censoring_options": {"minimum_secret_length": 1, "x": 1},
                "scheduling_options": {"tolerations": [], "nodeSelector": {}, "affinity": {"podAffinityy": {}}}
            })),
            [
                "@.timout",
                "@.oauth_token_secret.namespace",
                "@.utility_images.clonref",
                "@.resources.initupload2",
                "@.resources.sidecar.request",
                "@.gcs_configuration.path-strategy",
                "@.censoring_options.x",
                "@.scheduling_options.nodeSelector",
                "@.scheduling_options.affinity.podAffinityy",
            ]
        );
    }
}
