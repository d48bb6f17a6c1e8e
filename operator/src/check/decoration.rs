//! A job's `decoration_config`: durations, clone credentials, upload settings, and keys upstream
//! does not accept at any level of it.

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements};

use prow_api::job::DecorationConfig;

use super::{Findings, field, rule, strict};
use crate::duration;

/// The path strategies of `gcs_configuration`.
const PATH_STRATEGIES: [&str; 3] = ["legacy", "single", "explicit"];

/// Checks a job's `decoration_config` at `path`.
pub(crate) fn check(config: &DecorationConfig, path: &str, findings: &mut Findings) {
    findings.unknown(&config.unknown, path);
    for (key, value) in [
        ("timeout", &config.timeout),
        ("grace_period", &config.grace_period),
        ("pod_pending_timeout", &config.pod_pending_timeout),
        ("pod_running_timeout", &config.pod_running_timeout),
        ("pod_unscheduled_timeout", &config.pod_unscheduled_timeout),
    ] {
        if let Some(text) = value {
            check_duration(text, &field(path, key), findings);
        }
    }
    let ssh = config.ssh_key_secrets.as_ref().is_some_and(|s| !s.is_empty());
    if ssh && config.oauth_token_secret.is_some() {
        findings.error(
            field(path, "oauth_token_secret"),
            rule::DECORATION,
            "ssh_key_secrets and oauth_token_secret cannot be combined: clone with one kind of credential",
        );
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
        let gcs_path = field(path, "gcs_configuration");
        findings.unknown(&gcs.unknown, &gcs_path);
        if let Some(strategy) = gcs.path_strategy.as_deref().filter(|s| !s.is_empty())
            && !PATH_STRATEGIES.contains(&strategy)
        {
            findings.error(
                field(&gcs_path, "path_strategy"),
                rule::DECORATION,
                format!("path_strategy {strategy:?} is not one of legacy, single or explicit"),
            );
        }
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
