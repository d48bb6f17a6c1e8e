//! `prow-operator mkpod`: the Pod the executor would create for a ProwJob under the configuration
//! of the given custom resources, applying nothing (upstream's `mkpod`).

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use prow_api::{ProwJob, ProwJobStatus};

use crate::engine::execute::BuildIds;
use crate::input::Inputs;
use crate::instance_config::InstanceConfig;
use crate::podspec::{self, PodError};

/// Why no Pod could be made.
#[derive(Debug, thiserror::Error)]
pub enum MkpodError {
    /// The ProwJob file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The ProwJob file is not a ProwJob.
    #[error("{path}: not a ProwJob: {message}")]
    NotAProwJob {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The input holds no ProwInstance, whose settings the pod needs.
    #[error(
        "no ProwInstance in the input: mkpod needs the instance whose settings (storage, images, plank) the pod uses"
    )]
    NoInstance,
    /// The ProwJob cannot become a Pod.
    #[error("{prowjob}: {source}")]
    Pod {
        /// The ProwJob's name.
        prowjob: String,
        /// Why.
        source: PodError,
    },
}

/// How the Pod is made.
#[derive(Clone, Debug, Default)]
pub struct MkpodOptions {
    /// The build id; the ProwJob's own, else a new one.
    pub build_id: Option<String>,
    /// A node directory the utilities copy artifacts to instead of uploading (local mode).
    pub local_output: Option<String>,
}

/// The Pod and the job URL of a run.
#[derive(Clone, Debug)]
pub struct Made {
    /// The Pod.
    pub pod: Pod,
    /// The link to the run's logs, when the configuration gives one.
    pub url: Option<String>,
}

/// Reads a ProwJob from a YAML (or JSON) file.
pub fn read_prowjob(path: &Path) -> Result<ProwJob, MkpodError> {
    let text = std::fs::read_to_string(path).map_err(|source| MkpodError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_prowjob = |message: String| MkpodError::NotAProwJob {
        path: path.to_path_buf(),
        message,
    };
    let (value, _) = prow_api::yaml::load_single(&text).map_err(|e| not_a_prowjob(e.to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| not_a_prowjob(e.to_string()))
}

/// The Pod the executor would create for `job` with the settings of the first ProwInstance of
/// `inputs`. A ProwJob without a name (`mkpj` writes `generateName`) is named after its
/// `generateName` and build id; one without a status is `triggered`.
pub fn make(inputs: &Inputs, job: &ProwJob, options: &MkpodOptions) -> Result<Made, MkpodError> {
    let instance = inputs.instances.first().ok_or(MkpodError::NoInstance)?;
    let mut pod_inputs = InstanceConfig::resolve(&instance.object)
        .map_err(|error| MkpodError::Pod {
            prowjob: instance.source.to_string(),
            source: error.into_pod_error(),
        })?
        .pods;
    pod_inputs.local_output_dir = options.local_output.clone();
    let mut job = job.clone();
    let status = job.status.get_or_insert(ProwJobStatus::triggered(None));
    let build_id = options
        .build_id
        .clone()
        .or_else(|| status.build_id.clone().filter(|b| !b.is_empty()))
        .unwrap_or_else(|| BuildIds::default().next(Timestamp::now()));
    status.build_id = Some(build_id.clone());
    if job.metadata.name.as_deref().unwrap_or_default().is_empty() {
        let prefix = job.metadata.generate_name.clone().unwrap_or_default();
        job.metadata.name = Some(format!("{prefix}{build_id}"));
    }
    let pod = podspec::prowjob_to_pod(&job, &pod_inputs).map_err(|source| MkpodError::Pod {
        prowjob: job.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    Ok(Made {
        url: podspec::job_url(&job, &pod_inputs),
        pod,
    })
}
