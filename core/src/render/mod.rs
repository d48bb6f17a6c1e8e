//! `render`: a ProwInstance and the objects it selects, in; every Kubernetes object the operator
//! applies, out. Pure: no client, no clock, and the same input gives byte-identical output.

pub mod components;
pub mod config_yaml;
mod error;
pub mod job_config;
pub mod labels_yaml;
pub mod merge;
pub mod meta;
pub mod object;
pub mod plugins_yaml;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use prow_api::yaml::{self, YamlError};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use sha2::{Digest, Sha256};

pub use self::components::Secrets;
use self::components::{ComponentContext, Mounts, render_components};
pub use self::error::RenderError;
use self::meta::Owner;
use self::object::Object;

/// The operator's own webhook endpoint, which `/hook` reaches when hook does not run, and which
/// hook forwards to when it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorWebhook {
    /// The Service's DNS name, such as `prow-operator-webhook.prow-operator-system.svc`.
    pub host: String,
    /// Its port.
    pub port: i32,
}

impl OperatorWebhook {
    /// The webhook Service of an operator installed in `namespace` by `config/default`.
    pub fn in_namespace(namespace: &str) -> Self {
        Self {
            host: format!("prow-operator-webhook.{namespace}.svc"),
            port: 8888,
        }
    }

    /// The URL GitHub events are posted to.
    pub fn hook_url(&self) -> String {
        format!("http://{}:{}/hook", self.host, self.port)
    }
}

/// Everything rendering needs.
#[derive(Clone, Debug)]
pub struct RenderInput<'a> {
    /// The installation.
    pub instance: &'a ProwInstance,
    /// Its config.yaml, resolved ([`crate::instance_config::InstanceConfig::yaml`]).
    pub config: &'a config_yaml::ConfigYaml,
    /// The selected JobConfigs whose jobs are in effect, in order.
    pub job_configs: &'a [&'a JobConfig],
    /// The selected PluginConfigs, in order.
    pub plugin_configs: &'a [&'a PluginConfig],
    /// The selected LabelSets, in order.
    pub label_sets: &'a [&'a LabelSet],
    /// What is known of the Secrets the components mount (live operator).
    pub secrets: Secrets,
    /// The operator's webhook endpoint.
    pub operator_webhook: OperatorWebhook,
    /// The job-config files of `job_configs`, when the caller has them already (the live
    /// operator renders each JobConfig once per generation); rendered here otherwise.
    pub job_config_files: Option<Vec<(String, String)>>,
}

/// What rendering produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// Every object, in apply order.
    pub objects: Vec<Object>,
    /// The hash of every rendered ConfigMap together.
    pub config_hash: String,
}

impl Rendered {
    /// The objects as one multi-document YAML text.
    pub fn to_yaml(&self) -> Result<String, YamlError> {
        let mut text = String::new();
        for object in &self.objects {
            text.push_str("---\n");
            text.push_str(&yaml::to_string(object)?);
        }
        Ok(text)
    }
}

/// Renders every object of an instance.
pub fn render(input: &RenderInput<'_>) -> Result<Rendered, RenderError> {
    let owner = Owner::of(input.instance);
    let spec = &input.instance.spec;
    let namespaces = &input.config.namespaces;
    let config = &input.config.value;
    let plugins = plugins_yaml::build(spec, input.plugin_configs, &input.operator_webhook.hook_url())?;
    let labels = labels_yaml::build(input.label_sets);
    let job_files = match &input.job_config_files {
        Some(files) => files.clone(),
        None => job_config::files(input.job_configs, job_config::MAX_DATA_BYTES)?,
    };

    let mut config_maps = vec![
        config_map(&owner, "config", "config.yaml", yaml::to_string(config)?),
        config_map(&owner, "plugins", "plugins.yaml", yaml::to_string(&plugins)?),
        config_map(&owner, "labels", "labels.yaml", yaml::to_string(&labels)?),
    ];
    let mut job_config_names = Vec::new();
    for (index, data) in job_config::shards(job_files, job_config::MAX_DATA_BYTES)
        .into_iter()
        .enumerate()
    {
        job_config_names.push(owner.name(&format!("job-config-{index}")));
        let mut map = ConfigMap {
            metadata: owner.meta(&format!("job-config-{index}"), &owner.namespace, "config"),
            ..ConfigMap::default()
        };
        map.data = Some(data);
        config_maps.push(map);
    }

    let mut hashes = BTreeMap::new();
    let mut all = Sha256::new();
    for map in &config_maps {
        let hash = content_hash(map);
        all.update(hash.as_bytes());
        hashes.insert(map.metadata.name.clone().unwrap_or_default(), hash);
    }
    let mounts = Mounts {
        config: owner.name("config"),
        plugins: owner.name("plugins"),
        job_config: job_config_names,
        config_map_hashes: hashes,
        secrets: input.secrets.clone(),
    };
    let context = ComponentContext {
        owner: &owner,
        spec,
        prowjob_namespace: &namespaces.prowjob,
        pod_namespace: &namespaces.pod,
        mounts: &mounts,
        operator_webhook: (&input.operator_webhook.host, input.operator_webhook.port),
    };
    let mut objects: Vec<Object> = config_maps.into_iter().map(Object::ConfigMap).collect();
    objects.extend(render_components(&context));
    objects.sort_by_key(Object::sort_key);
    Ok(Rendered {
        objects,
        config_hash: hex::encode(all.finalize()),
    })
}

fn config_map(owner: &Owner, part: &str, key: &str, text: String) -> ConfigMap {
    ConfigMap {
        metadata: owner.meta(part, &owner.namespace, "config"),
        data: Some(BTreeMap::from([(key.to_string(), text)])),
        ..ConfigMap::default()
    }
}

/// The SHA-256 of a ConfigMap's data, as hex: keys and values, in key order, each length-prefixed.
pub fn content_hash(map: &ConfigMap) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in map.data.iter().flatten() {
        hasher.update((key.len() as u64).to_le_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    }
    hex::encode(hasher.finalize())
}
