//! Helpers shared by the API tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared`, beside the workspace, where the corpus and upstream files live.
pub fn shared() -> PathBuf {
    let shared = workspace().join("../shared");
    assert!(
        shared.is_dir(),
        "{} not found: the tests read ../shared beside the checkout",
        shared.display()
    );
    shared
}

/// Every `.yaml`/`.yml` file below `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The OpenAPI schema of a CRD's first version, as JSON.
pub fn crd_schema(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Value {
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("every CRD has a schema");
    serde_json::to_value(schema).expect("schemas serialise")
}

/// Rewrites the CEL rules of a schema into kube-cel's field spelling.
///
/// The API server escapes only `__`, `.`, `-`, `/` and reserved words in property names
/// (`apiserver/pkg/cel/escaping.go`), so `self.run_if_changed` is how a rule reads that field.
/// kube-cel 0.8 escapes every single `_` as `__` when it converts an object, so there the same
/// field is `self.run__if__changed`. Rewriting the field accesses of the rules (never their
/// string literals, which hold no `.name` of ours) lets kube-cel evaluate the rules the API server
/// will run, unchanged in meaning.
pub fn with_kube_cel_field_spelling(schema: &mut Value) {
    let access = regex::Regex::new(r"\.([A-Za-z_][A-Za-z0-9_]*)").expect("valid regex");
    match schema {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "x-kubernetes-validations" {
                    for rule in child.as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(text)) = rule.get_mut("rule") {
                            *text = access
                                .replace_all(text, |c: &regex::Captures| format!(".{}", c[1].replace('_', "__")))
                                .into_owned();
                        }
                    }
                } else {
                    with_kube_cel_field_spelling(child);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(with_kube_cel_field_spelling),
        _ => {}
    }
}
