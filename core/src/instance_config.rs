//! An instance's configuration, resolved once: its config.yaml as the operator renders it (the
//! derived keys with the `spec.config` overlay laid over them), read as upstream reads it, with
//! what it gives every pod (decoration defaults, job URLs) and every ProwJob (`decorate_all_jobs`,
//! `prowjob_default_entries`). Render, the pod builder, the job loops and the trigger all read
//! this one value; none of them reads `spec.config` on its own.
//!
//! One error policy: [`InstanceConfig::resolve`] gives the configuration or the first thing wrong
//! with it, naming its field path. The instance's validation reports that error on the instance
//! (live and in `check` alike), so nothing is rendered for it; the job loops and the trigger,
//! which keep running, fall back to upstream's defaults and the executor refuses to build pods
//! with the same error. Upstream's `config.Load` likewise refuses a config.yaml that does not
//! read.

use prow_api::ProwInstance;
use prow_api::status::{Finding, Severity};
use prow_api::upstream::config::ProwConfig;

use crate::check::rule;
use crate::engine::job_defaults::JobDefaults;
use crate::podspec::{PodError, PodInputs};
use crate::render::RenderError;
use crate::render::config_yaml::{ConfigYaml, Namespaces};

/// An instance's configuration, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceConfig {
    /// config.yaml as the operator writes it, and the namespaces it names.
    pub yaml: ConfigYaml,
    /// config.yaml, read as upstream reads it.
    pub prow: ProwConfig,
    /// `decorate_all_jobs` (upstream's default: false).
    pub decorate_all_jobs: bool,
    /// What building pods needs from the instance: the pod namespace, the decoration defaults
    /// and plank's job URL settings.
    pub pods: PodInputs,
    /// What every ProwJob made of a job gets resolved into it.
    pub job_defaults: JobDefaults,
}

/// Why an instance's configuration does not resolve; each names the field path.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The `spec.config` overlay contradicts the instance or holds what does not belong there.
    #[error("{path}: {message}")]
    Overlay {
        /// The field path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// config.yaml does not read as upstream's configuration.
    #[error("spec.config: not a valid config.yaml: {0}")]
    NotConfigYaml(String),
    /// The instance's storage or plank's decoration defaults cannot build pods.
    #[error(transparent)]
    Decoration(PodError),
    /// `prowjob_default_entries` does not read.
    #[error("spec.config.prowjob_default_entries: {0}")]
    ProwJobDefaults(String),
}

impl ConfigError {
    /// The field path of what is wrong.
    pub fn path(&self) -> &str {
        match self {
            ConfigError::Overlay { path, .. } => path,
            ConfigError::NotConfigYaml(_) => "spec.config",
            ConfigError::Decoration(error) => error.path(),
            ConfigError::ProwJobDefaults(_) => "spec.config.prowjob_default_entries",
        }
    }

    /// What is wrong, after the field path.
    pub fn message(&self) -> String {
        match self {
            ConfigError::Overlay { message, .. } => message.clone(),
            ConfigError::NotConfigYaml(error) => format!("not a valid config.yaml: {error}"),
            ConfigError::Decoration(error) => error.message(),
            ConfigError::ProwJobDefaults(error) => error.clone(),
        }
    }

    /// The error as a finding on the instance.
    pub fn finding(&self) -> Finding {
        Finding {
            severity: Severity::Error,
            path: self.path().to_string(),
            message: self.message(),
            rule: matches!(self, ConfigError::Decoration(_)).then(|| rule::DECORATION.to_string()),
        }
    }

    /// The error as the pod builder reports it (a ProwJob's `error` description, `mkpod`).
    pub fn into_pod_error(self) -> PodError {
        match self {
            ConfigError::Decoration(error) => error,
            other => PodError::Config {
                path: other.path().to_string(),
                message: other.message(),
            },
        }
    }
}

impl From<RenderError> for ConfigError {
    fn from(error: RenderError) -> Self {
        match error {
            RenderError::Overlay { path, message } => ConfigError::Overlay { path, message },
            other => ConfigError::Overlay {
                path: "spec.config".into(),
                message: other.to_string(),
            },
        }
    }
}

impl InstanceConfig {
    /// Resolves `instance`'s configuration: config.yaml built from its spec and `spec.config`,
    /// read as upstream reads it, then the pod and ProwJob defaults it gives.
    pub fn resolve(instance: &ProwInstance) -> Result<Self, ConfigError> {
        let yaml = ConfigYaml::of(instance)?;
        let prow: ProwConfig =
            serde_json::from_value(yaml.value.clone()).map_err(|e| ConfigError::NotConfigYaml(e.to_string()))?;
        let decorate_all_jobs = prow.decorate_all_jobs.unwrap_or(false);
        let pods = PodInputs::resolve(instance, &prow, &yaml.namespaces.pod, decorate_all_jobs)
            .map_err(ConfigError::Decoration)?;
        let job_defaults = JobDefaults::resolve(&pods, &prow).map_err(ConfigError::ProwJobDefaults)?;
        Ok(Self {
            yaml,
            prow,
            decorate_all_jobs,
            pods,
            job_defaults,
        })
    }

    /// Where the instance's ProwJobs and pods live.
    pub fn namespaces(&self) -> &Namespaces {
        &self.yaml.namespaces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn instance(extra: Value) -> ProwInstance {
        let mut spec = json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "hmac"}}
        });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
            "metadata": {"name": "prow", "namespace": "ci"},
            "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn everything_is_read_from_one_config_yaml() {
        let config = InstanceConfig::resolve(&instance(json!({"config": {
            "decorate_all_jobs": true,
            "plank": {"default_decoration_config_entries": [{"repo": "o", "config": {"timeout": "1h"}}]},
            "prowjob_default_entries": [{"repo": "o", "config": {"tenant_id": "t"}}]
        }})))
        .unwrap();
        assert!(config.decorate_all_jobs);
        assert!(config.pods.decorate_all_jobs);
        assert_eq!(config.namespaces().pod, "test-pods");
        assert_eq!(config.pods.pod_namespace.as_deref(), Some("test-pods"));
        assert_eq!(config.job_defaults.pod_namespace.as_deref(), Some("test-pods"));
        assert_eq!(
            config.pods.decoration_defaults.len(),
            2,
            "the instance's own, then the entry"
        );
        assert_eq!(config.job_defaults.decoration, config.pods.decoration_defaults);
        assert_eq!(config.job_defaults.prowjob.len(), 1);
        assert_eq!(config.yaml.value["pod_namespace"], "test-pods");
    }

    #[test]
    fn each_error_names_its_field_path() {
        let cases = [
            (
                json!({"config": {"pod_namespace": "other"}}),
                "spec.config.pod_namespace",
                None,
            ),
            (json!({"config": {"decorate_all_jobs": "yes"}}), "spec.config", None),
            (
                json!({"config": {"plank": {"default_decoration_configs": {"*": {}}, "default_decoration_config_entries": [{"config": {}}]}}}),
                "spec.config.plank",
                Some(rule::DECORATION),
            ),
            (
                json!({"config": {"prowjob_default_entries": {"not": "a list"}}}),
                "spec.config.prowjob_default_entries",
                None,
            ),
        ];
        for (extra, path, rule) in cases {
            let error = InstanceConfig::resolve(&instance(extra.clone())).expect_err("invalid");
            let finding = error.finding();
            assert_eq!(finding.path, path, "{extra}");
            assert_eq!(finding.rule.as_deref(), rule, "{extra}");
            assert!(!finding.message.starts_with(path), "{finding:?}");
            assert_eq!(error.clone().into_pod_error().path(), path);
        }
    }
}
