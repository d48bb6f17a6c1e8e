//! Names, labels and annotations of rendered objects.
//!
//! Every object is named `<instance>-<part>`, so two ProwInstances in one namespace never clash,
//! and carries the standard `app.kubernetes.io/*` labels plus [`INSTANCE_LABEL`] and
//! [`INSTANCE_NAMESPACE_LABEL`], by which the operator finds (and prunes) what it rendered.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prow_api::ProwInstance;

/// The label naming the ProwInstance an object belongs to.
pub const INSTANCE_LABEL: &str = "operator.prow.dev/instance";
/// The label naming the namespace of the ProwInstance an object belongs to (objects in the
/// ProwJob and pod namespaces cannot carry an owner reference to it).
pub const INSTANCE_NAMESPACE_LABEL: &str = "operator.prow.dev/instance-namespace";
/// The pod-template annotation holding the hash of every ConfigMap and Secret the pod mounts.
pub const CONFIG_HASH_ANNOTATION: &str = "operator.prow.dev/config-hash";
/// The field manager and `managed-by` value.
pub const MANAGER: &str = "prow-operator";

/// Who an object belongs to: the instance's name, namespace and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The ProwInstance's name.
    pub name: String,
    /// The ProwInstance's namespace (where the control plane runs).
    pub namespace: String,
    /// The upstream version (image tag).
    pub version: String,
}

impl Owner {
    /// The owner of objects rendered for `instance`. An instance read from a file without a
    /// namespace is taken to live in `default`, as kubectl would place it.
    pub fn of(instance: &ProwInstance) -> Self {
        Self {
            name: instance.metadata.name.clone().unwrap_or_default(),
            namespace: instance
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_string()),
            version: instance.spec.version.clone(),
        }
    }

    /// `<instance>-<part>`.
    pub fn name(&self, part: &str) -> String {
        format!("{}-{part}", self.name)
    }

    /// The labels that select a component's pods: stable across upgrades.
    pub fn selector_labels(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), component.to_string()),
            ("app.kubernetes.io/instance".to_string(), self.name.clone()),
        ])
    }

    /// Every label of an object of `component` (`config` for ConfigMaps, the component's name
    /// otherwise).
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(component);
        labels.insert("app.kubernetes.io/component".to_string(), component.to_string());
        labels.insert("app.kubernetes.io/part-of".to_string(), "prow".to_string());
        labels.insert("app.kubernetes.io/managed-by".to_string(), MANAGER.to_string());
        labels.insert("app.kubernetes.io/version".to_string(), self.version.clone());
        labels.insert(INSTANCE_LABEL.to_string(), self.name.clone());
        labels.insert(INSTANCE_NAMESPACE_LABEL.to_string(), self.namespace.clone());
        labels
    }

    /// Metadata of an object named `<instance>-<part>` in `namespace`.
    pub fn meta(&self, part: &str, namespace: &str, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.name(part)),
            namespace: Some(namespace.to_string()),
            labels: Some(self.labels(component)),
            ..ObjectMeta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_carry_the_instance() {
        let owner = Owner {
            name: "prow".into(),
            namespace: "ci".into(),
            version: "v1".into(),
        };
        let meta = owner.meta("deck", "ci", "deck");
        assert_eq!(meta.name.as_deref(), Some("prow-deck"));
        let labels = meta.labels.unwrap();
        assert_eq!(labels[INSTANCE_LABEL], "prow");
        assert_eq!(labels["app.kubernetes.io/name"], "deck");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "prow-operator");
        assert!(!owner.selector_labels("deck").contains_key("app.kubernetes.io/version"));
    }
}
