//! What an instance has in effect for the live job loops (the trigger, and the job engine): its
//! JobConfigs as accepted (or as last accepted), the settings its jobs are created with, and the
//! trigger settings of the PluginConfigs it selects.
//!
//! Working that out checks every selected JobConfig, so it is done once per change, not once per
//! webhook: [`LiveJobsByInstance::get`] keys the answer on the generations of what the instance
//! selects and hands out the same `Arc` until one of them changes (and while no watch event
//! arrived, it does not even look). Every replica can answer, leading or not;
//! a follower that never saw a rejected JobConfig's last good version recovers it from the
//! job-config ConfigMaps, as the leader does after a restart.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::api::core::v1::{ConfigMap, PodSpec};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use prow_api::embedded::Embedded;
use prow_api::job::{Postsubmit, Preset, Presubmit};
use prow_api::pluginconfig::TriggerConfig;
use prow_api::{JobConfig, ProwInstance};
use tracing::warn;

use super::instance::job_configs_in_effect;
use super::last_good;
use super::{Context, selected_by};
use crate::engine::job_defaults::JobDefaults;
use crate::engine::prowjob;
use crate::pipeline::{ConfigKind, JobSettings};
use crate::render::meta::{INSTANCE_LABEL, INSTANCE_NAMESPACE_LABEL};
use prow_core::trigger;

/// The presubmits and postsubmits of one repository.
#[derive(Debug, Default)]
pub struct RepoJobs {
    /// Presubmits, static ones of every JobConfig in effect.
    pub presubmits: Vec<Presubmit>,
    /// Postsubmits.
    pub postsubmits: Vec<Postsubmit>,
    /// The pod of each presubmit as its ProwJobs carry it, worked out on first use: it is the
    /// same for every ProwJob of these jobs, and working it out costs more than the rest of the
    /// ProwJob.
    presubmit_pods: Vec<OnceLock<Option<Embedded<PodSpec>>>>,
}

impl RepoJobs {
    /// The presubmits and postsubmits of one repository.
    pub fn new(presubmits: Vec<Presubmit>, postsubmits: Vec<Postsubmit>) -> Self {
        let presubmit_pods = presubmits.iter().map(|_| OnceLock::new()).collect();
        Self {
            presubmits,
            postsubmits,
            presubmit_pods,
        }
    }

    /// The pod of `job` with `presets` ([`prowjob::job_pod`]), remembered when `job` is one of
    /// these presubmits (the presets of one [`LiveJobs`] never change).
    pub fn presubmit_pod(&self, job: &Presubmit, presets: &[Preset]) -> Option<Embedded<PodSpec>> {
        match self.presubmits.iter().position(|known| std::ptr::eq(known, job)) {
            Some(index) => self.presubmit_pods[index]
                .get_or_init(|| prowjob::job_pod(&job.base, presets))
                .clone(),
            None => prowjob::job_pod(&job.base, presets),
        }
    }
}

/// An instance's jobs and settings in effect.
#[derive(Debug)]
pub struct LiveJobs {
    /// The JobConfigs in effect (accepted, or their last accepted version).
    pub configs: Vec<Arc<JobConfig>>,
    /// The settings jobs are created with (`decorate_all_jobs`, queues).
    pub settings: JobSettings,
    /// The presets of every JobConfig in effect.
    pub presets: Arc<[Preset]>,
    /// `triggers[]` of the selected PluginConfigs, in name order.
    pub triggers: Vec<TriggerConfig>,
    /// The instance's defaults, resolved into every ProwJob made of these jobs.
    pub defaults: Arc<JobDefaults>,
    repos: Mutex<HashMap<String, Arc<RepoJobs>>>,
}

impl LiveJobs {
    /// A view of `configs` with these settings and trigger entries.
    pub fn new(configs: Vec<Arc<JobConfig>>, settings: JobSettings, triggers: Vec<TriggerConfig>) -> Self {
        let presets = configs
            .iter()
            .flat_map(|c| c.spec.jobs.presets.iter().cloned())
            .collect();
        Self {
            configs,
            settings,
            presets,
            triggers,
            defaults: Arc::new(JobDefaults::default()),
            repos: Mutex::new(HashMap::new()),
        }
    }

    /// These jobs, with the instance's `defaults`.
    pub fn with_defaults(mut self, defaults: JobDefaults) -> Self {
        self.defaults = Arc::new(defaults);
        self
    }

    /// The jobs of `org/repo` (worked out on first use, then shared).
    pub fn repo(&self, full_name: &str) -> Arc<RepoJobs> {
        // One entry per repository however its name is spelled (GitHub's names are
        // case-insensitive), and only repositories of the instance's org reach here.
        let full_name = full_name.to_ascii_lowercase();
        let full_name = full_name.as_str();
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = repos.get(full_name) {
            return known.clone();
        }
        let (presubmits, postsubmits) = trigger::repo_jobs(self.configs.iter().map(|c| &c.spec.jobs), full_name);
        let jobs = Arc::new(RepoJobs::new(presubmits, postsubmits));
        repos.insert(full_name.to_string(), jobs.clone());
        jobs
    }

    /// The trigger settings for `org/repo`: the first entry naming the repository, else the first
    /// naming its org, else the defaults (reference §4).
    pub fn trigger_for(&self, org: &str, repo: &str) -> TriggerConfig {
        let full = format!("{org}/{repo}");
        let names = |entry: &&TriggerConfig, wanted: &str| entry.repos.iter().any(|r| r.eq_ignore_ascii_case(wanted));
        self.triggers
            .iter()
            .find(|e| names(e, &full))
            .or_else(|| self.triggers.iter().find(|e| names(e, org)))
            .cloned()
            .unwrap_or_default()
    }
}

/// The [`LiveJobs`] of each instance, keyed by what they were worked out from.
#[derive(Debug, Default)]
pub struct LiveJobsByInstance {
    by_instance: Mutex<HashMap<String, Remembered>>,
    /// Counts the events of the watches [`fingerprint`] reads (instances, JobConfigs,
    /// PluginConfigs, namespaces): while it and the last good versions stand still, the
    /// remembered jobs are current without fingerprinting anything.
    caches_revision: AtomicU64,
}

/// One instance's jobs, with what they were worked out from.
#[derive(Debug)]
struct Remembered {
    /// The [`fingerprint`] of the inputs.
    key: u64,
    /// The counters and the instance's generation when `key` was last found current.
    seen: Seen,
    jobs: Arc<LiveJobs>,
}

/// What changes whenever an input of [`fingerprint`] may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    caches: u64,
    last_good: u64,
    instance_generation: Option<i64>,
}

impl LiveJobsByInstance {
    /// The jobs `instance` has in effect now.
    pub async fn get(&self, instance: &ProwInstance, ctx: &Context) -> Arc<LiveJobs> {
        let uid = instance.uid().unwrap_or_default();
        // Read before the caches are: a change after this makes the next call look again.
        let seen = Seen {
            caches: self.caches_revision.load(Ordering::Acquire),
            last_good: ctx.last_good.revision(),
            instance_generation: instance.metadata.generation,
        };
        if let Some(known) = self.lock().get(&uid)
            && known.seen == seen
        {
            return known.jobs.clone();
        }
        let (key, job_configs, plugin_configs) = fingerprint(instance, ctx);
        if let Some(known) = self.lock().get_mut(&uid)
            && known.key == key
        {
            known.seen = seen;
            return known.jobs.clone();
        }
        recover_last_good(instance, &job_configs, ctx).await;
        let (configs, settings) = job_configs_in_effect(instance, ctx);
        let triggers = plugin_configs
            .iter()
            .flat_map(|c| c.spec.triggers.iter().cloned())
            .collect();
        let defaults = match &settings.config {
            Some(config) => config.job_defaults.clone(),
            None => {
                // The instance's validation reports why on its status.
                warn!(instance = %instance.name_any(), "the instance's configuration does not resolve; ProwJobs get upstream's defaults");
                JobDefaults::default()
            }
        };
        let jobs = Arc::new(LiveJobs::new(configs, settings, triggers).with_defaults(defaults));
        // The key is taken again: recovering may have changed what is known.
        let (key, _, _) = fingerprint(instance, ctx);
        let remembered = Remembered {
            key,
            seen,
            jobs: jobs.clone(),
        };
        self.lock().insert(uid, remembered);
        jobs
    }

    /// Notes an event of a watch whose cache [`fingerprint`] reads; called after the cache took
    /// it in.
    pub fn caches_changed(&self) {
        self.caches_revision.fetch_add(1, Ordering::AcqRel);
    }

    /// Forgets a deleted instance.
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.by_instance.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Selected = (u64, Vec<Arc<JobConfig>>, Vec<Arc<prow_api::PluginConfig>>);

/// A hash of everything [`LiveJobs`] depends on: the instance's generation, the generation of
/// each object it selects, and which last good versions this replica knows. Returns the selected
/// JobConfigs and PluginConfigs too, in name order.
fn fingerprint(instance: &ProwInstance, ctx: &Context) -> Selected {
    // Runs on every webhook event: it borrows from the caches and allocates little.
    let namespace_objects = ctx.stores.namespaces.state();
    let namespaces: HashMap<&str, &BTreeMap<String, String>> = namespace_objects
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n.metadata.labels.as_ref()?)))
        .collect();
    let labels_of = |namespace: &str| namespaces.get(namespace).copied();
    fn by_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (Option<&str>, Option<&str>) {
        (meta.namespace.as_deref(), meta.name.as_deref())
    }
    let stores = &ctx.stores;
    let mut job_configs = selected_by(instance, ConfigKind::JobConfig, stores.job_configs.state(), labels_of);
    job_configs.sort_unstable_by(|a, b| by_name(&a.metadata).cmp(&by_name(&b.metadata)));
    let mut plugin_configs = selected_by(
        instance,
        ConfigKind::PluginConfig,
        stores.plugin_configs.state(),
        labels_of,
    );
    plugin_configs.sort_unstable_by(|a, b| by_name(&a.metadata).cmp(&by_name(&b.metadata)));

    let mut hasher = DefaultHasher::new();
    (instance.uid(), instance.metadata.generation).hash(&mut hasher);
    for config in &job_configs {
        let uid = config.metadata.uid.as_deref().unwrap_or_default();
        let known = ctx.last_good.get(uid).map(|good| good.config.metadata.generation);
        (uid, config.metadata.generation, known).hash(&mut hasher);
    }
    for config in &plugin_configs {
        (config.metadata.uid.as_deref(), config.metadata.generation).hash(&mut hasher);
    }
    (hasher.finish(), job_configs, plugin_configs)
}

/// Recovers, from the instance's job-config ConfigMaps, the last good version of each selected
/// JobConfig that fails its checks and whose last good version this replica never saw.
async fn recover_last_good(instance: &ProwInstance, job_configs: &[Arc<JobConfig>], ctx: &Context) {
    let unknown: Vec<&Arc<JobConfig>> = job_configs
        .iter()
        .filter(|c| {
            let accepted = c.status.as_ref().and_then(|s| s.accepted_generation);
            accepted.is_some()
                && accepted != c.metadata.generation
                && ctx.last_good.get(&c.uid().unwrap_or_default()).is_none()
        })
        .collect();
    if unknown.is_empty() {
        return;
    }
    let namespace = instance.namespace().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let selector = format!(
        "{INSTANCE_LABEL}={},{INSTANCE_NAMESPACE_LABEL}={namespace}",
        instance.name_any()
    );
    let maps = match api.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => list.items,
        Err(error) => {
            let error = super::api_error::cause(&error);
            warn!(instance = %instance.name_any(), %error, "cannot read the job-config ConfigMaps to recover last good JobConfigs");
            return;
        }
    };
    for config in unknown {
        if let Some(jobs) = last_good::recover(config, &maps) {
            let mut good = JobConfig::clone(config);
            good.spec.jobs = jobs;
            good.metadata.generation = config.status.as_ref().and_then(|s| s.accepted_generation);
            if let Err(error) = ctx.last_good.accept(Arc::new(good)) {
                warn!(job_config = %config.name_any(), %error, "cannot recover the last good version");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trigger(repos: &[&str], only_org_members: bool) -> TriggerConfig {
        TriggerConfig {
            repos: repos.iter().map(|r| r.to_string()).collect(),
            only_org_members: Some(only_org_members),
            ..Default::default()
        }
    }

    #[test]
    fn the_repository_entry_wins_over_the_org_entry_then_the_defaults_apply() {
        let jobs = LiveJobs::new(
            Vec::new(),
            JobSettings::default(),
            vec![trigger(&["acme"], true), trigger(&["acme/app"], false)],
        );
        assert_eq!(jobs.trigger_for("acme", "app").only_org_members, Some(false));
        assert_eq!(jobs.trigger_for("ACME", "lib").only_org_members, Some(true));
        assert_eq!(jobs.trigger_for("globex", "app"), TriggerConfig::default());
    }

    #[test]
    fn repository_jobs_are_worked_out_once_and_shared() {
        let config: JobConfig = serde_json::from_value(json!({
            "apiVersion": "prow.dev/v1alpha1", "kind": "JobConfig",
            "metadata": {"name": "jobs", "namespace": "prow"},
            "spec": {"presubmits": {"acme/app": [{"name": "unit", "always_run": true,
                "spec": {"containers": [{"image": "alpine"}]}}]}}
        }))
        .unwrap();
        let jobs = LiveJobs::new(vec![Arc::new(config)], JobSettings::default(), Vec::new());
        let first = jobs.repo("acme/app");
        assert_eq!(first.presubmits.len(), 1);
        assert!(Arc::ptr_eq(&first, &jobs.repo("acme/app")));
        assert!(jobs.repo("acme/other").presubmits.is_empty());
    }

    /// The remembered pod of a presubmit is the one its ProwJob gets without it: presets
    /// merged, as upstream reads it, containers named.
    #[test]
    fn a_remembered_pod_makes_the_same_prowjob() {
        let config: JobConfig = serde_json::from_value(json!({
            "apiVersion": "prow.dev/v1alpha1", "kind": "JobConfig",
            "metadata": {"name": "jobs", "namespace": "prow"},
            "spec": {
                "presets": [{"labels": {"preset-cache": "true"}, "env": [{"name": "CACHE", "value": "on"}]}],
                "presubmits": {"acme/app": [{"name": "unit", "always_run": true, "labels": {"preset-cache": "true"},
                    "spec": {"containers": [{"image": "alpine", "env": [{"name": "N", "value": 1}],
                        "resources": {"requests": {"memory": "1024Mi"}}}]}}]}}
        }))
        .unwrap();
        let jobs = LiveJobs::new(vec![Arc::new(config)], JobSettings::default(), Vec::new());
        let repo = jobs.repo("acme/app");
        let job = &repo.presubmits[0];
        let creation = prowjob::Creation {
            name: "p1".into(),
            namespace: "prow".into(),
            start_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            extra_labels: BTreeMap::new(),
            decorate_all_jobs: false,
            generate_name: false,
            presets: jobs.presets.clone(),
            defaults: jobs.defaults.clone(),
            from_event: true,
        };
        let refs = prow_api::job::Refs {
            org: "acme".into(),
            repo: "app".into(),
            ..Default::default()
        };
        let direct = serde_json::to_value(prowjob::presubmit(job, refs.clone(), &creation)).unwrap();
        for _ in 0..2 {
            let pod = repo.presubmit_pod(job, &creation.presets);
            let remembered = prowjob::presubmit_with_pod(job, refs.clone(), &creation, pod);
            assert_eq!(serde_json::to_value(remembered).unwrap(), direct);
        }
        let pod = &direct["spec"]["pod_spec"];
        assert_eq!(pod["containers"][0]["env"][1], json!({"name": "CACHE", "value": "on"}));
        assert_eq!(pod["containers"][0]["env"][0]["value"], json!("1"));
        assert_eq!(pod["containers"][0]["name"], json!(""));
    }
}
