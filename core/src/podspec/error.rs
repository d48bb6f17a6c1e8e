//! Why a ProwJob has no Pod: each error names the field path and the problem, so it reads well as
//! a ProwJob's `error` description and as a `check` finding.

use crate::rule;

/// Where the ProwJob's pod spec is.
pub const POD_SPEC: &str = "spec.pod_spec";
/// Where the ProwJob's decoration settings are.
pub const DECORATION_CONFIG: &str = "spec.decoration_config";

/// A ProwJob that cannot become a Pod, or an instance whose settings cannot build pods.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PodError {
    /// A kubernetes job without a pod spec.
    #[error("spec.pod_spec: the ProwJob has no pod spec: a job of agent kubernetes needs one")]
    NoPodSpec,
    /// An embedded Kubernetes object that does not read as its type.
    #[error("{path}: not a Kubernetes {what}: {message}")]
    Unreadable {
        /// The field.
        path: String,
        /// The Kubernetes type it should be.
        what: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// A duration that is not a Go duration.
    #[error("{path}: {message}")]
    Duration {
        /// The field.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A pod spec without containers.
    #[error("{path}: the pod spec has no containers: add the container that runs the test")]
    NoContainers {
        /// The `containers` field.
        path: String,
    },
    /// An init container that is not a native sidecar.
    #[error(
        "{path}: init container {name:?} is not allowed: Prow jobs may only have native sidecars (restartPolicy: Always) as init containers; run the step in the test container instead"
    )]
    InitContainer {
        /// The init container.
        path: String,
        /// Its name.
        name: String,
    },
    /// Several containers in an undecorated job.
    #[error(
        "{path}: the pod spec has {count} containers, which needs decoration: set decorate: true, or use one container"
    )]
    SeveralContainers {
        /// The `containers` field.
        path: String,
        /// How many there are.
        count: usize,
    },
    /// A container without a name in a pod of several.
    #[error("{path}: every container needs a name when the pod has several")]
    UnnamedContainer {
        /// The container's `name`.
        path: String,
    },
    /// A name used twice where names must be unique.
    #[error("{path}: {what} {name:?} is used more than once: keep one")]
    Duplicate {
        /// The second use.
        path: String,
        /// `container name`, `env variable` or `volume`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// An env variable Prow sets itself.
    #[error("{path}: env variable {name:?} is set by Prow for {job_type} jobs: remove it")]
    ReservedEnv {
        /// The env variable's `name`.
        path: String,
        /// The variable.
        name: String,
        /// The job type.
        job_type: &'static str,
    },
    /// A container, volume or mount name that decoration uses.
    #[error("{path}: {what} name {name:?} is reserved for decoration ({reserved}): rename it")]
    ReservedName {
        /// The `name` field.
        path: String,
        /// `container`, `volume` or `volume mount`.
        what: &'static str,
        /// The name.
        name: String,
        /// The names decoration reserves.
        reserved: &'static str,
    },
    /// A mount path where decoration mounts its own volumes.
    #[error(
        "{path}: mount path {mount_path:?} is where decoration mounts its own volumes (/logs, /home/prow/go, /tools): mount somewhere else"
    )]
    ReservedMountPath {
        /// The `mountPath` field.
        path: String,
        /// The path.
        mount_path: String,
    },
    /// A volume named like a clone credential secret, which decoration mounts under its own name.
    #[error(
        "{path}: volume name {name:?} is the name of a clone credential secret (ssh_key_secrets or oauth_token_secret), which decoration mounts as a volume of that name: rename the volume"
    )]
    CloneSecretVolume {
        /// The volume's `name`.
        path: String,
        /// The name.
        name: String,
    },
    /// A decorated container that leaves its command to the image.
    #[error(
        "{path}: a decorated container must set command and/or args (entrypoint wraps them; the image's own entrypoint is not used)"
    )]
    NoCommand {
        /// The container.
        path: String,
    },
    /// SSH keys and an OAuth token for cloning.
    #[error("{path}: ssh_key_secrets and oauth_token_secret cannot be combined: clone with one kind of credential")]
    CloneCredentials {
        /// The `oauth_token_secret` field.
        path: String,
    },
    /// Utility images that no default and no job setting gives.
    #[error(
        "{path}: no image for {missing}: set utility_images in the job or in plank.default_decoration_config_entries"
    )]
    MissingUtilityImages {
        /// The `utility_images` field.
        path: String,
        /// The utilities without an image.
        missing: String,
    },
    /// No artifact storage at all.
    #[error(
        "{path}: a decorated job needs artifact storage, and none is configured: set spec.storage on the ProwInstance, or gcs_configuration in the job or in plank.default_decoration_config_entries"
    )]
    NoStorage {
        /// The `gcs_configuration` field.
        path: String,
    },
    /// Storage settings without a bucket.
    #[error(
        "{path}: no bucket to upload artifacts to: set spec.storage on the ProwInstance, or gcs_configuration.bucket"
    )]
    MissingBucket {
        /// The `bucket` field.
        path: String,
    },
    /// A bucket whose provider has no credentials while the other provider's are given.
    #[error(
        "{path}: no credentials for {bucket:?}: only {other} is set, which uploads to this bucket do not use: set {secret} (or spec.storage on the ProwInstance)"
    )]
    MissingCredentials {
        /// The credentials field that should be set.
        path: String,
        /// The bucket.
        bucket: String,
        /// The field that names the credentials Secret for this kind of bucket.
        secret: &'static str,
        /// The other provider's credentials field, which is set.
        other: &'static str,
    },
    /// A path strategy upstream does not know.
    #[error("{path}: path_strategy {strategy:?} is not one of legacy, single or explicit")]
    PathStrategy {
        /// The `path_strategy` field.
        path: String,
        /// The strategy.
        strategy: String,
    },
    /// A path strategy that needs the default org and repo, without them.
    #[error("{path}: path_strategy {strategy:?} needs default_org and default_repo (or use explicit)")]
    DefaultOrgRepo {
        /// The `gcs_configuration` field.
        path: String,
        /// The strategy.
        strategy: String,
    },
    /// A presubmit, postsubmit or batch job without refs.
    #[error("spec.refs: a {job_type} job needs refs (the repository it runs against)")]
    MissingRefs {
        /// The job type.
        job_type: &'static str,
    },
    /// A presubmit without a pull request.
    #[error("spec.refs.pulls: a presubmit needs the pull request it runs against")]
    MissingPull,
    /// The instance's settings (its config.yaml) cannot be read.
    #[error("{path}: {message}")]
    Config {
        /// The field of the ProwInstance.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An option could not be encoded as JSON.
    #[error("cannot encode the pod utilities' options as JSON: {0}")]
    Encode(String),
}

impl PodError {
    /// The field path the error is about.
    pub fn path(&self) -> &str {
        match self {
            PodError::NoPodSpec => POD_SPEC,
            PodError::MissingRefs { .. } => "spec.refs",
            PodError::MissingPull => "spec.refs.pulls",
            PodError::Encode(_) => "",
            PodError::Unreadable { path, .. }
            | PodError::Duration { path, .. }
            | PodError::NoContainers { path }
            | PodError::InitContainer { path, .. }
            | PodError::SeveralContainers { path, .. }
            | PodError::UnnamedContainer { path }
            | PodError::Duplicate { path, .. }
            | PodError::ReservedEnv { path, .. }
            | PodError::ReservedName { path, .. }
            | PodError::ReservedMountPath { path, .. }
            | PodError::CloneSecretVolume { path, .. }
            | PodError::NoCommand { path }
            | PodError::CloneCredentials { path }
            | PodError::MissingUtilityImages { path, .. }
            | PodError::NoStorage { path }
            | PodError::MissingBucket { path }
            | PodError::MissingCredentials { path, .. }
            | PodError::PathStrategy { path, .. }
            | PodError::DefaultOrgRepo { path, .. }
            | PodError::Config { path, .. } => path,
        }
    }

    /// What the error says after its field path (the `check` finding's message).
    pub fn message(&self) -> String {
        let text = self.to_string();
        let path = self.path();
        text.strip_prefix(path)
            .and_then(|rest| rest.strip_prefix(": "))
            .map(str::to_string)
            .unwrap_or(text)
    }

    /// The `check` rule the error belongs to.
    pub fn rule(&self) -> &'static str {
        match self {
            PodError::Unreadable { .. } => rule::INVALID_VALUE,
            PodError::Duration { .. } => rule::DURATION,
            PodError::NoPodSpec
            | PodError::NoContainers { .. }
            | PodError::InitContainer { .. }
            | PodError::SeveralContainers { .. }
            | PodError::UnnamedContainer { .. }
            | PodError::Duplicate { .. } => rule::POD_SPEC,
            PodError::ReservedEnv { .. }
            | PodError::ReservedName { .. }
            | PodError::ReservedMountPath { .. }
            | PodError::CloneSecretVolume { .. } => rule::RESERVED,
            PodError::NoCommand { .. }
            | PodError::CloneCredentials { .. }
            | PodError::MissingUtilityImages { .. }
            | PodError::NoStorage { .. }
            | PodError::MissingBucket { .. }
            | PodError::MissingCredentials { .. }
            | PodError::PathStrategy { .. }
            | PodError::DefaultOrgRepo { .. }
            | PodError::MissingRefs { .. }
            | PodError::MissingPull
            | PodError::Config { .. }
            | PodError::Encode(_) => rule::DECORATION,
        }
    }
}

impl From<serde_json::Error> for PodError {
    fn from(error: serde_json::Error) -> Self {
        PodError::Encode(error.to_string())
    }
}

pub use crate::field_path::{field, item};
