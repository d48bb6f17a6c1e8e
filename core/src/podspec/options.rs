//! The options the pod utilities read from their env vars (`CLONEREFS_OPTIONS`,
//! `INITUPLOAD_OPTIONS`, `ENTRYPOINT_OPTIONS`, `SIDECAR_OPTIONS`): upstream's option structs,
//! field for field in declaration order with Go's `omitempty` rules, so the JSON is byte for byte
//! what upstream writes and what the utility images parse.

use serde::{Deserialize, Serialize};

use super::jobspec::{WireGcs, WireRefs};

fn no(flag: &bool) -> bool {
    !*flag
}

/// clonerefs' options (`pkg/clonerefs.Options`).
#[derive(Serialize, Debug)]
pub struct ClonerefsOptions<'a> {
    /// Where the repositories are cloned (`$GOPATH`).
    pub src_root: String,
    /// The clone log clonerefs writes.
    pub log: String,
    /// The git user name of the clones.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_user_name: String,
    /// The git user email of the clones.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_user_email: String,
    /// The repositories to clone.
    pub refs: Vec<WireRefs<'a>>,
    /// SSH key files to clone with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_files: Vec<String>,
    /// The OAuth token file to clone with.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub oauth_token_file: String,
    /// Known SSH host fingerprints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_fingerprints: Vec<String>,
    /// The git cookie file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cookie_path: String,
    /// The GitHub API endpoints for App tokens.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub github_api_endpoints: Vec<String>,
    /// The GitHub App id to clone as.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub github_app_id: String,
    /// The GitHub App's private key file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub github_app_private_key_file: String,
}

/// The upload options shared by initupload and sidecar (`pkg/gcsupload.Options`, with upstream's
/// `GCSConfiguration` and storage client options inlined).
#[derive(Serialize, Debug, Clone, Default)]
pub struct UploadOptions<'a> {
    /// Files and directories to upload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// A directory below the job's path to upload into.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sub_dir: String,
    /// The bucket and path settings.
    #[serde(flatten)]
    pub gcs: WireGcs<'a>,
    /// The GCS credentials file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gcs_credentials_file: String,
    /// The S3 credentials file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub s3_credentials_file: String,
    /// Always false: the pod really uploads.
    pub dry_run: bool,
}

/// initupload's options (`pkg/initupload.Options`).
#[derive(Serialize, Debug)]
pub struct InituploadOptions<'a> {
    /// The upload settings.
    #[serde(flatten)]
    pub upload: UploadOptions<'a>,
    /// The clone log to upload, when clonerefs runs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log: String,
}

/// What entrypoint wraps and where it writes (`pkg/pod-utils/wrapper.Options`); the sidecar
/// gets one per test container.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct WrapperOptions {
    /// The test's command and arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The container's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container_name: String,
    /// The file the test's output goes to.
    #[serde(default)]
    pub process_log: String,
    /// The file the exit code goes to.
    #[serde(default)]
    pub marker_file: String,
    /// The file of metadata the test may write.
    #[serde(default)]
    pub metadata_file: String,
}

/// entrypoint's options (`pkg/entrypoint.Options`); durations are nanoseconds.
#[derive(Serialize, Debug)]
pub struct EntrypointOptions<'a> {
    /// When the test is interrupted.
    pub timeout: u128,
    /// How long after the interrupt the test is killed.
    pub grace_period: u128,
    /// The artifacts directory entrypoint creates.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub artifact_dir: String,
    /// What to run and where to write.
    #[serde(flatten)]
    pub wrapper: &'a WrapperOptions,
}

/// sidecar's options (`pkg/sidecar.Options`).
#[derive(Serialize, Debug)]
pub struct SidecarOptions<'a> {
    /// The upload settings.
    pub gcs_options: UploadOptions<'a>,
    /// The test containers whose results are uploaded.
    #[serde(skip_serializing_if = "<[WrapperOptions]>::is_empty")]
    pub entries: &'a [WrapperOptions],
    /// Whether the sidecar fails when a test failed.
    #[serde(skip_serializing_if = "no")]
    pub entry_error: bool,
    /// Whether uploading continues through an interrupt.
    #[serde(skip_serializing_if = "no")]
    pub ignore_interrupts: bool,
    /// How secrets are censored.
    pub censoring_options: CensoringOptions<'a>,
}

/// sidecar's censoring options (`pkg/sidecar.CensoringOptions`).
#[derive(Serialize, Debug, Default)]
pub struct CensoringOptions<'a> {
    /// The directories of mounted Secrets whose values are censored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_directories: Vec<String>,
    /// How many files are censored at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub censoring_concurrency: Option<i64>,
    /// The buffer size of the censoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub censoring_buffer_size: Option<i64>,
    /// Artifact globs to censor.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub include_directories: &'a [String],
    /// Artifact globs to leave alone.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub exclude_directories: &'a [String],
    /// Secrets shorter than this are not censored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_secret_length: Option<i64>,
}
