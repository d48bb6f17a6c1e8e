//! Which JobConfigs, PluginConfigs and LabelSets a ProwInstance selects.
//!
//! Like prometheus-operator's `serviceMonitorSelector`/`serviceMonitorNamespaceSelector`: an unset
//! object selector selects every object; an unset namespace selector means the instance's own
//! namespace, and `{}` means every namespace.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// Whether `labels` satisfy `selector` (Kubernetes semantics: `matchLabels` and every
/// `matchExpressions` entry with `In`, `NotIn`, `Exists`, `DoesNotExist`). An unknown operator
/// matches nothing.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key).is_some_and(|v| v == value));
    labels_match
        && selector.match_expressions.iter().flatten().all(|expression| {
            let value = labels.get(&expression.key);
            let values = expression.values.as_deref().unwrap_or_default();
            match expression.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// One object-and-namespace selector pair of a ProwInstance.
#[derive(Clone, Copy, Debug)]
pub struct Selection<'a> {
    /// The instance's namespace.
    pub namespace: &'a str,
    /// Which objects, by label; all when unset.
    pub objects: Option<&'a LabelSelector>,
    /// Which namespaces, by label; the instance's own when unset.
    pub namespaces: Option<&'a LabelSelector>,
}

impl Selection<'_> {
    /// Whether an object with `meta` is selected, given the labels of its namespace (empty when
    /// the namespace is unknown).
    pub fn selects(&self, meta: &ObjectMeta, namespace_labels: &BTreeMap<String, String>) -> bool {
        let namespace = meta.namespace.as_deref().unwrap_or("default");
        let namespace_ok = match self.namespaces {
            None => namespace == self.namespace,
            Some(selector) => matches(selector, namespace_labels),
        };
        let empty = BTreeMap::new();
        let labels = meta.labels.as_ref().unwrap_or(&empty);
        namespace_ok && self.objects.is_none_or(|selector| matches(selector, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn label_selector_operators() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("team", "ci")])),
            match_expressions: Some(vec![
                expression("tier", "In", &["a", "b"]),
                expression("env", "NotIn", &["prod"]),
                expression("owner", "Exists", &[]),
                expression("legacy", "DoesNotExist", &[]),
            ]),
        };
        assert!(matches(
            &selector,
            &labels(&[("team", "ci"), ("tier", "a"), ("owner", "x")])
        ));
        assert!(!matches(
            &selector,
            &labels(&[("team", "ci"), ("tier", "c"), ("owner", "x")])
        ));
        assert!(!matches(
            &selector,
            &labels(&[("team", "ci"), ("tier", "a"), ("owner", "x"), ("env", "prod")])
        ));
        assert!(!matches(&selector, &labels(&[("team", "ci"), ("tier", "a")])));
        assert!(!matches(
            &selector,
            &labels(&[("team", "ci"), ("tier", "a"), ("owner", "x"), ("legacy", "1")])
        ));
        assert!(matches(&LabelSelector::default(), &labels(&[])));
    }

    #[test]
    fn namespace_selection() {
        let meta = |ns: &str| ObjectMeta {
            namespace: Some(ns.into()),
            ..ObjectMeta::default()
        };
        let own = Selection {
            namespace: "prow",
            objects: None,
            namespaces: None,
        };
        assert!(own.selects(&meta("prow"), &BTreeMap::new()));
        assert!(!own.selects(&meta("other"), &BTreeMap::new()));
        let everywhere = LabelSelector::default();
        let all = Selection {
            namespace: "prow",
            objects: None,
            namespaces: Some(&everywhere),
        };
        assert!(all.selects(&meta("other"), &BTreeMap::new()));
        let teams = LabelSelector {
            match_labels: Some(labels(&[("prow", "yes")])),
            match_expressions: None,
        };
        let some = Selection {
            namespace: "prow",
            objects: None,
            namespaces: Some(&teams),
        };
        assert!(some.selects(&meta("team-a"), &labels(&[("prow", "yes")])));
        assert!(
            !some.selects(&meta("prow"), &BTreeMap::new()),
            "a namespace selector replaces the default"
        );
    }
}
