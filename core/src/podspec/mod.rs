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
mod gojson;
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

pub use decorate::{SidecarInputs, decorate, sidecar};
pub use error::{DECORATION_CONFIG, POD_SPEC, PodError};
pub use gojson::duration as go_duration;
pub use inputs::{PLANK_VERSION_LABEL, PodInputs};
pub use jobspec::{WireGcs, quantity_text};
pub use options::{UploadOptions, WrapperOptions};
pub use resolve::{job_scope, matches, resolve};
pub use url::{artifact_path, job_url};

use crate::job_labels as labels;
use env::{job_env, kube_env};

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
    extra_labels.insert(labels::PROWJOB_ID.into(), name.clone());
    extra_labels.insert(labels::BUILD_ID.into(), build_id);
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pods_of(instance: &prow_api::ProwInstance) -> Result<PodInputs, PodError> {
        crate::instance_config::InstanceConfig::resolve(instance)
            .map(|config| config.pods)
            .map_err(crate::instance_config::ConfigError::into_pod_error)
    }

    fn instance(extra: Value) -> prow_api::ProwInstance {
        let mut value = json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
            "metadata": {"name": "prow", "namespace": "ci"},
            "spec": {"version": "v1", "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}},
                "hmacSecretRef": {"name": "h", "key": "hmac"}},
                "storage": {"s3": {"bucket": "logs", "credentialsSecretRef": {"name": "s3", "key": "service-account.json"}}}}
        });
        for (key, v) in extra.as_object().cloned().unwrap_or_default() {
            value["spec"][key] = v;
        }
        serde_json::from_value(value).expect("instance")
    }

    fn job(pod_spec: Value, decoration: Option<Value>) -> ProwJob {
        let mut value = json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
            "metadata": {"name": "run-1", "labels": {"created-by-prow": "true"}},
            "spec": {"type": "periodic", "agent": "kubernetes", "job": "nightly", "pod_spec": pod_spec},
            "status": {"state": "triggered", "build_id": "42"}
        });
        if let Some(decoration) = decoration {
            value["spec"]["decoration_config"] = decoration;
        }
        serde_json::from_value(value).expect("prowjob")
    }

    fn container() -> Value {
        json!({"containers": [{"image": "alpine", "command": ["true"]}]})
    }

    #[test]
    fn a_container_without_mounts_has_no_volume_mounts_key_as_go_omits_it() {
        let inputs = PodInputs::default();
        let decoration = json!({
            "utility_images": {"clonerefs": "c", "initupload": "i", "entrypoint": "e", "sidecar": "s"},
            "gcs_configuration": {"bucket": "logs", "path_strategy": "explicit"}
        });
        let pod = prowjob_to_pod(&job(container(), Some(decoration)), &inputs).expect("pod");
        let spec = pod.spec.expect("spec");
        let initupload = spec
            .init_containers
            .iter()
            .flatten()
            .find(|c| c.name == "initupload")
            .expect("initupload");
        assert_eq!(
            initupload.volume_mounts, None,
            "no credentials, no mounts: no empty list"
        );
    }

    #[test]
    fn the_instance_fills_images_storage_and_namespace() {
        let inputs = pods_of(&instance(json!({}))).expect("inputs");
        let pod = prowjob_to_pod(&job(container(), Some(json!({}))), &inputs).expect("pod");
        assert_eq!(pod.metadata.namespace.as_deref(), Some("test-pods"));
        let spec = pod.spec.expect("spec");
        let sidecar = spec.containers.last().expect("sidecar");
        assert_eq!(sidecar.name, "sidecar");
        assert_eq!(
            sidecar.image.as_deref(),
            Some("us-docker.pkg.dev/k8s-infra-prow/images/sidecar:v1")
        );
        let options = sidecar
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "SIDECAR_OPTIONS")
            .expect("options");
        let options: Value = serde_json::from_str(options.value.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(options["gcs_options"]["bucket"], "s3://logs");
        assert_eq!(
            options["gcs_options"]["s3_credentials_file"],
            "/secrets/s3-storage/service-account.json"
        );
        assert_eq!(
            spec.termination_grace_period_seconds, None,
            "no grace period set: Kubernetes' own, as upstream's pods"
        );
        assert!(spec.volumes.iter().flatten().any(|v| v.name == "s3-credentials"));
        let labels = pod.metadata.labels.expect("labels");
        assert_eq!(labels.get(crate::job_labels::BUILD_ID).map(String::as_str), Some("42"));
        assert!(labels.contains_key(PLANK_VERSION_LABEL));
    }

    #[test]
    fn the_config_overlay_wins_over_the_instance_and_the_job_over_both() {
        let overlay = json!({"config": {"plank": {"default_decoration_config_entries": [
            {"repo": "*", "config": {"utility_images": {"sidecar": "mine/sidecar:1"}, "grace_period": "1m"}}
        ]}}});
        let inputs = pods_of(&instance(overlay)).expect("inputs");
        let own = json!({"grace_period": "8s"});
        let resolved = resolved_decoration(&job(container(), Some(own)), &inputs).expect("decorated");
        let images = resolved.utility_images.expect("images");
        assert_eq!(images.sidecar.as_deref(), Some("mine/sidecar:1"));
        assert_eq!(
            images.clonerefs.as_deref(),
            Some("us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v1")
        );
        assert_eq!(resolved.grace_period.as_deref(), Some("8s"));
    }

    #[test]
    fn bad_instances_are_refused_with_their_field() {
        let key =
            json!({"storage": {"gcs": {"bucket": "b", "credentialsSecretRef": {"name": "g", "key": "key.json"}}}});
        let error = pods_of(&instance(key)).expect_err("wrong key");
        assert_eq!(error.path(), "spec.storage.gcs.credentialsSecretRef.key");
        let both = json!({"config": {"plank": {"default_decoration_configs": {"*": {}},
            "default_decoration_config_entries": [{"config": {}}]}}});
        let error = pods_of(&instance(both)).expect_err("both forms");
        assert_eq!(error.path(), "spec.config.plank");
    }

    #[test]
    fn bad_jobs_are_refused_with_a_typed_error() {
        let inputs = pods_of(&instance(json!({}))).expect("inputs");
        let no_command = job(json!({"containers": [{"image": "alpine"}]}), Some(json!({})));
        let error = prowjob_to_pod(&no_command, &inputs).expect_err("no command");
        assert!(matches!(error, PodError::NoCommand { .. }), "{error}");
        assert_eq!(error.path(), "spec.pod_spec.containers[0]");

        let reserved = job(
            json!({"containers": [{"name": "test", "image": "a", "command": ["x"]}, {"name": "sidecar", "image": "b", "command": ["y"]}]}),
            Some(json!({})),
        );
        let error = prowjob_to_pod(&reserved, &inputs).expect_err("reserved");
        assert!(
            matches!(error, PodError::ReservedName { what: "container", .. }),
            "{error}"
        );

        let volume = job(
            json!({"containers": [{"image": "a", "command": ["x"]}], "volumes": [{"name": "logs", "emptyDir": {}}]}),
            None,
        );
        let error = prowjob_to_pod(&volume, &inputs).expect_err("reserved volume");
        assert!(
            matches!(error, PodError::ReservedName { what: "volume", .. }),
            "{error}"
        );

        let both = json!({"ssh_key_secrets": ["ssh"], "oauth_token_secret": {"name": "o", "key": "token"}});
        let error = prowjob_to_pod(&job(container(), Some(both)), &inputs).expect_err("ssh and oauth");
        assert_eq!(
            error,
            PodError::CloneCredentials {
                path: "spec.decoration_config.oauth_token_secret".into()
            }
        );

        let no_storage = pods_of(&instance(json!({"storage": null}))).expect("inputs");
        let error = prowjob_to_pod(&job(container(), Some(json!({}))), &no_storage).expect_err("no storage");
        assert!(matches!(error, PodError::NoStorage { .. }), "{error}");
        let no_bucket = json!({"gcs_configuration": {"bucket": "", "path_strategy": "explicit"}});
        let error = prowjob_to_pod(&job(container(), Some(no_bucket)), &no_storage).expect_err("no bucket");
        assert!(
            error
                .to_string()
                .starts_with("spec.decoration_config.gcs_configuration.bucket: no bucket"),
            "{error}"
        );
        let wrong = json!({"gcs_configuration": {"bucket": "s3://b", "path_strategy": "explicit"}, "gcs_credentials_secret": "gcs"});
        let error = prowjob_to_pod(&job(container(), Some(wrong)), &no_storage).expect_err("wrong credentials");
        assert!(matches!(error, PodError::MissingCredentials { .. }), "{error}");

        let mut presubmit = job(container(), None);
        presubmit.spec.job_type = prow_api::ProwJobType::Presubmit;
        assert_eq!(
            prowjob_to_pod(&presubmit, &inputs).expect_err("no refs"),
            PodError::MissingRefs { job_type: "presubmit" }
        );
        let mut no_spec = job(container(), None);
        no_spec.spec.pod_spec = None;
        assert_eq!(
            prowjob_to_pod(&no_spec, &inputs).expect_err("no spec"),
            PodError::NoPodSpec
        );
    }

    #[test]
    fn undecorated_pods_get_the_env_in_every_container() {
        let two = json!({"containers": [{"name": "a", "image": "a"}]});
        let pod = prowjob_to_pod(&job(two, None), &PodInputs::default()).expect("pod");
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.containers.len(), 1);
        assert_eq!(spec.containers[0].name, TEST_CONTAINER);
        assert!(spec.init_containers.is_none());
        let env: Vec<&str> = spec.containers[0]
            .env
            .iter()
            .flatten()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            env,
            [
                "BUILD_ID",
                "BUILD_NUMBER",
                "CI",
                "JOB_NAME",
                "JOB_SPEC",
                "JOB_TYPE",
                "PROW_JOB_ID"
            ]
        );
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.metadata.namespace, None, "no instance, no pod namespace");
    }
}
