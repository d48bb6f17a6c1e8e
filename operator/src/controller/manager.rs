//! Wiring: the caches and the watches that trigger reconciles (on every replica), and the
//! instance controller and the orphan loop (on the leader).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector;
use kube::runtime::watcher::{self, watcher};
use kube::runtime::{WatchStreamExt, predicates};
use kube::{Api, Client};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use tracing::{info, warn};

use super::apply::Applier;
use super::instance;
use super::jobs;
use super::label_sync;
use super::last_good::LastGood;
use super::orphans;
use super::recorder::{Recorder, Reporter};
use super::wakeups::{self, Changes};
use super::watch_task::drive;
use super::webhooks;
use super::{Changed, ConfigRef, Context, Leadership, Queue, ReconcileError, Reconciles, Selections, Stores};
use crate::http::metrics::Metrics;
use crate::pipeline::ConfigKind;
use crate::render::OperatorWebhook;
use crate::render::meta::MANAGER;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The operator's webhook endpoint, rendered into the Ingress and plugins.yaml.
    pub webhook: OperatorWebhook,
    /// This replica's name, for Events (the pod name).
    pub identity: String,
    /// How often label sync visits every repository, to repair labels changed on GitHub.
    pub label_sync_full_pass: Duration,
}

/// How long to wait before retrying a failed reconcile.
const RETRY: Duration = Duration::from_secs(5);

/// Why the controller could not run.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The caches could not be filled.
    #[error("the watch caches did not fill: a writer stopped")]
    Caches,
}

/// The caches every replica keeps (so that any replica can serve webhooks), and the context the
/// controller runs with while this replica leads.
pub struct Caches {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// The job loops while this replica leads, for the trigger.
    pub leading_jobs: jobs::LeadingJobs,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    label_sync_full_pass: Duration,
}

impl Drop for Caches {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Caches {
    /// Starts the watches and waits until the caches are filled: the first reconcile must see
    /// every JobConfig, since an empty cache would render (and prune) an empty job config.
    pub async fn start(client: Client, metrics: Arc<Metrics>, settings: Settings) -> Result<Caches, ManagerError> {
        let (instances, instances_writer) = reflector::store::<ProwInstance>();
        let (job_configs, job_configs_writer) = reflector::store::<JobConfig>();
        let (plugin_configs, plugin_configs_writer) = reflector::store::<PluginConfig>();
        let (label_sets, label_sets_writer) = reflector::store::<LabelSet>();
        let (namespaces, namespaces_writer) = reflector::store();
        let reporter = Reporter {
            controller: MANAGER.to_string(),
            instance: settings.identity.clone(),
        };
        let ctx = Arc::new(Context {
            client: client.clone(),
            stores: Stores {
                instances: instances.clone(),
                job_configs: job_configs.clone(),
                plugin_configs: plugin_configs.clone(),
                label_sets: label_sets.clone(),
                namespaces: namespaces.clone(),
            },
            recorder: Recorder::new(client.clone(), reporter),
            metrics: metrics.clone(),
            webhook: settings.webhook,
            last_good: LastGood::default(),
            live_jobs: Default::default(),
            github: Default::default(),
            build_clusters: Default::default(),
            label_sync: Default::default(),
            changed: Changed::default(),
            leadership: Leadership::default(),
            reconciles: Reconciles {
                applier: Applier::new(client.clone()),
                written: Default::default(),
                selections: Selections::default(),
                checked: Default::default(),
                queue: Queue::new(metrics),
            },
        });

        let config = watcher::Config::default();
        let instance_stream = watcher(Api::<ProwInstance>::all(client.clone()), config.clone())
            .default_backoff()
            .modify(strip_managed_fields)
            .reflect(instances_writer);
        let instance_changes = ctx.clone();
        let mut tasks = vec![
            drive(instance_stream, move |_| {
                instance_changes.live_jobs.caches_changed();
                instance_changes.changed.secrets.notify_one();
                instance_changes.changed.instances.notify_one();
                instance_changes.changed.label_sets.notify_one();
                instance_changes.changed.webhooks.notify_one();
            }),
            watch_configs(
                ConfigKind::JobConfig,
                Api::all(client.clone()),
                job_configs_writer,
                &ctx,
            ),
            watch_configs(
                ConfigKind::PluginConfig,
                Api::all(client.clone()),
                plugin_configs_writer,
                &ctx,
            ),
            watch_configs(ConfigKind::LabelSet, Api::all(client.clone()), label_sets_writer, &ctx),
        ];
        {
            let (ctx, mut changes) = (ctx.clone(), Changes::default());
            let stream = watcher(Api::<PartialObjectMeta<Namespace>>::all(client.clone()), config.clone())
                .default_backoff()
                .modify(strip_managed_fields)
                .reflect(namespaces_writer);
            tasks.push(drive(stream, move |event| {
                ctx.live_jobs.caches_changed();
                wakeups::on_namespace_event(event, &mut changes, &ctx)
            }));
        }
        {
            let ctx = ctx.clone();
            let stream =
                watcher(Api::<PartialObjectMeta<Secret>>::all(client.clone()), config.clone()).default_backoff();
            tasks.push(drive(stream, move |event| {
                wakeups::on_secret_event(event, &ctx);
                // A copy of the storage Secret, changed or deleted by someone else.
                wakeups::on_owned_event(event, &ctx);
            }));
        }
        let owned = config.labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
        {
            let ctx = ctx.clone();
            let stream =
                watcher(Api::<PartialObjectMeta<ConfigMap>>::all(client.clone()), owned.clone()).default_backoff();
            tasks.push(drive(stream, move |event| wakeups::on_owned_event(event, &ctx)));
        }
        {
            let ctx = ctx.clone();
            let stream = watcher(Api::<PartialObjectMeta<Deployment>>::all(client.clone()), owned).default_backoff();
            tasks.push(drive(stream, move |event| wakeups::on_owned_event(event, &ctx)));
        }
        let caches = Caches {
            ctx,
            leading_jobs: jobs::LeadingJobs::default(),
            tasks,
            label_sync_full_pass: settings.label_sync_full_pass,
        };
        let wait = async {
            instances.wait_until_ready().await?;
            job_configs.wait_until_ready().await?;
            plugin_configs.wait_until_ready().await?;
            label_sets.wait_until_ready().await?;
            namespaces.wait_until_ready().await
        };
        if wait.await.is_err() {
            return Err(ManagerError::Caches);
        }
        info!(
            instances = instances.len(),
            job_configs = job_configs.len(),
            plugin_configs = plugin_configs.len(),
            label_sets = label_sets.len(),
            "caches filled"
        );
        Ok(caches)
    }

    /// Runs the controller, for one term of leadership, until `shutdown` completes and the
    /// reconciles in flight finished, or until `abandon` completes, which drops them. Nothing it
    /// started acts once it returns.
    pub async fn lead(
        &self,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
        abandon: impl Future<Output = ()>,
    ) {
        let ctx = &self.ctx;
        let (orphans_sender, orphans_receiver) = orphans::channel();
        let (triggers_sender, triggers_receiver) = futures::channel::mpsc::unbounded();
        ctx.leadership.begin(triggers_sender, orphans_sender);
        let orphan_loop = tokio::spawn(orphans::run(orphans_receiver, ctx.clone()));
        // Objects no instance selects get their status from this term's leader.
        let stores = &ctx.stores;
        ctx.leadership.recheck(
            stores
                .job_configs
                .state()
                .iter()
                .map(|c| ConfigRef::of(ConfigKind::JobConfig, &c.metadata))
                .chain(
                    stores
                        .plugin_configs
                        .state()
                        .iter()
                        .map(|c| ConfigRef::of(ConfigKind::PluginConfig, &c.metadata)),
                )
                .chain(
                    stores
                        .label_sets
                        .state()
                        .iter()
                        .map(|c| ConfigRef::of(ConfigKind::LabelSet, &c.metadata)),
                ),
        );
        // The controller keeps its own view of the instances, filtered to spec changes so its
        // own status writes do not trigger it again.
        let (instances, writer) = reflector::store::<ProwInstance>();
        let instance_stream = watcher(Api::<ProwInstance>::all(ctx.client.clone()), watcher::Config::default())
            .default_backoff()
            .modify(strip_managed_fields)
            .reflect(writer)
            .applied_objects()
            .predicate_filter(predicates::generation, Default::default());
        // The job loops run beside the controller for the same term.
        let shutdown = futures::FutureExt::shared(shutdown);
        let filled = instances.clone();
        let controller = Controller::for_stream(instance_stream, instances)
            .reconcile_on(triggers_receiver)
            .graceful_shutdown_on(shutdown.clone())
            .run(instance::reconcile, error_policy, ctx.clone())
            .for_each(|result| async move {
                if let Err(error) = result {
                    tracing::debug!(%error, "reconcile request failed");
                }
            });
        // A controller told to stop before its cache filled would wait for the cache for ever
        // (kube-runtime holds its runner until the store is ready, and stops reading the watch
        // that would fill it): it has reconciled nothing yet, so it is dropped instead.
        let stop_shutdown = shutdown.clone();
        let controller = async move {
            tokio::pin!(controller);
            tokio::select! {
                () = &mut controller => return,
                () = stop_shutdown => {}
            }
            if futures::FutureExt::now_or_never(filled.wait_until_ready()).is_some() {
                controller.await;
            }
        };
        let loops = async {
            tokio::join!(
                controller,
                jobs::lead(ctx.clone(), self.leading_jobs.clone(), shutdown.clone()),
                label_sync::lead(ctx.clone(), self.label_sync_full_pass, shutdown.clone()),
                webhooks::lead(ctx.clone(), shutdown)
            );
        };
        tokio::select! {
            () = loops => {}
            () = abandon => warn!("the reconciles in flight were abandoned: the Lease was lost, or they outlasted the drain"),
        }
        ctx.leadership.end();
        orphan_loop.abort();
        // Gone before this returns (the Lease may be released next).
        let _ = orphan_loop.await;
        info!("controller stopped");
    }
}

/// The caches keep no `managedFields`: nothing reads them, and for a JobConfig they can be as
/// large as its spec.
fn strip_managed_fields<K: kube::Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

fn watch_configs<K>(
    kind: ConfigKind,
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    ctx: &Arc<Context>,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (ctx, mut changes) = (ctx.clone(), Changes::default());
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(strip_managed_fields)
        .reflect(writer);
    drive(stream, move |event| {
        ctx.live_jobs.caches_changed();
        wakeups::on_config_event(kind, event, &mut changes, &ctx);
        if kind == ConfigKind::LabelSet {
            ctx.changed.label_sets.notify_one();
        }
    })
}

/// Retries a failed reconcile (`instance::reconcile` counted it).
fn error_policy(instance: Arc<ProwInstance>, error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    warn!(
        instance = %format!("{}/{}", instance.metadata.namespace.as_deref().unwrap_or_default(), instance.metadata.name.as_deref().unwrap_or_default()),
        %error,
        "reconcile failed; retrying"
    );
    Action::requeue(RETRY)
}
