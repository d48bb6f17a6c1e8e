//! The status of objects no ProwInstance selects: `Stalled` with reason `NotSelected`, so a label
//! that does not match is visible on the object itself.
//!
//! Selected objects get their status from the instance reconcile; this loop only looks at the
//! objects it is handed (new, changed, or dropped by an instance) and skips any that an instance
//! selects by then.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::channel::mpsc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use tracing::warn;

use super::configs::{self, Outcome};
use super::{ConfigRef, Context};
use crate::pipeline::{self, ConfigKind};

/// Hands objects to the loop.
#[derive(Clone, Debug)]
pub struct Sender(mpsc::UnboundedSender<ConfigRef>);

impl Sender {
    /// Asks the loop to look at `configs` again.
    pub fn recheck(&self, configs: impl IntoIterator<Item = ConfigRef>) {
        for config in configs {
            // The loop ends only at shutdown; nothing is left to report then.
            let _ = self.0.unbounded_send(config);
        }
    }
}

/// A sender and the receiving end for [`run`].
pub fn channel() -> (Sender, mpsc::UnboundedReceiver<ConfigRef>) {
    let (sender, receiver) = mpsc::unbounded();
    (Sender(sender), receiver)
}

/// Whether any instance in the cache selects the `kind` object with `meta`.
pub fn selected_by_any(ctx: &Context, kind: ConfigKind, meta: &ObjectMeta) -> bool {
    let namespace_labels: BTreeMap<String, String> = ctx
        .stores
        .namespaces
        .get(&ObjectRef::new(meta.namespace.as_deref().unwrap_or_default()))
        .map(|n| n.labels().clone())
        .unwrap_or_default();
    ctx.stores
        .instances
        .state()
        .iter()
        .any(|i| i.metadata.deletion_timestamp.is_none() && pipeline::selects(i, kind, meta, &namespace_labels))
}

/// Writes `NotSelected` to each object handed over that no instance selects, until the senders
/// are gone.
pub async fn run(mut receiver: mpsc::UnboundedReceiver<ConfigRef>, ctx: Arc<Context>) {
    if ctx.stores.instances.wait_until_ready().await.is_err() {
        return;
    }
    while let Some(config) = receiver.next().await {
        if let Err(error) = recheck(&config, &ctx).await {
            warn!(kind = config.kind.name(), namespace = %config.namespace, name = %config.name, %error, "could not write the status");
        }
    }
}

async fn recheck(config: &ConfigRef, ctx: &Context) -> Result<(), super::ReconcileError> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    match config.kind {
        ConfigKind::JobConfig => {
            let key = ObjectRef::new(&config.name).within(&config.namespace);
            if let Some(object) = ctx.stores.job_configs.get(&key)
                && !selected_by_any(ctx, config.kind, &object.metadata)
            {
                let status = configs::job_config_status(&object, &Outcome::NotSelected, None, &now);
                ctx.update_config_status(object.as_ref(), status).await?;
            }
        }
        ConfigKind::PluginConfig => {
            let key = ObjectRef::new(&config.name).within(&config.namespace);
            if let Some(object) = ctx.stores.plugin_configs.get(&key)
                && !selected_by_any(ctx, config.kind, &object.metadata)
            {
                let status = configs::plugin_config_status(&object, &Outcome::NotSelected, &now);
                ctx.update_config_status(object.as_ref(), status).await?;
            }
        }
        ConfigKind::LabelSet => {
            let key = ObjectRef::new(&config.name).within(&config.namespace);
            if let Some(object) = ctx.stores.label_sets.get(&key)
                && !selected_by_any(ctx, config.kind, &object.metadata)
            {
                let status = configs::label_set_status(&object, &Outcome::NotSelected, None, &now);
                ctx.update_config_status(object.as_ref(), status).await?;
            }
        }
    }
    Ok(())
}
