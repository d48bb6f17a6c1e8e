//! What makes an instance reconcile: watch events of the objects it depends on, mapped to the
//! instances concerned.
//!
//! Config objects count only when their generation, labels or deletion change, so the status
//! the operator writes does not trigger another round. After a watch is re-listed (a dropped
//! watch, a 410), every instance is reconciled, since deletions during the gap leave no event.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use prow_api::ProwInstance;

use super::{ConfigRef, Context};
use crate::pipeline::{self, ConfigKind};
use crate::render::meta::{INSTANCE_LABEL, INSTANCE_NAMESPACE_LABEL};

/// The part of an object whose change matters: generation, labels and whether it is being
/// deleted.
type Fingerprint = (Option<i64>, BTreeMap<String, String>, bool);

/// Remembers the fingerprint of each object, by uid.
#[derive(Debug, Default)]
pub struct Changes {
    seen: HashMap<String, Fingerprint>,
}

impl Changes {
    /// Whether `meta` differs from what was last seen of the object (and remembers it).
    pub fn changed(&mut self, meta: &ObjectMeta) -> bool {
        let fingerprint = (
            meta.generation,
            meta.labels.clone().unwrap_or_default(),
            meta.deletion_timestamp.is_some(),
        );
        let uid = meta.uid.clone().unwrap_or_default();
        self.seen.insert(uid, fingerprint.clone()) != Some(fingerprint)
    }

    /// Forgets a deleted object.
    pub fn forget(&mut self, meta: &ObjectMeta) {
        if let Some(uid) = &meta.uid {
            self.seen.remove(uid);
        }
    }
}

fn send(ctx: &Context, instance: ObjectRef<ProwInstance>) {
    if ctx.leadership.trigger(instance.clone()) {
        ctx.reconciles.queue.triggered(&instance);
    }
}

/// Triggers the reconcile of `instance`.
pub fn instance(ctx: &Context, instance: ObjectRef<ProwInstance>) {
    send(ctx, instance);
}

/// Triggers every instance in the cache.
pub fn all_instances(ctx: &Context) {
    for instance in ctx.stores.instances.state() {
        send(ctx, ObjectRef::from_obj(instance.as_ref()));
    }
}

/// The instances that select the `kind` object with `meta` now, or did at their last reconcile.
pub fn instances_for(ctx: &Context, kind: ConfigKind, meta: &ObjectMeta) -> Vec<ObjectRef<ProwInstance>> {
    let config = ConfigRef::of(kind, meta);
    let namespace_labels = ctx
        .stores
        .namespaces
        .get(&ObjectRef::new(&config.namespace))
        .map(|n| n.labels().clone())
        .unwrap_or_default();
    let mut instances: Vec<ObjectRef<ProwInstance>> = ctx
        .stores
        .instances
        .state()
        .iter()
        .filter(|i| pipeline::selects(i, kind, meta, &namespace_labels))
        .map(|i| ObjectRef::from_obj(i.as_ref()))
        .collect();
    for (namespace, name) in ctx.reconciles.selections.selecting(&config) {
        let instance = ObjectRef::new(&name).within(&namespace);
        if !instances.contains(&instance) {
            instances.push(instance);
        }
    }
    instances
}

/// Handles one watch event of a JobConfig, PluginConfig or LabelSet.
pub fn on_config_event<K>(kind: ConfigKind, event: &Event<K>, changes: &mut Changes, ctx: &Arc<Context>)
where
    K: kube::Resource,
{
    let touched = |meta: &ObjectMeta| {
        let instances = instances_for(ctx, kind, meta);
        if instances.is_empty() {
            ctx.leadership.recheck([ConfigRef::of(kind, meta)]);
        }
        for instance in instances {
            send(ctx, instance);
        }
    };
    match event {
        Event::Apply(object) | Event::InitApply(object) => {
            if changes.changed(object.meta()) {
                touched(object.meta());
            }
        }
        Event::Delete(object) => {
            changes.forget(object.meta());
            if kind == ConfigKind::JobConfig
                && let Some(uid) = &object.meta().uid
            {
                ctx.last_good.forget(uid);
                ctx.reconciles.checked.forget(uid);
            }
            touched(object.meta());
        }
        Event::InitDone => all_instances(ctx),
        Event::Init => {}
    }
}

/// Handles one watch event of a Namespace (metadata): a label change can change what namespace
/// selectors pick.
pub fn on_namespace_event<K>(event: &Event<K>, changes: &mut Changes, ctx: &Context)
where
    K: kube::Resource,
{
    match event {
        Event::Apply(object) if changes.changed(object.meta()) => all_instances(ctx),
        Event::Delete(object) => changes.forget(object.meta()),
        Event::InitApply(object) => {
            changes.changed(object.meta());
        }
        _ => {}
    }
}

/// Handles one watch event of a Secret (metadata): the instances in its namespace that name it.
pub fn on_secret_event<K>(event: &Event<K>, ctx: &Context)
where
    K: kube::Resource,
{
    let (Event::Apply(object) | Event::Delete(object)) = event else {
        return;
    };
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let name = object.meta().name.clone().unwrap_or_default();
    for instance in ctx.stores.instances.state() {
        let names_it = instance.namespace().as_deref() == Some(namespace.as_str())
            && super::secrets::names(&instance.spec).contains(&name);
        if names_it {
            ctx.github.invalidate();
            ctx.changed.secrets.notify_one();
            ctx.changed.webhooks.notify_one();
            send(ctx, ObjectRef::from_obj(instance.as_ref()));
        }
    }
}

/// Handles one watch event of an object the operator rendered (metadata): its instance, found by
/// its labels.
pub fn on_owned_event<K>(event: &Event<K>, ctx: &Context)
where
    K: kube::Resource,
{
    let (Event::Apply(object) | Event::Delete(object)) = event else {
        return;
    };
    let labels = object.meta().labels.clone().unwrap_or_default();
    if let (Some(name), Some(namespace)) = (labels.get(INSTANCE_LABEL), labels.get(INSTANCE_NAMESPACE_LABEL)) {
        send(ctx, ObjectRef::new(name).within(namespace));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(generation: i64, label: &str) -> ObjectMeta {
        ObjectMeta {
            uid: Some("u1".into()),
            generation: Some(generation),
            labels: Some([("team".to_string(), label.to_string())].into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn only_generation_label_and_deletion_changes_count() {
        let mut changes = Changes::default();
        assert!(changes.changed(&meta(1, "a")));
        let mut status_only = meta(1, "a");
        status_only.resource_version = Some("99".into());
        assert!(!changes.changed(&status_only));
        assert!(changes.changed(&meta(2, "a")));
        assert!(changes.changed(&meta(2, "b")));
        let mut deleting = meta(2, "b");
        deleting.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert!(changes.changed(&deleting));
        changes.forget(&deleting);
        assert!(changes.changed(&meta(2, "b")));
    }
}
