//! The generated CRDs are structural, small enough for a client-side apply, and carry the names,
//! categories and columns DESIGN.md asks for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use prow_api::crd;
use serde_json::Value;

/// Kubernetes refuses a client-side apply whose last-applied annotation passes 256 KiB.
const MAX_CRD_BYTES: usize = 256 * 1024;

/// Walks every schema node and records where it breaks the structural-schema rules.
fn structural_problems(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(object) = node.as_object() else {
        problems.push(format!("{path}: schema node is not an object"));
        return;
    };
    if object.contains_key("$ref") {
        problems.push(format!("{path}: has $ref"));
    }
    let int_or_string = object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if !object.contains_key("type") && !int_or_string && !preserve {
        problems.push(format!("{path}: has no type"));
    }
    if object.contains_key("properties")
        && object
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
    {
        problems.push(format!("{path}: has both properties and additionalProperties"));
    }
    for (key, child) in object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        structural_problems(child, &format!("{path}.{key}"), problems);
    }
    if let Some(items) = object.get("items") {
        structural_problems(items, &format!("{path}[]"), problems);
    }
    if let Some(additional) = object.get("additionalProperties").filter(|a| a.is_object()) {
        structural_problems(additional, &format!("{path}{{}}"), problems);
    }
    for junctor in ["allOf", "anyOf", "oneOf", "not"] {
        let branches: Vec<&Value> = match object.get(junctor) {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            _ => continue,
        };
        for branch in branches {
            junctor_problems(branch, &format!("{path}.{junctor}"), problems);
        }
    }
}

/// Inside a junctor, no node may set type, default or description (or nullable).
fn junctor_problems(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(object) = node.as_object() else { return };
    for forbidden in ["type", "default", "description", "nullable"] {
        if object.contains_key(forbidden) {
            problems.push(format!("{path}: sets {forbidden} inside a junctor"));
        }
    }
    for (key, child) in object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        junctor_problems(child, &format!("{path}.{key}"), problems);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get(key).filter(|c| c.is_object()) {
            junctor_problems(child, &format!("{path}.{key}"), problems);
        }
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for branch in object.get(junctor).and_then(Value::as_array).into_iter().flatten() {
            junctor_problems(branch, &format!("{path}.{junctor}"), problems);
        }
    }
}

#[test]
fn every_crd_is_structural() {
    for definition in crd::all() {
        let mut problems = Vec::new();
        structural_problems(&support::crd_schema(&definition), "", &mut problems);
        assert!(
            problems.is_empty(),
            "{} is not structural:\n{}",
            crd::file_name(&definition),
            problems.join("\n")
        );
    }
}

#[test]
fn structural_check_catches_violations() {
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "both": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "ref": {"$ref": "#/definitions/x", "type": "object"},
            "junctor": {"type": "string", "anyOf": [{"type": "integer"}]}
        }
    });
    let mut problems = Vec::new();
    structural_problems(&bad, "", &mut problems);
    for expected in [
        ".untyped: has no type",
        ".both: has both",
        ".ref: has $ref",
        ".junctor.anyOf: sets type",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "missing {expected:?} in {problems:?}"
        );
    }
}

#[test]
fn every_crd_fits_a_client_side_apply() {
    for definition in crd::all() {
        let text = crd::to_yaml(&definition).unwrap();
        let json = serde_json::to_vec(&definition).unwrap();
        assert!(
            text.len() < MAX_CRD_BYTES,
            "{} is {} bytes of YAML",
            crd::file_name(&definition),
            text.len()
        );
        assert!(
            json.len() < MAX_CRD_BYTES,
            "{} is {} bytes of JSON",
            crd::file_name(&definition),
            json.len()
        );
    }
}

#[test]
fn our_kinds_share_conventions() {
    let builtin_short_names = [
        "cm", "cs", "csr", "ds", "deploy", "ep", "ev", "hpa", "ing", "limits", "netpol", "no", "ns", "pdb", "pc", "po",
        "psp", "pv", "pvc", "quota", "rc", "rs", "sa", "sc", "sts", "svc", "crd", "crds", "cj", "ingclass",
    ];
    for definition in crd::all() {
        let names = &definition.spec.names;
        let file = crd::file_name(&definition);
        assert_eq!(
            names.categories.as_deref(),
            Some(&["prow".to_string()][..]),
            "{file}: category"
        );
        for short in names.short_names.iter().flatten() {
            assert!(
                !builtin_short_names.contains(&short.as_str()),
                "{file}: short name {short} clashes"
            );
            assert_ne!(
                short, "prow",
                "{file}: a short name equal to the category makes `kubectl get prow` ambiguous"
            );
        }
        assert_eq!(definition.spec.scope, "Namespaced", "{file}");
        if definition.spec.group != "operator.prow.dev" {
            continue;
        }
        let version = &definition.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        let has_status = version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some();
        assert!(has_status, "{file}: needs the /status subresource");
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        for wanted in ["Ready", "Status", "Age"] {
            assert!(
                columns.contains(&wanted),
                "{file}: printer column {wanted} missing from {columns:?}"
            );
        }
        let schema = support::crd_schema(&definition);
        let status = &schema["properties"]["status"]["properties"];
        assert!(
            status["observedGeneration"].is_object(),
            "{file}: status.observedGeneration"
        );
        let condition = &status["conditions"]["items"]["properties"];
        for field in [
            "type",
            "status",
            "reason",
            "message",
            "lastTransitionTime",
            "observedGeneration",
        ] {
            assert!(condition[field].is_object(), "{file}: conditions lack {field}");
        }
        assert!(
            schema["properties"]["spec"]["description"]
                .as_str()
                .is_some_and(|d| d.len() > 20),
            "{file}: spec needs a description for kubectl explain"
        );
    }
}
