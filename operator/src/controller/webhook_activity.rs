//! The webhook receiver's side of [`crate::hooksync::activity`], on every replica: each signed
//! delivery of an instance's target is noted at once (in memory), and a writer task merges the
//! news into the instance's [`ACTIVITY_ANNOTATION`], within the bounds of
//! [`Pending::take`]. The leader's webhook loop ([`super::webhooks`]) reads it from there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use prow_api::ProwInstance;
use serde_json::json;
use tokio::sync::Notify;
use tracing::{debug, warn};

use super::Context;
use crate::hooksync::activity::{ACTIVITY_ANNOTATION, Activity, PendingByInstance, target_of};
use crate::http::DeliveryObserver;
use crate::webhook::payload::HookNotice;

/// How long the writer sleeps when nothing is pending.
const IDLE: Duration = Duration::from_secs(3600);

/// Notes deliveries and writes them to the instances' annotations.
pub struct ActivityRecorder {
    ctx: Arc<Context>,
    pending: Mutex<PendingByInstance>,
    wake: Notify,
}

impl ActivityRecorder {
    /// A recorder reading the instances from `ctx`'s cache.
    pub fn new(ctx: Arc<Context>) -> ActivityRecorder {
        ActivityRecorder {
            ctx,
            pending: Mutex::new(PendingByInstance::new()),
            wake: Notify::new(),
        }
    }

    /// Writes the news as it comes due, until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        loop {
            let now = std::time::Instant::now();
            let next = {
                let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                pending.values().filter_map(|p| p.due(now)).min()
            };
            if next.is_none_or(|next| next > now) {
                let wait = next.map_or(IDLE, |next| next - now);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.wake.notified() => {}
                }
                continue;
            }
            let due: Vec<((String, String), Activity)> = {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                pending
                    .iter_mut()
                    .filter_map(|(key, p)| p.take(now).map(|news| (key.clone(), news)))
                    .collect()
            };
            for (key, news) in due {
                if !self.write(&key, &news).await {
                    let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    pending.entry(key).or_default().put_back(&news);
                }
            }
            // Forget the instances deleted meanwhile.
            let instances = self.ctx.stores.instances.state();
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(namespace, name), _| {
                    instances
                        .iter()
                        .any(|i| i.name_any() == *name && i.namespace().as_deref() == Some(namespace.as_str()))
                });
        }
    }

    /// Merges `news` into the instance's annotation; false when it should be tried again.
    async fn write(&self, (namespace, name): &(String, String), news: &Activity) -> bool {
        let reference = ObjectRef::<ProwInstance>::new(name).within(namespace);
        let Some(instance) = self.ctx.stores.instances.get(&reference) else {
            // Deleted meanwhile: nothing to tell.
            return true;
        };
        let current = Activity::of(instance.annotations());
        let merged = current.merged(news);
        if merged == current {
            return true;
        }
        let patch = json!({"metadata": {
            "resourceVersion": instance.resource_version(),
            "annotations": {ACTIVITY_ANNOTATION: merged.render()},
        }});
        let api: Api<ProwInstance> = Api::namespaced(self.ctx.client.clone(), namespace);
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                debug!(instance = %format!("{namespace}/{name}"), "webhook activity written");
                true
            }
            Err(kube::Error::Api(status)) if status.code == 404 => true,
            Err(error) => {
                // A conflict (another replica wrote first) or an outage: the next write carries it.
                let error = super::api_error::cause(&error);
                warn!(instance = %format!("{namespace}/{name}"), %error, "cannot write the webhook activity");
                false
            }
        }
    }
}

impl DeliveryObserver for ActivityRecorder {
    fn delivered(&self, notice: &HookNotice) {
        // Milliseconds: two deletions heard within one second are still two news, so the second
        // one makes a pass of its own.
        let now = Timestamp::now();
        let now = now
            .round(k8s_openapi::jiff::Unit::Millisecond)
            .unwrap_or(now)
            .to_string();
        let mut noted = false;
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for instance in self.ctx.stores.instances.state() {
                let Some(target) = target_of(&instance, &notice.source) else {
                    continue;
                };
                let key = (instance.namespace().unwrap_or_default(), instance.name_any());
                pending.entry(key).or_default().note(&target, notice, &now);
                noted = true;
            }
        }
        if noted {
            self.wake.notify_one();
        }
    }
}
