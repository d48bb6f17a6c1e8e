//! `config.yaml`: the keys the operator derives from the ProwInstance, with the `config` overlay
//! laid over them.

use std::collections::BTreeMap;

use prow_api::instance::DEFAULT_POD_NAMESPACE;
use prow_api::upstream::config::JOB_KEYS;
use prow_api::{ProwInstance, ProwInstanceSpec};
use serde_json::{Map, Value, json};

use super::error::RenderError;
use super::merge::overlay;
use super::meta::Owner;

/// Where ProwJobs and their pods live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespaces {
    /// `prowjob_namespace`.
    pub prowjob: String,
    /// `pod_namespace`.
    pub pod: String,
}

impl Namespaces {
    /// The namespaces of an instance: its own for ProwJobs and `test-pods` for pods, unless set.
    pub fn of(owner: &Owner, spec: &ProwInstanceSpec) -> Self {
        Self {
            prowjob: spec
                .namespaces
                .prow_jobs
                .clone()
                .unwrap_or_else(|| owner.namespace.clone()),
            pod: spec
                .namespaces
                .pods
                .clone()
                .unwrap_or_else(|| DEFAULT_POD_NAMESPACE.to_string()),
        }
    }
}

/// An instance's `config.yaml`, as the operator writes it, and the namespaces it names.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigYaml {
    /// Where ProwJobs and their pods live.
    pub namespaces: Namespaces,
    /// `config.yaml` as a JSON value ([`build`]).
    pub value: Value,
}

impl ConfigYaml {
    /// The `config.yaml` of `instance`.
    pub fn of(instance: &ProwInstance) -> Result<Self, RenderError> {
        let namespaces = Namespaces::of(&Owner::of(instance), &instance.spec);
        let value = build(&instance.spec, &namespaces)?;
        Ok(Self { namespaces, value })
    }
}

/// Builds `config.yaml` as a JSON value.
///
/// Derived keys: `prowjob_namespace` and `pod_namespace`; `plank.job_url_prefix_config["*"]`
/// (deck's `/view/` under the Ingress host, when deck runs behind one); `slack_reporter_configs`
/// (from `spec.slack`). The overlay is laid over them and wins, except on the two namespaces,
/// which the typed fields own: an overlay that sets them differently is an error.
pub fn build(spec: &ProwInstanceSpec, namespaces: &Namespaces) -> Result<Value, RenderError> {
    let mut config = Map::new();
    config.insert("prowjob_namespace".into(), json!(namespaces.prowjob));
    config.insert("pod_namespace".into(), json!(namespaces.pod));
    if let Some(ingress) = spec.ingress.as_ref().filter(|_| spec.components.deck.enabled) {
        config.insert(
            "plank".into(),
            json!({"job_url_prefix_config": {"*": format!("https://{}/view/", ingress.host)}}),
        );
    }
    if let Some(slack) = spec.slack.as_ref().filter(|s| !s.reporter_configs.is_empty()) {
        let entries: BTreeMap<&String, Value> = slack
            .reporter_configs
            .iter()
            .map(|(scope, rule)| {
                let mut entry = Map::new();
                entry.insert("channel".into(), json!(rule.channel));
                if !rule.job_types_to_report.is_empty() {
                    entry.insert("job_types_to_report".into(), json!(rule.job_types_to_report));
                }
                if !rule.job_states_to_report.is_empty() {
                    entry.insert("job_states_to_report".into(), json!(rule.job_states_to_report));
                }
                if let Some(template) = &rule.report_template {
                    entry.insert("report_template".into(), json!(template));
                }
                (scope, Value::Object(entry))
            })
            .collect();
        config.insert("slack_reporter_configs".into(), json!(entries));
    }
    let mut config = Value::Object(config);
    if let Some(over) = &spec.config {
        check_overlay(over, namespaces)?;
        overlay(&mut config, over);
    }
    Ok(config)
}

fn check_overlay(over: &Value, namespaces: &Namespaces) -> Result<(), RenderError> {
    let Some(object) = over.as_object() else {
        return Err(RenderError::Overlay {
            path: "spec.config".into(),
            message: "must be a mapping".into(),
        });
    };
    for (key, typed, field) in [
        ("prowjob_namespace", &namespaces.prowjob, "spec.namespaces.prowJobs"),
        ("pod_namespace", &namespaces.pod, "spec.namespaces.pods"),
    ] {
        if let Some(value) = object.get(key)
            && value.as_str() != Some(typed.as_str())
        {
            return Err(RenderError::Overlay {
                path: format!("spec.config.{key}"),
                message: format!("is {value}, but {field} says {typed:?}: set the namespace in {field} only"),
            });
        }
    }
    if let Some(key) = JOB_KEYS.iter().find(|key| object.contains_key(**key)) {
        return Err(RenderError::Overlay {
            path: format!("spec.config.{key}"),
            message: "jobs belong in JobConfigs, not in the config overlay".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: Value) -> ProwInstanceSpec {
        let mut value = json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "hmac"}}
        });
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    fn owner() -> Owner {
        Owner {
            name: "prow".into(),
            namespace: "ci".into(),
            version: "v1".into(),
        }
    }

    #[test]
    fn derives_namespaces_url_prefix_and_slack() {
        let spec = spec(json!({
            "ingress": {"host": "prow.example.com"},
            "components": {"deck": {"enabled": true}},
            "slack": {"tokenSecretRef": {"name": "s", "key": "t"}, "reporterConfigs": {"*": {"channel": "ci", "jobStatesToReport": ["failure"]}}},
            "config": {"tide": {"sync_period": "2m"}, "plank": {"max_revivals": 5}}
        }));
        let namespaces = Namespaces::of(&owner(), &spec);
        let config = build(&spec, &namespaces).unwrap();
        assert_eq!(config["prowjob_namespace"], "ci");
        assert_eq!(config["pod_namespace"], "test-pods");
        assert_eq!(
            config["plank"]["job_url_prefix_config"]["*"],
            "https://prow.example.com/view/"
        );
        assert_eq!(
            config["plank"]["max_revivals"], 5,
            "the overlay merges into derived objects"
        );
        assert_eq!(
            config["slack_reporter_configs"]["*"],
            json!({"channel": "ci", "job_states_to_report": ["failure"]})
        );
        assert_eq!(config["tide"]["sync_period"], "2m");
    }

    #[test]
    fn overlay_cannot_contradict_the_typed_namespaces_or_hold_jobs() {
        let clash = spec(json!({"namespaces": {"pods": "pods"}, "config": {"pod_namespace": "other"}}));
        let error = build(&clash, &Namespaces::of(&owner(), &clash))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("spec.config.pod_namespace") && error.contains("spec.namespaces.pods"),
            "{error}"
        );
        let same = spec(json!({"namespaces": {"pods": "pods"}, "config": {"pod_namespace": "pods"}}));
        assert!(build(&same, &Namespaces::of(&owner(), &same)).is_ok());
        let jobs = spec(json!({"config": {"periodics": []}}));
        let error = build(&jobs, &Namespaces::of(&owner(), &jobs)).unwrap_err().to_string();
        assert!(error.contains("JobConfigs"), "{error}");
    }
}
