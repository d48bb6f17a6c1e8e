//! The ProwJob and pod namespaces an instance is configured with, created when they are missing,
//! as upstream's starter manifest creates `test-pods`.
//!
//! A namespace the operator creates carries the label `app.kubernetes.io/managed-by:
//! prow-operator` and the annotation [`CREATED_FOR_ANNOTATION`] naming the instance. It is never
//! deleted, not even with the instance: it holds what others put there too (job Pods and their
//! logs, Secrets, quotas), so removing it is left to whoever owns the cluster. A namespace that
//! exists already is left exactly as it is.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::render::config_yaml::Namespaces;
use crate::render::meta::{MANAGER, Owner};

/// The annotation on a namespace the operator created, naming the ProwInstance it was created
/// for (`ProwInstance <namespace>/<name>`).
pub const CREATED_FOR_ANNOTATION: &str = "operator.prow.dev/created-for";

/// The namespaces of `namespaces` (the ProwJob namespace, then the pod namespace) for which
/// `exists` is false, as the Namespace objects to create for `owner`; the instance's own
/// namespace exists by definition.
pub fn missing(owner: &Owner, namespaces: &Namespaces, exists: impl Fn(&str) -> bool) -> Vec<Namespace> {
    let mut names: Vec<&str> = vec![namespaces.prowjob.as_str(), namespaces.pod.as_str()];
    names.dedup();
    names
        .into_iter()
        .filter(|name| *name != owner.namespace && !exists(name))
        .map(|name| Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                labels: Some([("app.kubernetes.io/managed-by".to_string(), MANAGER.to_string())].into()),
                annotations: Some(
                    [(
                        CREATED_FOR_ANNOTATION.to_string(),
                        format!("ProwInstance {}/{}", owner.namespace, owner.name),
                    )]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            name: "prow".into(),
            namespace: "prow".into(),
            version: "v1".into(),
        }
    }

    fn namespaces(prowjob: &str, pod: &str) -> Namespaces {
        Namespaces {
            prowjob: prowjob.into(),
            pod: pod.into(),
        }
    }

    #[test]
    fn missing_namespaces_are_made_labelled_and_naming_the_instance() {
        let made = missing(&owner(), &namespaces("jobs", "test-pods"), |_| false);
        let names: Vec<_> = made.iter().map(|n| n.metadata.name.as_deref().unwrap()).collect();
        assert_eq!(names, ["jobs", "test-pods"]);
        let meta = &made[1].metadata;
        assert_eq!(
            meta.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
            "prow-operator"
        );
        assert_eq!(
            meta.annotations.as_ref().unwrap()[CREATED_FOR_ANNOTATION],
            "ProwInstance prow/prow"
        );
    }

    #[test]
    fn existing_namespaces_and_the_instances_own_are_left_alone() {
        assert!(missing(&owner(), &namespaces("prow", "test-pods"), |n| n == "test-pods").is_empty());
        let same = missing(&owner(), &namespaces("ci", "ci"), |_| false);
        assert_eq!(same.len(), 1, "one namespace for both is made once");
    }
}
