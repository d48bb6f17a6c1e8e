//! What an instance's configuration gives every ProwJob made of a job, resolved into the ProwJob
//! when it is made, as upstream resolves it when it loads config.yaml: the pod namespace, the
//! decoration settings (`plank.default_decoration_config_entries`, over the instance's own storage
//! and utility images) and the ProwJob defaults (`prowjob_default_entries`, `tenant_id`). deck,
//! spyglass and crier read artifact locations and tenants from the ProwJob, not from the config.

use prow_api::job::{DecorationConfig, ProwJobDefaults, UtilityResources};
use prow_api::upstream::config::{DefaultDecorationConfigEntry, ProwConfig};
use serde::Deserialize;
use serde_json::Value;

use super::quantity;
use crate::podspec::{self, PodInputs};

/// The tenant of jobs no `prowjob_default_entries` entry gives one (upstream's `GlobalDefaultID`).
pub const DEFAULT_TENANT_ID: &str = "GlobalDefaultID";

/// One `prowjob_default_entries` entry of config.yaml.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ProwJobDefaultEntry {
    /// `org`, `org/repo`, `*` or empty for every repository.
    #[serde(default)]
    pub repo: Option<String>,
    /// The build cluster, `*` or empty for every cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The defaults.
    #[serde(default)]
    pub config: Option<ProwJobDefaults>,
}

/// The defaults of an instance's ProwJobs. [`JobDefaults::default`] has none: jobs keep their own
/// settings (a job without a namespace runs in the pod namespace of the instance that executes
/// it), with upstream's default tenant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobDefaults {
    /// `pod_namespace`: the namespace of jobs that name none.
    pub pod_namespace: Option<String>,
    /// The decoration defaults, in order (later entries win): the instance's own storage and
    /// utility images, then config.yaml's entries.
    pub decoration: Vec<DefaultDecorationConfigEntry>,
    /// `prowjob_default_entries`, in order.
    pub prowjob: Vec<ProwJobDefaultEntry>,
}

impl JobDefaults {
    /// The defaults given by a config.yaml read as `config`, whose pods have `pods`. Only
    /// [`crate::instance_config::InstanceConfig::resolve`] calls this; everyone else reads its
    /// `job_defaults`. The error says why `prowjob_default_entries` does not read.
    pub(crate) fn resolve(pods: &PodInputs, config: &ProwConfig) -> Result<Self, String> {
        let prowjob = config
            .other
            .get("prowjob_default_entries")
            .cloned()
            .map(serde_json::from_value::<Vec<ProwJobDefaultEntry>>)
            .transpose()
            .map_err(|error| error.to_string())?
            .unwrap_or_default();
        Ok(Self {
            pod_namespace: pods.pod_namespace.clone(),
            decoration: pods.decoration_defaults.clone(),
            prowjob,
        })
    }

    /// The namespace of a job's pod: its own, else `pod_namespace`.
    pub fn namespace(&self, own: Option<&str>) -> Option<String> {
        own.filter(|n| !n.is_empty())
            .or(self.pod_namespace.as_deref())
            .map(str::to_string)
    }

    /// A decorated job's settings: the matching defaults for `repo` and `cluster`, its own over
    /// them, written as upstream writes them (durations as Go writes them, canonical quantities).
    pub fn decoration(&self, repo: &str, cluster: &str, own: Option<&DecorationConfig>) -> DecorationConfig {
        let own = own.cloned().unwrap_or_default();
        canonical_decoration(podspec::resolve(&self.decoration, repo, cluster, &own))
    }

    /// A job's ProwJob defaults: the matching entries for `repo` and `cluster` merged in order,
    /// its own over them, and upstream's default tenant when none gives one.
    pub fn prowjob_defaults(&self, repo: &str, cluster: &str, own: Option<&ProwJobDefaults>) -> ProwJobDefaults {
        let mut merged: Option<ProwJobDefaults> = None;
        let entries = self.prowjob.iter().filter(|entry| {
            podspec::matches(
                entry.repo.as_deref().unwrap_or_default(),
                entry.cluster.as_deref().unwrap_or_default(),
                repo,
                cluster,
            )
        });
        for config in entries.filter_map(|entry| entry.config.as_ref()).chain(own) {
            merged = Some(match merged {
                None => config.clone(),
                Some(default) => ProwJobDefaults {
                    tenant_id: config.tenant_id.clone().filter(|t| !t.is_empty()).or(default.tenant_id),
                    resultstore_config: config.resultstore_config.clone().or(default.resultstore_config),
                    unknown: config.unknown.clone(),
                },
            });
        }
        let mut merged = merged.unwrap_or_default();
        if merged.tenant_id.as_deref().unwrap_or_default().is_empty() {
            merged.tenant_id = Some(DEFAULT_TENANT_ID.to_string());
        }
        merged
    }
}

/// Durations as Go's `time.Duration` writes them (`1h` as `1h0m0s`) and quantities as
/// `resource.Quantity` writes them; text that is neither is left as written (`check` reports it).
fn canonical_decoration(mut config: DecorationConfig) -> DecorationConfig {
    let go = |text: &mut Option<String>| {
        if let Some(parsed) = text.as_deref().and_then(|t| crate::duration::parse(t).ok()) {
            *text = Some(podspec::go_duration(parsed));
        }
    };
    go(&mut config.timeout);
    go(&mut config.grace_period);
    go(&mut config.pod_pending_timeout);
    go(&mut config.pod_running_timeout);
    go(&mut config.pod_unscheduled_timeout);
    if let Some(resources) = config.resources.as_mut() {
        canonical_resources(resources);
    }
    if let Some(request) = config.default_memory_request.as_mut() {
        let text = podspec::quantity_text(request);
        if let Some(canonical) = quantity::canonical(&text) {
            *request = k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(canonical);
        }
    }
    config
}

fn canonical_resources(resources: &mut UtilityResources) {
    for requirements in [
        &mut resources.clonerefs,
        &mut resources.initupload,
        &mut resources.place_entrypoint,
        &mut resources.sidecar,
    ]
    .into_iter()
    .flatten()
    {
        let mut raw: Value = requirements.raw();
        quantity::canonical_requirements(&mut raw);
        *requirements = prow_api::embedded::Embedded::from_raw(raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> JobDefaults {
        let entries: Vec<DefaultDecorationConfigEntry> = serde_json::from_value(json!([
            {"config": {"timeout": "2h", "gcs_configuration": {"bucket": "logs", "path_strategy": "explicit"},
                        "resources": {"sidecar": {"requests": {"cpu": 0.1}}}, "blobless_fetch": true}},
            {"repo": "acme", "config": {"grace_period": "90s"}},
            {"cluster": "gpu", "config": {"timeout": "6h"}}
        ]))
        .unwrap();
        let prowjob: Vec<ProwJobDefaultEntry> = serde_json::from_value(json!([
            {"repo": "acme/app", "config": {"tenant_id": "acme"}}
        ]))
        .unwrap();
        JobDefaults {
            pod_namespace: Some("test-pods".into()),
            decoration: entries,
            prowjob,
        }
    }

    #[test]
    fn decoration_merges_matching_entries_and_writes_go_durations_and_quantities() {
        let own: DecorationConfig = serde_json::from_value(json!({"timeout": "45m"})).unwrap();
        let app = defaults().decoration("acme/app", "default", Some(&own));
        assert_eq!(app.timeout.as_deref(), Some("45m0s"), "the job's own wins");
        assert_eq!(app.grace_period.as_deref(), Some("1m30s"), "the org entry matches");
        assert_eq!(app.gcs_configuration.unwrap().bucket.as_deref(), Some("logs"));
        assert_eq!(app.blobless_fetch, Some(true));
        let sidecar = app.resources.unwrap().sidecar.unwrap().raw();
        assert_eq!(sidecar["requests"]["cpu"], "100m");
        let gpu = defaults().decoration("other/repo", "gpu", None);
        assert_eq!(gpu.timeout.as_deref(), Some("6h0m0s"), "the cluster entry matches");
        assert_eq!(gpu.grace_period, None);
    }

    #[test]
    fn tenant_and_namespace_have_upstreams_defaults() {
        let d = defaults();
        assert_eq!(
            d.prowjob_defaults("acme/app", "default", None).tenant_id.as_deref(),
            Some("acme")
        );
        assert_eq!(
            d.prowjob_defaults("acme/lib", "default", None).tenant_id.as_deref(),
            Some(DEFAULT_TENANT_ID)
        );
        let own = ProwJobDefaults {
            tenant_id: Some("mine".into()),
            ..ProwJobDefaults::default()
        };
        assert_eq!(
            d.prowjob_defaults("acme/app", "default", Some(&own))
                .tenant_id
                .as_deref(),
            Some("mine")
        );
        assert_eq!(d.namespace(None).as_deref(), Some("test-pods"));
        assert_eq!(d.namespace(Some("")).as_deref(), Some("test-pods"));
        assert_eq!(d.namespace(Some("own")).as_deref(), Some("own"));
        assert_eq!(JobDefaults::default().namespace(None), None);
    }
}
