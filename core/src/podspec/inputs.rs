//! What building pods needs from the instance: the pod namespace, the decoration defaults (from
//! the instance's storage, registry and version, then config.yaml's
//! `plank.default_decoration_config_entries`), and plank's job URL settings.

use std::collections::BTreeMap;

use prow_api::ProwInstance;
use prow_api::job::{DecorationConfig, GcsConfiguration, UtilityImages};
use prow_api::upstream::config::{DefaultDecorationConfigEntry, Plank, ProwConfig};

use super::PodError;

/// The key of the credentials file the pod utilities read from the mounted Secret.
pub const CREDENTIALS_KEY: &str = "service-account.json";
/// The label naming the version of the controller that made the pod.
pub const PLANK_VERSION_LABEL: &str = "prow.k8s.io/plank-version";

/// What building a ProwJob's pod needs besides the ProwJob, resolved from a ProwInstance and its
/// config.yaml (the `pods` of [`crate::instance_config::InstanceConfig`]). [`PodInputs::default`] has none of the instance's settings: the ProwJob's own
/// `decoration_config` is then used as it is, as upstream's `ProwJobToPod` does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodInputs {
    /// `pod_namespace`, for ProwJobs whose `spec.namespace` is empty.
    pub pod_namespace: Option<String>,
    /// `decorate_all_jobs`: jobs that do not set `decorate` are decorated.
    pub decorate_all_jobs: bool,
    /// The decoration defaults, in order: the instance's own (utility images, storage, timeouts),
    /// then config.yaml's entries. Matching entries are merged in order, later ones winning.
    pub decoration_defaults: Vec<DefaultDecorationConfigEntry>,
    /// `plank.job_url_template`.
    pub job_url_template: Option<String>,
    /// `plank.job_url_prefix_config`: URL prefixes by `*`, `org` or `org/repo`.
    pub job_url_prefix_config: BTreeMap<String, String>,
    /// `plank.jobURLPrefixDisableAppendStorageProvider`.
    pub job_url_prefix_disable_append_storage_provider: bool,
    /// The value of the `prow.k8s.io/plank-version` label, when pods carry one.
    pub plank_version: Option<String>,
    /// A node directory the pod utilities copy artifacts to instead of uploading them (upstream
    /// mkpod's local mode), mounted as a hostPath volume.
    pub local_output_dir: Option<String>,
}

impl PodInputs {
    /// The inputs of `instance` whose config.yaml reads as `config`: its `spec.storage`,
    /// `imageRegistry` and `version`, then plank's settings. Only
    /// [`crate::instance_config::InstanceConfig::resolve`] calls this; everyone else reads its
    /// `pods`.
    pub(crate) fn resolve(
        instance: &ProwInstance,
        config: &ProwConfig,
        pod_namespace: &str,
        decorate_all_jobs: bool,
    ) -> Result<PodInputs, PodError> {
        let plank = config.plank.clone().unwrap_or_default();
        let mut decoration_defaults = vec![DefaultDecorationConfigEntry {
            repo: Some("*".into()),
            cluster: Some("*".into()),
            config: Some(instance_defaults(instance)?),
            other: BTreeMap::new(),
        }];
        decoration_defaults.extend(plank_entries(&plank)?);
        let disable_append = plank
            .other
            .get("jobURLPrefixDisableAppendStorageProvider")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Ok(PodInputs {
            pod_namespace: Some(pod_namespace.to_string()),
            decorate_all_jobs,
            decoration_defaults,
            job_url_template: plank.job_url_template.filter(|t| !t.is_empty()),
            job_url_prefix_config: plank.job_url_prefix_config.unwrap_or_default(),
            job_url_prefix_disable_append_storage_provider: disable_append,
            plank_version: Some(format!("prow-operator-v{}", env!("CARGO_PKG_VERSION"))),
            local_output_dir: None,
        })
    }
}

/// The defaults the instance itself gives every decorated job: the utility images of its
/// registry and version, and its storage (an `explicit` path strategy, so no default org and repo
/// are needed). No timeout or grace period: entrypoint applies its own (2h, 15s) to jobs that set
/// none, and their pods keep Kubernetes' termination grace period, as upstream's do.
fn instance_defaults(instance: &ProwInstance) -> Result<DecorationConfig, PodError> {
    let spec = &instance.spec;
    let image = |name: &str| {
        Some(format!(
            "{}/{name}:{}",
            spec.image_registry.trim_end_matches('/'),
            spec.version
        ))
    };
    let mut config = DecorationConfig {
        utility_images: Some(UtilityImages {
            clonerefs: image("clonerefs"),
            initupload: image("initupload"),
            entrypoint: image("entrypoint"),
            sidecar: image("sidecar"),
            ..UtilityImages::default()
        }),
        ..DecorationConfig::default()
    };
    let Some(storage) = &spec.storage else {
        return Ok(config);
    };
    let (scheme, kind, bucket) = match (&storage.s3, &storage.gcs) {
        (Some(s3), None) => ("s3", "s3", s3),
        (None, Some(gcs)) => ("gs", "gcs", gcs),
        _ => {
            return Err(PodError::Config {
                path: "spec.storage".into(),
                message: "set exactly one of storage.s3 or storage.gcs".into(),
            });
        }
    };
    let secret = &bucket.credentials_secret_ref;
    if secret.key != CREDENTIALS_KEY {
        return Err(PodError::Config {
            path: format!("spec.storage.{kind}.credentialsSecretRef.key"),
            message: format!(
                "is {:?}, but the pod utilities read the credentials from the key {CREDENTIALS_KEY:?} of the Secret: store them under that key",
                secret.key
            ),
        });
    }
    let name = bucket.bucket.trim_start_matches(&format!("{scheme}://")).to_string();
    config.gcs_configuration = Some(GcsConfiguration {
        bucket: Some(format!("{scheme}://{name}")),
        path_strategy: Some("explicit".into()),
        ..GcsConfiguration::default()
    });
    if scheme == "s3" {
        config.s3_credentials_secret = Some(secret.name.clone());
    } else {
        config.gcs_credentials_secret = Some(secret.name.clone());
    }
    Ok(config)
}

/// plank's decoration defaults as entries: `default_decoration_config_entries` as they are, or
/// the older `default_decoration_configs` map (`*` first, then orgs, then repos), not both.
fn plank_entries(plank: &Plank) -> Result<Vec<DefaultDecorationConfigEntry>, PodError> {
    let map = plank.default_decoration_configs.clone().unwrap_or_default();
    let entries = plank.default_decoration_config_entries.clone().unwrap_or_default();
    if !map.is_empty() && !entries.is_empty() {
        return Err(PodError::Config {
            path: "spec.config.plank".into(),
            message: "default_decoration_configs and default_decoration_config_entries are mutually exclusive: use default_decoration_config_entries".into(),
        });
    }
    if map.is_empty() {
        return Ok(entries);
    }
    let rank = |key: &str| match key {
        "*" => 0,
        key if !key.contains('/') => 1,
        _ => 2,
    };
    let mut keyed: Vec<(String, DecorationConfig)> = map.into_iter().collect();
    keyed.sort_by_key(|(key, _)| rank(key));
    Ok(keyed
        .into_iter()
        .map(|(repo, config)| DefaultDecorationConfigEntry {
            repo: Some(repo),
            cluster: None,
            config: Some(config),
            other: BTreeMap::new(),
        })
        .collect())
}
