//! What one ProwInstance asks of the job loops: which functions run natively, its namespaces, and
//! the config.yaml settings of plank, horologium, sinker and crier's GitHub reporter. Worked out
//! once per generation of the instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::ResourceExt;
use prow_api::upstream::config::ProwConfig;
use prow_api::{ProwInstance, ProwInstanceSpec, ProwJobType};

use crate::engine::clean::{self, Ages};
use crate::engine::execute::Limits;
use crate::engine::limits::Concurrency;
use crate::engine::{report, schedule};
use crate::instance_config::InstanceConfig;
use crate::podspec::{PodError, PodInputs};
use crate::render::config_yaml::Namespaces;
use crate::render::meta::Owner;

/// A job function the operator may run in place of an upstream component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// ProwJobs to pods (upstream: prow-controller-manager's plank).
    Execute,
    /// Periodics (upstream: horologium).
    Schedule,
    /// GitHub statuses and the failure comment (upstream: crier's GitHub reporter).
    Report,
    /// Old ProwJobs and pods (upstream: sinker).
    Clean,
}

impl Function {
    /// Whether the instance runs this function natively. A function whose upstream component is
    /// enabled too is refused (the instance is Stalled) and does not run natively either: the
    /// component may still be running from before, and two must never run at once.
    pub fn native(self, spec: &ProwInstanceSpec) -> bool {
        let (native, components) = (&spec.native, &spec.components);
        match self {
            Function::Execute => native.execute && !components.prow_controller_manager.enabled,
            Function::Schedule => native.schedule && !components.horologium.enabled,
            Function::Report => native.report,
            Function::Clean => native.clean && !components.sinker.enabled,
        }
    }
}

/// One instance's settings for the job loops.
#[derive(Clone, Debug)]
pub struct InstanceSettings {
    /// The instance's uid.
    pub uid: String,
    /// `namespace/name`, for logs.
    pub instance: String,
    /// Where its ProwJobs and pods live.
    pub namespaces: Namespaces,
    /// Which functions run natively: execute, schedule, report, clean.
    native: [bool; 4],
    /// plank's timeouts and revivals.
    pub limits: Limits,
    /// plank's concurrency limits.
    pub concurrency: Concurrency,
    /// What the instance contributes to its pods (decoration defaults, job URLs), or why its
    /// settings cannot build pods.
    pub pod_inputs: Result<PodInputs, PodError>,
    /// horologium's `tick_interval`.
    pub tick: Duration,
    /// sinker's ages.
    pub ages: Ages,
    /// sinker's `resync_period`.
    pub resync: Duration,
    /// `github_reporter.job_types_to_report`.
    pub job_types_to_report: Vec<ProwJobType>,
    /// `github_reporter.no_comment_repos`.
    pub no_comment_repos: Vec<String>,
}

impl InstanceSettings {
    /// The settings of `instance`: its resolved configuration ([`InstanceConfig`]), with
    /// upstream's defaults where it says nothing. A configuration that does not resolve leaves
    /// upstream's defaults and pods refused with its error; the instance's status reports it.
    pub fn of(instance: &ProwInstance) -> Self {
        let owner = Owner::of(instance);
        let spec = &instance.spec;
        let resolved = InstanceConfig::resolve(instance);
        let namespaces = match &resolved {
            Ok(config) => config.namespaces().clone(),
            Err(_) => Namespaces::of(&owner, spec),
        };
        let default = ProwConfig::default();
        let config = resolved.as_ref().map_or(&default, |c| &c.prow);
        let plank = config.plank.as_ref();
        let duration = |text: Option<&String>, default: Duration| {
            text.and_then(|t| crate::duration::parse(t).ok())
                .filter(|d| !d.is_zero())
                .unwrap_or(default)
        };
        Self {
            uid: instance.uid().unwrap_or_default(),
            instance: format!("{}/{}", owner.namespace, owner.name),
            namespaces,
            native: [
                Function::Execute.native(spec),
                Function::Schedule.native(spec),
                Function::Report.native(spec),
                Function::Clean.native(spec),
            ],
            limits: Limits::from_plank(plank),
            concurrency: Concurrency {
                max_concurrency: plank.and_then(|p| p.max_concurrency).unwrap_or(0),
                queue_capacities: plank.and_then(|p| p.job_queue_capacities.clone()).unwrap_or_default(),
            },
            pod_inputs: resolved
                .as_ref()
                .map(|c| c.pods.clone())
                .map_err(|e| e.clone().into_pod_error()),
            tick: duration(
                config.horologium.as_ref().and_then(|h| h.tick_interval.as_ref()),
                schedule::DEFAULT_TICK,
            ),
            ages: Ages::from_sinker(config.sinker.as_ref()),
            resync: duration(
                config.sinker.as_ref().and_then(|s| s.resync_period.as_ref()),
                clean::DEFAULT_RESYNC,
            ),
            job_types_to_report: report::job_types_to_report(config.github_reporter.as_ref()),
            no_comment_repos: config
                .github_reporter
                .as_ref()
                .and_then(|r| r.no_comment_repos.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether the instance runs `function` natively.
    pub fn runs(&self, function: Function) -> bool {
        self.native[function as usize]
    }
}

/// Settings with the generation of the instance they were worked out from.
type Generational = (Option<i64>, Arc<InstanceSettings>);

/// The settings of each instance, by uid, kept until its generation changes.
#[derive(Debug, Default)]
pub struct SettingsByInstance {
    by_uid: Mutex<HashMap<String, Generational>>,
}

impl SettingsByInstance {
    /// The settings of `instance`.
    pub fn get(&self, instance: &ProwInstance) -> Arc<InstanceSettings> {
        let uid = instance.uid().unwrap_or_default();
        let generation = instance.metadata.generation;
        let mut map = self.by_uid.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, settings)) = map.get(&uid)
            && *known == generation
        {
            return settings.clone();
        }
        let settings = Arc::new(InstanceSettings::of(instance));
        map.insert(uid, (generation, settings.clone()));
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(extra: serde_json::Value) -> ProwInstance {
        let mut spec = json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "hmac"}}
        });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
            "metadata": {"name": "prow", "namespace": "ci", "uid": "u1", "generation": 1},
            "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn config_yaml_settings_and_defaults() {
        let settings = InstanceSettings::of(&instance(json!({"config": {
            "plank": {"max_concurrency": 4, "job_url_template": "https://prow/{{.Spec.Job}}", "pod_pending_timeout": "1m"},
            "horologium": {"tick_interval": "5s"},
            "sinker": {"resync_period": "10m", "max_pod_age": "1h"},
            "github_reporter": {"job_types_to_report": ["presubmit"], "no_comment_repos": ["o/quiet"]}
        }})));
        assert_eq!(settings.namespaces.prowjob, "ci");
        assert_eq!(settings.namespaces.pod, "test-pods");
        assert_eq!(settings.concurrency.max_concurrency, 4);
        assert_eq!(settings.limits.pod_pending_timeout, Duration::from_secs(60));
        assert_eq!(settings.tick, Duration::from_secs(5));
        assert_eq!(settings.resync, Duration::from_secs(600));
        assert_eq!(settings.ages.terminated_pod_ttl, Duration::from_secs(3600));
        assert_eq!(settings.job_types_to_report, [ProwJobType::Presubmit]);
        assert_eq!(settings.no_comment_repos, ["o/quiet"]);
        let inputs = settings.pod_inputs.as_ref().unwrap();
        assert_eq!(inputs.job_url_template.as_deref(), Some("https://prow/{{.Spec.Job}}"));
        assert_eq!(inputs.pod_namespace.as_deref(), Some("test-pods"));
        let defaults = InstanceSettings::of(&instance(json!({})));
        assert_eq!(defaults.tick, schedule::DEFAULT_TICK);
        assert_eq!(defaults.resync, clean::DEFAULT_RESYNC);
        assert_eq!(defaults.limits, Limits::default());
    }

    #[test]
    fn a_function_runs_natively_only_without_its_upstream_component() {
        let all = InstanceSettings::of(&instance(json!({})));
        for function in [Function::Execute, Function::Schedule, Function::Report, Function::Clean] {
            assert!(all.runs(function), "{function:?} is native by default");
        }
        let upstream = InstanceSettings::of(&instance(json!({
            "native": {"execute": false, "report": false},
            "components": {"sinker": {"enabled": true}, "horologium": {"enabled": true}}
        })));
        for function in [Function::Execute, Function::Schedule, Function::Report, Function::Clean] {
            assert!(
                !upstream.runs(function),
                "{function:?}: upstream, or refused as a conflict"
            );
        }
    }

    #[test]
    fn settings_are_kept_per_generation() {
        let memo = SettingsByInstance::default();
        let mut first = instance(json!({"config": {"horologium": {"tick_interval": "5s"}}}));
        let a = memo.get(&first);
        assert!(Arc::ptr_eq(&a, &memo.get(&first)));
        first.metadata.generation = Some(2);
        first.spec.config = None;
        assert_eq!(memo.get(&first).tick, schedule::DEFAULT_TICK);
    }
}
