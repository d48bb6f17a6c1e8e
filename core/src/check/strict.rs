//! Strict reading of embedded Kubernetes objects (PodSpecs, env vars, volumes, …).
//!
//! The CRDs keep these schemaless, so the checker reads the raw value against the typed
//! Kubernetes model itself, as upstream Prow reads it ([`prow_api::yaml::coerce`]: `value: 0` in
//! an env var is the string "0", `NAME:` sets `name`). A field the model does not have is an
//! `unknown-fields` warning with its path (found with `serde_ignored`): upstream ignores it, and
//! its checkconfig reports it only when asked (`unknown-fields-all`). A value of the wrong type
//! is an error at its path (found with `serde_path_to_error`).
//!
//! The YAML reader resolves plain scalars as upstream's YAML 1.1 reader does (`defaultMode:
//! 0555` is the integer 365), so the raw value is read as it is.

use prow_api::yaml::Coercing;

use crate::ignored::{Segment, segments_of};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Findings, field, item, rule};

/// Reads `raw` as a `T`, reporting unknown fields and type errors below `path`. `kind` names the
/// type in messages (`PodSpec`, `EnvVar`). Returns the typed value when it reads.
pub(crate) fn read<T: DeserializeOwned>(raw: &Value, path: &str, kind: &str, findings: &mut Findings) -> Option<T> {
    let mut unknown: Vec<Vec<Segment>> = Vec::new();
    let mut read = raw.clone();
    let result: Result<T, _> =
        serde_ignored::deserialize(Coercing::new(&mut read), |ignored| unknown.push(segments_of(&ignored)));
    for segments in unknown {
        let (at, name) = match segments.split_last() {
            Some((Segment::Key(name), parent)) => (render(path, parent), name.clone()),
            _ => (path.to_string(), String::new()),
        };
        findings.warning(
            render(path, &segments),
            rule::UNKNOWN_FIELDS,
            format!(
                "{kind} at {at} has no field {name:?}; upstream Prow ignores it and Kubernetes drops it: check its spelling (fields are camelCase) and level, or remove it"
            ),
        );
    }
    match result {
        Ok(value) => Some(value),
        Err(_) => {
            let mut read = raw.clone();
            let error = match serde_path_to_error::deserialize::<_, T>(Coercing::new(&mut read)) {
                Ok(_) => return None,
                Err(error) => error,
            };
            findings.error(
                render(path, &error_segments(error.path())),
                rule::INVALID_VALUE,
                format!("not a valid {kind}: {}", error.inner()),
            );
            None
        }
    }
}

/// Reads `raw` as a `T` without reporting anything (as [`read`] would accept it).
pub(crate) fn parse<T: DeserializeOwned>(raw: &Value) -> Option<T> {
    prow_api::yaml::from_value(raw.clone()).ok()
}

fn error_segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    path.iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Segment::Index(*index),
            serde_path_to_error::Segment::Map { key } => Segment::Key(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => Segment::Key(variant.clone()),
            serde_path_to_error::Segment::Unknown => Segment::Key("?".to_string()),
        })
        .collect()
}

fn render(root: &str, segments: &[Segment]) -> String {
    segments.iter().fold(root.to_string(), |path, segment| match segment {
        Segment::Key(key) => field(&path, key),
        Segment::Index(index) => item(&path, *index),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EnvVar, PodSpec};
    use prow_api::status::Severity;
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_unknown_fields_with_their_paths() {
        let raw = json!({
            "containers": [
                {"name": "a", "image": "x"},
                {"name": "b", "image": "y", "env": [{"name": "A", "value": "1"}, {"name": "B", "valu": "2"}], "imagePullPolice": "Always"}
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "serviceAcountName": "x"
        });
        let mut findings = Findings::default();
        let spec: Option<PodSpec> = read(&raw, "spec.presubmits[\"o/r\"][0].spec", "PodSpec", &mut findings);
        assert!(spec.is_some());
        let paths: Vec<String> = findings.into_vec().into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "spec.presubmits[\"o/r\"][0].spec.containers[1].env[1].valu",
                "spec.presubmits[\"o/r\"][0].spec.containers[1].imagePullPolice",
                "spec.presubmits[\"o/r\"][0].spec.serviceAcountName",
            ]
        );
    }

    #[test]
    fn reports_type_errors_with_their_paths() {
        // A number would be read as its text, as upstream does; a list is no string.
        let raw = json!({"containers": [{"name": "a", "env": [{"name": "A", "value": [1]}]}]});
        let mut findings = Findings::default();
        let spec: Option<PodSpec> = read(&raw, "spec", "PodSpec", &mut findings);
        assert!(spec.is_none());
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "spec.containers[0].env[0].value");
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].rule.as_deref(), Some("invalid-value"));
    }

    #[test]
    fn accepts_valid_objects_and_numbers_as_quantities() {
        let raw = json!({"containers": [{"name": "a", "image": "x", "resources": {"requests": {"cpu": 2, "memory": "1Gi"}}}]});
        let mut findings = Findings::default();
        let spec: Option<PodSpec> = read(&raw, "spec", "PodSpec", &mut findings);
        assert!(spec.is_some());
        assert!(findings.into_vec().is_empty());
        let mut findings = Findings::default();
        let env: Option<EnvVar> = read(&json!({"name": "A"}), "spec.presets[0].env[0]", "EnvVar", &mut findings);
        assert!(env.is_some());
        assert!(findings.into_vec().is_empty());
    }

    #[test]
    fn reports_wrong_shapes() {
        let mut findings = Findings::default();
        let env: Option<EnvVar> = read(
            &json!({"name": "A", "valueFrom": "x"}),
            "spec.presets[0].env[0]",
            "EnvVar",
            &mut findings,
        );
        assert!(env.is_none());
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "spec.presets[0].env[0].valueFrom");
    }

    #[test]
    fn yaml_1_1_octal_modes_read_as_integers() {
        use k8s_openapi::api::core::v1::Volume;
        // The YAML reader gives the integer 365 for a plain `0555`, as upstream's does.
        let (raw, _) = prow_api::yaml::load_single("name: script\nconfigMap: {name: cm, defaultMode: 0555}\n").unwrap();
        let mut findings = Findings::default();
        let volume: Option<Volume> = read(&raw, "spec.volumes[0]", "Volume", &mut findings);
        assert!(findings.into_vec().is_empty());
        assert_eq!(
            volume.and_then(|v| v.config_map).and_then(|c| c.default_mode),
            Some(0o555)
        );
        // A string where an integer belongs is a type error at its path.
        let mut findings = Findings::default();
        let bad = json!({"name": "script", "configMap": {"defaultMode": "0555"}});
        assert!(read::<Volume>(&bad, "v", "Volume", &mut findings).is_none());
        assert_eq!(findings.into_vec()[0].path, "v.configMap.defaultMode");
    }

    #[test]
    fn env_values_read_as_upstream_reads_them_and_unknown_keys_only_warn() {
        use k8s_openapi::api::core::v1::EnvVar;
        use prow_api::status::Severity;
        // kubernetes' presets: `value: 0`, a YAML 1.1 boolean, a key in capitals.
        let (raw, _) =
            prow_api::yaml::load_single("- {name: X, value: 0}\n- {name: B, value: y}\n- {NAME: C, value: 1e6}\n")
                .unwrap();
        let mut findings = Findings::default();
        let env: Option<Vec<EnvVar>> = read(&raw, "spec.presets[0].env", "EnvVar", &mut findings);
        assert!(findings.into_vec().is_empty());
        let values: Vec<(String, Option<String>)> = env.unwrap().into_iter().map(|e| (e.name, e.value)).collect();
        assert_eq!(
            values,
            [
                ("X".to_string(), Some("0".to_string())),
                ("B".to_string(), Some("true".to_string())),
                ("C".to_string(), Some("1e+06".to_string())),
            ]
        );
        let mut findings = Findings::default();
        let env: Option<EnvVar> = read(&json!({"name": "A", "valu": "x"}), "e", "EnvVar", &mut findings);
        assert!(env.is_some());
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].severity, findings[0].rule.as_deref()),
            (Severity::Warning, Some(rule::UNKNOWN_FIELDS))
        );
    }
}
