//! ProwJob to Pod, as upstream's `pkg/pod-utils/decorate/podspec.go` builds it (reference §7.2):
//! pure functions from data to data, used by the executor and by `prow-operator mkpod`.
//!
//! - [`prowjob_to_pod`]: the pod of a run, undecorated or decorated;
//! - [`PodInputs`]: what the instance contributes (pod namespace, decoration defaults, job URL
//!   settings);
//! - [`job_url`]: the link to the run's logs;
//! - [`validate`]: the rules a job's pod and decoration settings follow, shared with `check`.

mod decorate;
mod env;
mod error;
pub mod gojson;
mod gotemplate;
mod inputs;
mod jobspec;
mod options;
mod resolve;
mod url;
pub mod validate;

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prow_api::ProwJob;
use prow_api::job::DecorationConfig;

pub use decorate::{SidecarInputs, clone_path, decorate, mount, sidecar};
pub use env::{job_env, kube_env, pull_refs};
pub use error::{DECORATION_CONFIG, POD_SPEC, PodError};
pub use inputs::{CREDENTIALS_KEY, PLANK_VERSION_LABEL, PodInputs};
pub use jobspec::WireGcs;
pub use options::{UploadOptions, WrapperOptions};
pub use resolve::{apply_default, job_scope, matches, resolve};
pub use url::{artifact_path, job_url};

use crate::engine::labels;

/// The label holding the ProwJob's name.
pub const PROWJOB_ID_LABEL: &str = "prow.k8s.io/id";
/// The label holding the run's build id.
pub const BUILD_ID_LABEL: &str = "prow.k8s.io/build-id";
/// The name a single test container gets.
pub const TEST_CONTAINER: &str = "test";

/// The decoration settings a run of `job` uses: `None` when the job is not decorated, else its
/// own `decoration_config` over the defaults of `inputs` that match its repository and cluster.
pub fn resolved_decoration(job: &ProwJob, inputs: &PodInputs) -> Option<DecorationConfig> {
    let own = job.spec.decoration_config.as_ref()?;
    let (repo, cluster) = job_scope(&job.spec);
    Some(resolve(&inputs.decoration_defaults, &repo, &cluster, own))
}

/// The Pod that runs `job` (upstream's `ProwJobToPod`): named after the ProwJob, in
/// `job.spec.namespace` (the instance's pod namespace when that is empty), with the build id of
/// `job.status.build_id`. A job with a `decoration_config` is decorated with its settings merged
/// over the instance's defaults.
pub fn prowjob_to_pod(job: &ProwJob, inputs: &PodInputs) -> Result<Pod, PodError> {
    let raw = job.spec.pod_spec.as_ref().ok_or(PodError::NoPodSpec)?;
    let mut spec: PodSpec = raw.parse().map_err(|error| PodError::Unreadable {
        path: POD_SPEC.into(),
        what: "PodSpec",
        message: error.to_string(),
    })?;
    let decoration = resolved_decoration(job, inputs);
    let rules = validate::PodRules {
        job_type: job.spec.job_type,
        decorated: decoration.is_some(),
        decoration: decoration.as_ref(),
    };
    let mut problems = validate::pod_spec(&spec, &rules, POD_SPEC);
    if let Some(config) = &decoration {
        problems.extend(validate::resolved_decoration(config, DECORATION_CONFIG));
    }
    if let Some(problem) = problems.into_iter().next() {
        return Err(problem);
    }

    let name = job.metadata.name.clone().unwrap_or_default();
    let build_id = job.status.as_ref().and_then(|s| s.build_id.clone()).unwrap_or_default();
    let raw_env = job_env(&job.spec, decoration.as_ref(), &build_id, &name)?;

    spec.restart_policy = Some("Never".into());
    if let [only] = spec.containers.as_mut_slice() {
        only.name = TEST_CONTAINER.into();
    }
    if spec.automount_service_account_token.is_none()
        && spec.service_account_name.as_deref().unwrap_or_default().is_empty()
    {
        spec.automount_service_account_token = Some(false);
    }
    match &decoration {
        None => {
            for container in &mut spec.containers {
                container.env.get_or_insert_with(Vec::new).extend(kube_env(&raw_env));
            }
        }
        Some(config) => decorate(
            &mut spec,
            &job.spec,
            config,
            &raw_env,
            inputs.local_output_dir.as_deref(),
        )?,
    }
    for container in spec.init_containers.iter_mut().flatten().chain(&mut spec.containers) {
        if container
            .termination_message_policy
            .as_deref()
            .unwrap_or_default()
            .is_empty()
        {
            container.termination_message_policy = Some("FallbackToLogsOnError".into());
        }
    }

    let mut extra_labels = job.metadata.labels.clone().unwrap_or_default();
    extra_labels.insert(PROWJOB_ID_LABEL.into(), name.clone());
    extra_labels.insert(BUILD_ID_LABEL.into(), build_id);
    let (mut pod_labels, annotations) =
        labels::metadata(&job.spec, &extra_labels, None, job.metadata.annotations.as_ref());
    if let Some(version) = &inputs.plank_version {
        pod_labels.insert(PLANK_VERSION_LABEL.into(), version.clone());
    }
    let namespace = job
        .spec
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| inputs.pod_namespace.clone());
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}
