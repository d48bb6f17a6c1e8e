//! Pod decoration settings: upstream's `DecorationConfig` and the structs it holds.

use std::collections::BTreeMap;

use crate::KubeSchema;
use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use super::refs::UnknownFields;
use crate::embedded::Embedded;

/// How a decorated job's pod is built: the utility images, artifact upload, timeouts and cloning
/// credentials. Merged field by field over `plank.default_decoration_config_entries`.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new(
    "!(has(self.ssh_key_secrets) && size(self.ssh_key_secrets) > 0 && has(self.oauth_token_secret))"
).message("ssh_key_secrets and oauth_token_secret cannot be combined: clone with one kind of credential")))]
pub struct DecorationConfig {
    /// How long the test may run before it is interrupted (a Go duration; entrypoint's default
    /// is 2h).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::duration_field::string_or_nanoseconds"
    )]
    pub timeout: Option<String>,
    /// How long the test has to exit after the interrupt at `timeout` before it is killed (a Go
    /// duration; default 15s).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::duration_field::string_or_nanoseconds"
    )]
    pub grace_period: Option<String>,
    /// The images of the four pod utilities. All four must be set once defaults are merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utility_images: Option<UtilityImages>,
    /// Resource requirements of the utility containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<UtilityResources>,
    /// Where artifacts and logs are uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_configuration: Option<GcsConfiguration>,
    /// The Secret holding GCS credentials, mounted into the upload containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_credentials_secret: Option<String>,
    /// The Secret holding S3 credentials (`service-account.json`), mounted into the upload
    /// containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_credentials_secret: Option<String>,
    /// The service account of the pod when the job names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service_account_name: Option<String>,
    /// Secrets holding SSH keys for cloning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key_secrets: Option<Vec<String>>,
    /// Known host fingerprints for SSH cloning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host_fingerprints: Option<Vec<String>>,
    /// The Secret key holding an OAuth token for cloning over HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_token_secret: Option<SecretKey>,
    /// A GitHub App id used to clone with an installation token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app_id: Option<String>,
    /// The Secret key holding the GitHub App's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app_private_key_secret: Option<SecretKey>,
    /// GitHub API endpoints clonerefs uses to mint App tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_api_endpoints: Option<Vec<String>>,
    /// The Secret holding a git cookie file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookiefile_secret: Option<String>,
    /// Skips the `clonerefs` init container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_cloning: Option<bool>,
    /// Fetches without blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobless_fetch: Option<bool>,
    /// Paths to check out sparsely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_checkout_files: Option<Vec<String>>,
    /// Censors the values of the job's Secrets from uploaded logs and artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censor_secrets: Option<bool>,
    /// Tuning of secret censoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_options: Option<CensoringOptions>,
    /// Lets the sidecar finish uploading even when the pod is interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_ignores_interrupts: Option<bool>,
    /// Overrides plank's `pod_pending_timeout` for this job (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_pending_timeout: Option<String>,
    /// Overrides plank's `pod_running_timeout` for this job (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_running_timeout: Option<String>,
    /// Overrides plank's `pod_unscheduled_timeout` for this job (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_unscheduled_timeout: Option<String>,
    /// The user id the utility containers run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// The group id the utility containers run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// The pod's `fsGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// Affinity and tolerations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_options: Option<SchedulingOptions>,
    /// A memory request given to test containers that set none (a quantity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_memory_request: Option<IntOrString>,
    /// Sets each test container's memory limit equal to its memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_limit_equals_memory_request: Option<bool>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// A key in a Secret, by name.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct SecretKey {
    /// The Secret's name.
    #[serde(default)]
    pub name: String,
    /// The key within the Secret.
    #[serde(default)]
    pub key: String,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// The images of the pod utilities that decorate a job.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct UtilityImages {
    /// The `clonerefs` image, which clones the refs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clonerefs: Option<String>,
    /// The `initupload` image, which records the job start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initupload: Option<String>,
    /// The `entrypoint` image, which wraps the test command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// The `sidecar` image, which uploads logs and artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<String>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Resource requirements of each utility container.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct UtilityResources {
    /// Resources of the `clonerefs` init container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clonerefs: Option<Embedded<ResourceRequirements>>,
    /// Resources of the `initupload` init container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initupload: Option<Embedded<ResourceRequirements>>,
    /// Resources of the `place-entrypoint` init container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_entrypoint: Option<Embedded<ResourceRequirements>>,
    /// Resources of the `sidecar` container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<Embedded<ResourceRequirements>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Where and how artifacts are uploaded (GCS, or S3 with an `s3://` bucket).
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct GcsConfiguration {
    /// The bucket: `gs://name`, `s3://name`, or a bare name meaning GCS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// A prefix for every uploaded path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// How repositories map to paths: `legacy`, `single` or `explicit`. The first two need
    /// `default_org` and `default_repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["legacy", "single", "explicit"]))]
    pub path_strategy: Option<String>,
    /// The org whose jobs get the short paths under `legacy` and `single`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_org: Option<String>,
    /// The repo whose jobs get the short paths under `legacy` and `single`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_repo: Option<String>,
    /// The URL prefix of job links (deck's `/view/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_url_prefix: Option<String>,
    /// Writes artifacts to this local directory instead of uploading (testing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_output_dir: Option<String>,
    /// Content types of uploaded files by extension.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "mediaTypes")]
    pub media_types: Option<BTreeMap<String, String>>,
    /// File types compressed before upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress_file_types: Option<Vec<String>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Tuning of secret censoring in uploaded logs.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct CensoringOptions {
    /// How many files are censored in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_concurrency: Option<i64>,
    /// The buffer size used while censoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_buffer_size: Option<i64>,
    /// Glob patterns of artifact directories to censor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_directories: Option<Vec<String>>,
    /// Glob patterns of artifact directories to leave alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_directories: Option<Vec<String>>,
    /// Secrets shorter than this are not censored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_secret_length: Option<i64>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Scheduling constraints added to decorated pods.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct SchedulingOptions {
    /// The pod's affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Embedded<Affinity>>,
    /// The pod's tolerations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}
