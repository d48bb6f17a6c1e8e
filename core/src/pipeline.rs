//! The offline pipeline behind `render` and `check`: select, validate, then build.
//!
//! Validation gives one report per object. An object with errors is left out on its own: the
//! instance still renders with every other object. Only an instance with errors renders nothing.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::fmt;

use prow_api::instance::ProwInstanceSpec;
use prow_api::status::{Finding, Severity};
use prow_api::upstream::config::ProwConfig;
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};

use crate::check::{self, JobContext, KnownClusters};
use crate::input::{Inputs, Source, Sourced};
use crate::render::config_yaml::{self, Namespaces};
use crate::render::meta::Owner;
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

/// What config.yaml says that JobConfigs are checked against: decoration and queues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
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
}

impl JobSettings {
    fn of(config: Option<&ProwConfig>, spec: &ProwInstanceSpec) -> Self {
        Self {
            decorate_all_jobs: config.and_then(|c| c.decorate_all_jobs).unwrap_or(false),
            job_queues: config
                .and_then(|c| c.plank.as_ref())
                .and_then(|p| p.job_queue_capacities.as_ref())
                .map(|q| q.keys().cloned().collect())
                .unwrap_or_default(),
            clusters: spec
                .build_cluster_secrets
                .is_empty()
                .then(|| spec.build_clusters.iter().map(|c| c.name.clone()).collect()),
            version: spec.version.clone(),
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

/// Validates an instance on its own; returns its report and what its JobConfigs are checked
/// against.
pub fn validate_instance(sourced: &Sourced<ProwInstance>) -> (Report, JobSettings) {
    let instance = &sourced.object;
    let mut instance_report = report("ProwInstance", sourced, &instance.metadata);
    instance_report.findings = check::check_instance(&instance.spec);
    let owner = Owner::of(instance);
    let config = match config_yaml::build(&instance.spec, &Namespaces::of(&owner, &instance.spec)) {
        Ok(config) => serde_json::from_value::<ProwConfig>(config)
            .map_err(|e| {
                instance_report
                    .findings
                    .push(error("spec.config", format!("not a valid config.yaml: {e}")))
            })
            .ok(),
        Err(RenderError::Overlay { path, message }) => {
            instance_report.findings.push(error(&path, message));
            None
        }
        Err(other) => {
            instance_report.findings.push(error("spec.config", other.to_string()));
            None
        }
    };
    (instance_report, JobSettings::of(config.as_ref(), &instance.spec))
}

/// Validates an instance and what it selected. The reports come in order: the instance, then its
/// JobConfigs, PluginConfigs and LabelSets.
pub fn validate(selected: &Selected<'_>) -> Vec<Report> {
    let (instance_report, settings) = validate_instance(selected.instance);
    let mut reports = vec![instance_report];
    reports.extend(check_job_configs(&selected.job_configs, &settings.context()));
    let mut plugin_reports = check_plugin_configs(
        &selected.plugin_configs,
        selected.instance.object.spec.native.trigger,
        Some(&selected.instance.object.spec.version),
    );
    for (report, config) in plugin_reports.iter_mut().zip(&selected.plugin_configs) {
        let tide = selected.instance.object.spec.config.as_ref();
        report
            .findings
            .extend(check::check_tide_plugins(tide, &config.object.spec));
    }
    reports.extend(plugin_reports);
    reports.extend(check_label_sets(&selected.label_sets));
    reports
}

/// What `check` reports on `inputs`: each instance with what it selected (decoration included),
/// then the objects no instance selected, each on its own with upstream's defaults.
pub fn check_all(inputs: &Inputs) -> Vec<Report> {
    let mut reports: Vec<Report> = Vec::new();
    let mut seen: BTreeSet<&Source> = BTreeSet::new();
    for instance in &inputs.instances {
        let selected = select(inputs, instance);
        seen.extend(selected.job_configs.iter().map(|c| &c.source));
        seen.extend(selected.plugin_configs.iter().map(|c| &c.source));
        seen.extend(selected.label_sets.iter().map(|c| &c.source));
        let mut selected_reports = validate(&selected);
        add_decoration_findings(instance, &selected, &mut selected_reports);
        reports.extend(selected_reports);
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

/// Adds what the pod builder would refuse in the decorated jobs of the instance's JobConfigs, with
/// the instance's decoration defaults merged in, to their reports. An instance whose settings
/// cannot build pods has that reported on the instance.
fn add_decoration_findings(
    instance: &Sourced<prow_api::ProwInstance>,
    selected: &Selected<'_>,
    reports: &mut [Report],
) {
    let pod_inputs = match crate::podspec::PodInputs::for_instance(&instance.object) {
        Ok(pod_inputs) => pod_inputs,
        Err(error) => {
            if let Some(report) = reports.iter_mut().find(|r| r.source == instance.source) {
                report.findings.push(Finding {
                    severity: Severity::Error,
                    path: error.path().to_string(),
                    message: error.message(),
                    rule: Some(error.rule().to_string()),
                });
            }
            return;
        }
    };
    for config in &selected.job_configs {
        let findings = crate::check::check_decoration(&config.object.spec.jobs, &pod_inputs, "spec");
        if let Some(report) = reports.iter_mut().find(|r| r.source == config.source) {
            report.findings.extend(findings);
        }
    }
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

fn error(path: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        path: path.to_string(),
        message,
        rule: None,
    }
}

/// Why an instance rendered nothing.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The instance itself has errors; its reports say which.
    #[error("ProwInstance {0} has errors, so nothing was rendered for it")]
    InvalidInstance(String),
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
    let job_configs = accepted(&selected.job_configs, reports);
    let plugin_configs = accepted(&selected.plugin_configs, reports);
    let label_sets = accepted(&selected.label_sets, reports);
    Ok(render::render(&RenderInput {
        instance,
        job_configs: &job_configs,
        plugin_configs: &plugin_configs,
        label_sets: &label_sets,
        secrets: Default::default(),
        operator_webhook: webhook.clone(),
        job_config_files: None,
    })?)
}
