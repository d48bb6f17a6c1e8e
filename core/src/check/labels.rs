//! Kubernetes label and annotation syntax, and the label keys Prow reserves for itself.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Findings, key as map_key, rule};

/// Label keys Prow sets on every ProwJob and pod; a job may not set them.
pub(crate) const RESERVED_LABELS: [&str; 3] = ["prow.k8s.io/type", "created-by-prow", "prow.k8s.io/id"];

/// The longest label value, and the longest name part of a key.
const MAX_NAME: usize = 63;
/// The longest key prefix (a DNS subdomain).
const MAX_PREFIX: usize = 253;

static NAME: LazyLock<Regex> =
    LazyLock::new(|| crate::patterns::literal(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"));
static SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| crate::patterns::literal(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));

/// Why `key` is not a Kubernetes qualified name (`[prefix/]name`), if it is not.
pub(crate) fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Some("the prefix before '/' is empty".to_string());
        }
        if prefix.len() > MAX_PREFIX {
            return Some(format!("the prefix is longer than {MAX_PREFIX} characters"));
        }
        if !SUBDOMAIN.is_match(prefix) {
            return Some(format!(
                "the prefix {prefix:?} is not a DNS subdomain (lowercase letters, digits, '-' and '.')"
            ));
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".to_string());
    }
    if name.len() > MAX_NAME {
        return Some(format!("the name part is longer than {MAX_NAME} characters"));
    }
    if !NAME.is_match(name) {
        return Some(format!(
            "the name part {name:?} must be letters, digits, '-', '_' or '.', and start and end with a letter or digit"
        ));
    }
    None
}

/// Why `value` is not a valid label value, if it is not.
pub(crate) fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > MAX_NAME {
        return Some(format!("it is longer than {MAX_NAME} characters"));
    }
    if !crate::job_labels::is_valid_label_value(value) {
        return Some(
            "it must be letters, digits, '-', '_' or '.', and start and end with a letter or digit".to_string(),
        );
    }
    None
}

/// Checks a job's `labels`.
pub(crate) fn check_labels(labels: &BTreeMap<String, String>, path: &str, findings: &mut Findings) {
    for (key, value) in labels {
        let at = map_key(path, key);
        if RESERVED_LABELS.contains(&key.as_str()) {
            findings.error(
                &at,
                rule::RESERVED,
                format!("label {key:?} is set by Prow on every ProwJob and pod; remove it from the job"),
            );
        }
        if let Some(problem) = qualified_name_problem(key) {
            findings.error(
                &at,
                rule::LABELS,
                format!("label key {key:?} is not a valid Kubernetes label key: {problem}"),
            );
        }
        if let Some(problem) = label_value_problem(value) {
            findings.error(
                &at,
                rule::LABELS,
                format!("label value {value:?} of {key:?} is not a valid Kubernetes label value: {problem}"),
            );
        }
    }
}

/// Checks a job's `annotations` (keys only; values are free).
pub(crate) fn check_annotations(annotations: &BTreeMap<String, String>, path: &str, findings: &mut Findings) {
    for key in annotations.keys() {
        if let Some(problem) = qualified_name_problem(key) {
            findings.error(
                map_key(path, key),
                rule::LABELS,
                format!("annotation key {key:?} is not a valid Kubernetes annotation key: {problem}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "app",
            "preset-dind-enabled",
            "testgrid-dashboards",
            "prow.k8s.io/job",
            "a.b/c_d.e",
            "A9",
        ] {
            assert_eq!(qualified_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "/x",
            "x/",
            "-a",
            "a-",
            "Prow.K8s.io/x",
            "a/b/c",
            &"x".repeat(64),
            "with space",
        ] {
            assert!(qualified_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn label_values() {
        for ok in ["", "true", "a.b-c_d", &"x".repeat(63)] {
            assert_eq!(label_value_problem(ok), None, "{ok}");
        }
        for bad in [&"x".repeat(64), "-a", "a b", "a/b"] {
            assert!(label_value_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn job_labels_and_annotations() {
        let mut findings = Findings::default();
        check_labels(
            &labels(&[
                ("preset-x", "true"),
                ("created-by-prow", "true"),
                ("bad key", "v"),
                ("k", "bad value"),
            ]),
            "spec.periodics[0].labels",
            &mut findings,
        );
        check_annotations(
            &labels(&[("testgrid-dashboards", "any value / at all"), ("-bad", "")]),
            "spec.periodics[0].annotations",
            &mut findings,
        );
        let findings = findings.into_vec();
        let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.periodics[0].labels[\"bad key\"]",
                "spec.periodics[0].labels[\"created-by-prow\"]",
                "spec.periodics[0].labels[\"k\"]",
                "spec.periodics[0].annotations[\"-bad\"]",
            ]
        );
        assert_eq!(findings[1].rule.as_deref(), Some("reserved-name"));
    }
}
