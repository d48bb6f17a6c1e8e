//! The Kubernetes objects the operator renders and applies.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// One object to apply. It serialises with its `apiVersion` and `kind`.
// A render holds a few dozen objects, built once and moved into a Vec: boxing the larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// A ConfigMap (config.yaml, job config, plugins.yaml, labels.yaml).
    ConfigMap(ConfigMap),
    /// A component's ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// A component's Role, in the ProwJob or the pod namespace.
    Role(Role),
    /// A component's RoleBinding.
    RoleBinding(RoleBinding),
    /// A component's Service.
    Service(Service),
    /// ghproxy's cache volume.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// A component's Deployment.
    Deployment(Deployment),
    /// The public entry point.
    Ingress(Ingress),
    /// A copy of a Secret the instance names, where job Pods mount it. Never rendered (render
    /// reads no Secret values): the controller adds it to what it applies.
    Secret(Secret),
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::ConfigMap(_) => "ConfigMap",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Role(_) => "Role",
            Object::RoleBinding(_) => "RoleBinding",
            Object::Service(_) => "Service",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::Deployment(_) => "Deployment",
            Object::Ingress(_) => "Ingress",
            Object::Secret(_) => "Secret",
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ConfigMap(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
        }
    }

    /// The order objects are applied in: what others read or mount comes first.
    pub fn apply_rank(&self) -> u8 {
        match self {
            Object::ConfigMap(_) | Object::Secret(_) => 0,
            Object::ServiceAccount(_) => 1,
            Object::Role(_) => 2,
            Object::RoleBinding(_) => 3,
            Object::PersistentVolumeClaim(_) => 4,
            Object::Service(_) => 5,
            Object::Deployment(_) => 6,
            Object::Ingress(_) => 7,
        }
    }

    /// The stable sort key: apply order, then namespace, then name.
    pub fn sort_key(&self) -> (u8, String, String) {
        let meta = self.metadata();
        (
            self.apply_rank(),
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }
}
