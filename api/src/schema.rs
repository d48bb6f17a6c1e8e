//! The API server's OpenAPI validation of custom resources, offline: types, required fields,
//! enums, patterns, lengths and bounds, against our CRDs' schemas. It names the exact field path
//! of every problem, which serde cannot do through flattened structs. CEL rules are not evaluated
//! here; `check` states the same invariants.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// A value that breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaProblem {
    /// The field path, such as `spec.periodics[0].max_concurrency`.
    pub path: String,
    /// Which rule it breaks.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
}

/// The schema rule a value breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// `null` where the schema does not allow it (upstream's loader reads it as the zero value).
    Null,
    /// A value of the wrong type.
    Type,
    /// A value outside an enum.
    Enum,
    /// A string too short or too long.
    Length,
    /// A string not matching its pattern.
    Pattern,
    /// A number out of bounds.
    Bound,
    /// A list or mapping with more entries than its bound.
    Size,
    /// A required field missing.
    Required,
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Our CRDs as `crds/` holds them: what the API server validates against. `crds_fresh` keeps them
/// equal to what the types generate (with the `resource` feature).
const CRDS: [&str; 5] = [
    include_str!("../../crds/operator.prow.dev_prowinstances.yaml"),
    include_str!("../../crds/operator.prow.dev_jobconfigs.yaml"),
    include_str!("../../crds/operator.prow.dev_pluginconfigs.yaml"),
    include_str!("../../crds/operator.prow.dev_labelsets.yaml"),
    include_str!("../../crds/prow.k8s.io_prowjobs.yaml"),
];

/// The OpenAPI schema of one of our CRDs, by kind (`ProwInstance`, `JobConfig`, `PluginConfig`,
/// `LabelSet`, `ProwJob`).
pub fn of_kind(kind: &str) -> Option<&'static Value> {
    static SCHEMAS: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            CRDS.iter()
                .filter_map(|text| {
                    let crd: CustomResourceDefinition = serde_saphyr::from_str(text).ok()?;
                    let schema = crd
                        .spec
                        .versions
                        .first()?
                        .schema
                        .as_ref()?
                        .open_api_v3_schema
                        .as_ref()?;
                    Some((crd.spec.names.kind.clone(), serde_json::to_value(schema).ok()?))
                })
                .collect()
        })
        .get(kind)
}

/// Validates `value` against `schema`; paths start with `root` (empty for a whole object).
pub fn validate(schema: &Value, value: &Value, root: &str) -> Vec<SchemaProblem> {
    let mut problems = Vec::new();
    walk(schema, value, root, &mut problems);
    problems
}

fn walk(schema: &Value, value: &Value, path: &str, problems: &mut Vec<SchemaProblem>) {
    let here = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && !path.is_empty() {
            problems.push(problem(here, ProblemKind::Null, "must not be null".to_string()));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            problems.push(problem(
                here,
                ProblemKind::Type,
                "must be an integer or a string".to_string(),
            ));
        }
        return;
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            problems.push(problem(
                here,
                ProblemKind::Type,
                format!("must be of type {kind}, not {}", type_name(value)),
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problems.push(problem(
            here,
            ProblemKind::Enum,
            format!("{value} is not one of {}", Value::Array(allowed.clone())),
        ));
    }
    if let Some(text) = value.as_str() {
        check_string(schema, text, here, problems);
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            problems.push(problem(
                here,
                ProblemKind::Bound,
                format!("{number} is less than the minimum {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            problems.push(problem(
                here,
                ProblemKind::Bound,
                format!("{number} is greater than the maximum {max}"),
            ));
        }
    }
    // An object's entries against `maxProperties`, a list's items against `maxItems`.
    let counted = match value {
        Value::Object(object) => Some((object.len(), "maxProperties", "entries")),
        Value::Array(array) => Some((array.len(), "maxItems", "items")),
        _ => None,
    };
    if let Some((count, keyword, noun)) = counted
        && let Some(max) = schema.get(keyword).and_then(Value::as_u64)
        && count as u64 > max
    {
        problems.push(problem(
            here,
            ProblemKind::Size,
            format!("has {count} {noun}, more than the {max} the API server accepts; split them over several objects"),
        ));
    }
    if let Some(object) = value.as_object() {
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str()
                && !object.contains_key(name)
            {
                problems.push(problem(
                    here,
                    ProblemKind::Required,
                    format!("missing required field {name:?}"),
                ));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        for (key, item) in object {
            if let Some(property) = properties.and_then(|p| p.get(key)) {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(property, item, &child, problems);
            } else if let Some(additional) = additional {
                walk(additional, item, &format!("{path}[{key:?}]"), problems);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            walk(items, item, &format!("{path}[{index}]"), problems);
        }
    }
}

/// Turns booleans and numbers found where the schema wants a string into strings, as upstream's
/// YAML loader (sigs.k8s.io/yaml) does when it reads a scalar into a string field: `true`,
/// `10`, `1.5`. Used on upstream files; objects sent to the API server get no such leniency.
pub fn coerce_scalars_to_strings(schema: &Value, value: &mut Value) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Bool(_) | Value::Number(_) if schema.get("type").and_then(Value::as_str) == Some("string") => {
            // The text sigs.k8s.io/yaml gives it (`1e6` is "1e+06").
            let mut text = Value::Null;
            std::mem::swap(&mut text, value);
            *value = match crate::yaml::from_value::<String>(text.clone()) {
                Ok(read) => Value::String(read),
                Err(_) => text,
            };
        }
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, item) in object.iter_mut() {
                if let Some(property) = properties.and_then(|p| p.get(key)).or(additional) {
                    coerce_scalars_to_strings(property, item);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items
                    .iter_mut()
                    .for_each(|item| coerce_scalars_to_strings(item_schema, item));
            }
        }
        _ => {}
    }
}

fn check_string(schema: &Value, text: &str, here: &str, problems: &mut Vec<SchemaProblem>) {
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        problems.push(problem(
            here,
            ProblemKind::Length,
            format!("{text:?} is shorter than {min} characters"),
        ));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        problems.push(problem(
            here,
            ProblemKind::Length,
            format!("the value is longer than {max} characters ({length})"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Some(regex) = compiled(pattern)
        && !regex.is_match(text)
    {
        problems.push(problem(
            here,
            ProblemKind::Pattern,
            format!("{text:?} does not match pattern {pattern}"),
        ));
    }
}

/// The schemas' patterns, compiled once. A pattern the regex engine cannot compile checks nothing.
fn compiled(pattern: &str) -> Option<regex::Regex> {
    static PATTERNS: OnceLock<Mutex<BTreeMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let mut patterns = PATTERNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    patterns
        .entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(pattern).ok())
        .clone()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn problem(path: &str, kind: ProblemKind, message: String) -> SchemaProblem {
    SchemaProblem {
        path: path.to_string(),
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(feature = "resource")]
    #[test]
    fn the_committed_schemas_are_the_generated_ones() {
        let crds = crate::crd::all();
        assert_eq!(crds.len(), CRDS.len());
        for crd in crds {
            let version = &crd.spec.versions[0];
            let generated = serde_json::to_value(version.schema.as_ref().unwrap().open_api_v3_schema.as_ref().unwrap());
            assert_eq!(
                of_kind(&crd.spec.names.kind),
                Some(&generated.unwrap()),
                "{}",
                crd.spec.names.kind
            );
        }
    }

    #[test]
    fn names_the_field_path_of_each_problem() {
        let schema = of_kind("JobConfig").unwrap();
        let object = json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig", "metadata": {"name": "j"},
            "spec": {"presubmits": {"org/repo": [{"name": "a b", "max_concurrency": "many"}]}, "periodics": [{"name": "p", "retry": {"attempts": 11}}]}
        });
        let problems: Vec<String> = validate(schema, &object, "").iter().map(ToString::to_string).collect();
        assert!(
            problems.contains(
                &"spec.presubmits[\"org/repo\"][0].name: \"a b\" does not match pattern ^[A-Za-z0-9-._/]+$".to_string()
            ),
            "{problems:?}"
        );
        assert!(
            problems.contains(
                &"spec.presubmits[\"org/repo\"][0].max_concurrency: must be of type integer, not a string".to_string()
            ),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"spec.periodics[0].retry.attempts: 11 is greater than the maximum 10".to_string()),
            "{problems:?}"
        );
    }

    #[test]
    fn coerces_scalars_into_string_fields_only() {
        let schema = of_kind("JobConfig").unwrap().pointer("/properties/spec").unwrap();
        let mut jobs = json!({"periodics": [{
            "name": "p", "interval": "1h", "max_concurrency": 2,
            "labels": {"a": true, "b": 10}, "annotations": {"c": 1.5},
            "spec": {"containers": [{"name": 1}]}
        }]});
        coerce_scalars_to_strings(schema, &mut jobs);
        let job = &jobs["periodics"][0];
        assert_eq!(job["labels"], json!({"a": "true", "b": "10"}));
        assert_eq!(job["annotations"]["c"], "1.5");
        assert_eq!(job["max_concurrency"], 2, "integer fields keep integers");
        assert_eq!(
            job["spec"]["containers"][0]["name"], 1,
            "schemaless parts are left alone"
        );
    }

    #[test]
    fn required_fields_and_enums() {
        let schema = of_kind("LabelSet").unwrap();
        let object = json!({"spec": {"default": {"labels": [{"color": "red"}]}}});
        let problems: Vec<String> = validate(schema, &object, "").iter().map(ToString::to_string).collect();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("spec.default.labels[0]: missing required field \"name\"")),
            "{problems:?}"
        );
        let schema = of_kind("JobConfig").unwrap();
        let object = json!({"spec": {"periodics": [{"name": "p", "interval": "1h",
            "decoration_config": {"gcs_configuration": {"path_strategy": "flat"}}}]}});
        let problems: Vec<String> = validate(schema, &object, "").iter().map(ToString::to_string).collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("path_strategy: \"flat\" is not one of")),
            "{problems:?}"
        );
    }
}
