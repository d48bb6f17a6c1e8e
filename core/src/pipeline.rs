//! The offline pipeline behind `render` and `check`: select, validate, then build.
//!
//! Validation gives one report per object. An object with errors is left out on its own: the
//! instance still renders with every other object. Only an instance with errors renders nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::fmt;

use prow_api::instance::ProwInstanceSpec;
use prow_api::status::{Finding, Severity};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};

use crate::check::{self, JobContext, KnownClusters};
use crate::input::{Inputs, Source, Sourced};
use crate::instance_config::{ConfigError, InstanceConfig};
use crate::render::{self, OperatorWebhook, RenderError, RenderInput, Rendered};
use crate::select::Selection;

/// The objects one instance selected from the inputs.
#[derive(Debug)]
pub struct Selected<'a> {
    /// The instance.
    pub instance: &'a Sourced<ProwInstance>,
    /// Its JobConfigs, in input order.
    pub job_configs: Vec<&'a Sourced<JobConfig>>,
    /// Its PluginConfigs, in input order.
    pub plugin_configs: Vec<&'a Sourced<PluginConfig>>,
    /// Its LabelSets, in input order.
    pub label_sets: Vec<&'a Sourced<LabelSet>>,
}

impl<'a> Selected<'a> {
    /// The selected PluginConfigs themselves.
    pub fn plugin_config_objects(&self) -> Vec<&'a PluginConfig> {
        self.plugin_configs.iter().map(|c| &c.object).collect()
    }

    /// The selected LabelSets themselves.
    pub fn label_set_objects(&self) -> Vec<&'a LabelSet> {
        self.label_sets.iter().map(|c| &c.object).collect()
    }

    /// The reports of the selected PluginConfigs, then LabelSets, with the findings validation
    /// gave each ([`Validation::plugin_configs`], [`Validation::label_sets`]).
    pub fn plugin_and_label_reports(
        &self,
        plugin_configs: Vec<Vec<Finding>>,
        label_sets: Vec<Vec<Finding>>,
    ) -> Vec<Report> {
        let mut out = reports("PluginConfig", &self.plugin_configs, plugin_configs, |c| &c.metadata);
        out.extend(reports("LabelSet", &self.label_sets, label_sets, |c| &c.metadata));
        out
    }
}

/// The kinds an instance selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    /// JobConfig.
    JobConfig,
    /// PluginConfig.
    PluginConfig,
    /// LabelSet.
    LabelSet,
}

impl ConfigKind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            ConfigKind::JobConfig => "JobConfig",
            ConfigKind::PluginConfig => "PluginConfig",
            ConfigKind::LabelSet => "LabelSet",
        }
    }
}

/// Whether `instance` selects the `kind` object with `meta`, whose namespace has `namespace_labels`.
pub fn selects(
    instance: &ProwInstance,
    kind: ConfigKind,
    meta: &ObjectMeta,
    namespace_labels: &BTreeMap<String, String>,
) -> bool {
    let spec = &instance.spec;
    let (objects, namespaces) = match kind {
        ConfigKind::JobConfig => (
            spec.job_config_selector.as_ref(),
            spec.job_config_namespace_selector.as_ref(),
        ),
        ConfigKind::PluginConfig => (
            spec.plugin_config_selector.as_ref(),
            spec.plugin_config_namespace_selector.as_ref(),
        ),
        ConfigKind::LabelSet => (
            spec.label_set_selector.as_ref(),
            spec.label_set_namespace_selector.as_ref(),
        ),
    };
    let selection = Selection {
        namespace: instance.metadata.namespace.as_deref().unwrap_or("default"),
        objects,
        namespaces,
    };
    selection.selects(meta, namespace_labels)
}

/// Picks the objects `instance` selects.
pub fn select<'a>(inputs: &'a Inputs, instance: &'a Sourced<ProwInstance>) -> Selected<'a> {
    let empty = BTreeMap::new();
    let pick = |kind: ConfigKind, meta: &ObjectMeta| {
        let object_namespace = meta.namespace.as_deref().unwrap_or("default");
        let labels = inputs.namespace_labels.get(object_namespace).unwrap_or(&empty);
        selects(&instance.object, kind, meta, labels)
    };
    Selected {
        instance,
        job_configs: inputs
            .job_configs
            .iter()
            .filter(|c| pick(ConfigKind::JobConfig, &c.object.metadata))
            .collect(),
        plugin_configs: inputs
            .plugin_configs
            .iter()
            .filter(|c| pick(ConfigKind::PluginConfig, &c.object.metadata))
            .collect(),
        label_sets: inputs
            .label_sets
            .iter()
            .filter(|c| pick(ConfigKind::LabelSet, &c.object.metadata))
            .collect(),
    }
}

/// The findings of one object.
#[derive(Clone, Debug)]
pub struct Report {
    /// Where the object came from.
    pub source: Source,
    /// `Kind namespace/name`.
    pub object: String,
    /// What was found.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let severity = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            write!(
                f,
                "{severity}: {}: {}: {}: {}",
                self.source, self.object, finding.path, finding.message
            )?;
            if let Some(rule) = &finding.rule {
                write!(f, " [{rule}]")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn describe(kind: &str, meta: &ObjectMeta) -> String {
    format!(
        "{kind} {}/{}",
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn report<T>(kind: &str, sourced: &Sourced<T>, meta: &ObjectMeta) -> Report {
    Report {
        source: sourced.source.clone(),
        object: describe(kind, meta),
        findings: Vec::new(),
    }
}

/// What JobConfigs are checked against: the instance's resolved configuration (decoration,
/// queues) and its build clusters and version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobSettings {
    /// `decorate_all_jobs`.
    pub decorate_all_jobs: bool,
    /// The keys of `plank.job_queue_capacities`.
    pub job_queues: BTreeSet<String>,
    /// The instance's build-cluster aliases; `None` while some are in Secrets not read yet
    /// (`spec.buildClusterSecrets`).
    pub clusters: Option<BTreeSet<String>>,
    /// The upstream version the instance deploys (`spec.version`).
    pub version: String,
    /// The instance's configuration; `None` when it does not resolve (the instance's report says
    /// why): jobs are then checked with upstream's defaults and without its decoration defaults.
    pub config: Option<Arc<InstanceConfig>>,
}

impl JobSettings {
    /// The settings of an instance with `spec` whose configuration resolved to `config`.
    pub fn of(config: Option<Arc<InstanceConfig>>, spec: &ProwInstanceSpec) -> Self {
        let prow = config.as_ref().map(|c| &c.prow);
        Self {
            decorate_all_jobs: config.as_ref().is_some_and(|c| c.decorate_all_jobs),
            job_queues: prow
                .and_then(|c| c.plank.as_ref())
                .and_then(|p| p.job_queue_capacities.as_ref())
                .map(|q| q.keys().cloned().collect())
                .unwrap_or_default(),
            clusters: spec
                .build_cluster_secrets
                .is_empty()
                .then(|| spec.build_clusters.iter().map(|c| c.name.clone()).collect()),
            version: spec.version.clone(),
            config,
        }
    }

    /// The context to check jobs in.
    pub fn context(&self) -> JobContext<'_> {
        JobContext {
            decorate_all_jobs: self.decorate_all_jobs,
            job_queues: &self.job_queues,
            clusters: self
                .clusters
                .as_ref()
                .map_or(KnownClusters::Unknown, KnownClusters::Instance),
            version: (!self.version.is_empty()).then_some(self.version.as_str()),
        }
    }
}

/// The findings of one JobConfig on its own, checked against `settings`: its jobs, their rendered
/// size and, with the instance's decoration defaults merged in, what the pod builder would refuse
/// in its decorated jobs.
pub fn check_job_config(config: &JobConfig, settings: &JobSettings) -> Vec<Finding> {
    let jobs = &config.spec.jobs;
    let mut findings = check::check_jobs(jobs, &settings.context(), "spec");
    findings.extend(check::check_job_sizes(jobs, "spec"));
    if let Some(config) = &settings.config {
        findings.extend(check::check_decoration(jobs, &config.pods, "spec"));
    }
    findings
}

/// The findings of an instance on its own (its spec, and its configuration's error when it does
/// not resolve) and what its JobConfigs are checked against.
fn check_instance(instance: &ProwInstance) -> (Vec<Finding>, JobSettings) {
    let mut findings = check::check_instance(&instance.spec);
    let config = match InstanceConfig::resolve(instance) {
        Ok(config) => Some(Arc::new(config)),
        Err(error) => {
            findings.push(error.finding());
            None
        }
    };
    (findings, JobSettings::of(config, &instance.spec))
}

/// What validating an instance and the objects it selected found, each list in the order of the
/// objects given.
#[derive(Debug)]
pub struct Validation {
    /// The instance's findings.
    pub instance: Vec<Finding>,
    /// What its JobConfigs were checked against.
    pub settings: JobSettings,
    /// Each JobConfig's findings: on its own, then against the others.
    pub job_configs: Vec<Vec<Finding>>,
    /// Each PluginConfig's findings.
    pub plugin_configs: Vec<Vec<Finding>>,
    /// Each LabelSet's findings.
    pub label_sets: Vec<Vec<Finding>>,
}

/// A JobConfig's findings on its own ([`check_job_config`]), possibly remembered by the caller.
pub type JobConfigFindings<'a> = &'a (dyn Fn(&JobConfig, &JobSettings) -> Arc<Vec<Finding>> + Sync);

/// Validates an instance and the objects it selected: the one validation of `check`, `render` and
/// the live reconcile. `clusters` are the instance's build-cluster aliases when the caller knows
/// them (the live operator reads its Secrets), else they come from its spec;
/// `job_config_findings` gives a JobConfig's findings on its own.
pub fn validate_objects(
    instance: &ProwInstance,
    clusters: Option<BTreeSet<String>>,
    job_configs: &[&JobConfig],
    plugin_configs: &[&PluginConfig],
    label_sets: &[&LabelSet],
    job_config_findings: JobConfigFindings<'_>,
) -> Validation {
    let (instance_findings, mut settings) = check_instance(instance);
    if clusters.is_some() {
        settings.clusters = clusters;
    }
    let mut job_findings: Vec<Vec<Finding>> = crate::parallel::map(job_configs, |config| {
        job_config_findings(config, &settings).as_ref().clone()
    });
    let sets: Vec<_> = job_configs.iter().map(|c| &c.spec.jobs).collect();
    for (index, finding) in check::check_across(&sets) {
        if let Some(findings) = job_findings.get_mut(index) {
            findings.push(finding);
        }
    }
    let spec = &instance.spec;
    let plugin_findings = plugin_configs
        .iter()
        .map(|config| {
            let mut findings = check::check_plugins(&config.spec, spec.native.trigger, Some(&spec.version));
            findings.extend(check::check_tide_plugins(spec.config.as_ref(), &config.spec));
            findings
        })
        .collect();
    Validation {
        instance: instance_findings,
        settings,
        job_configs: job_findings,
        plugin_configs: plugin_findings,
        label_sets: label_sets.iter().map(|set| check::check_labels(&set.spec)).collect(),
    }
}

/// The reports of `objects` of `kind` whose findings are `findings`, in the same order.
fn reports<T>(
    kind: &str,
    objects: &[&Sourced<T>],
    findings: Vec<Vec<Finding>>,
    meta: impl Fn(&T) -> &ObjectMeta,
) -> Vec<Report> {
    objects
        .iter()
        .zip(findings)
        .map(|(object, findings)| Report {
            findings,
            ..report(kind, object, meta(&object.object))
        })
        .collect()
}

/// Validates an instance and what it selected ([`validate_objects`]). The reports come in order:
/// the instance, then its JobConfigs, PluginConfigs and LabelSets.
pub fn validate(selected: &Selected<'_>) -> Vec<Report> {
    let instance = selected.instance;
    let job_configs: Vec<&JobConfig> = selected.job_configs.iter().map(|c| &c.object).collect();
    let validation = validate_objects(
        &instance.object,
        None,
        &job_configs,
        &selected.plugin_config_objects(),
        &selected.label_set_objects(),
        &|config, settings| Arc::new(check_job_config(config, settings)),
    );
    let mut reports = vec![Report {
        findings: validation.instance,
        ..report("ProwInstance", instance, &instance.object.metadata)
    }];
    reports.extend(self::reports(
        "JobConfig",
        &selected.job_configs,
        validation.job_configs,
        |c| &c.metadata,
    ));
    reports.extend(selected.plugin_and_label_reports(validation.plugin_configs, validation.label_sets));
    reports
}

/// What `check` reports on `inputs`: each instance with what it selected, then the objects no
/// instance selected, each on its own with upstream's defaults.
pub fn check_all(inputs: &Inputs) -> Vec<Report> {
    let mut reports: Vec<Report> = Vec::new();
    let mut seen: BTreeSet<&Source> = BTreeSet::new();
    for instance in &inputs.instances {
        let selected = select(inputs, instance);
        seen.extend(selected.job_configs.iter().map(|c| &c.source));
        seen.extend(selected.plugin_configs.iter().map(|c| &c.source));
        seen.extend(selected.label_sets.iter().map(|c| &c.source));
        reports.extend(validate(&selected));
    }
    // Objects no instance selected are checked on their own, with upstream's defaults.
    let orphans: Vec<_> = inputs
        .job_configs
        .iter()
        .filter(|c| !seen.contains(&c.source))
        .collect();
    let no_queues = BTreeSet::new();
    reports.extend(check_job_configs(
        &orphans,
        &JobContext {
            decorate_all_jobs: false,
            job_queues: &no_queues,
            clusters: KnownClusters::NoInstance,
            version: Some(crate::import::DEFAULT_VERSION),
        },
    ));
    let orphans: Vec<_> = inputs
        .plugin_configs
        .iter()
        .filter(|c| !seen.contains(&c.source))
        .collect();
    reports.extend(check_plugin_configs(
        &orphans,
        true,
        Some(crate::import::DEFAULT_VERSION),
    ));
    let orphans: Vec<_> = inputs.label_sets.iter().filter(|c| !seen.contains(&c.source)).collect();
    reports.extend(check_label_sets(&orphans));

    reports
}

/// Checks JobConfigs on their own and against each other.
pub fn check_job_configs(configs: &[&Sourced<JobConfig>], context: &JobContext<'_>) -> Vec<Report> {
    let mut reports: Vec<Report> = crate::parallel::map(configs, |config| {
        let mut report = report("JobConfig", config, &config.object.metadata);
        report.findings = check::check_jobs(&config.object.spec.jobs, context, "spec");
        report
            .findings
            .extend(check::check_job_sizes(&config.object.spec.jobs, "spec"));
        report
    });
    let sets: Vec<_> = configs.iter().map(|c| &c.object.spec.jobs).collect();
    for (index, finding) in check::check_across(&sets) {
        if let Some(report) = reports.get_mut(index) {
            report.findings.push(finding);
        }
    }
    reports
}

/// Checks PluginConfigs; `native_trigger` says whether the operator's trigger replaces hook's.
pub fn check_plugin_configs(
    configs: &[&Sourced<PluginConfig>],
    native_trigger: bool,
    version: Option<&str>,
) -> Vec<Report> {
    configs
        .iter()
        .map(|config| {
            let mut report = report("PluginConfig", config, &config.object.metadata);
            report.findings = check::check_plugins(&config.object.spec, native_trigger, version);
            report
        })
        .collect()
}

/// Checks LabelSets.
pub fn check_label_sets(sets: &[&Sourced<LabelSet>]) -> Vec<Report> {
    sets.iter()
        .map(|set| {
            let mut report = report("LabelSet", set, &set.object.metadata);
            report.findings = check::check_labels(&set.object.spec);
            report
        })
        .collect()
}

/// Why an instance rendered nothing.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The instance itself has errors; its reports say which.
    #[error("ProwInstance {0} has errors, so nothing was rendered for it")]
    InvalidInstance(String),
    /// The instance's configuration does not resolve (validation reports this first).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The objects of `objects` whose report in `reports` has no error.
pub fn accepted<'a, T>(objects: &[&'a Sourced<T>], reports: &[Report]) -> Vec<&'a T> {
    objects
        .iter()
        .filter(|o| !reports.iter().any(|r| r.source == o.source && r.has_errors()))
        .map(|o| &o.object)
        .collect()
}

/// Renders an instance with the objects that passed validation. `reports` are `validate`'s.
pub fn build(selected: &Selected<'_>, reports: &[Report], webhook: &OperatorWebhook) -> Result<Rendered, BuildError> {
    let clean = |source: &Source| !reports.iter().any(|r| &r.source == source && r.has_errors());
    let instance = &selected.instance.object;
    if !clean(&selected.instance.source) {
        return Err(BuildError::InvalidInstance(
            describe("", &instance.metadata).trim().to_string(),
        ));
    }
    let config = InstanceConfig::resolve(instance)?;
    let job_configs = accepted(&selected.job_configs, reports);
    let plugin_configs = accepted(&selected.plugin_configs, reports);
    let label_sets = accepted(&selected.label_sets, reports);
    Ok(render::render(&RenderInput {
        instance,
        config: &config.yaml,
        job_configs: &job_configs,
        plugin_configs: &plugin_configs,
        label_sets: &label_sets,
        secrets: Default::default(),
        operator_webhook: webhook.clone(),
        job_config_files: None,
    })?)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;

    /// What `check` reports on one ProwInstance whose `spec.config` is `config`.
    fn instance_findings(config: Value) -> Vec<(String, Option<String>)> {
        let instance: ProwInstance = serde_json::from_value(json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
            "metadata": {"name": "prow", "namespace": "ci"},
            "spec": {
                "version": "v1", "config": config,
                "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "hmac"}}
            }
        }))
        .unwrap();
        let mut inputs = Inputs::default();
        inputs.instances.push(Sourced {
            source: Source::File {
                file: PathBuf::from("prow.yaml"),
                document: 0,
            },
            object: instance,
        });
        check_all(&inputs)
            .into_iter()
            .flat_map(|report| report.findings)
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.path, f.rule))
            .collect()
    }

    #[test]
    fn a_configuration_that_does_not_resolve_is_one_error_naming_its_field() {
        assert_eq!(
            instance_findings(json!({"pod_namespace": "elsewhere"})),
            [("spec.config.pod_namespace".to_string(), None)],
            "once, not again for the pod builder"
        );
        assert_eq!(
            instance_findings(json!({"prowjob_default_entries": [{"config": {"tenant_id": 7}}]})),
            [("spec.config.prowjob_default_entries".to_string(), None)],
            "as upstream's config.Load refuses it"
        );
    }
}
