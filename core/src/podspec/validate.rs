//! The rules a job's pod and decoration settings must follow (upstream's load-time validation,
//! reference §3.4). The pod builder refuses a ProwJob that breaks them, and `prow-operator check`
//! reports the same problems with the job's field paths: both call these functions.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodSpec;
use prow_api::ProwJobType;
use prow_api::job::DecorationConfig;

use super::error::{PodError, field, item};
use super::jobspec::{list, parse_duration, text};

/// Containers decoration adds to the pod.
pub const RESERVED_CONTAINERS: [&str; 4] = ["clonerefs", "initupload", "place-entrypoint", "sidecar"];
/// Volumes decoration adds to the pod.
pub const DECORATION_VOLUMES: [&str; 5] = ["logs", "code", "tools", "gcs-credentials", "s3-credentials"];
/// Volume mounts decoration adds to the test container.
pub const RESERVED_MOUNTS: [&str; 3] = ["logs", "code", "tools"];
/// Mount paths decoration uses in the test container.
pub const RESERVED_MOUNT_PATHS: [&str; 3] = ["/logs", "/home/prow/go", "/tools"];
/// The path strategies of `gcs_configuration`.
pub const PATH_STRATEGIES: [&str; 3] = ["legacy", "single", "explicit"];

/// The variables Prow sets in every job's pod (the downward API of upstream's `EnvForType`).
const BASE_ENV: [&str; 7] = [
    "CI",
    "JOB_NAME",
    "JOB_SPEC",
    "JOB_TYPE",
    "PROW_JOB_ID",
    "BUILD_ID",
    "BUILD_NUMBER",
];
/// The variables Prow sets for jobs with refs.
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
pub fn reserved_env(job_type: ProwJobType) -> Vec<&'static str> {
    let mut names: Vec<&str> = BASE_ENV.to_vec();
    if job_type != ProwJobType::Periodic {
        names.extend(REFS_ENV);
    }
    if job_type == ProwJobType::Presubmit {
        names.extend(PULL_ENV);
    }
    names
}

/// What the pod rules need to know about the job.
#[derive(Debug, Clone, Copy)]
pub struct PodRules<'a> {
    /// The job's type, which decides the reserved env variables.
    pub job_type: ProwJobType,
    /// Whether the job is decorated.
    pub decorated: bool,
    /// The job's decoration settings, whose clone secrets become volumes.
    pub decoration: Option<&'a DecorationConfig>,
}

/// The problems of a job's pod spec, which is at `path`.
pub fn pod_spec(spec: &PodSpec, rules: &PodRules<'_>, path: &str) -> Vec<PodError> {
    let mut problems = Vec::new();
    let containers_path = field(path, "containers");
    let count = spec.containers.len();
    if count == 0 {
        problems.push(PodError::NoContainers {
            path: containers_path.clone(),
        });
    }
    for (index, init) in spec.init_containers.iter().flatten().enumerate() {
        if init.restart_policy.as_deref() != Some("Always") {
            problems.push(PodError::InitContainer {
                path: item(&field(path, "initContainers"), index),
                name: init.name.clone(),
            });
        }
    }
    if count > 1 && !rules.decorated {
        problems.push(PodError::SeveralContainers {
            path: containers_path.clone(),
            count,
        });
    }
    if count > 1 {
        let mut names = BTreeSet::new();
        for (index, container) in spec.containers.iter().enumerate() {
            let at = field(&item(&containers_path, index), "name");
            if container.name.is_empty() {
                problems.push(PodError::UnnamedContainer { path: at.clone() });
            } else if !names.insert(container.name.as_str()) {
                problems.push(PodError::Duplicate {
                    path: at.clone(),
                    what: "container name",
                    name: container.name.clone(),
                });
            }
            if RESERVED_CONTAINERS.contains(&container.name.as_str()) {
                problems.push(PodError::ReservedName {
                    path: at,
                    what: "container",
                    name: container.name.clone(),
                    reserved: "clonerefs, initupload, place-entrypoint, sidecar",
                });
            }
        }
    }
    let reserved_env = reserved_env(rules.job_type);
    for (index, container) in spec.containers.iter().enumerate() {
        let container_path = item(&containers_path, index);
        let mut env_names = BTreeSet::new();
        for (env_index, env) in container.env.iter().flatten().enumerate() {
            let at = field(&item(&field(&container_path, "env"), env_index), "name");
            if !env_names.insert(env.name.as_str()) {
                problems.push(PodError::Duplicate {
                    path: at.clone(),
                    what: "env variable",
                    name: env.name.clone(),
                });
            }
            if reserved_env.contains(&env.name.as_str()) {
                problems.push(PodError::ReservedEnv {
                    path: at,
                    name: env.name.clone(),
                    job_type: rules.job_type.as_str(),
                });
            }
        }
        if rules.decorated {
            let command = container.command.iter().flatten();
            let args = container.args.iter().flatten();
            if command.chain(args).next().is_none_or(String::is_empty) {
                problems.push(PodError::NoCommand {
                    path: container_path.clone(),
                });
            }
        }
        // As upstream, these names and paths are refused whether or not the job is decorated.
        for (mount_index, mount) in container.volume_mounts.iter().flatten().enumerate() {
            let mount_path = item(&field(&container_path, "volumeMounts"), mount_index);
            if RESERVED_MOUNTS.contains(&mount.name.as_str()) {
                problems.push(PodError::ReservedName {
                    path: field(&mount_path, "name"),
                    what: "volume mount",
                    name: mount.name.clone(),
                    reserved: "logs, code, tools",
                });
            }
            if RESERVED_MOUNT_PATHS.contains(&mount.mount_path.as_str()) {
                problems.push(PodError::ReservedMountPath {
                    path: field(&mount_path, "mountPath"),
                    mount_path: mount.mount_path.clone(),
                });
            }
        }
    }
    let clone_secrets = clone_secret_names(rules.decoration);
    let mut volume_names = BTreeSet::new();
    for (index, volume) in spec.volumes.iter().flatten().enumerate() {
        let at = field(&item(&field(path, "volumes"), index), "name");
        if !volume_names.insert(volume.name.as_str()) {
            problems.push(PodError::Duplicate {
                path: at.clone(),
                what: "volume",
                name: volume.name.clone(),
            });
        }
        if DECORATION_VOLUMES.contains(&volume.name.as_str()) {
            problems.push(PodError::ReservedName {
                path: at,
                what: "volume",
                name: volume.name.clone(),
                reserved: "logs, code, tools, gcs-credentials, s3-credentials",
            });
        } else if clone_secrets.contains(&volume.name) {
            problems.push(PodError::CloneSecretVolume {
                path: at,
                name: volume.name.clone(),
            });
        }
    }
    problems
}

/// The secrets decoration mounts for cloning, as volumes of the same name.
pub fn clone_secret_names(decoration: Option<&DecorationConfig>) -> Vec<String> {
    let Some(decoration) = decoration else {
        return Vec::new();
    };
    let mut names: Vec<String> = decoration.ssh_key_secrets.clone().unwrap_or_default();
    if let Some(secret) = &decoration.oauth_token_secret {
        names.push(secret.name.clone());
    }
    names
}

/// The problems of a job's own `decoration_config` at `path`, before defaults are merged in:
/// durations, clone credentials and the path strategy.
pub fn decoration(config: &DecorationConfig, path: &str) -> Vec<PodError> {
    let mut problems = Vec::new();
    for (key, value) in [
        ("timeout", &config.timeout),
        ("grace_period", &config.grace_period),
        ("pod_pending_timeout", &config.pod_pending_timeout),
        ("pod_running_timeout", &config.pod_running_timeout),
        ("pod_unscheduled_timeout", &config.pod_unscheduled_timeout),
    ] {
        if let Some(Err(problem)) = value.as_deref().map(|t| parse_duration(t, &field(path, key))) {
            problems.push(problem);
        }
    }
    if !list(&config.ssh_key_secrets).is_empty() && config.oauth_token_secret.is_some() {
        problems.push(PodError::CloneCredentials {
            path: field(path, "oauth_token_secret"),
        });
    }
    if let Some(gcs) = &config.gcs_configuration {
        let strategy = text(&gcs.path_strategy);
        if !strategy.is_empty() && !PATH_STRATEGIES.contains(&strategy) {
            problems.push(PodError::PathStrategy {
                path: field(&field(path, "gcs_configuration"), "path_strategy"),
                strategy: strategy.to_string(),
            });
        }
    }
    problems
}

/// The problems of a decorated job's resolved `decoration_config` (defaults merged in) at
/// `path`: besides [`decoration`]'s, every utility image, the storage, its bucket, credentials
/// for the bucket's provider when the other provider's are given, and the default org and repo
/// its path strategy needs.
pub fn resolved_decoration(config: &DecorationConfig, path: &str) -> Vec<PodError> {
    let mut problems = decoration(config, path);
    let images = config.utility_images.as_ref();
    let missing: Vec<&str> = [
        ("clonerefs", images.map(|i| &i.clonerefs)),
        ("initupload", images.map(|i| &i.initupload)),
        ("entrypoint", images.map(|i| &i.entrypoint)),
        ("sidecar", images.map(|i| &i.sidecar)),
    ]
    .into_iter()
    .filter(|(_, image)| image.is_none_or(|i| text(i).is_empty()))
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        problems.push(PodError::MissingUtilityImages {
            path: field(path, "utility_images"),
            missing: missing.join(", "),
        });
    }
    let gcs_path = field(path, "gcs_configuration");
    let Some(gcs) = &config.gcs_configuration else {
        problems.push(PodError::NoStorage { path: gcs_path });
        return problems;
    };
    let strategy = text(&gcs.path_strategy);
    if strategy.is_empty() {
        problems.push(PodError::PathStrategy {
            path: field(&gcs_path, "path_strategy"),
            strategy: String::new(),
        });
    } else if strategy != "explicit" && (text(&gcs.default_org).is_empty() || text(&gcs.default_repo).is_empty()) {
        problems.push(PodError::DefaultOrgRepo {
            path: gcs_path.clone(),
            strategy: strategy.to_string(),
        });
    }
    if !text(&gcs.local_output_dir).is_empty() {
        return problems;
    }
    let bucket = text(&gcs.bucket);
    if bucket.is_empty() {
        problems.push(PodError::MissingBucket {
            path: field(&gcs_path, "bucket"),
        });
        return problems;
    }
    // Upstream uploads with ambient credentials (workload identity, the cloud's defaults) when
    // no credentials file is mounted, so only credentials for the other provider are missing ones.
    let (secret, other, key, other_key) = if bucket.starts_with("s3://") {
        (
            &config.s3_credentials_secret,
            &config.gcs_credentials_secret,
            "s3_credentials_secret",
            "gcs_credentials_secret",
        )
    } else {
        (
            &config.gcs_credentials_secret,
            &config.s3_credentials_secret,
            "gcs_credentials_secret",
            "s3_credentials_secret",
        )
    };
    if text(secret).is_empty() && !text(other).is_empty() && text(&config.default_service_account_name).is_empty() {
        problems.push(PodError::MissingCredentials {
            path: field(path, key),
            bucket: bucket.to_string(),
            secret: key,
            other: other_key,
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn spec(raw: Value) -> PodSpec {
        serde_json::from_value(raw).expect("pod spec")
    }

    fn config(raw: Value) -> DecorationConfig {
        serde_json::from_value(raw).expect("decoration config")
    }

    fn paths(problems: &[PodError]) -> Vec<&str> {
        problems.iter().map(PodError::path).collect()
    }

    fn complete() -> Value {
        json!({
            "utility_images": {"clonerefs": "c", "initupload": "i", "entrypoint": "e", "sidecar": "s"},
            "gcs_configuration": {"bucket": "s3://logs", "path_strategy": "explicit"},
            "s3_credentials_secret": "s3-creds"
        })
    }

    #[test]
    fn decorated_containers_need_a_command_and_names_are_reserved() {
        let rules = PodRules {
            job_type: ProwJobType::Periodic,
            decorated: true,
            decoration: None,
        };
        let raw = json!({
            "containers": [{"name": "sidecar", "image": "x"}, {"name": "test", "image": "y", "command": ["make"],
                "volumeMounts": [{"name": "logs", "mountPath": "/tools"}]}],
            "volumes": [{"name": "code", "emptyDir": {}}]
        });
        let problems = pod_spec(&spec(raw), &rules, "spec.pod_spec");
        assert_eq!(
            paths(&problems),
            [
                "spec.pod_spec.containers[0].name",
                "spec.pod_spec.containers[0]",
                "spec.pod_spec.containers[1].volumeMounts[0].name",
                "spec.pod_spec.containers[1].volumeMounts[0].mountPath",
                "spec.pod_spec.volumes[0].name"
            ]
        );
        assert!(matches!(problems[1], PodError::NoCommand { .. }));
    }

    #[test]
    fn a_complete_resolved_config_is_fine() {
        assert!(resolved_decoration(&config(complete()), "spec.decoration_config").is_empty());
    }

    #[test]
    fn missing_bucket_credentials_and_images_are_named() {
        let mut raw = complete();
        raw["utility_images"] = json!({"clonerefs": "c"});
        raw["gcs_configuration"]["bucket"] = json!("");
        let problems = resolved_decoration(&config(raw), "@");
        assert_eq!(paths(&problems), ["@.utility_images", "@.gcs_configuration.bucket"]);
        assert!(problems[0].to_string().contains("initupload, entrypoint, sidecar"));

        let mut raw = complete();
        raw.as_object_mut().map(|o| o.remove("s3_credentials_secret"));
        assert!(
            resolved_decoration(&config(raw.clone()), "@").is_empty(),
            "ambient credentials"
        );
        raw["gcs_credentials_secret"] = json!("gcs-creds");
        let problems = resolved_decoration(&config(raw.clone()), "@");
        assert_eq!(paths(&problems), ["@.s3_credentials_secret"]);
        assert!(matches!(problems[0], PodError::MissingCredentials { .. }));
        raw["default_service_account_name"] = json!("uploader");
        assert!(resolved_decoration(&config(raw), "@").is_empty(), "workload identity");

        let problems = resolved_decoration(&config(json!({})), "@");
        assert_eq!(paths(&problems), ["@.utility_images", "@.gcs_configuration"]);
    }

    #[test]
    fn ssh_keys_and_oauth_do_not_combine() {
        let mut raw = complete();
        raw["ssh_key_secrets"] = json!(["ssh"]);
        raw["oauth_token_secret"] = json!({"name": "oauth", "key": "token"});
        let problems = resolved_decoration(&config(raw), "@");
        assert_eq!(
            problems,
            [PodError::CloneCredentials {
                path: "@.oauth_token_secret".into()
            }]
        );
    }

    #[test]
    fn path_strategies_need_their_defaults() {
        let mut raw = complete();
        raw["gcs_configuration"]["path_strategy"] = json!("legacy");
        assert_eq!(
            paths(&resolved_decoration(&config(raw.clone()), "@")),
            ["@.gcs_configuration"]
        );
        raw["gcs_configuration"]["path_strategy"] = json!("flat");
        assert_eq!(
            paths(&resolved_decoration(&config(raw), "@")),
            ["@.gcs_configuration.path_strategy", "@.gcs_configuration"]
        );
    }
}
