//! The labels and annotations of ProwJobs, named and sanitised as upstream does.

use std::collections::BTreeMap;

use prow_api::{ProwJobSpec, ProwJobType};

/// `created-by-prow: "true"` marks everything Prow creates.
pub const CREATED_BY_PROW: &str = "created-by-prow";
/// The job's name (a label, truncated; and an annotation, in full).
pub const JOB: &str = "prow.k8s.io/job";
/// The job's type.
pub const TYPE: &str = "prow.k8s.io/type";
/// The job's GitHub context (a label, truncated; and an annotation, in full).
pub const CONTEXT: &str = "prow.k8s.io/context";
/// The org of the job's repository.
pub const ORG: &str = "prow.k8s.io/refs.org";
/// The job's repository.
pub const REPO: &str = "prow.k8s.io/refs.repo";
/// The job's base ref.
pub const BASE_REF: &str = "prow.k8s.io/refs.base_ref";
/// The number of the job's first pull request.
pub const PULL: &str = "prow.k8s.io/refs.pull";
/// Whether a presubmit is optional.
pub const IS_OPTIONAL: &str = "prow.k8s.io/is-optional";
/// Set on ProwJobs started by `/retest`.
pub const RETEST: &str = "prow.k8s.io/retest";
/// The GitHub delivery that caused the job.
pub const EVENT_GUID: &str = "event-GUID";
/// The label naming a pod's ProwJob.
pub const PROWJOB_ID: &str = "prow.k8s.io/id";
/// The pod label holding the run's build id.
pub const BUILD_ID: &str = "prow.k8s.io/build-id";

/// The labels and annotations of a ProwJob with `spec`: upstream's own, then `extra_labels`
/// (such as `event-GUID`), then the job's labels and annotations, which take precedence. Label
/// values are sanitised (see [`sanitize_label_value`]); annotations keep the full text.
pub fn metadata(
    spec: &ProwJobSpec,
    extra_labels: &BTreeMap<String, String>,
    job_labels: Option<&BTreeMap<String, String>>,
    job_annotations: Option<&BTreeMap<String, String>>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = BTreeMap::from([
        (CREATED_BY_PROW.to_string(), "true".to_string()),
        (TYPE.to_string(), spec.job_type.as_str().to_string()),
        (JOB.to_string(), truncate_label_value(&spec.job)),
        (
            CONTEXT.to_string(),
            truncate_label_value(spec.context.as_deref().unwrap_or_default()),
        ),
    ]);
    let refs = match spec.job_type {
        ProwJobType::Periodic => spec.extra_refs.as_ref().and_then(|r| r.first()),
        _ => spec
            .refs
            .as_ref()
            .or_else(|| spec.extra_refs.as_ref().and_then(|r| r.first())),
    };
    if let Some(refs) = refs {
        labels.insert(ORG.to_string(), refs.org.clone());
        labels.insert(REPO.to_string(), refs.repo.clone());
        labels.insert(BASE_REF.to_string(), refs.base_ref.clone().unwrap_or_default());
        if let Some(pull) = refs.pulls.as_ref().and_then(|p| p.first()) {
            labels.insert(PULL.to_string(), pull.number.to_string());
        }
    }
    labels.extend(extra_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.extend(job_labels.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    let labels = labels
        .into_iter()
        .filter_map(|(key, value)| sanitize_label_value(&value).map(|v| (key, v)))
        .collect();

    let mut annotations = BTreeMap::from([
        (JOB.to_string(), spec.job.clone()),
        (CONTEXT.to_string(), spec.context.clone().unwrap_or_default()),
    ]);
    annotations.extend(
        job_annotations
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    (labels, annotations)
}

/// Whether `value` is a valid Kubernetes label value: at most 63 characters, empty or
/// alphanumeric at both ends with `-`, `_` and `.` inside.
pub fn is_valid_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() > 63 {
        return false;
    }
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => true,
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
    }
}

/// Upstream's cut of the job and context labels (only those): a value over 63 characters is cut
/// to 63 and stripped of trailing `.`, `_` and `-`; [`sanitize_label_value`] then applies to what
/// is left.
pub fn truncate_label_value(value: &str) -> String {
    if value.len() <= 63 {
        return value.to_string();
    }
    let mut cut: String = value.chars().take(63).collect();
    while cut.ends_with(['.', '_', '-']) {
        cut.pop();
    }
    cut
}

/// Upstream's label validation: an invalid value is replaced by its last path element
/// (`release/1.0` → `1.0`); a value invalid even then is dropped (`None`).
pub fn sanitize_label_value(value: &str) -> Option<String> {
    if is_valid_label_value(value) {
        return Some(value.to_string());
    }
    let base = value.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    is_valid_label_value(base).then(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sanitizes_as_upstream() {
        assert_eq!(sanitize_label_value("main").as_deref(), Some("main"));
        assert_eq!(sanitize_label_value("release/1.0").as_deref(), Some("1.0"));
        let long = format!("{}-x", "a".repeat(62));
        assert_eq!(truncate_label_value(&long), "a".repeat(62));
        assert_eq!(sanitize_label_value(&long), None);
        assert_eq!(sanitize_label_value("feature/bad value"), None);
        assert_eq!(sanitize_label_value("").as_deref(), Some(""));
    }

    #[test]
    fn a_long_job_name_is_cut_before_its_last_path_element_is_taken() {
        let job = "pingcap/ticdc/pull_cdc_mysql_integration_heavy_next_gen_legacy_safepoint";
        let spec: ProwJobSpec =
            serde_json::from_value(serde_json::json!({"type": "periodic", "job": job})).expect("a ProwJob spec");
        let (labels, annotations) = metadata(&spec, &BTreeMap::new(), None, None);
        // Upstream: cut to 63 and trimmed ("…next_gen_legacy"), still invalid ('/'), so its base.
        assert_eq!(labels[JOB], "pull_cdc_mysql_integration_heavy_next_gen_legacy");
        assert_eq!(annotations[JOB], job);
    }

    #[test]
    fn only_the_job_and_context_labels_are_cut() {
        let long = "a".repeat(70);
        let spec: ProwJobSpec =
            serde_json::from_value(serde_json::json!({"type": "periodic", "job": "j"})).expect("a ProwJob spec");
        let extra = BTreeMap::from([("extra".to_string(), long)]);
        let (labels, _) = metadata(&spec, &extra, None, None);
        assert!(!labels.contains_key("extra"), "{labels:?}");
    }

    proptest! {
        #[test]
        fn sanitized_values_are_always_valid(value in "[ -~]{0,100}") {
            if let Some(clean) = sanitize_label_value(&value) {
                prop_assert!(is_valid_label_value(&clean));
            }
        }
    }
}
