//! The job loops on build clusters: one Pod watch per build cluster of each instance that runs
//! jobs natively, and where each job's pod lives ([`PodSite`]).
//!
//! A build cluster's credentials may only touch pods in the pod namespace, so each watch covers
//! that namespace alone. A watch that fails is started again from a full list (after a backoff of
//! 1 s doubling to 30 s): until that list arrives the cluster counts as unreachable and its jobs
//! wait (see [`crate::engine::placement`]), so the engine never acts on what it may have missed.
//! When a cluster becomes usable or stops being so, its unfinished jobs are woken and its instance
//! is probed again at once (its status follows within moments, not at the next minute's probe).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::PostParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, ResourceExt};
use prow_api::job::DEFAULT_CLUSTER;
use prow_api::{ProwInstance, ProwJob};
use tracing::{info, warn};

use super::recent::Recent;
use super::{Function, InstanceSettings, Jobs, Wakers};
use crate::controller::build_clusters::{InstanceClusters, state};
use crate::controller::{Context, api_error, wakeups};
use crate::engine::job_pod::JobPod;
use crate::engine::placement::{self, ClusterHealth, Declared, Placement};
use crate::job_labels::{CREATED_BY_PROW, PROWJOB_ID};

/// The longest wait between two attempts to watch a failing cluster.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The pods this term created that a Pod cache does not show yet: by cluster (see
/// [`PodSite::cluster`]), namespace and name.
pub type CreatedPods = Arc<Mutex<Recent<(String, String, String)>>>;

/// One build cluster of one instance: the instance's namespace and name, and the alias.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterKey {
    /// The instance, `(namespace, name)`.
    pub instance: (String, String),
    /// The cluster's alias.
    pub alias: String,
}

impl ClusterKey {
    /// The cluster's name in [`CreatedPods`] keys and logs.
    fn id(&self) -> String {
        format!("{}/{}/{}", self.instance.0, self.instance.1, self.alias)
    }
}

/// What a Pod watch of a build cluster knows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum WatchState {
    /// Its first list has not arrived.
    Connecting,
    /// Its last list arrived and the watch has not failed since.
    Synced,
    /// It failed, with why; a new list is on its way.
    Failed(String),
}

/// A running Pod watch of one build cluster.
struct ClusterWatch {
    /// What it was started for: the credentials, the pod and the ProwJob namespaces.
    started_for: (String, String, String),
    client: Client,
    /// The Pods of its last full list and the changes since.
    store: Arc<Mutex<Store<JobPod>>>,
    state: Arc<Mutex<WatchState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Pod watches of every build cluster the loops may use.
#[derive(Default)]
pub struct BuildClusterPods {
    watches: Mutex<BTreeMap<ClusterKey, ClusterWatch>>,
}

/// Where one job's pod lives: its cluster, namespace, and the Pod cache of both.
#[derive(Clone)]
pub struct PodSite {
    /// `""` for the operator's own cluster, else `namespace/instance/alias`.
    pub cluster: String,
    /// The pod namespace there.
    pub namespace: String,
    /// Pods there.
    pub api: Api<Pod>,
    store: Store<JobPod>,
    client: Client,
}

impl PodSite {
    /// The pod `name` as the cache shows it.
    pub fn pod(&self, name: &str) -> Option<Arc<JobPod>> {
        self.store.get(&ObjectRef::new(name).within(&self.namespace))
    }

    /// Every job pod of the pod namespace as the cache shows it.
    pub fn pods(&self) -> Vec<Arc<JobPod>> {
        self.store
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(self.namespace.as_str()))
            .collect()
    }

    /// Whether this is a build cluster.
    pub fn is_build_cluster(&self) -> bool {
        !self.cluster.is_empty()
    }

    /// Creates the pod namespace (a build cluster may not have it yet); one that exists is fine.
    pub async fn create_namespace(&self) -> Result<(), kube::Error> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(self.namespace.clone()),
                ..Default::default()
            },
            ..Namespace::default()
        };
        match namespaces.create(&PostParams::default(), &namespace).await {
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

impl Jobs {
    /// Where the pod of `job` (of `instance`, with `settings`) lives, or why it lives nowhere now.
    pub fn site(
        &self,
        instance: &ProwInstance,
        settings: &InstanceSettings,
        job: &ProwJob,
    ) -> Result<PodSite, Placement> {
        let alias = placement::alias_of(job);
        let spec = &instance.spec;
        let has_build_clusters = !spec.build_clusters.is_empty() || !spec.build_cluster_secrets.is_empty();
        let key = (instance.namespace().unwrap_or_default(), instance.name_any());
        let clusters = match has_build_clusters {
            true => self.ctx.build_clusters.of_instance(&key),
            false => None,
        };
        let declared = match (has_build_clusters, &clusters) {
            (false, _) => Declared::Nothing,
            (true, Some(clusters)) => Declared::Read(&clusters.declared),
            (true, None) => Declared::Unread {
                may_declare_default: !spec.build_cluster_secrets.is_empty()
                    || spec.build_clusters.iter().any(|c| c.name == DEFAULT_CLUSTER),
            },
        };
        let health = |alias: &str| self.clusters.health(&key, alias, clusters.as_ref());
        match placement::place(alias, declared, health) {
            Placement::Own => Ok(self.own_site(settings)),
            Placement::Build(alias) => {
                let key = ClusterKey { instance: key, alias };
                self.clusters
                    .site(&key, &settings.namespaces.pod)
                    .ok_or(Placement::Hold(None))
            }
            elsewhere => Err(elsewhere),
        }
    }

    /// The instance's pod namespace in the operator's own cluster.
    pub fn own_site(&self, settings: &InstanceSettings) -> PodSite {
        PodSite {
            cluster: String::new(),
            namespace: settings.namespaces.pod.clone(),
            api: Api::namespaced(self.ctx.client.clone(), &settings.namespaces.pod),
            store: self.pods.clone(),
            client: self.ctx.client.clone(),
        }
    }

    /// The sites of the instance's build clusters whose Pods are watched and listed now.
    pub fn build_cluster_sites(&self, instance: &ProwInstance, settings: &InstanceSettings) -> Vec<PodSite> {
        let key = (instance.namespace().unwrap_or_default(), instance.name_any());
        let watches = self.clusters.watches.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<ClusterKey> = watches.keys().filter(|k| k.instance == key).cloned().collect();
        drop(watches);
        keys.iter()
            .filter_map(|k| self.clusters.site(k, &settings.namespaces.pod))
            .collect()
    }

    /// Keeps one Pod watch per build cluster that the instances running jobs or cleaning natively
    /// can reach, until `shutdown`: checked whenever the clusters or the instances change, and
    /// every [`super::RECHECK`].
    pub(super) async fn follow_build_clusters<F>(self: Arc<Self>, shutdown: futures::future::Shared<F>)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        loop {
            let clusters_changed = self.ctx.build_clusters.changed();
            let instances_changed = self.instances_changed.notified();
            let mut clusters_changed = std::pin::pin!(clusters_changed);
            let mut instances_changed = std::pin::pin!(instances_changed);
            clusters_changed.as_mut().enable();
            instances_changed.as_mut().enable();
            self.sync_watches();
            tokio::select! {
                _ = shutdown.clone() => break,
                _ = clusters_changed => {}
                _ = instances_changed => {}
                _ = tokio::time::sleep(super::RECHECK) => {}
            }
        }
        self.clusters.watches.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Starts the watches now wanted, and stops the ones no longer wanted or started for other
    /// credentials or namespaces.
    fn sync_watches(&self) {
        let mut wanted: BTreeMap<ClusterKey, ((String, String, String), Client)> = BTreeMap::new();
        for (instance, settings) in self.instances() {
            if !settings.runs(Function::Execute) && !settings.runs(Function::Clean) {
                continue;
            }
            let key = (instance.namespace().unwrap_or_default(), instance.name_any());
            let Some(clusters) = self.ctx.build_clusters.of_instance(&key) else {
                continue;
            };
            for (alias, reach) in clusters.reach {
                let Ok(client) = reach.client else { continue };
                let started_for = (
                    reach.credentials,
                    settings.namespaces.pod.clone(),
                    settings.namespaces.prowjob.clone(),
                );
                let key = ClusterKey {
                    instance: key.clone(),
                    alias,
                };
                wanted.insert(key, (started_for, client));
            }
        }
        let mut watches = self.clusters.watches.lock().unwrap_or_else(|p| p.into_inner());
        watches.retain(|key, watch| {
            let keep = wanted
                .get(key)
                .is_some_and(|(started_for, _)| *started_for == watch.started_for);
            if !keep {
                info!(cluster = %key.id(), "stopped watching the build cluster's pods");
            }
            keep
        });
        for (key, (started_for, client)) in wanted {
            if watches.contains_key(&key) {
                continue;
            }
            let (store, _) = reflector::store::<JobPod>();
            let store = Arc::new(Mutex::new(store));
            let state = Arc::new(Mutex::new(WatchState::Connecting));
            let watch = PodWatch {
                key: key.clone(),
                client: client.clone(),
                pod_namespace: started_for.1.clone(),
                prowjob_namespace: started_for.2.clone(),
                store: store.clone(),
                state: state.clone(),
                ctx: self.ctx.clone(),
                prowjobs: self.prowjobs.clone(),
                wakers: self.wakers.clone(),
                created_pods: self.created_pods.clone(),
            };
            info!(cluster = %key.id(), namespace = %started_for.1, "watching the build cluster's pods");
            let task = tokio::spawn(watch.run());
            watches.insert(
                key,
                ClusterWatch {
                    started_for,
                    client,
                    store,
                    state,
                    task,
                },
            );
        }
    }
}

impl BuildClusterPods {
    /// The health of the instance `instance`'s cluster `alias` (see [`health_of`]).
    fn health(&self, instance: &(String, String), alias: &str, clusters: Option<&InstanceClusters>) -> ClusterHealth {
        let reach = clusters.and_then(|c| c.reach.get(alias));
        let key = ClusterKey {
            instance: instance.clone(),
            alias: alias.to_string(),
        };
        let watches = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        let watched = watches
            .get(&key)
            .map(|w| w.state.lock().unwrap_or_else(|p| p.into_inner()).clone());
        drop(watches);
        let probe = reach.and_then(|r| r.probe.as_ref());
        let probe = probe.map(|(state, error)| (*state, error.as_deref().unwrap_or_default()));
        let kubeconfig = reach.map(|r| r.client.as_ref().err().map(String::as_str));
        health_of(kubeconfig, probe, watched.as_ref())
    }

    /// The site of a watched cluster whose Pods are listed.
    fn site(&self, key: &ClusterKey, pod_namespace: &str) -> Option<PodSite> {
        let watches = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        let watch = watches.get(key)?;
        let synced = *watch.state.lock().unwrap_or_else(|p| p.into_inner()) == WatchState::Synced;
        synced.then(|| PodSite {
            cluster: key.id(),
            namespace: pod_namespace.to_string(),
            api: Api::namespaced(watch.client.clone(), pod_namespace),
            store: watch.store.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            client: watch.client.clone(),
        })
    }
}

/// What one build cluster's Pod watch task works with.
struct PodWatch {
    key: ClusterKey,
    client: Client,
    pod_namespace: String,
    prowjob_namespace: String,
    store: Arc<Mutex<Store<JobPod>>>,
    state: Arc<Mutex<WatchState>>,
    ctx: Arc<Context>,
    prowjobs: Store<ProwJob>,
    wakers: Arc<Wakers>,
    created_pods: CreatedPods,
}

impl PodWatch {
    /// Watches until aborted: each round lists the pods anew into a fresh store, which replaces
    /// the previous one once complete, then follows their changes until the watch fails.
    async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let (store, writer) = reflector::store::<JobPod>();
            let config = watcher::Config::default().labels(&format!("{CREATED_BY_PROW}=true"));
            let api: Api<JobPod> = Api::namespaced(self.client.clone(), &self.pod_namespace);
            let stream = watcher(api, config).reflect(writer);
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Event::InitDone) => {
                        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = store.clone();
                        backoff = Duration::from_secs(1);
                        self.became(WatchState::Synced);
                    }
                    Ok(Event::Apply(pod) | Event::InitApply(pod)) => {
                        let key = (self.key.id(), self.pod_namespace.clone(), pod.name_any());
                        self.created_pods.lock().unwrap_or_else(|p| p.into_inner()).forget(&key);
                        self.wake_owner(&pod);
                    }
                    Ok(Event::Delete(pod)) => self.wake_owner(&pod),
                    Ok(Event::Init) => {}
                    Err(error) => {
                        self.became(WatchState::Failed(api_error::watch_cause(&error)));
                        break;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Records the watch's new state; on a change between usable and not, wakes the cluster's
    /// unfinished jobs and has the instance probe it again at once.
    fn became(&self, now: WatchState) {
        let before = std::mem::replace(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()), now.clone());
        let usable = |state: &WatchState| *state == WatchState::Synced;
        if usable(&before) == usable(&now) {
            return;
        }
        match &now {
            WatchState::Failed(error) => warn!(cluster = %self.key.id(), %error, "lost the build cluster's pods"),
            _ => info!(cluster = %self.key.id(), "the build cluster's pods are listed"),
        }
        for job in self.prowjobs.state() {
            let mine = job.metadata.namespace.as_deref() == Some(self.prowjob_namespace.as_str())
                && placement::alias_of(&job) == self.key.alias
                && job.status.as_ref().is_some_and(|s| s.completion_time.is_none());
            if mine {
                self.wakers.wake(ObjectRef::from_obj(job.as_ref()), false);
            }
        }
        self.ctx.build_clusters.probe_soon(&self.key.instance, &self.key.alias);
        let (namespace, name) = &self.key.instance;
        wakeups::instance(&self.ctx, ObjectRef::new(name).within(namespace));
    }

    /// Wakes the ProwJob `pod` belongs to: its `prow.k8s.io/id`, else its name.
    fn wake_owner(&self, pod: &JobPod) {
        let labels = pod.metadata.labels.as_ref();
        let Some(name) = labels.and_then(|l| l.get(PROWJOB_ID)).or(pod.metadata.name.as_ref()) else {
            return;
        };
        self.wakers
            .wake(ObjectRef::new(name).within(&self.prowjob_namespace), false);
    }
}

/// A build cluster's health from what is known of it: `kubeconfig`, `None` when no kubeconfig
/// was found for it, else why no client could be made from it (if so); the last `probe`'s state
/// and error; and its Pod watch's state. The probe decides on the credentials; the watch, fresher,
/// on reachability.
fn health_of(
    kubeconfig: Option<Option<&str>>,
    probe: Option<(&str, &str)>,
    watch: Option<&WatchState>,
) -> ClusterHealth {
    let Some(kubeconfig) = kubeconfig else {
        return ClusterHealth::Unusable(
            "has no kubeconfig the operator can read (see the instance's status.buildClusters)".into(),
        );
    };
    if let Some(error) = kubeconfig {
        return ClusterHealth::Unusable(format!("is {}: {error}", state::INVALID_KUBECONFIG));
    }
    let Some((probed, error)) = probe else {
        return ClusterHealth::Connecting;
    };
    if probed == state::MISSING_PERMISSIONS || probed == state::INVALID_KUBECONFIG {
        return ClusterHealth::Unusable(format!("is {probed}: {error}"));
    }
    match (watch, probed) {
        (Some(WatchState::Synced), _) => ClusterHealth::Usable,
        (Some(WatchState::Failed(error)), _) => ClusterHealth::Unusable(format!("is {}: {error}", state::UNREACHABLE)),
        (_, state::UNREACHABLE) => ClusterHealth::Unusable(format!("is {}: {error}", state::UNREACHABLE)),
        _ => ClusterHealth::Connecting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_decides_on_the_credentials_and_the_watch_on_reachability() {
        let reachable = Some((state::REACHABLE, ""));
        let synced = Some(&WatchState::Synced);
        assert_eq!(health_of(Some(None), reachable, synced), ClusterHealth::Usable);
        // The watch came back before the next probe: usable.
        assert_eq!(
            health_of(Some(None), Some((state::UNREACHABLE, "refused")), synced),
            ClusterHealth::Usable
        );
        // The watch failed after the last probe: unreachable, with the watch's words.
        let failed = WatchState::Failed("watching: connection refused".into());
        assert_eq!(
            health_of(Some(None), reachable, Some(&failed)),
            ClusterHealth::Unusable("is Unreachable: watching: connection refused".into())
        );
        // Missing permissions hold the jobs however the watch fares.
        assert_eq!(
            health_of(
                Some(None),
                Some((state::MISSING_PERMISSIONS, "the credentials may not patch pods")),
                synced
            ),
            ClusterHealth::Unusable("is MissingPermissions: the credentials may not patch pods".into())
        );
        // Not probed or not listed yet: a moment's wait, without a word.
        assert_eq!(health_of(Some(None), None, synced), ClusterHealth::Connecting);
        assert_eq!(
            health_of(Some(None), reachable, Some(&WatchState::Connecting)),
            ClusterHealth::Connecting
        );
        assert_eq!(health_of(Some(None), reachable, None), ClusterHealth::Connecting);
        assert_eq!(
            health_of(Some(None), Some((state::UNREACHABLE, "refused")), None),
            ClusterHealth::Unusable("is Unreachable: refused".into())
        );
        assert_eq!(
            health_of(Some(Some("no server")), reachable, synced),
            ClusterHealth::Unusable("is InvalidKubeconfig: no server".into())
        );
        assert!(matches!(health_of(None, None, None), ClusterHealth::Unusable(_)));
    }
}
