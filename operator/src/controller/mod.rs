//! The live operator: kube-runtime loops that read state, call the pure core, apply the results
//! and report status.
//!
//! One controller reconciles ProwInstances. It is triggered by the instances themselves and by
//! everything they depend on: the JobConfigs, PluginConfigs and LabelSets they select (mapped
//! through the selectors), the labels of Namespaces (for namespace selectors), the Secrets they
//! name, and the ConfigMaps and Deployments they own. Objects no instance selects get a
//! `NotSelected` status from a small loop of their own.

pub mod api_error;
pub mod apply;
pub mod build_clusters;
pub mod checked;
pub mod configs;
pub mod github_clients;
pub mod hmac;
pub mod instance;
pub mod jobs;
pub mod label_sync;
pub mod last_good;
pub mod live_jobs;
pub mod manager;
pub mod namespaces;
pub mod notices;
pub mod orphans;
pub mod readiness;
pub mod recorder;
pub mod secrets;
pub mod status;
pub mod storage_copy;
pub mod wakeups;
pub mod watch_task;
pub mod webhook_activity;
pub mod webhooks;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Namespace;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use tracing::warn;

use self::apply::{Applier, Key, Written};
use self::last_good::LastGood;
use self::notices::Notice;
use self::recorder::Recorder;
use crate::http::metrics::Metrics;
use crate::pipeline::ConfigKind;
use crate::render::OperatorWebhook;

/// Reading from the API failed.
#[derive(Debug, thiserror::Error)]
#[error("reading {what}: {}", api_error::cause(.source))]
pub struct ReadError {
    /// What was being read.
    pub what: String,
    /// The API error.
    pub source: kube::Error,
}

impl ReadError {
    fn new(what: &str, source: kube::Error) -> Self {
        Self {
            what: what.to_string(),
            source,
        }
    }
}

/// Why a reconcile failed, by the step that failed; it is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Read: reading the instance's inputs or objects failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Validate: the JobConfigs in effect could not be worked out.
    #[error(transparent)]
    Validate(#[from] instance::ValidateError),
    /// Build: the instance's objects could not be built.
    #[error("rendering: {0}")]
    Build(#[from] instance::BuildError),
    /// Apply: some objects could not be applied (the status says which).
    #[error(transparent)]
    Apply(#[from] instance::ApplyError),
    /// Status (or the finalizer): writing to the API failed.
    #[error("writing {what}: {}", api_error::cause(.source))]
    Write {
        /// What was being written.
        what: String,
        /// The API error.
        source: kube::Error,
    },
    /// Clean-up: deleting an object no longer rendered failed.
    #[error("pruning {kind} {namespace}/{name}: {}", api_error::cause(.source))]
    Prune {
        /// Its kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
}

impl ReconcileError {
    fn read(what: &str, source: kube::Error) -> Self {
        Self::Read(ReadError::new(what, source))
    }

    fn write(what: &str, source: kube::Error) -> Self {
        Self::Write {
            what: what.to_string(),
            source,
        }
    }

    fn prune(key: &Key, source: kube::Error) -> Self {
        Self::Prune {
            kind: key.0.clone(),
            namespace: key.1.clone(),
            name: key.2.clone(),
            source,
        }
    }

    /// A short CamelCase name of the failure, for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Read(_) | Self::Validate(instance::ValidateError::Read(_)) => "ReadFailed",
            Self::Validate(instance::ValidateError::Render(_)) | Self::Build(_) => "RenderFailed",
            Self::Apply(_) => "ApplyFailed",
            Self::Write { .. } => "WriteFailed",
            Self::Prune { .. } => "PruneFailed",
        }
    }
}

/// A JobConfig, PluginConfig or LabelSet, by kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigRef {
    /// The kind.
    pub kind: ConfigKind,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ConfigRef {
    /// The reference to the `kind` object with `meta`.
    pub fn of(kind: ConfigKind, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Self {
        Self {
            kind,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

/// The caches the reconcile reads.
#[derive(Clone)]
pub struct Stores {
    /// ProwInstances.
    pub instances: Store<ProwInstance>,
    /// JobConfigs.
    pub job_configs: Store<JobConfig>,
    /// PluginConfigs.
    pub plugin_configs: Store<PluginConfig>,
    /// LabelSets.
    pub label_sets: Store<LabelSet>,
    /// Namespaces (metadata only), for namespace selectors.
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
}

/// Hands freed heap memory back to the system. A reconcile of a large installation, or a burst of
/// jobs, allocates much for a moment (rendered job configs, apply bodies, pod bodies, watch
/// events); glibc keeps freed heap pages otherwise, and the operator's RSS would stay at its peak.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the heap to the kernel; it touches no
    // memory in use and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How often freed memory goes back to the system while work happens.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Hands freed memory back to the system every [`TRIM_EVERY`] while `activity` (a count of the
/// work done: reconciles, webhooks answered) moves; it never returns.
pub(crate) async fn release_freed_memory_while_busy(activity: &AtomicU64) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(TRIM_EVERY).await;
        let now = activity.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            release_freed_memory();
        }
    }
}

/// The cached objects of `kind` among `objects` that `instance` selects, leaving out those being
/// deleted; `labels_of` gives a namespace's labels (none for an unknown namespace).
pub fn selected_by<'l, K: Resource>(
    instance: &ProwInstance,
    kind: ConfigKind,
    objects: Vec<Arc<K>>,
    labels_of: impl Fn(&str) -> Option<&'l BTreeMap<String, String>>,
) -> Vec<Arc<K>> {
    let empty = BTreeMap::new();
    objects
        .into_iter()
        .filter(|object| {
            let meta = object.meta();
            let labels = labels_of(meta.namespace.as_deref().unwrap_or_default()).unwrap_or(&empty);
            meta.deletion_timestamp.is_none() && crate::pipeline::selects(instance, kind, meta, labels)
        })
        .collect()
}

/// What each instance selected at its last reconcile, so that an object it stops selecting is
/// still mapped to it once (to drop its jobs) and then handed to the orphan loop.
#[derive(Debug, Default)]
pub struct Selections {
    by_instance: Mutex<HashMap<(String, String), BTreeSet<ConfigRef>>>,
}

impl Selections {
    /// Records what an instance selects now; returns what it selected before and no longer does.
    pub fn record(&self, instance: (String, String), selected: BTreeSet<ConfigRef>) -> Vec<ConfigRef> {
        let mut map = self.by_instance.lock().unwrap_or_else(|p| p.into_inner());
        let before = map.insert(instance, selected.clone()).unwrap_or_default();
        before.difference(&selected).cloned().collect()
    }

    /// Forgets a deleted instance; returns what it selected.
    pub fn forget(&self, instance: &(String, String)) -> Vec<ConfigRef> {
        let mut map = self.by_instance.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(instance)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default()
    }

    /// The instances (namespace, name) that selected `config` at their last reconcile.
    pub fn selecting(&self, config: &ConfigRef) -> Vec<(String, String)> {
        let map = self.by_instance.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(_, selected)| selected.contains(config))
            .map(|(instance, _)| instance.clone())
            .collect()
    }
}

/// The channels of the controller while this replica leads: reconcile requests, and objects that
/// may have lost their last instance. While it follows, requests are dropped: a new leader
/// reconciles everything when it starts.
#[derive(Debug, Default)]
pub struct Leadership {
    channels: Mutex<
        Option<(
            futures::channel::mpsc::UnboundedSender<ObjectRef<ProwInstance>>,
            orphans::Sender,
        )>,
    >,
}

impl Leadership {
    /// Installs the channels of a new term.
    pub fn begin(
        &self,
        triggers: futures::channel::mpsc::UnboundedSender<ObjectRef<ProwInstance>>,
        orphans: orphans::Sender,
    ) {
        *self.channels.lock().unwrap_or_else(|p| p.into_inner()) = Some((triggers, orphans));
    }

    /// Ends the term.
    pub fn end(&self) {
        *self.channels.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Asks for a reconcile of `instance`; returns whether it was queued (this replica leads).
    pub fn trigger(&self, instance: ObjectRef<ProwInstance>) -> bool {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .as_ref()
            .is_some_and(|(triggers, _)| triggers.unbounded_send(instance).is_ok())
    }

    /// Asks the orphan loop to look at `configs` again (when this replica leads).
    pub fn recheck(&self, configs: impl IntoIterator<Item = ConfigRef>) {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, orphans)) = channels.as_ref() {
            orphans.recheck(configs);
        }
    }
}

/// The instances waiting for a reconcile, for the queue-depth gauge.
#[derive(Debug, Default)]
pub struct Queue {
    pending: Mutex<BTreeSet<(String, String)>>,
    metrics: Arc<Metrics>,
}

impl Queue {
    /// A queue reporting to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            pending: Mutex::default(),
            metrics,
        }
    }

    fn gauge(&self, depth: usize) {
        self.metrics.set(
            "prow_operator_queue_depth",
            "ProwInstances waiting for a reconcile.",
            &[],
            depth as f64,
        );
    }

    /// Notes that `instance` was triggered.
    pub fn triggered(&self, instance: &ObjectRef<ProwInstance>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert((instance.namespace.clone().unwrap_or_default(), instance.name.clone()));
        self.gauge(pending.len());
    }

    /// Notes that a reconcile of `instance` started.
    pub fn started(&self, instance: &ProwInstance) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(&(instance.namespace().unwrap_or_default(), instance.name_any()));
        self.gauge(pending.len());
    }
}

/// Wakes the loops that look again when what they read changed, once the caches show it.
#[derive(Debug, Default)]
pub struct Changed {
    /// A LabelSet or a ProwInstance changed (the label sync looks at once for repositories whose
    /// desired labels changed).
    pub label_sets: tokio::sync::Notify,
    /// A ProwInstance or a Secret an instance names changed (the managed-webhook loop looks at
    /// once for instances whose webhook inputs changed).
    pub webhooks: tokio::sync::Notify,
    /// A Secret an instance names, or the set of instances, changed (the webhook tokens are read
    /// again).
    pub secrets: tokio::sync::Notify,
    /// Any ProwInstance changed (the job loops wake the ProwJobs of an instance created again or
    /// edited).
    pub instances: tokio::sync::Notify,
}

/// What the instance reconcile keeps between rounds, and the watches that start it read.
pub struct Reconciles {
    /// Applies and prunes rendered objects.
    pub applier: Applier,
    /// What this process last wrote to each rendered object.
    pub written: Mutex<HashMap<Key, Written>>,
    /// What each instance selected last.
    pub selections: Selections,
    /// The findings of each JobConfig on its own.
    pub checked: checked::Checked,
    /// Pending reconciles.
    pub queue: Queue,
}

/// Everything a reconcile needs.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The caches.
    pub stores: Stores,
    /// Records Events.
    pub recorder: Recorder,
    /// Counters, gauges and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The operator's own webhook endpoint.
    pub webhook: OperatorWebhook,
    /// The last accepted version of each JobConfig.
    pub last_good: LastGood,
    /// What each instance has in effect for the trigger and the job loops.
    pub live_jobs: live_jobs::LiveJobsByInstance,
    /// A GitHub client per instance.
    pub github: github_clients::GitHubClients,
    /// The build clusters of each instance: clients and last probes.
    pub build_clusters: build_clusters::BuildClusters,
    /// What the label sync made of each instance's repositories.
    pub label_sync: label_sync::LabelSyncMemo,
    /// Wakes the loops that look again when what they read changed.
    pub changed: Changed,
    /// Whether this replica leads, and where its reconcile requests go while it does.
    pub leadership: Leadership,
    /// What the instance reconcile keeps between rounds.
    pub reconciles: Reconciles,
}

impl Context {
    /// Records an Event about the object `reference`; failures are logged, never fatal.
    pub async fn publish(&self, reference: &k8s_openapi::api::core::v1::ObjectReference, notice: &Notice) {
        if let Err(error) = self.recorder.publish(reference, notice).await {
            let error = api_error::cause(&error);
            warn!(%error, reason = %notice.reason, "could not record an Event");
        }
    }

    /// Writes a config object's status when it changed, with an Event when it stalls or
    /// recovers.
    pub async fn update_config_status<K, S>(&self, object: &K, status: S) -> Result<(), ReconcileError>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + HasStatus<Status = S>,
        S: serde::Serialize + PartialEq + Clone + Default,
    {
        let previous = object.status().cloned().unwrap_or_default();
        if previous == status {
            return Ok(());
        }
        let before = K::conditions(&previous);
        let after = K::conditions(&status);
        if let Some(notice) = notices::transition_between(before, after) {
            self.publish(&object.object_ref(&()), &notice).await;
        }
        instance::patch_status::<K>(
            self,
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
            &status,
        )
        .await
    }
}

/// Our kinds' statuses, for generic status writing.
pub trait HasStatus {
    /// The status type.
    type Status;
    /// The status, when set.
    fn status(&self) -> Option<&Self::Status>;
    /// The conditions of a status.
    fn conditions(status: &Self::Status) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition];
}

macro_rules! has_status {
    ($kind:ty, $status:ty) => {
        impl HasStatus for $kind {
            type Status = $status;
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
            fn conditions(status: &$status) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                &status.conditions
            }
        }
    };
}

has_status!(JobConfig, prow_api::JobConfigStatus);
has_status!(PluginConfig, prow_api::PluginConfigStatus);
has_status!(LabelSet, prow_api::LabelSetStatus);
