//! A job's PodSpec: read strictly against Kubernetes' model, then upstream's pod rules
//! (containers, init containers, env, volumes, mounts, and the names decoration reserves).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;

use prow_api::job::DecorationConfig;

use super::jobs::JobType;
use super::{Findings, field, item, rule, strict};

/// Containers decoration adds to the pod.
pub(crate) const RESERVED_CONTAINERS: [&str; 4] = ["clonerefs", "initupload", "place-entrypoint", "sidecar"];
/// Volumes decoration adds to the pod.
pub(crate) const DECORATION_VOLUMES: [&str; 5] = ["logs", "code", "tools", "gcs-credentials", "s3-credentials"];
/// Volume mounts decoration adds to the test container.
const RESERVED_MOUNTS: [&str; 3] = ["logs", "code", "tools"];
/// Mount paths decoration uses in the test container.
const RESERVED_MOUNT_PATHS: [&str; 3] = ["/logs", "/home/prow/go", "/tools"];

/// The variables Prow sets in every job's pod (the downward API of upstream's `EnvForType`).
const BASE_ENV: [&str; 7] = [
    "JOB_NAME",
    "JOB_SPEC",
    "JOB_TYPE",
    "PROW_JOB_ID",
    "BUILD_ID",
    "BUILD_NUMBER",
    "CI",
];
/// The variables Prow sets for jobs with refs (presubmits and postsubmits).
const REFS_ENV: [&str; 7] = [
    "REPO_OWNER",
    "REPO_NAME",
    "SRC_BASE",
    "SRC_HOST",
    "PULL_BASE_REF",
    "PULL_BASE_SHA",
    "PULL_REFS",
];
/// The variables Prow sets for presubmits.
const PULL_ENV: [&str; 4] = ["PULL_NUMBER", "PULL_PULL_SHA", "PULL_HEAD_REF", "PULL_TITLE"];

/// The env variables Prow sets itself for a job type; a job may not set them.
pub(crate) fn reserved_env(job_type: JobType) -> Vec<&'static str> {
    let mut names: Vec<&str> = BASE_ENV.to_vec();
    if matches!(job_type, JobType::Presubmit | JobType::Postsubmit) {
        names.extend(REFS_ENV);
    }
    if job_type == JobType::Presubmit {
        names.extend(PULL_ENV);
    }
    names
}

/// What the pod rules need to know about the job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PodContext<'a> {
    /// The job's type, which decides the reserved env variables.
    pub job_type: JobType,
    /// Whether the job is decorated.
    pub decorated: bool,
    /// The job's own decoration settings.
    pub decoration: Option<&'a DecorationConfig>,
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
    let containers_path = field(path, "containers");
    let count = spec.containers.len();
    if count == 0 {
        findings.error(
            &containers_path,
            rule::POD_SPEC,
            "the pod spec has no containers: add the container that runs the test",
        );
    }
    for (index, init) in spec.init_containers.iter().flatten().enumerate() {
        if init.restart_policy.as_deref() != Some("Always") {
            findings.error(
                item(&field(path, "initContainers"), index),
                rule::POD_SPEC,
                format!(
                    "init container {:?} is not allowed: Prow jobs may only have native sidecars (restartPolicy: Always) as init containers; run the step in the test container instead",
                    init.name
                ),
            );
        }
    }
    if count > 1 && !ctx.decorated {
        findings.error(
            &containers_path,
            rule::POD_SPEC,
            format!(
                "the pod spec has {count} containers, which needs decoration: set decorate: true, or use one container"
            ),
        );
    }
    if count > 1 {
        let mut names = BTreeSet::new();
        for (index, container) in spec.containers.iter().enumerate() {
            let at = field(&item(&containers_path, index), "name");
            if container.name.is_empty() {
                findings.error(
                    &at,
                    rule::POD_SPEC,
                    "every container needs a name when the pod has several",
                );
            } else if !names.insert(container.name.as_str()) {
                findings.error(
                    &at,
                    rule::POD_SPEC,
                    format!(
                        "container name {:?} is used more than once: give each container its own name",
                        container.name
                    ),
                );
            }
            if RESERVED_CONTAINERS.contains(&container.name.as_str()) {
                findings.error(
                    &at,
                    rule::RESERVED,
                    format!(
                        "container name {:?} is reserved for decoration (clonerefs, initupload, place-entrypoint, sidecar): rename the container",
                        container.name
                    ),
                );
            }
        }
    }
    let reserved_env = reserved_env(ctx.job_type);
    for (index, container) in spec.containers.iter().enumerate() {
        let container_path = item(&containers_path, index);
        let mut env_names = BTreeSet::new();
        for (env_index, env) in container.env.iter().flatten().enumerate() {
            let at = field(&item(&field(&container_path, "env"), env_index), "name");
            if !env_names.insert(env.name.as_str()) {
                findings.error(
                    &at,
                    rule::POD_SPEC,
                    format!(
                        "env variable {:?} is set more than once in this container: keep one",
                        env.name
                    ),
                );
            }
            if reserved_env.contains(&env.name.as_str()) {
                findings.error(
                    &at,
                    rule::RESERVED,
                    format!(
                        "env variable {:?} is set by Prow for {} jobs: remove it",
                        env.name, ctx.job_type
                    ),
                );
            }
        }
        if ctx.decorated {
            let command = container.command.iter().flatten();
            let args = container.args.iter().flatten();
            if command.chain(args).next().is_none_or(String::is_empty) {
                findings.error(
                    &container_path,
                    rule::DECORATION,
                    "a decorated container must set command and/or args (entrypoint wraps them; the image's own entrypoint is not used)",
                );
            }
        }
        // As upstream, these names and paths are refused whether or not the job is decorated.
        for (mount_index, mount) in container.volume_mounts.iter().flatten().enumerate() {
            let mount_path = item(&field(&container_path, "volumeMounts"), mount_index);
            if RESERVED_MOUNTS.contains(&mount.name.as_str()) {
                findings.error(
                    field(&mount_path, "name"),
                    rule::RESERVED,
                    format!(
                        "volume mount name {:?} is reserved for decoration (logs, code, tools): rename the volume and its mount",
                        mount.name
                    ),
                );
            }
            if RESERVED_MOUNT_PATHS.contains(&mount.mount_path.as_str()) {
                findings.error(
                    field(&mount_path, "mountPath"),
                    rule::RESERVED,
                    format!(
                        "mount path {:?} is where decoration mounts its own volumes (/logs, /home/prow/go, /tools): mount somewhere else",
                        mount.mount_path
                    ),
                );
            }
        }
    }
    let mut volume_names = BTreeSet::new();
    for (index, volume) in spec.volumes.iter().flatten().enumerate() {
        let at = field(&item(&field(path, "volumes"), index), "name");
        if !volume_names.insert(volume.name.as_str()) {
            findings.error(
                &at,
                rule::POD_SPEC,
                format!("volume {:?} is defined more than once: keep one", volume.name),
            );
        }
        if DECORATION_VOLUMES.contains(&volume.name.as_str()) {
            findings.error(
                &at,
                rule::RESERVED,
                format!(
                    "volume name {:?} is reserved for decoration (logs, code, tools, gcs-credentials, s3-credentials): rename the volume and its mounts",
                    volume.name
                ),
            );
        } else if clone_secret_names(ctx.decoration).contains(&volume.name) {
            findings.error(
                &at,
                rule::RESERVED,
                format!(
                    "volume name {:?} is the name of a clone credential secret (ssh_key_secrets or oauth_token_secret), which decoration mounts as a volume of that name: rename the volume",
                    volume.name
                ),
            );
        }
    }
    Some(spec)
}

/// The secrets decoration mounts for cloning, as volumes of the same name.
pub(crate) fn clone_secret_names(decoration: Option<&DecorationConfig>) -> Vec<String> {
    let Some(decoration) = decoration else {
        return Vec::new();
    };
    let mut names: Vec<String> = decoration.ssh_key_secrets.clone().unwrap_or_default();
    if let Some(secret) = &decoration.oauth_token_secret {
        names.push(secret.name.clone());
    }
    names
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(raw: Value, job_type: JobType, decorated: bool) -> Vec<(String, String)> {
        let mut findings = Findings::default();
        let ctx = PodContext {
            job_type,
            decorated,
            decoration: None,
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
        };
        check(&raw, "spec", &ctx, &mut findings);
        let paths: Vec<String> = findings.into_vec().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["spec.volumes[0].name"]);
    }
}
