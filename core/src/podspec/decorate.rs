//! Decoration (upstream's `decorate` in `pkg/pod-utils/decorate/podspec.go`): the init containers
//! `clonerefs`, `initupload` and `place-entrypoint`, the `sidecar`, the test containers wrapped by
//! `/tools/entrypoint`, and the `logs`, `code` and `tools` volumes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, HostPathVolumeSource, KeyToPath, PodSecurityContext, PodSpec,
    ResourceRequirements, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use prow_api::ProwJobSpec;
use prow_api::embedded::Embedded;
use prow_api::job::{DecorationConfig, Refs};

use super::env::{JOB_SPEC, kube_env};
use super::error::{DECORATION_CONFIG, PodError, field};
use super::gojson;
use super::jobspec::{WireGcs, WireRefs, list, parse_duration, quantity_text, resource_requirements, text};
use super::options::{
    CensoringOptions, ClonerefsOptions, EntrypointOptions, InituploadOptions, SidecarOptions, UploadOptions,
    WrapperOptions,
};

/// The `logs` volume's mount.
const LOGS: (&str, &str) = ("logs", "/logs");
/// The `code` volume's mount, also `$GOPATH`.
const CODE: (&str, &str) = ("code", "/home/prow/go");
/// The `tools` volume's mount, where `place-entrypoint` copies entrypoint.
const TOOLS: (&str, &str) = ("tools", "/tools");
/// The GCS credentials' mount.
const GCS_CREDENTIALS: (&str, &str) = ("gcs-credentials", "/secrets/gcs");
/// The S3 credentials' mount.
const S3_CREDENTIALS: (&str, &str) = ("s3-credentials", "/secrets/s3-storage");
/// The local output directory's mount (local mode only).
const OUTPUT: (&str, &str) = ("output", "/output");
/// Read-only for the owner (octal 0400), for key files.
const KEY_MODE: i32 = 0o400;
/// clonerefs' git identity.
const GIT_USER_NAME: &str = "ci-robot";
/// clonerefs' git email.
const GIT_USER_EMAIL: &str = "ci-robot@k8s.io";
/// The GitHub API clonerefs uses when none is configured.
const DEFAULT_GITHUB_API: &str = "https://api.github.com";

/// A mount of the volume `name` at `path`.
pub fn mount((name, path): (&str, &str)) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..VolumeMount::default()
    }
}

fn read_only(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        read_only: Some(true),
        ..mount((name, path))
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn secret_volume(name: &str, secret: &str, mode: Option<i32>, key: Option<&str>) -> Volume {
    Volume {
        name: name.to_string(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_string()),
            default_mode: mode,
            items: key.map(|key| {
                vec![KeyToPath {
                    key: key.to_string(),
                    path: format!("./{key}"),
                    ..KeyToPath::default()
                }]
            }),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// `path.Join` of Go: the parts joined with `/`, then cleaned.
fn join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    clean(&joined)
}

/// `path.Clean` of Go: no repeated or trailing `/`, no `.`, and `..` resolved.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    match (rooted, parts.is_empty()) {
        (true, _) => format!("/{}", parts.join("/")),
        (false, true) => ".".to_string(),
        (false, false) => parts.join("/"),
    }
}

/// Where a repository is cloned: below `$GOPATH/src`, at its `path_alias`, its `repo_link`
/// without the scheme, or `github.com/org/repo` (upstream's `clone.PathForRefs`).
pub fn clone_path(base: &str, refs: &Refs) -> String {
    let alias = text(&refs.path_alias);
    let link = text(&refs.repo_link);
    let relative = if !alias.is_empty() {
        alias.to_string()
    } else if !link.is_empty() {
        link.rsplit("://").next().unwrap_or(link).to_string()
    } else {
        format!("github.com/{}/{}", refs.org, refs.repo)
    };
    join(&[base, "src", &relative])
}

/// The test containers' working directory: the clone of the first ref with `workdir: true`, or
/// of the first ref.
fn work_dir(refs: &[&Refs]) -> Option<String> {
    refs.iter()
        .find(|r| r.workdir == Some(true))
        .or(refs.first())
        .map(|r| clone_path(CODE.1, r))
}

/// Where uploads go, with the volumes and mounts of their credentials (upstream's
/// `BlobStorageOptions`). In local mode (`local_output`), artifacts are copied to `/output` and
/// no credentials are mounted.
struct BlobStorage<'a> {
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
    upload: UploadOptions<'a>,
}

impl<'a> BlobStorage<'a> {
    fn new(config: &'a DecorationConfig, local_output: bool) -> Self {
        let gcs = config.gcs_configuration.as_ref().map(WireGcs::from).unwrap_or_default();
        let mut storage = Self {
            volumes: Vec::new(),
            mounts: Vec::new(),
            upload: UploadOptions {
                gcs,
                ..UploadOptions::default()
            },
        };
        if local_output {
            storage.upload.gcs = storage.upload.gcs.with_local_output_dir(OUTPUT.1);
            return storage;
        }
        for (secret, (name, path), file) in [
            (&config.gcs_credentials_secret, GCS_CREDENTIALS, true),
            (&config.s3_credentials_secret, S3_CREDENTIALS, false),
        ] {
            let secret = text(secret);
            if secret.is_empty() {
                continue;
            }
            storage.volumes.push(secret_volume(name, secret, None, None));
            storage.mounts.push(mount((name, path)));
            let credentials = format!("{path}/service-account.json");
            if file {
                storage.upload.gcs_credentials_file = credentials;
            } else {
                storage.upload.s3_credentials_file = credentials;
            }
        }
        storage
    }
}

fn utility_resources(
    value: Option<&Embedded<ResourceRequirements>>,
    key: &str,
) -> Result<Option<ResourceRequirements>, PodError> {
    value
        .map(|v| resource_requirements(v, &field(&field(DECORATION_CONFIG, "resources"), key)))
        .transpose()
}

fn image(config: &DecorationConfig, pick: fn(&prow_api::job::UtilityImages) -> &Option<String>) -> Option<String> {
    config
        .utility_images
        .as_ref()
        .map(|images| text(pick(images)).to_string())
}

/// The clonerefs container and its volumes, when the job clones anything (upstream's
/// `CloneRefs`).
fn clonerefs(config: &DecorationConfig, refs: &[&Refs]) -> Result<(Container, Vec<Volume>), PodError> {
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    let mut key_files = Vec::new();
    for secret in list(&config.ssh_key_secrets) {
        let name = format!("ssh-keys-{secret}");
        let path = join(&["/secrets/ssh", secret]);
        volumes.push(secret_volume(&name, secret, Some(KEY_MODE), None));
        mounts.push(read_only(&name, &path));
        key_files.push(path);
    }
    let mut oauth_token_file = String::new();
    if let Some(secret) = &config.oauth_token_secret {
        volumes.push(secret_volume(&secret.name, &secret.name, None, Some(&secret.key)));
        mounts.push(read_only(&secret.name, "/secrets/oauth"));
        oauth_token_file = join(&["/secrets/oauth", &secret.key]);
    }
    let mut github_api_endpoints = list(&config.github_api_endpoints).to_vec();
    if github_api_endpoints.is_empty() {
        github_api_endpoints.push(DEFAULT_GITHUB_API.to_string());
    }
    let mut github_app_private_key_file = String::new();
    if let Some(secret) = &config.github_app_private_key_secret {
        volumes.push(secret_volume(&secret.name, &secret.name, None, Some(&secret.key)));
        mounts.push(read_only(&secret.name, "/secrets/github-app"));
        github_app_private_key_file = join(&["/secrets/github-app", &secret.key]);
    }
    volumes.push(empty_dir("clonerefs-tmp"));
    mounts.push(mount(("clonerefs-tmp", "/tmp")));
    let mut args = Vec::new();
    let mut cookie_path = String::new();
    let cookiefile = text(&config.cookiefile_secret);
    if !cookiefile.is_empty() {
        let (secret, key) = cookiefile.split_once('/').unwrap_or((cookiefile, cookiefile));
        volumes.push(secret_volume("cookiefile", secret, Some(KEY_MODE), None));
        mounts.push(read_only("cookiefile", "/secrets/cookiefile"));
        cookie_path = join(&["/secrets/cookiefile", key]);
        args.push(format!("--cookiefile={cookie_path}"));
    }
    let options = ClonerefsOptions {
        src_root: CODE.1.to_string(),
        log: join(&[LOGS.1, "clone.json"]),
        git_user_name: GIT_USER_NAME.to_string(),
        git_user_email: GIT_USER_EMAIL.to_string(),
        refs: refs.iter().map(|r| WireRefs::from(*r)).collect(),
        key_files,
        oauth_token_file,
        host_fingerprints: list(&config.ssh_host_fingerprints).to_vec(),
        cookie_path,
        github_api_endpoints,
        github_app_id: text(&config.github_app_id).to_string(),
        github_app_private_key_file,
    };
    let mut all_mounts = vec![mount(LOGS), mount(CODE)];
    all_mounts.extend(mounts);
    let container = Container {
        name: "clonerefs".to_string(),
        image: image(config, |i| &i.clonerefs),
        args: (!args.is_empty()).then_some(args),
        env: Some(kube_env(&BTreeMap::from([(
            "CLONEREFS_OPTIONS".to_string(),
            gojson::to_string(&options)?,
        )]))),
        volume_mounts: (!all_mounts.is_empty()).then_some(all_mounts),
        resources: utility_resources(
            config.resources.as_ref().and_then(|r| r.clonerefs.as_ref()),
            "clonerefs",
        )?,
        ..Container::default()
    };
    Ok((container, volumes))
}

/// What [`sidecar`] builds the `sidecar` container from (upstream's `Sidecar` arguments).
#[derive(Debug)]
pub struct SidecarInputs<'a> {
    /// The resolved decoration settings (image, resources, censoring).
    pub config: &'a DecorationConfig,
    /// Where and how to upload.
    pub upload: UploadOptions<'a>,
    /// The mounts of the storage credentials.
    pub blob_mounts: &'a [VolumeMount],
    /// The `logs` mount.
    pub log_mount: &'a VolumeMount,
    /// The local output mount (local mode only).
    pub output_mount: Option<&'a VolumeMount>,
    /// `JOB_SPEC`.
    pub encoded_job_spec: &'a str,
    /// Whether the sidecar fails when a test failed (`entry_error`).
    pub require_passing_entries: bool,
    /// Whether uploading goes on through an interrupt.
    pub ignore_interrupts: bool,
    /// Mounts of Secret volumes whose values are censored from the uploads.
    pub secret_mounts: &'a [VolumeMount],
    /// One per test container.
    pub wrappers: &'a [WrapperOptions],
}

/// The `sidecar` container, which uploads the logs and artifacts (upstream's `Sidecar`).
pub fn sidecar(inputs: SidecarInputs<'_>) -> Result<Container, PodError> {
    let config = inputs.config;
    let mut upload = inputs.upload;
    upload.items.push(join(&[&inputs.log_mount.mount_path, "artifacts"]));
    let mut censoring = CensoringOptions {
        secret_directories: inputs.secret_mounts.iter().map(|m| m.mount_path.clone()).collect(),
        ..CensoringOptions::default()
    };
    if let Some(own) = &config.censoring_options {
        censoring.censoring_concurrency = own.censoring_concurrency;
        censoring.censoring_buffer_size = own.censoring_buffer_size;
        censoring.include_directories = list(&own.include_directories);
        censoring.exclude_directories = list(&own.exclude_directories);
        censoring.minimum_secret_length = own.minimum_secret_length;
    }
    let options = SidecarOptions {
        gcs_options: upload,
        entries: inputs.wrappers,
        entry_error: inputs.require_passing_entries,
        ignore_interrupts: inputs.ignore_interrupts,
        censoring_options: censoring,
    };
    let mut mounts = vec![inputs.log_mount.clone()];
    mounts.extend(inputs.blob_mounts.iter().cloned());
    mounts.extend(inputs.secret_mounts.iter().cloned());
    mounts.extend(inputs.output_mount.cloned());
    Ok(Container {
        name: "sidecar".to_string(),
        image: image(config, |i| &i.sidecar),
        env: Some(kube_env(&BTreeMap::from([
            ("SIDECAR_OPTIONS".to_string(), gojson::to_string(&options)?),
            (JOB_SPEC.to_string(), inputs.encoded_job_spec.to_string()),
        ]))),
        volume_mounts: Some(mounts),
        termination_message_policy: Some("FallbackToLogsOnError".to_string()),
        resources: utility_resources(config.resources.as_ref().and_then(|r| r.sidecar.as_ref()), "sidecar")?,
        ..Container::default()
    })
}

/// Wraps a test container's command with `/tools/entrypoint` (upstream's `InjectEntrypoint`):
/// the command and args move into `ENTRYPOINT_OPTIONS`. `prefix` names the log files when the
/// pod has several test containers.
fn inject_entrypoint(
    container: &mut Container,
    config: &DecorationConfig,
    prefix: &str,
) -> Result<WrapperOptions, PodError> {
    let logs = LOGS.1;
    let artifacts = join(&[logs, "artifacts"]);
    let named = |plain: &str, dir: &str, suffix: &str| {
        if prefix.is_empty() {
            join(&[dir, plain])
        } else {
            join(&[dir, &format!("{prefix}-{suffix}")])
        }
    };
    let mut args = container.command.take().unwrap_or_default();
    args.extend(container.args.take().unwrap_or_default());
    let wrapper = WrapperOptions {
        args,
        container_name: container.name.clone(),
        process_log: named("process-log.txt", logs, "log.txt"),
        marker_file: named("marker-file.txt", logs, "marker.txt"),
        metadata_file: named("metadata.json", &artifacts, "metadata.json"),
    };
    let nanos = |key: &str, value: &Option<String>| -> Result<u128, PodError> {
        Ok(value
            .as_deref()
            .map(|t| parse_duration(t, &field(DECORATION_CONFIG, key)))
            .transpose()?
            .unwrap_or_default()
            .as_nanos())
    };
    let options = EntrypointOptions {
        timeout: nanos("timeout", &config.timeout)?,
        grace_period: nanos("grace_period", &config.grace_period)?,
        artifact_dir: artifacts,
        wrapper: &wrapper,
    };
    container.command = Some(vec![join(&[TOOLS.1, "entrypoint"])]);
    container
        .env
        .get_or_insert_with(Vec::new)
        .extend(kube_env(&BTreeMap::from([(
            "ENTRYPOINT_OPTIONS".to_string(),
            gojson::to_string(&options)?,
        )])));
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .extend([mount(LOGS), mount(TOOLS)]);
    Ok(wrapper)
}

/// Decorates `spec` for the job `job` with its resolved decoration settings `config` (upstream's
/// `decorate`): `raw_env` holds the job's variables ([`super::env::job_env`]); `local_output`,
/// when given, is a node directory the utilities copy artifacts to instead of uploading.
pub fn decorate(
    spec: &mut PodSpec,
    job: &ProwJobSpec,
    config: &DecorationConfig,
    raw_env: &BTreeMap<String, String>,
    local_output: Option<&str>,
) -> Result<(), PodError> {
    let mut env = raw_env.clone();
    env.insert("ARTIFACTS".to_string(), join(&[LOGS.1, "artifacts"]));
    env.insert("GOPATH".to_string(), CODE.1.to_string());
    let log_mount = mount(LOGS);
    let output_mount = local_output.map(|_| mount(OUTPUT));
    let storage = BlobStorage::new(config, local_output.is_some());

    let refs: Vec<&Refs> = if config.skip_cloning == Some(true) {
        Vec::new()
    } else {
        job.refs.iter().chain(job.extra_refs.iter().flatten()).collect()
    };
    let cloner = (!refs.is_empty()).then(|| clonerefs(config, &refs)).transpose()?;
    let mut init_containers = spec.init_containers.take().unwrap_or_default();
    let clone_volumes = match cloner {
        Some((container, volumes)) => {
            init_containers.insert(0, container);
            volumes
        }
        None => Vec::new(),
    };

    let encoded_job_spec = env.get(JOB_SPEC).cloned().unwrap_or_default();
    let mut initupload_mounts = Vec::new();
    let mut initupload = InituploadOptions {
        upload: storage.upload.clone(),
        log: String::new(),
    };
    if !refs.is_empty() {
        initupload.log = join(&[LOGS.1, "clone.json"]);
        initupload_mounts.push(log_mount.clone());
    }
    initupload_mounts.extend(storage.mounts.iter().cloned());
    initupload_mounts.extend(output_mount.clone());
    let resources = config.resources.as_ref();
    init_containers.push(Container {
        name: "initupload".to_string(),
        image: image(config, |i| &i.initupload),
        env: Some(kube_env(&BTreeMap::from([
            (JOB_SPEC.to_string(), encoded_job_spec.clone()),
            ("INITUPLOAD_OPTIONS".to_string(), gojson::to_string(&initupload)?),
        ]))),
        volume_mounts: (!initupload_mounts.is_empty()).then_some(initupload_mounts),
        resources: utility_resources(resources.and_then(|r| r.initupload.as_ref()), "initupload")?,
        ..Container::default()
    });
    init_containers.push(Container {
        name: "place-entrypoint".to_string(),
        image: image(config, |i| &i.entrypoint),
        args: Some(vec!["--copy-mode-only".to_string()]),
        volume_mounts: Some(vec![mount(TOOLS)]),
        resources: utility_resources(resources.and_then(|r| r.place_entrypoint.as_ref()), "place_entrypoint")?,
        ..Container::default()
    });
    spec.init_containers = Some(init_containers);

    for container in &mut spec.containers {
        container.env.get_or_insert_with(Vec::new).extend(kube_env(&env));
    }
    let secret_volumes: BTreeSet<&str> = if config.censor_secrets == Some(true) {
        spec.volumes
            .iter()
            .flatten()
            .filter(|v| v.secret.is_some())
            .map(|v| v.name.as_str())
            .collect()
    } else {
        BTreeSet::new()
    };
    let several = spec.containers.len() > 1;
    let mut secret_mounts = Vec::new();
    let mut wrappers = Vec::new();
    for container in &mut spec.containers {
        let prefix = if several { container.name.clone() } else { String::new() };
        wrappers.push(inject_entrypoint(container, config, &prefix)?);
        secret_mounts.extend(
            container
                .volume_mounts
                .iter()
                .flatten()
                .filter(|m| secret_volumes.contains(m.name.as_str()))
                .cloned(),
        );
    }
    let sidecar = sidecar(SidecarInputs {
        config,
        upload: storage.upload.clone(),
        blob_mounts: &storage.mounts,
        log_mount: &log_mount,
        output_mount: output_mount.as_ref(),
        encoded_job_spec: &encoded_job_spec,
        require_passing_entries: false,
        ignore_interrupts: config.upload_ignores_interrupts == Some(true),
        secret_mounts: &secret_mounts,
        wrappers: &wrappers,
    })?;

    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    volumes.extend([empty_dir(LOGS.0), empty_dir(TOOLS.0)]);
    volumes.extend(storage.volumes);
    if let Some(dir) = local_output {
        volumes.push(Volume {
            name: OUTPUT.0.to_string(),
            host_path: Some(HostPathVolumeSource {
                path: dir.to_string(),
                type_: None,
            }),
            ..Volume::default()
        });
    }
    if let Some(dir) = work_dir(&refs) {
        for container in &mut spec.containers {
            container.working_dir = Some(dir.clone());
            container.volume_mounts.get_or_insert_with(Vec::new).push(mount(CODE));
        }
        volumes.extend(clone_volumes);
        volumes.push(empty_dir(CODE.0));
    }
    apply_memory(spec, config);
    apply_pod_settings(spec, config)?;
    spec.containers.push(sidecar);
    Ok(())
}

/// `default_memory_request` and `set_limit_equals_memory_request` on the test containers.
fn apply_memory(spec: &mut PodSpec, config: &DecorationConfig) {
    const MEMORY: &str = "memory";
    if let Some(default) = &config.default_memory_request {
        for container in &mut spec.containers {
            let resources = container.resources.get_or_insert_with(ResourceRequirements::default);
            let requests = resources.requests.get_or_insert_with(BTreeMap::new);
            requests
                .entry(MEMORY.to_string())
                .or_insert_with(|| Quantity(quantity_text(default)));
        }
    }
    if config.set_limit_equals_memory_request == Some(true) {
        for container in &mut spec.containers {
            let Some(resources) = container.resources.as_mut() else {
                continue;
            };
            if let Some(request) = resources.requests.as_ref().and_then(|r| r.get(MEMORY)).cloned() {
                resources
                    .limits
                    .get_or_insert_with(BTreeMap::new)
                    .insert(MEMORY.to_string(), request);
            }
        }
    }
}

/// The pod-level settings: security context, scheduling, termination grace period and service
/// account.
fn apply_pod_settings(spec: &mut PodSpec, config: &DecorationConfig) -> Result<(), PodError> {
    let security = spec.security_context.get_or_insert_with(PodSecurityContext::default);
    security.run_as_user = security.run_as_user.or(config.run_as_user);
    security.run_as_group = security.run_as_group.or(config.run_as_group);
    security.fs_group = security.fs_group.or(config.fs_group);
    if let Some(scheduling) = &config.scheduling_options {
        if spec.affinity.is_none()
            && let Some(affinity) = &scheduling.affinity
        {
            let path = field(&field(DECORATION_CONFIG, "scheduling_options"), "affinity");
            spec.affinity = Some(affinity.parse().map_err(|error| PodError::Unreadable {
                path,
                what: "Affinity",
                message: error.to_string(),
            })?);
        }
        if spec.tolerations.is_none() {
            spec.tolerations = scheduling.tolerations.clone();
        }
    }
    if spec.termination_grace_period_seconds.is_none()
        && let Some(grace) = &config.grace_period
    {
        let grace = parse_duration(grace, &field(DECORATION_CONFIG, "grace_period"))?;
        let seconds = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX / 5);
        spec.termination_grace_period_seconds = Some(seconds.saturating_mul(5) / 4);
    }
    if spec.service_account_name.as_deref().unwrap_or_default().is_empty()
        && let Some(account) = &config.default_service_account_name
    {
        spec.service_account_name = Some(account.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(
            join(&["/home/prow/go", "src", "k8s.io/test-infra/"]),
            "/home/prow/go/src/k8s.io/test-infra"
        );
        assert_eq!(join(&["/secrets/ssh", "../etc"]), "/secrets/etc");
        assert_eq!(clean("a/./b//c/.."), "a/b");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn clone_paths_follow_alias_link_or_github() {
        let refs = |v: serde_json::Value| -> Refs { serde_json::from_value(v).expect("refs") };
        assert_eq!(
            clone_path(CODE.1, &refs(serde_json::json!({"org": "o", "repo": "r"}))),
            "/home/prow/go/src/github.com/o/r"
        );
        assert_eq!(
            clone_path(
                CODE.1,
                &refs(serde_json::json!({"org": "o", "repo": "r", "repo_link": "https://git.example.com/o/r"}))
            ),
            "/home/prow/go/src/git.example.com/o/r"
        );
    }
}
