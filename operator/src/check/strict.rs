//! Strict reading of embedded Kubernetes objects (PodSpecs, env vars, volumes, …).
//!
//! The CRDs keep these schemaless, so the checker reads the raw value against the typed
//! Kubernetes model itself: every field the model does not have is an `unknown-fields` error
//! with its path (found with `serde_ignored`), and a value of the wrong type is an error at its
//! path (found with `serde_path_to_error`).
//!
//! One leniency: upstream reads YAML 1.1, where `defaultMode: 0555` is an octal integer, and the
//! YAML reader here leaves such values as strings; where the model expects an integer, a string
//! written as a YAML 1.1 octal or hexadecimal integer is read as that integer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Findings, field, item, rule};

/// Reads `raw` as a `T`, reporting unknown fields and type errors below `path`. `kind` names the
/// type in messages (`PodSpec`, `EnvVar`). Returns the typed value when it reads.
pub(crate) fn read<T: DeserializeOwned>(raw: &Value, path: &str, kind: &str, findings: &mut Findings) -> Option<T> {
    let value = coerce::<T>(raw);
    let mut unknown: Vec<Vec<Segment>> = Vec::new();
    let result: Result<T, _> = serde_ignored::deserialize(&value, |ignored| unknown.push(segments_of(&ignored)));
    for segments in unknown {
        let (at, name) = match segments.split_last() {
            Some((Segment::Key(name), parent)) => (render(path, parent), name.clone()),
            _ => (path.to_string(), String::new()),
        };
        findings.error(
            render(path, &segments),
            rule::UNKNOWN_FIELDS,
            format!(
                "{kind} at {at} has no field {name:?}; Kubernetes and upstream Prow reject it: check its spelling (fields are camelCase) and level, or remove it"
            ),
        );
    }
    match result {
        Ok(value) => Some(value),
        Err(_) => {
            let error = match serde_path_to_error::deserialize::<_, T>(&value) {
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
    T::deserialize(&coerce::<T>(raw)).ok()
}

/// The most integers one value may need converted.
const MAX_COERCIONS: usize = 256;

/// `raw`, with the YAML 1.1 integers that the YAML reader left as strings (`defaultMode: 0555` is
/// octal 365 to upstream's YAML reader) turned into numbers wherever `T` expects an integer.
/// Only strings written like YAML 1.1 octal or hexadecimal integers are converted.
fn coerce<T: DeserializeOwned>(raw: &Value) -> Value {
    let mut value = raw.clone();
    for _ in 0..MAX_COERCIONS {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(_) => break,
            Err(error) => error,
        };
        let message = error.inner().to_string();
        let expects_integer = ["expected i", "expected u"].iter().any(|e| message.contains(e));
        if !message.starts_with("invalid type: string") || !expects_integer {
            break;
        }
        let segments = error_segments(error.path());
        let Some(slot) = lookup(&mut value, &segments) else {
            break;
        };
        let Some(number) = slot.as_str().and_then(yaml11_integer) else {
            break;
        };
        *slot = Value::from(number);
    }
    value
}

/// The value of a YAML 1.1 octal (`0555`, `0o555`) or hexadecimal (`0x1f`) integer.
fn yaml11_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = digits.replace('_', "");
    let parsed = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(octal) = digits.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        return None;
    };
    Some(if negative { -parsed } else { parsed })
}

fn lookup<'v>(value: &'v mut Value, segments: &[Segment]) -> Option<&'v mut Value> {
    segments.iter().try_fold(value, |current, segment| match segment {
        Segment::Key(key) => current.get_mut(key.as_str()),
        Segment::Index(index) => current.get_mut(*index),
    })
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

/// One step of a path inside an embedded object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments_of(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut current = path;
    loop {
        match current {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Segment::Index(*index));
                current = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Segment::Key(key.clone()));
                current = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => current = parent,
        }
    }
    out.reverse();
    out
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
        let raw = json!({"containers": [{"name": "a", "env": [{"name": "A", "value": 1}]}]});
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
    fn yaml11_octal_integers_are_read_as_upstream_reads_them() {
        use k8s_openapi::api::core::v1::Volume;
        let raw = json!({"name": "script", "configMap": {"name": "cm", "defaultMode": "0555", "items": [{"key": "k", "path": "p", "mode": "0o400"}]}});
        let mut findings = Findings::default();
        let volume: Option<Volume> = read(&raw, "spec.volumes[0]", "Volume", &mut findings);
        assert!(findings.into_vec().is_empty());
        let config_map = volume.and_then(|v| v.config_map).expect("config map");
        assert_eq!(config_map.default_mode, Some(0o555));
        assert_eq!(config_map.items.unwrap_or_default()[0].mode, Some(0o400));
        assert!(parse::<Volume>(&raw).is_some());
        // Anything else stays a type error.
        let mut findings = Findings::default();
        let bad = json!({"name": "script", "configMap": {"defaultMode": "rwx"}});
        assert!(read::<Volume>(&bad, "v", "Volume", &mut findings).is_none());
        assert_eq!(findings.into_vec()[0].path, "v.configMap.defaultMode");
        assert_eq!(yaml11_integer("0x1f"), Some(31));
        assert_eq!(yaml11_integer("-010"), Some(-8));
        assert_eq!(yaml11_integer("555"), None);
        assert_eq!(yaml11_integer("0"), None);
        assert_eq!(yaml11_integer("089"), None);
    }
}
