//! Server-side apply and pruning of rendered objects.
//!
//! The pure [`plan`] compares the rendered objects with what the cluster holds (metadata only) and
//! with what this process applied last: it skips objects that are already as rendered, forces only
//! on objects the instance owns, and prunes what the instance rendered before and no longer does.
//! The adapters below it only carry the plan out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, PartialObjectMeta};
use kube::{Api, Client};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::render::meta::{INSTANCE_LABEL, INSTANCE_NAMESPACE_LABEL, MANAGER};
use crate::render::object::Object;

/// The annotation holding the hash of an object as the operator last rendered it.
pub const APPLIED_HASH_ANNOTATION: &str = "operator.prow.dev/applied-hash";

/// An object's identity: kind, namespace and name.
pub type Key = (String, String, String);

/// A rendered object ready to apply: its JSON (with [`APPLIED_HASH_ANNOTATION`]) and identity.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// Kind, namespace and name.
    pub key: Key,
    /// The object to apply.
    pub body: Value,
    /// The hash of the rendered object.
    pub hash: String,
}

impl Desired {
    /// Serialises `object` and stamps it with its hash.
    pub fn of(object: &Object) -> Result<Self, serde_json::Error> {
        let mut body = serde_json::to_value(object)?;
        let hash = hex::encode(Sha256::digest(serde_json::to_vec(&body)?));
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(APPLIED_HASH_ANNOTATION.into(), Value::String(hash.clone()));
            }
        }
        let meta = object.metadata();
        Ok(Self {
            key: (
                object.kind().to_string(),
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            ),
            body,
            hash,
        })
    }
}

/// An object of the instance as the cluster holds it (metadata only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    /// Kind, namespace and name.
    pub key: Key,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `metadata.generation`, for kinds that have one.
    pub generation: Option<i64>,
    /// The [`APPLIED_HASH_ANNOTATION`] it carries.
    pub applied_hash: Option<String>,
    /// Whether a manager other than the operator owns `spec.replicas` (an autoscaler).
    pub replicas_managed_elsewhere: bool,
}

/// What this process last wrote to an object: enough to know whether anyone changed it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion` after the write.
    pub resource_version: String,
    /// `metadata.generation` after the write.
    pub generation: Option<i64>,
}

/// One object to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyStep {
    /// The object.
    pub desired: Desired,
    /// Whether to force conflicts: only for objects the instance already owns.
    pub force: bool,
}

/// What to do to bring the cluster to the rendered state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Objects to apply, in apply order.
    pub apply: Vec<ApplyStep>,
    /// Objects already as rendered.
    pub unchanged: usize,
    /// Objects the instance rendered before and no longer does.
    pub prune: Vec<Key>,
}

/// Plans the apply of `desired` given the instance's `live` objects and what this process last
/// `written`. An object is skipped only when it carries the current hash and nobody wrote it since
/// (same resourceVersion, or, for kinds with a generation, the same generation: status updates
/// do not count). `spec.replicas` is left out of Deployments whose replicas an autoscaler owns.
pub fn plan(desired: Vec<Desired>, live: &[Live], written: &HashMap<Key, Written>) -> Plan {
    let live_by_key: BTreeMap<&Key, &Live> = live.iter().map(|l| (&l.key, l)).collect();
    let wanted: BTreeSet<Key> = desired.iter().map(|d| d.key.clone()).collect();
    let mut plan = Plan::default();
    for mut object in desired {
        let Some(current) = live_by_key.get(&object.key) else {
            plan.apply.push(ApplyStep {
                desired: object,
                force: false,
            });
            continue;
        };
        let untouched = written.get(&object.key).is_some_and(|w| {
            w.uid == current.uid
                && (w.resource_version == current.resource_version
                    || (current.generation.is_some() && w.generation == current.generation))
        });
        if untouched && current.applied_hash.as_deref() == Some(object.hash.as_str()) {
            plan.unchanged += 1;
            continue;
        }
        if current.replicas_managed_elsewhere
            && let Some(spec) = object.body.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.remove("replicas");
        }
        plan.apply.push(ApplyStep {
            desired: object,
            force: true,
        });
    }
    plan.prune = live
        .iter()
        .filter(|l| !wanted.contains(&l.key))
        .map(|l| l.key.clone())
        .collect();
    plan.prune.sort();
    plan
}

/// Whether a manager other than the operator owns `spec.replicas` according to `managed_fields`.
pub fn replicas_managed_elsewhere(managed_fields: &[ManagedFieldsEntry]) -> bool {
    managed_fields.iter().any(|entry| {
        entry.manager.as_deref() != Some(MANAGER)
            && entry
                .fields_v1
                .as_ref()
                .is_some_and(|f| f.0.get("f:spec").and_then(|s| s.get("f:replicas")).is_some())
    })
}

/// The API resource of each kind the operator renders, in apply order.
pub fn resources() -> Vec<(&'static str, ApiResource)> {
    use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount};
    use k8s_openapi::api::networking::v1::Ingress;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    vec![
        ("ConfigMap", ApiResource::erase::<ConfigMap>(&())),
        ("Secret", ApiResource::erase::<Secret>(&())),
        ("ServiceAccount", ApiResource::erase::<ServiceAccount>(&())),
        ("Role", ApiResource::erase::<Role>(&())),
        ("RoleBinding", ApiResource::erase::<RoleBinding>(&())),
        (
            "PersistentVolumeClaim",
            ApiResource::erase::<PersistentVolumeClaim>(&()),
        ),
        ("Service", ApiResource::erase::<Service>(&())),
        ("Deployment", ApiResource::erase::<Deployment>(&())),
        ("Ingress", ApiResource::erase::<Ingress>(&())),
    ]
}

/// The label selector of every object an instance rendered.
pub fn selector(instance: &str, namespace: &str) -> String {
    format!("{INSTANCE_LABEL}={instance},{INSTANCE_NAMESPACE_LABEL}={namespace},app.kubernetes.io/managed-by={MANAGER}")
}

/// Talks to the API server for [`plan`]: lists, applies and deletes.
#[derive(Clone)]
pub struct Applier {
    client: Client,
    resources: Vec<(&'static str, ApiResource)>,
}

impl Applier {
    /// An applier using `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            resources: resources(),
        }
    }

    fn resource(&self, kind: &str) -> Option<&ApiResource> {
        self.resources.iter().find(|(k, _)| *k == kind).map(|(_, r)| r)
    }

    /// Every object of the instance, in every namespace, as metadata; and its Deployments in full,
    /// for their status.
    pub async fn live(&self, instance: &str, namespace: &str) -> Result<(Vec<Live>, Vec<Deployment>), kube::Error> {
        let params = ListParams::default().labels(&selector(instance, namespace));
        let mut live = Vec::new();
        let mut deployments = Vec::new();
        for (kind, resource) in &self.resources {
            if *kind == "Deployment" {
                let api: Api<Deployment> = Api::all(self.client.clone());
                for deployment in api.list(&params).await?.items {
                    let managed = deployment.metadata.managed_fields.as_deref().unwrap_or_default();
                    live.push(live_of(kind, &deployment.metadata, replicas_managed_elsewhere(managed)));
                    deployments.push(deployment);
                }
                continue;
            }
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), resource);
            let list = api.list_metadata(&params).await?;
            live.extend(
                list.items
                    .iter()
                    .map(|item: &PartialObjectMeta<DynamicObject>| live_of(kind, &item.metadata, false)),
            );
        }
        Ok((live, deployments))
    }

    /// Server-side applies one object as [`MANAGER`]; returns what the server wrote.
    pub async fn apply(&self, step: &ApplyStep) -> Result<DynamicObject, kube::Error> {
        let (kind, namespace, name) = &step.desired.key;
        let resource = self.resource(kind).ok_or_else(|| unknown_kind(kind))?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, resource);
        let mut params = PatchParams::apply(MANAGER);
        params.force = step.force;
        api.patch(name, &params, &Patch::Apply(&step.desired.body)).await
    }

    /// Deletes one object; an object already gone is not an error.
    pub async fn delete(&self, key: &Key) -> Result<(), kube::Error> {
        let (kind, namespace, name) = key;
        let resource = self.resource(kind).ok_or_else(|| unknown_kind(kind))?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, resource);
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn unknown_kind(kind: &str) -> kube::Error {
    kube::Error::Service(format!("the operator does not apply {kind} objects").into())
}

fn live_of(
    kind: &str,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    replicas_managed_elsewhere: bool,
) -> Live {
    Live {
        key: (
            kind.to_string(),
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        ),
        uid: meta.uid.clone().unwrap_or_default(),
        resource_version: meta.resource_version.clone().unwrap_or_default(),
        generation: meta.generation,
        applied_hash: meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(APPLIED_HASH_ANNOTATION).cloned()),
        replicas_managed_elsewhere,
    }
}

/// What an apply did to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// It did not exist (or was re-created under a new uid).
    Created,
    /// It existed and the apply changed it.
    Updated,
    /// The apply changed nothing (a re-apply after a restart, or of an object as rendered).
    Unchanged,
}

impl Change {
    /// `created` or `updated`, for notes; `None` when nothing changed.
    pub fn verb(self) -> Option<&'static str> {
        match self {
            Self::Created => Some("created"),
            Self::Updated => Some("updated"),
            Self::Unchanged => None,
        }
    }
}

/// What the apply of the rendering with `applied_hash` did, from the object as listed `before`
/// it and as the server `after` wrote it. The server keeps the resourceVersion of an apply that
/// changes nothing. A kind with a generation whose generation and applied hash stayed the same
/// was changed only by someone else's status write between the list and the apply.
pub fn change(before: Option<&Live>, after: &Written, applied_hash: &str) -> Change {
    let Some(before) = before.filter(|b| b.uid == after.uid) else {
        return Change::Created;
    };
    if before.resource_version == after.resource_version {
        return Change::Unchanged;
    }
    match (before.generation, after.generation) {
        (Some(old), Some(new)) if old == new && before.applied_hash.as_deref() == Some(applied_hash) => {
            Change::Unchanged
        }
        _ => Change::Updated,
    }
}

/// What the server wrote, to remember for the next [`plan`].
pub fn written(object: &DynamicObject) -> Written {
    Written {
        uid: object.metadata.uid.clone().unwrap_or_default(),
        resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
        generation: object.metadata.generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ObjectMeta};
    use serde_json::json;

    fn config_map(name: &str, value: &str) -> Desired {
        Desired::of(&Object::ConfigMap(ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("prow".into()),
                ..ObjectMeta::default()
            },
            data: Some([("k".to_string(), value.to_string())].into()),
            ..ConfigMap::default()
        }))
        .unwrap()
    }

    fn live(desired: &Desired, rv: &str) -> Live {
        Live {
            key: desired.key.clone(),
            uid: "u1".into(),
            resource_version: rv.into(),
            generation: None,
            applied_hash: Some(desired.hash.clone()),
            replicas_managed_elsewhere: false,
        }
    }

    fn written(rv: &str) -> Written {
        Written {
            uid: "u1".into(),
            resource_version: rv.into(),
            generation: None,
        }
    }

    #[test]
    fn a_re_apply_that_changed_nothing_is_unchanged() {
        let desired = config_map("prow-config", "a");
        // After a restart: nothing remembered, the plan applies, the server keeps the version.
        assert_eq!(
            change(Some(&live(&desired, "7")), &written("7"), &desired.hash),
            Change::Unchanged
        );
        assert_eq!(
            change(Some(&live(&desired, "7")), &written("8"), &desired.hash),
            Change::Updated
        );
        assert_eq!(change(None, &written("8"), &desired.hash), Change::Created);
        let mut recreated = written("9");
        recreated.uid = "u2".into();
        assert_eq!(
            change(Some(&live(&desired, "7")), &recreated, &desired.hash),
            Change::Created
        );
    }

    #[test]
    fn a_status_write_between_list_and_apply_is_no_change() {
        let desired = config_map("prow-deck", "a");
        let mut before = live(&desired, "7");
        before.generation = Some(3);
        let after = |rv: &str, generation: i64| Written {
            generation: Some(generation),
            ..written(rv)
        };
        assert_eq!(change(Some(&before), &after("9", 3), &desired.hash), Change::Unchanged);
        assert_eq!(change(Some(&before), &after("9", 4), &desired.hash), Change::Updated);
        // The same spec with a new rendering (labels, annotations): updated.
        assert_eq!(change(Some(&before), &after("9", 3), "another hash"), Change::Updated);
    }

    #[test]
    fn the_hash_annotation_is_stamped_and_stable() {
        let a = config_map("prow-config", "x");
        assert_eq!(
            a.body["metadata"]["annotations"][APPLIED_HASH_ANNOTATION],
            json!(a.hash)
        );
        assert_eq!(a, config_map("prow-config", "x"));
        assert_ne!(a.hash, config_map("prow-config", "y").hash);
    }

    #[test]
    fn new_objects_are_applied_without_force() {
        let plan = plan(vec![config_map("prow-config", "x")], &[], &HashMap::new());
        assert_eq!(plan.apply.len(), 1);
        assert!(!plan.apply[0].force);
    }

    #[test]
    fn untouched_objects_with_the_current_hash_are_skipped() {
        let desired = config_map("prow-config", "x");
        let live = vec![live(&desired, "7")];
        let written = HashMap::from([(desired.key.clone(), written("7"))]);
        let plan = plan(vec![desired], &live, &written);
        assert!(plan.apply.is_empty());
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn objects_changed_by_someone_else_or_after_a_restart_are_forced_back() {
        let desired = config_map("prow-config", "x");
        let live = vec![live(&desired, "8")];
        let edited = plan(
            vec![desired.clone()],
            &live,
            &HashMap::from([(desired.key.clone(), written("7"))]),
        );
        assert_eq!(edited.apply.len(), 1);
        assert!(edited.apply[0].force);
        let restarted = plan(vec![desired], &live, &HashMap::new());
        assert_eq!(restarted.apply.len(), 1);
    }

    #[test]
    fn a_changed_render_is_applied() {
        let old = config_map("prow-config", "x");
        let new = config_map("prow-config", "y");
        let live = vec![live(&old, "7")];
        let plan = plan(vec![new], &live, &HashMap::from([(old.key.clone(), written("7"))]));
        assert_eq!(plan.apply.len(), 1);
    }

    #[test]
    fn status_only_changes_do_not_reapply_kinds_with_a_generation() {
        let desired = config_map("prow-deck", "x");
        let mut current = live(&desired, "9");
        current.generation = Some(2);
        let mut before = written("5");
        before.generation = Some(2);
        let plan = plan(
            vec![desired.clone()],
            &[current],
            &HashMap::from([(desired.key, before)]),
        );
        assert!(plan.apply.is_empty());
    }

    #[test]
    fn what_is_no_longer_rendered_is_pruned() {
        let kept = config_map("prow-job-config-0", "x");
        let gone = config_map("prow-job-config-1", "y");
        let plan = plan(
            vec![kept.clone()],
            &[live(&kept, "1"), live(&gone, "2")],
            &HashMap::new(),
        );
        assert_eq!(plan.prune, vec![gone.key]);
    }

    #[test]
    fn replicas_owned_by_an_autoscaler_are_left_alone() {
        let mut desired = config_map("prow-deck", "x");
        desired.body["spec"] = json!({"replicas": 2, "template": {}});
        let mut current = live(&desired, "1");
        current.applied_hash = None;
        current.replicas_managed_elsewhere = true;
        let plan = plan(vec![desired], &[current], &HashMap::new());
        assert_eq!(plan.apply[0].desired.body["spec"], json!({"template": {}}));
    }

    #[test]
    fn replica_ownership_is_read_from_managed_fields() {
        let entry = |manager: &str, fields: Value| ManagedFieldsEntry {
            manager: Some(manager.into()),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        };
        let ours = entry(MANAGER, json!({"f:spec": {"f:replicas": {}}}));
        let hpa = entry("kube-controller-manager", json!({"f:spec": {"f:replicas": {}}}));
        let status = entry("kube-controller-manager", json!({"f:status": {"f:replicas": {}}}));
        assert!(!replicas_managed_elsewhere(&[ours.clone(), status]));
        assert!(replicas_managed_elsewhere(&[ours, hpa]));
    }
}
