//! Our ProwJob CRD is compatible with upstream's: every property path under `spec` and `status`
//! in upstream's CRD exists in ours with the same type, or falls under a schemaless node of ours;
//! the printer columns and identity match.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use kube::CustomResourceExt;
use prow_api::ProwJob;
use serde_json::Value;

fn upstream_crd() -> Value {
    let path = support::shared().join("upstream/prowjob_customresourcedefinition.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (value, _) = prow_api::yaml::load_single(&text).expect("upstream CRD parses");
    value
}

fn schema_type(node: &Value) -> Option<&str> {
    if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return Some("int-or-string");
    }
    node.get("type").and_then(Value::as_str)
}

fn is_schemaless(node: &Value) -> bool {
    node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

/// Compares upstream's node with ours at `path`, descending through properties, items and maps.
fn compare(upstream: &Value, ours: &Value, path: &str, checked: &mut usize, problems: &mut Vec<String>) {
    *checked += 1;
    if is_schemaless(ours) {
        return;
    }
    let (theirs, mine) = (schema_type(upstream), schema_type(ours));
    if theirs != mine {
        problems.push(format!("{path}: upstream type {theirs:?}, ours {mine:?}"));
        return;
    }
    if let Some(properties) = upstream.get("properties").and_then(Value::as_object) {
        for (key, child) in properties {
            let child_path = format!("{path}.{key}");
            match ours.get("properties").and_then(|p| p.get(key)) {
                Some(our_child) => compare(child, our_child, &child_path, checked, problems),
                None => problems.push(format!("{child_path}: missing in ours")),
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = upstream.get(key).filter(|c| c.is_object()) {
            match ours.get(key).filter(|c| c.is_object()) {
                Some(our_child) => compare(child, our_child, &format!("{path}[{key}]"), checked, problems),
                None => problems.push(format!("{path}: upstream has {key}, ours has none")),
            }
        }
    }
}

#[test]
fn every_upstream_spec_and_status_path_exists_in_ours() {
    let upstream = upstream_crd();
    let upstream_schema = &upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let ours = support::crd_schema(&ProwJob::crd());
    let mut checked = 0;
    let mut problems = Vec::new();
    for root in ["spec", "status"] {
        compare(
            &upstream_schema["properties"][root],
            &ours["properties"][root],
            root,
            &mut checked,
            &mut problems,
        );
    }
    assert!(
        problems.is_empty(),
        "incompatible with upstream:\n{}",
        problems.join("\n")
    );
    assert!(checked > 150, "only {checked} nodes compared; the walk is broken");
}

#[test]
fn required_fields_and_enums_match() {
    let upstream = upstream_crd();
    let upstream_schema = &upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let ours = support::crd_schema(&ProwJob::crd());
    for (root, field) in [("spec", "type"), ("status", "state")] {
        assert_eq!(
            upstream_schema["properties"][root]["properties"][field]["enum"],
            ours["properties"][root]["properties"][field]["enum"],
            "{root}.{field} enum"
        );
    }
    let sorted = |v: &Value| {
        let mut names: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(String::from))
            .collect();
        names.sort();
        names
    };
    for root in ["spec", "status"] {
        assert_eq!(
            sorted(&upstream_schema["properties"][root]["required"]),
            sorted(&ours["properties"][root]["required"]),
            "{root}.required"
        );
    }
}

#[test]
fn identity_columns_and_annotation_match() {
    let upstream = upstream_crd();
    let ours = serde_json::to_value(prow_api::crd::all().pop().expect("ProwJob is last")).unwrap();
    assert_eq!(ours["metadata"]["name"], "prowjobs.prow.k8s.io");
    assert_eq!(
        ours["metadata"]["annotations"]["api-approved.kubernetes.io"],
        upstream["metadata"]["annotations"]["api-approved.kubernetes.io"]
    );
    for key in ["kind", "listKind", "plural", "singular"] {
        assert_eq!(
            ours["spec"]["names"][key], upstream["spec"]["names"][key],
            "names.{key}"
        );
    }
    assert_eq!(ours["spec"]["names"]["shortNames"], serde_json::json!(["pj"]));
    assert_eq!(ours["spec"]["names"]["categories"], serde_json::json!(["prow"]));
    assert_eq!(ours["spec"]["scope"], upstream["spec"]["scope"]);
    let version = &ours["spec"]["versions"][0];
    let upstream_version = &upstream["spec"]["versions"][0];
    assert_eq!(version["name"], "v1");
    assert_eq!(
        version["additionalPrinterColumns"],
        upstream_version["additionalPrinterColumns"]
    );
    // Upstream has no status subresource: writers update status with the object.
    assert_eq!(version["subresources"], serde_json::json!({}));
    assert_eq!(upstream_version["subresources"], serde_json::json!({}));
}

#[test]
fn upstream_sample_prowjobs_deserialise() {
    let dir = support::shared().join("corpus/kubernetes-sigs__prow/test/integration/test/testdata");
    for name in ["valid_prowjob.yaml", "valid_bare_prowjob.yaml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let (value, _) = prow_api::yaml::load_single(&text).unwrap();
        let job: ProwJob = serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!job.spec.job.is_empty(), "{name}");
    }
}
