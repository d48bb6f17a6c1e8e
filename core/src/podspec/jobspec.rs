//! `JOB_SPEC` and the other upstream JSON that embeds ProwJob types (`refs` in
//! `CLONEREFS_OPTIONS`, `gcs_configuration` in the upload options): upstream's structs, field for
//! field in their declaration order, with Go's `omitempty` rules (an empty string, a `false` bool,
//! a zero number or an empty list is left out unless upstream's field is a pointer).
//!
//! Embedded Kubernetes objects of `scheduling_options.affinity` are written as the job wrote them
//! (upstream re-encodes them in Go's field order; the pod utilities parse them, so only the key
//! order can differ). Quantities are written as given, not canonicalised.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ResourceClaim, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use prow_api::ProwJobSpec;
use prow_api::embedded::Embedded;
use prow_api::job::{
    CensoringOptions, DecorationConfig, GcsConfiguration, Pull, Refs, SchedulingOptions, SecretKey, UtilityImages,
    UtilityResources,
};
use serde::Serialize;
use serde_json::Value;

use super::PodError;
use super::error::{DECORATION_CONFIG, field};

fn empty(text: &&str) -> bool {
    text.is_empty()
}

fn no(flag: &bool) -> bool {
    !*flag
}

fn zero(number: &i64) -> bool {
    *number == 0
}

/// upstream's `downwardapi.JobSpec`, the value of `JOB_SPEC`.
#[derive(Serialize, Debug)]
pub struct JobSpec<'a> {
    #[serde(rename = "type")]
    job_type: &'a str,
    #[serde(skip_serializing_if = "empty")]
    job: &'a str,
    #[serde(skip_serializing_if = "empty")]
    buildid: &'a str,
    #[serde(skip_serializing_if = "empty")]
    prowjobid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refs: Option<WireRefs<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_refs: Vec<WireRefs<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoration_config: Option<WireDecoration<'a>>,
}

impl<'a> JobSpec<'a> {
    /// The job spec of a ProwJob run: `decoration` is its resolved decoration config.
    pub fn new(
        spec: &'a ProwJobSpec,
        decoration: Option<&'a DecorationConfig>,
        build_id: &'a str,
        prowjob_id: &'a str,
    ) -> Result<Self, PodError> {
        Ok(Self {
            job_type: spec.job_type.as_str(),
            job: &spec.job,
            buildid: build_id,
            prowjobid: prowjob_id,
            refs: spec.refs.as_ref().map(WireRefs::from),
            extra_refs: spec.extra_refs.iter().flatten().map(WireRefs::from).collect(),
            decoration_config: decoration
                .map(|config| WireDecoration::new(config, DECORATION_CONFIG))
                .transpose()?,
        })
    }
}

/// upstream's `Refs`.
#[derive(Serialize, Debug, Clone)]
pub struct WireRefs<'a> {
    org: &'a str,
    repo: &'a str,
    #[serde(skip_serializing_if = "empty")]
    repo_link: &'a str,
    #[serde(skip_serializing_if = "empty")]
    base_ref: &'a str,
    #[serde(skip_serializing_if = "empty")]
    base_sha: &'a str,
    #[serde(skip_serializing_if = "empty")]
    base_link: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pulls: Vec<WirePull<'a>>,
    #[serde(skip_serializing_if = "empty")]
    path_alias: &'a str,
    #[serde(skip_serializing_if = "no")]
    workdir: bool,
    #[serde(skip_serializing_if = "no")]
    auxiliary: bool,
    #[serde(skip_serializing_if = "empty")]
    clone_uri: &'a str,
    #[serde(skip_serializing_if = "no")]
    skip_submodules: bool,
    #[serde(skip_serializing_if = "zero")]
    clone_depth: i64,
    #[serde(skip_serializing_if = "no")]
    skip_fetch_head: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    blobless_fetch: Option<bool>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sparse_checkout_files: &'a [String],
}

impl<'a> From<&'a Refs> for WireRefs<'a> {
    fn from(refs: &'a Refs) -> Self {
        Self {
            org: &refs.org,
            repo: &refs.repo,
            repo_link: text(&refs.repo_link),
            base_ref: text(&refs.base_ref),
            base_sha: text(&refs.base_sha),
            base_link: text(&refs.base_link),
            pulls: refs.pulls.iter().flatten().map(WirePull::from).collect(),
            path_alias: text(&refs.path_alias),
            workdir: refs.workdir.unwrap_or(false),
            auxiliary: refs.auxiliary.unwrap_or(false),
            clone_uri: text(&refs.clone_uri),
            skip_submodules: refs.skip_submodules.unwrap_or(false),
            clone_depth: refs.clone_depth.unwrap_or(0),
            skip_fetch_head: refs.skip_fetch_head.unwrap_or(false),
            blobless_fetch: refs.blobless_fetch,
            sparse_checkout_files: list(&refs.sparse_checkout_files),
        }
    }
}

/// upstream's `Pull`.
#[derive(Serialize, Debug, Clone)]
struct WirePull<'a> {
    number: i64,
    author: &'a str,
    sha: &'a str,
    #[serde(skip_serializing_if = "empty")]
    title: &'a str,
    #[serde(rename = "ref", skip_serializing_if = "empty")]
    git_ref: &'a str,
    #[serde(skip_serializing_if = "empty")]
    head_ref: &'a str,
    #[serde(skip_serializing_if = "empty")]
    link: &'a str,
    #[serde(skip_serializing_if = "empty")]
    commit_link: &'a str,
    #[serde(skip_serializing_if = "empty")]
    author_link: &'a str,
}

impl<'a> From<&'a Pull> for WirePull<'a> {
    fn from(pull: &'a Pull) -> Self {
        Self {
            number: pull.number,
            author: &pull.author,
            sha: &pull.sha,
            title: text(&pull.title),
            git_ref: text(&pull.git_ref),
            head_ref: text(&pull.head_ref),
            link: text(&pull.link),
            commit_link: text(&pull.commit_link),
            author_link: text(&pull.author_link),
        }
    }
}

/// upstream's `DecorationConfig`.
#[derive(Serialize, Debug)]
pub struct WireDecoration<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grace_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    utility_images: Option<WireImages<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<WireUtilityResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gcs_configuration: Option<WireGcs<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gcs_credentials_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_credentials_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_service_account_name: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    ssh_key_secrets: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    ssh_host_fingerprints: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    blobless_fetch: Option<bool>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sparse_checkout_files: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_cloning: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookiefile_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth_token_secret: Option<WireSecretKey<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    github_api_endpoints: &'a [String],
    #[serde(skip_serializing_if = "empty")]
    github_app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    github_app_private_key_secret: Option<WireSecretKey<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    censor_secrets: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    censoring_options: Option<WireCensoring<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_ignores_interrupts: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    set_limit_equals_memory_request: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_memory_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduling_options: Option<WireScheduling<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_pending_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_running_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_unscheduled_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_user: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_group: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fs_group: Option<i64>,
}

impl<'a> WireDecoration<'a> {
    /// Converts `config`, found at `path`: durations are re-written as Go writes them.
    fn new(config: &'a DecorationConfig, path: &str) -> Result<Self, PodError> {
        let duration = |key: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| parse_duration(t, &field(path, key)).map(super::gojson::duration))
                .transpose()
        };
        Ok(Self {
            timeout: duration("timeout", &config.timeout)?,
            grace_period: duration("grace_period", &config.grace_period)?,
            utility_images: config.utility_images.as_ref().map(WireImages::from),
            resources: config
                .resources
                .as_ref()
                .map(|r| WireUtilityResources::new(r, &field(path, "resources")))
                .transpose()?,
            gcs_configuration: config.gcs_configuration.as_ref().map(WireGcs::from),
            gcs_credentials_secret: config.gcs_credentials_secret.as_deref(),
            s3_credentials_secret: config.s3_credentials_secret.as_deref(),
            default_service_account_name: config.default_service_account_name.as_deref(),
            ssh_key_secrets: list(&config.ssh_key_secrets),
            ssh_host_fingerprints: list(&config.ssh_host_fingerprints),
            blobless_fetch: config.blobless_fetch,
            sparse_checkout_files: list(&config.sparse_checkout_files),
            skip_cloning: config.skip_cloning,
            cookiefile_secret: config.cookiefile_secret.as_deref(),
            oauth_token_secret: config.oauth_token_secret.as_ref().map(WireSecretKey::from),
            github_api_endpoints: list(&config.github_api_endpoints),
            github_app_id: text(&config.github_app_id),
            github_app_private_key_secret: config.github_app_private_key_secret.as_ref().map(WireSecretKey::from),
            censor_secrets: config.censor_secrets,
            censoring_options: config.censoring_options.as_ref().map(WireCensoring::from),
            upload_ignores_interrupts: config.upload_ignores_interrupts,
            set_limit_equals_memory_request: config.set_limit_equals_memory_request,
            default_memory_request: config.default_memory_request.as_ref().map(quantity_text),
            scheduling_options: config.scheduling_options.as_ref().map(WireScheduling::from),
            pod_pending_timeout: duration("pod_pending_timeout", &config.pod_pending_timeout)?,
            pod_running_timeout: duration("pod_running_timeout", &config.pod_running_timeout)?,
            pod_unscheduled_timeout: duration("pod_unscheduled_timeout", &config.pod_unscheduled_timeout)?,
            run_as_user: config.run_as_user,
            run_as_group: config.run_as_group,
            fs_group: config.fs_group,
        })
    }
}

/// Parses a Go duration of `decoration_config`, naming `path` when it is not one.
pub fn parse_duration(text: &str, path: &str) -> Result<Duration, PodError> {
    crate::duration::parse(text).map_err(|error| PodError::Duration {
        path: path.to_string(),
        message: error.to_string(),
    })
}

/// A quantity written as a string (`4Gi`; a bare number `4` as `"4"`).
pub fn quantity_text(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(number) => number.to_string(),
        IntOrString::String(text) => text.clone(),
    }
}

#[derive(Serialize, Debug)]
struct WireImages<'a> {
    #[serde(skip_serializing_if = "empty")]
    clonerefs: &'a str,
    #[serde(skip_serializing_if = "empty")]
    initupload: &'a str,
    #[serde(skip_serializing_if = "empty")]
    entrypoint: &'a str,
    #[serde(skip_serializing_if = "empty")]
    sidecar: &'a str,
}

impl<'a> From<&'a UtilityImages> for WireImages<'a> {
    fn from(images: &'a UtilityImages) -> Self {
        Self {
            clonerefs: text(&images.clonerefs),
            initupload: text(&images.initupload),
            entrypoint: text(&images.entrypoint),
            sidecar: text(&images.sidecar),
        }
    }
}

#[derive(Serialize, Debug)]
struct WireUtilityResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    clonerefs: Option<WireResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initupload: Option<WireResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    place_entrypoint: Option<WireResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sidecar: Option<WireResources>,
}

impl WireUtilityResources {
    fn new(resources: &UtilityResources, path: &str) -> Result<Self, PodError> {
        let one = |key: &str, value: &Option<Embedded<ResourceRequirements>>| {
            value
                .as_ref()
                .map(|v| resource_requirements(v, &field(path, key)).map(WireResources::from))
                .transpose()
        };
        Ok(Self {
            clonerefs: one("clonerefs", &resources.clonerefs)?,
            initupload: one("initupload", &resources.initupload)?,
            place_entrypoint: one("place_entrypoint", &resources.place_entrypoint)?,
            sidecar: one("sidecar", &resources.sidecar)?,
        })
    }
}

/// Reads the resources of a utility container, naming `path` when they do not read.
pub fn resource_requirements(
    value: &Embedded<ResourceRequirements>,
    path: &str,
) -> Result<ResourceRequirements, PodError> {
    value.parse().map_err(|error| PodError::Unreadable {
        path: path.to_string(),
        what: "ResourceRequirements",
        message: error.to_string(),
    })
}

/// Kubernetes' `ResourceRequirements`, in Go's field order.
#[derive(Serialize, Debug)]
struct WireResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<BTreeMap<String, Quantity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<BTreeMap<String, Quantity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<Vec<ResourceClaim>>,
}

impl From<ResourceRequirements> for WireResources {
    fn from(resources: ResourceRequirements) -> Self {
        Self {
            limits: resources.limits.filter(|l| !l.is_empty()),
            requests: resources.requests.filter(|r| !r.is_empty()),
            claims: resources.claims.filter(|c| !c.is_empty()),
        }
    }
}

/// upstream's `GCSConfiguration` (also inlined in the upload options).
#[derive(Serialize, Debug, Clone, Default)]
pub struct WireGcs<'a> {
    #[serde(skip_serializing_if = "empty")]
    bucket: &'a str,
    #[serde(skip_serializing_if = "empty")]
    path_prefix: &'a str,
    #[serde(skip_serializing_if = "empty")]
    path_strategy: &'a str,
    #[serde(skip_serializing_if = "empty")]
    default_org: &'a str,
    #[serde(skip_serializing_if = "empty")]
    default_repo: &'a str,
    #[serde(rename = "mediaTypes", skip_serializing_if = "Option::is_none")]
    media_types: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "empty")]
    job_url_prefix: &'a str,
    #[serde(skip_serializing_if = "empty")]
    local_output_dir: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    compress_file_types: &'a [String],
}

impl<'a> WireGcs<'a> {
    /// The same configuration writing to a local directory instead of the bucket.
    pub fn with_local_output_dir(mut self, dir: &'a str) -> Self {
        self.local_output_dir = dir;
        self
    }
}

impl<'a> From<&'a GcsConfiguration> for WireGcs<'a> {
    fn from(gcs: &'a GcsConfiguration) -> Self {
        Self {
            bucket: text(&gcs.bucket),
            path_prefix: text(&gcs.path_prefix),
            path_strategy: text(&gcs.path_strategy),
            default_org: text(&gcs.default_org),
            default_repo: text(&gcs.default_repo),
            media_types: gcs.media_types.as_ref().filter(|m| !m.is_empty()),
            job_url_prefix: text(&gcs.job_url_prefix),
            local_output_dir: text(&gcs.local_output_dir),
            compress_file_types: list(&gcs.compress_file_types),
        }
    }
}

#[derive(Serialize, Debug)]
struct WireSecretKey<'a> {
    #[serde(skip_serializing_if = "empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "empty")]
    key: &'a str,
}

impl<'a> From<&'a SecretKey> for WireSecretKey<'a> {
    fn from(secret: &'a SecretKey) -> Self {
        Self {
            name: &secret.name,
            key: &secret.key,
        }
    }
}

#[derive(Serialize, Debug)]
struct WireCensoring<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    censoring_concurrency: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    censoring_buffer_size: Option<i64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    include_directories: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    exclude_directories: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    minimum_secret_length: Option<i64>,
}

impl<'a> From<&'a CensoringOptions> for WireCensoring<'a> {
    fn from(options: &'a CensoringOptions) -> Self {
        Self {
            censoring_concurrency: options.censoring_concurrency,
            censoring_buffer_size: options.censoring_buffer_size,
            include_directories: list(&options.include_directories),
            exclude_directories: list(&options.exclude_directories),
            minimum_secret_length: options.minimum_secret_length,
        }
    }
}

#[derive(Serialize, Debug)]
struct WireScheduling<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    affinity: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tolerations: Vec<WireToleration<'a>>,
}

impl<'a> From<&'a SchedulingOptions> for WireScheduling<'a> {
    fn from(options: &'a SchedulingOptions) -> Self {
        Self {
            affinity: options.affinity.as_ref().map(Embedded::raw),
            tolerations: options.tolerations.iter().flatten().map(WireToleration::from).collect(),
        }
    }
}

/// Kubernetes' `Toleration`, in Go's field order.
#[derive(Serialize, Debug)]
struct WireToleration<'a> {
    #[serde(skip_serializing_if = "empty")]
    key: &'a str,
    #[serde(skip_serializing_if = "empty")]
    operator: &'a str,
    #[serde(skip_serializing_if = "empty")]
    value: &'a str,
    #[serde(skip_serializing_if = "empty")]
    effect: &'a str,
    #[serde(rename = "tolerationSeconds", skip_serializing_if = "Option::is_none")]
    toleration_seconds: Option<i64>,
}

impl<'a> From<&'a Toleration> for WireToleration<'a> {
    fn from(toleration: &'a Toleration) -> Self {
        Self {
            key: text(&toleration.key),
            operator: text(&toleration.operator),
            value: text(&toleration.value),
            effect: text(&toleration.effect),
            toleration_seconds: toleration.toleration_seconds,
        }
    }
}

/// An optional string as Go holds it: unset is empty.
pub fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or_default()
}

/// An optional list as Go holds it: unset is empty.
pub fn list(value: &Option<Vec<String>>) -> &[String] {
    value.as_deref().unwrap_or_default()
}
