//! A job's PodSpec: read strictly against Kubernetes' model, then upstream's pod rules
//! (containers, init containers, env, volumes, mounts, and the names decoration reserves). The
//! rules are the pod builder's own ([`crate::podspec::validate`]), so `check` refuses exactly
//! what the executor would refuse.

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;

use prow_api::ProwJobType;
use prow_api::job::DecorationConfig;

use super::job_type::JobType;
use super::plugin_versions::date_of;
use super::{Findings, rule, strict};
use crate::podspec::validate::{self, PodRules};

pub(crate) use crate::podspec::validate::{DECORATION_VOLUMES, clone_secret_names};

/// The date of the first upstream version that accepts init containers in a job's pod spec, as
/// sidecars only ("feat(config): support sidecar container", kubernetes-sigs/prow e249a8bcc);
/// earlier versions refuse them all.
const SIDECAR_INIT_CONTAINERS: u32 = 20_250_902;

/// What the pod rules need to know about the job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PodContext<'a> {
    /// The job's type, which decides the reserved env variables.
    pub job_type: JobType,
    /// Whether the job is decorated.
    pub decorated: bool,
    /// The job's own decoration settings.
    pub decoration: Option<&'a DecorationConfig>,
    /// The upstream version the instance deploys; the newest rules when `None`.
    pub version: Option<&'a str>,
    /// The job's name, for messages that must name it.
    pub job: &'a str,
}

/// Reads and checks a job's `spec`; returns the typed PodSpec when it reads.
pub(crate) fn check(raw: &Value, path: &str, ctx: &PodContext<'_>, findings: &mut Findings) -> Option<PodSpec> {
    if !raw.is_object() {
        findings.error(
            path,
            rule::INVALID_VALUE,
            "spec must be a Kubernetes PodSpec (an object with containers)",
        );
        return None;
    }
    let spec: PodSpec = strict::read(raw, path, "PodSpec", findings)?;
    let rules = PodRules {
        job_type: match ctx.job_type {
            JobType::Presubmit => ProwJobType::Presubmit,
            JobType::Postsubmit => ProwJobType::Postsubmit,
            JobType::Periodic => ProwJobType::Periodic,
        },
        decorated: ctx.decorated,
        decoration: ctx.decoration,
    };
    for problem in validate::pod_spec(&spec, &rules, path) {
        findings.error(problem.path(), problem.rule(), problem.message());
    }
    if let Some(version) = ctx.version
        && !spec.init_containers.as_ref().is_none_or(Vec::is_empty)
        && date_of(version).is_some_and(|date| date < SIDECAR_INIT_CONTAINERS)
    {
        findings.error(
            format!("{path}.initContainers"),
            rule::FIELD_VERSION,
            format!(
                "job {}: upstream {version} refuses every init container in a job's pod spec; versions \
                 from {SIDECAR_INIT_CONTAINERS} on accept sidecars (restartPolicy: Always): set spec.version to one \
                 of them or remove initContainers",
                ctx.job
            ),
        );
    }
    Some(spec)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(raw: Value, job_type: JobType, decorated: bool) -> Vec<(String, String)> {
        run_for(raw, job_type, decorated, None)
    }

    fn run_for(raw: Value, job_type: JobType, decorated: bool, version: Option<&str>) -> Vec<(String, String)> {
        let mut findings = Findings::default();
        let ctx = PodContext {
            job_type,
            decorated,
            decoration: None,
            version,
            job: "pull-test",
        };
        check(&raw, "spec.presubmits[\"o/r\"][0].spec", &ctx, &mut findings);
        findings
            .into_vec()
            .into_iter()
            .map(|f| (f.path.replace("spec.presubmits[\"o/r\"][0].spec", "@"), f.message))
            .collect()
    }

    fn paths(raw: Value, job_type: JobType, decorated: bool) -> Vec<String> {
        run(raw, job_type, decorated).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn a_simple_pod_is_fine() {
        let raw = json!({"containers": [{"image": "golang", "command": ["make"], "args": ["test"], "env": [{"name": "A", "value": "1"}]}]});
        assert!(paths(raw.clone(), JobType::Presubmit, true).is_empty());
        assert!(paths(raw, JobType::Periodic, false).is_empty());
    }

    #[test]
    fn needs_a_container() {
        assert_eq!(
            paths(json!({"containers": []}), JobType::Periodic, false),
            ["@.containers"]
        );
        assert_eq!(paths(json!({}), JobType::Periodic, false), ["@.containers"]);
        assert_eq!(paths(json!("nope"), JobType::Periodic, false), ["@"]);
    }

    #[test]
    fn init_containers_only_as_sidecars() {
        let raw = json!({
            "containers": [{"image": "x", "command": ["a"]}],
            "initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "Always"}, {"name": "setup", "image": "s"}]
        });
        assert_eq!(paths(raw, JobType::Periodic, true), ["@.initContainers[1]"]);
    }

    #[test]
    fn versions_before_sidecars_refuse_every_init_container() {
        let raw = json!({
            "containers": [{"image": "x", "command": ["a"]}],
            "initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "Always"}]
        });
        assert!(paths(raw.clone(), JobType::Periodic, true).is_empty());
        assert!(run_for(raw.clone(), JobType::Periodic, true, Some("v20250902-e249a8bcc")).is_empty());
        let refused = run_for(raw, JobType::Periodic, true, Some("v20240619-cfb8754e0"));
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].0, "@.initContainers");
        assert!(
            refused[0].1.contains("pull-test")
                && refused[0].1.contains("v20240619-cfb8754e0")
                && refused[0].1.contains("20250902"),
            "{}",
            refused[0].1
        );
    }

    #[test]
    fn several_containers_need_decoration_and_distinct_names() {
        let raw = json!({"containers": [
            {"name": "test", "image": "x", "command": ["a"]},
            {"name": "test", "image": "y", "command": ["b"]},
            {"name": "sidecar", "image": "z", "command": ["c"]},
            {"image": "w", "command": ["d"]}
        ]});
        assert_eq!(
            paths(raw.clone(), JobType::Periodic, true),
            ["@.containers[1].name", "@.containers[2].name", "@.containers[3].name"]
        );
        assert_eq!(paths(raw, JobType::Periodic, false)[0], "@.containers");
    }

    #[test]
    fn env_names_unique_and_not_reserved() {
        let raw = json!({"containers": [{"image": "x", "command": ["a"], "env": [
            {"name": "A", "value": "1"}, {"name": "A", "value": "2"}, {"name": "PULL_NUMBER", "value": "3"}, {"name": "JOB_NAME"}
        ]}]});
        assert_eq!(
            paths(raw.clone(), JobType::Presubmit, false),
            [
                "@.containers[0].env[1].name",
                "@.containers[0].env[2].name",
                "@.containers[0].env[3].name"
            ]
        );
        // PULL_NUMBER is only set for presubmits.
        assert_eq!(
            paths(raw, JobType::Periodic, false),
            ["@.containers[0].env[1].name", "@.containers[0].env[3].name"]
        );
    }

    #[test]
    fn decorated_containers_need_a_command() {
        let raw = json!({"containers": [{"image": "x"}]});
        assert_eq!(paths(raw.clone(), JobType::Periodic, true), ["@.containers[0]"]);
        assert!(paths(raw, JobType::Periodic, false).is_empty());
        let raw = json!({"containers": [{"image": "x", "args": ["run"]}]});
        assert!(paths(raw, JobType::Periodic, true).is_empty());
    }

    #[test]
    fn volumes_unique_and_decoration_names_reserved() {
        let raw = json!({
            "containers": [{"image": "x", "command": ["a"], "volumeMounts": [
                {"name": "cache", "mountPath": "/cache"},
                {"name": "logs", "mountPath": "/var/log"},
                {"name": "cache", "mountPath": "/home/prow/go"}
            ]}],
            "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}, {"name": "tools", "emptyDir": {}}]
        });
        assert_eq!(
            paths(raw.clone(), JobType::Periodic, true),
            [
                "@.containers[0].volumeMounts[1].name",
                "@.containers[0].volumeMounts[2].mountPath",
                "@.volumes[1].name",
                "@.volumes[2].name"
            ]
        );
        // Upstream refuses them whether or not the job is decorated.
        assert_eq!(
            paths(raw.clone(), JobType::Periodic, false),
            paths(raw, JobType::Periodic, true)
        );
    }

    #[test]
    fn unknown_fields_are_reported() {
        let raw = json!({"containers": [{"image": "x", "command": ["a"], "resource": {}}]});
        let found = run(raw, JobType::Periodic, true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "@.containers[0].resource");
    }

    #[test]
    fn clone_secret_names_are_reserved() {
        let decoration: DecorationConfig =
            serde_json::from_value(json!({"ssh_key_secrets": ["ssh-key"]})).expect("decoration config");
        let raw = json!({"containers": [{"image": "x", "command": ["a"]}], "volumes": [{"name": "ssh-key", "secret": {"secretName": "s"}}]});
        let mut findings = Findings::default();
        let ctx = PodContext {
            job_type: JobType::Periodic,
            decorated: true,
            decoration: Some(&decoration),
            version: None,
            job: "periodic-test",
        };
        check(&raw, "spec", &ctx, &mut findings);
        let paths: Vec<String> = findings.into_vec().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["spec.volumes[0].name"]);
    }
}
