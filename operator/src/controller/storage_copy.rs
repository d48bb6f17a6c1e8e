//! The storage credentials Secret, fanned out to the pod namespace.
//!
//! The instance names one Secret, in its own namespace (`spec.storage.s3.credentialsSecretRef` or
//! `gcs`), and decorated job Pods mount a Secret of that name in the pod namespace. The operator
//! keeps a copy there: the same name, type and data, labelled as the instance's, applied and
//! pruned with its other objects. So the copy follows the source when it changes and goes when
//! the instance goes (or stops naming storage). Two rules keep it from getting in the way:
//! - a Secret of that name in the pod namespace that is not the instance's copy (made by hand,
//!   or by another instance) is left alone, and is what the Pods mount;
//! - while the source is missing, the copy made before stays, so running jobs keep uploading (the
//!   instance is `SecretMissing` meanwhile, naming the source).
//!
//! Secret values never leave the copy: nothing here logs.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prow_api::instance::{ProwInstanceSpec, SecretKeyRef};

use crate::render::meta::{INSTANCE_LABEL, INSTANCE_NAMESPACE_LABEL, MANAGER, Owner};

/// The annotation on a copy naming its source Secret (`<namespace>/<name>`).
pub const COPY_OF_ANNOTATION: &str = "operator.prow.dev/copy-of";

/// The storage credentials Secret `spec` names, if any.
pub fn source(spec: &ProwInstanceSpec) -> Option<&SecretKeyRef> {
    let storage = spec.storage.as_ref()?;
    storage
        .s3
        .as_ref()
        .or(storage.gcs.as_ref())
        .map(|bucket| &bucket.credentials_secret_ref)
}

/// What to keep in the pod namespace.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageCopy {
    /// Nothing: no storage, the pods run in the instance's own namespace, or a Secret of that
    /// name there is someone else's.
    None,
    /// This copy.
    Keep(Box<Secret>),
    /// Nothing can be copied: the source is missing and no copy was made before. The message
    /// says so.
    Missing(String),
}

/// Decides the copy of the storage Secret `reference` in `pod_namespace`, from the `source` as
/// read in the instance's namespace and the `current` Secret of that name in the pod namespace.
pub fn decide(
    owner: &Owner,
    pod_namespace: &str,
    reference: Option<&SecretKeyRef>,
    source: Option<&Secret>,
    current: Option<&Secret>,
) -> StorageCopy {
    let Some(reference) = reference else {
        return StorageCopy::None;
    };
    if pod_namespace == owner.namespace {
        return StorageCopy::None;
    }
    let ours = |secret: &Secret| {
        let labels = secret.metadata.labels.as_ref();
        let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
        label(INSTANCE_LABEL) == Some(owner.name.as_str())
            && label(INSTANCE_NAMESPACE_LABEL) == Some(owner.namespace.as_str())
            && label("app.kubernetes.io/managed-by") == Some(MANAGER)
    };
    if current.is_some_and(|c| !ours(c)) {
        return StorageCopy::None;
    }
    match source.or(current) {
        Some(secret) => StorageCopy::Keep(Box::new(copy_of(owner, pod_namespace, &reference.name, secret))),
        None => StorageCopy::Missing(format!(
            "Secret {pod_namespace}/{name}, which job Pods mount for artifact storage, cannot be copied from {}/{name}, \
             which is missing",
            owner.namespace,
            name = reference.name
        )),
    }
}

/// The copy of `secret` named `name` in `namespace`: its type and data, the instance's labels.
fn copy_of(owner: &Owner, namespace: &str, name: &str, secret: &Secret) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(owner.labels("storage")),
            annotations: Some([(COPY_OF_ANNOTATION.to_string(), format!("{}/{name}", owner.namespace))].into()),
            ..ObjectMeta::default()
        },
        type_: secret.type_.clone(),
        data: secret.data.clone(),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn owner() -> Owner {
        Owner {
            name: "prow".into(),
            namespace: "prow".into(),
            version: "v1".into(),
        }
    }

    fn reference() -> SecretKeyRef {
        SecretKeyRef {
            name: "s3-credentials".into(),
            key: "service-account.json".into(),
        }
    }

    fn secret(namespace: &str, value: &str) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s3-credentials".into()),
                namespace: Some(namespace.into()),
                uid: Some(format!("uid-{namespace}")),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(
                [(
                    "service-account.json".to_string(),
                    ByteString(value.as_bytes().to_vec()),
                )]
                .into(),
            ),
            ..Secret::default()
        }
    }

    fn kept(copy: StorageCopy) -> Secret {
        match copy {
            StorageCopy::Keep(secret) => *secret,
            other => panic!("expected a copy, got {other:?}"),
        }
    }

    #[test]
    fn the_source_is_copied_into_the_pod_namespace_as_the_instances() {
        let source = secret("prow", "{\"k\": 1}");
        let copy = kept(decide(&owner(), "test-pods", Some(&reference()), Some(&source), None));
        assert_eq!(copy.metadata.namespace.as_deref(), Some("test-pods"));
        assert_eq!(copy.metadata.name.as_deref(), Some("s3-credentials"));
        assert_eq!(copy.data, source.data);
        assert_eq!(copy.type_.as_deref(), Some("Opaque"));
        assert!(copy.metadata.uid.is_none());
        let labels = copy.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[INSTANCE_LABEL], "prow");
        assert_eq!(labels[INSTANCE_NAMESPACE_LABEL], "prow");
        assert_eq!(
            copy.metadata.annotations.unwrap()[COPY_OF_ANNOTATION],
            "prow/s3-credentials"
        );
    }

    #[test]
    fn a_changed_source_changes_the_copy_and_a_missing_one_keeps_it() {
        let before = kept(decide(
            &owner(),
            "test-pods",
            Some(&reference()),
            Some(&secret("prow", "a")),
            None,
        ));
        let after = kept(decide(
            &owner(),
            "test-pods",
            Some(&reference()),
            Some(&secret("prow", "b")),
            Some(&before),
        ));
        assert_ne!(after.data, before.data);
        let kept_while_missing = kept(decide(&owner(), "test-pods", Some(&reference()), None, Some(&after)));
        assert_eq!(kept_while_missing, after, "the same copy, so the same applied hash");
    }

    #[test]
    fn a_missing_source_without_a_copy_is_named() {
        let StorageCopy::Missing(message) = decide(&owner(), "test-pods", Some(&reference()), None, None) else {
            panic!("expected a message");
        };
        assert_eq!(
            message,
            "Secret test-pods/s3-credentials, which job Pods mount for artifact storage, cannot be copied from \
             prow/s3-credentials, which is missing"
        );
    }

    #[test]
    fn someone_elses_secret_no_storage_and_one_namespace_need_no_copy() {
        let source = secret("prow", "a");
        let by_hand = secret("test-pods", "mine");
        assert_eq!(
            decide(&owner(), "test-pods", Some(&reference()), Some(&source), Some(&by_hand)),
            StorageCopy::None
        );
        assert_eq!(
            decide(&owner(), "test-pods", None, Some(&source), None),
            StorageCopy::None
        );
        assert_eq!(
            decide(&owner(), "prow", Some(&reference()), Some(&source), None),
            StorageCopy::None
        );
    }
}
