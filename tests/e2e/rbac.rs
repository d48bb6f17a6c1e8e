//! The operator's ClusterRole against what the operator really does: every request it makes in
//! the scenarios is allowed by `config/rbac/role.yaml`, and every verb the role grants is either
//! used or listed here with the reason it is granted.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::repo;
use crate::install::{installed_on_fake, wait_condition};

/// (group, resource, verb) triples the role grants.
fn granted() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(repo().join("config/rbac/role.yaml")).unwrap();
    let role = prow_api::yaml::load_documents(&text).unwrap().values.remove(0);
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let list = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        for group in list("apiGroups") {
            for resource in list("resources") {
                for verb in list("verbs") {
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    granted
}

/// Granted but not exercised by these scenarios, and why.
const NOT_EXERCISED: &[(&str, &str, &str, &str)] = &[
    (
        "operator.prow.dev",
        "prowinstances",
        "get",
        "kube-runtime may re-read an object",
    ),
    (
        "operator.prow.dev",
        "jobconfigs",
        "get",
        "kube-runtime may re-read an object",
    ),
    (
        "operator.prow.dev",
        "pluginconfigs",
        "get",
        "kube-runtime may re-read an object",
    ),
    (
        "operator.prow.dev",
        "labelsets",
        "get",
        "kube-runtime may re-read an object",
    ),
    ("", "namespaces", "get", "namespace selectors"),
    (
        "",
        "namespaces",
        "create",
        "a missing ProwJob or pod namespace (the world makes them first; api_server.rs does not)",
    ),
    (
        "",
        "configmaps",
        "get",
        "the last good job config after a restart; GRANT-ONLY for components",
    ),
    (
        "",
        "persistentvolumeclaims",
        "patch",
        "ghproxy's cache (the samples do not run ghproxy)",
    ),
    (
        "",
        "persistentvolumeclaims",
        "delete",
        "ghproxy's cache (the samples do not run ghproxy)",
    ),
    (
        "",
        "events",
        "create",
        "core Events, granted to PCM and sinker (GRANT-ONLY)",
    ),
    (
        "",
        "events",
        "patch",
        "core Events, granted to PCM and sinker (GRANT-ONLY)",
    ),
    ("", "events", "get", "GRANT-ONLY: crier"),
    ("", "events", "list", "GRANT-ONLY: crier"),
    ("events.k8s.io", "events", "patch", "event series (a repeated Event)"),
    ("", "pods/log", "get", "GRANT-ONLY: deck"),
    ("", "configmaps", "update", "GRANT-ONLY: hook, PCM, sinker"),
    (
        "coordination.k8s.io",
        "leases",
        "update",
        "renewal, after the first round",
    ),
];

/// Kinds the operator creates with server-side apply: the fake records a PATCH, while a real API
/// server also authorizes `create` when an apply creates the object.
const CREATED_BY_APPLY: &[&str] = &[
    "configmaps",
    "services",
    "serviceaccounts",
    "persistentvolumeclaims",
    "deployments",
    "ingresses",
    "roles",
    "rolebindings",
    "secrets",
];

/// Granted for the job engine (native trigger, execute, schedule, report and clean), which the
/// job issues add: ProwJobs and Pods.
fn for_the_job_engine(resource: &str) -> bool {
    matches!(resource, "prowjobs" | "pods")
}

#[tokio::test]
async fn every_request_is_allowed_and_every_grant_is_accounted_for() {
    let world = installed_on_fake().await;
    let fake = world.fake.as_ref().expect("a world on testkit");
    // Exercise every path: an edit, a broken and a deleted JobConfig, and the instance's
    // deletion (the finalizer removes what owner references cannot reach).
    let text = std::fs::read_to_string(repo().join("config/samples/jobconfig-api.yaml")).unwrap();
    let mut api: Value = prow_api::yaml::load_documents(&text).unwrap().values.remove(0);
    api["spec"]["presubmits"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .for_each(|jobs| jobs[0]["always_run"] = Value::Bool(false));
    world.apply_value(api).await;
    world
        .delete("operator.prow.dev/v1alpha1", "JobConfig", "prow", "website")
        .await;
    wait_condition(&world, "JobConfig", "api", "Ready", "True", Some("Accepted")).await;
    world
        .delete_and_wait("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await;
    assert!(
        world
            .get("rbac.authorization.k8s.io/v1", "Role", "test-pods", "prow-deck-pods")
            .await
            .is_none(),
        "the finalizer removed the Roles in the pod namespace"
    );

    let granted = granted();
    let audit: Vec<_> = fake
        .audit()
        .into_iter()
        .filter(|r| r.user_agent.as_deref().is_some_and(|a| a.starts_with("prow-operator/")))
        .collect();
    assert!(audit.len() > 20, "the operator's requests are in the audit log");
    let mut used = BTreeSet::new();
    for request in &audit {
        let triple = (
            request.group.clone(),
            request.rbac_resource(),
            request.verb.as_str().to_string(),
        );
        assert!(granted.contains(&triple), "the role does not allow {triple:?}");
        used.insert(triple);
    }
    let unexplained: Vec<_> = granted
        .iter()
        .filter(|(group, resource, verb)| {
            let explained = NOT_EXERCISED
                .iter()
                .any(|(g, r, v, _)| g == group && r == resource && v == verb)
                || (verb == "create" && CREATED_BY_APPLY.contains(&resource.as_str()));
            !used.contains(&(group.clone(), resource.clone(), verb.clone()))
                && !explained
                && !for_the_job_engine(resource)
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "the role grants what nothing uses (remove it or say why it is there): {unexplained:?}"
    );
}
