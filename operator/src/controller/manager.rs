//! Wiring: the caches, the watches that trigger reconciles, the instance controller and the
//! orphan loop, until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector;
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::{WatchStreamExt, predicates};
use kube::{Api, Client};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use tracing::{info, warn};

use super::apply::Applier;
use super::instance;
use super::last_good::LastGood;
use super::orphans;
use super::triggers::{self, Changes, Triggers};
use super::{Context, Queue, ReconcileError, Selections, Stores};
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

fn drive<K, S>(stream: S, mut handle: impl FnMut(&Event<K>) + Send + 'static) -> tokio::task::JoinHandle<()>
where
    K: Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => handle(&event),
                Err(error) => warn!(%error, "watch failed; retrying"),
            }
        }
    })
}

/// Runs the controller until `shutdown` completes. `ready` turns true once the caches are
/// filled.
pub async fn run(
    client: Client,
    metrics: Arc<Metrics>,
    settings: Settings,
    ready: impl FnOnce() + Send,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), ManagerError> {
    let (instances, instances_writer) = reflector::store::<ProwInstance>();
    let (job_configs, job_configs_writer) = reflector::store::<JobConfig>();
    let (plugin_configs, plugin_configs_writer) = reflector::store::<PluginConfig>();
    let (label_sets, label_sets_writer) = reflector::store::<LabelSet>();
    let (namespaces, namespaces_writer) = reflector::store();
    let (orphans_sender, orphans_receiver) = orphans::channel();
    let (triggers_sender, triggers_receiver) = futures::channel::mpsc::unbounded();
    let reporter = Reporter {
        controller: MANAGER.to_string(),
        instance: Some(settings.identity.clone()),
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        applier: Applier::new(client.clone()),
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
        written: Default::default(),
        selections: Selections::default(),
        orphans: orphans_sender,
        queue: Queue::new(metrics),
    });

    let config = watcher::Config::default();
    let mut tasks = vec![
        watch_configs(
            ConfigKind::JobConfig,
            Api::all(client.clone()),
            job_configs_writer,
            &ctx,
            &triggers_sender,
        ),
        watch_configs(
            ConfigKind::PluginConfig,
            Api::all(client.clone()),
            plugin_configs_writer,
            &ctx,
            &triggers_sender,
        ),
        watch_configs(
            ConfigKind::LabelSet,
            Api::all(client.clone()),
            label_sets_writer,
            &ctx,
            &triggers_sender,
        ),
    ];
    {
        let (ctx, sender, mut changes) = (ctx.clone(), triggers_sender.clone(), Changes::default());
        let stream = watcher(Api::<PartialObjectMeta<Namespace>>::all(client.clone()), config.clone())
            .default_backoff()
            .reflect(namespaces_writer);
        tasks.push(drive(stream, move |event| {
            triggers::on_namespace_event(event, &mut changes, &ctx, &sender)
        }));
    }
    {
        let (ctx, sender) = (ctx.clone(), triggers_sender.clone());
        let stream = watcher(Api::<PartialObjectMeta<Secret>>::all(client.clone()), config.clone()).default_backoff();
        tasks.push(drive(stream, move |event| {
            triggers::on_secret_event(event, &ctx, &sender)
        }));
    }
    let owned = config
        .clone()
        .labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    {
        let (ctx, sender) = (ctx.clone(), triggers_sender.clone());
        let stream = watcher(Api::<PartialObjectMeta<ConfigMap>>::all(client.clone()), owned.clone()).default_backoff();
        tasks.push(drive(stream, move |event| {
            triggers::on_owned_event(event, &ctx, &sender)
        }));
    }
    {
        let (ctx, sender) = (ctx.clone(), triggers_sender.clone());
        let stream = watcher(Api::<PartialObjectMeta<Deployment>>::all(client.clone()), owned).default_backoff();
        tasks.push(drive(stream, move |event| {
            triggers::on_owned_event(event, &ctx, &sender)
        }));
    }
    drop(triggers_sender);

    // The first reconcile must see every JobConfig: an empty cache would render (and prune) an
    // empty job config.
    let wait = async {
        job_configs.wait_until_ready().await?;
        plugin_configs.wait_until_ready().await?;
        label_sets.wait_until_ready().await?;
        namespaces.wait_until_ready().await
    };
    if wait.await.is_err() {
        return Err(ManagerError::Caches);
    }
    info!(
        job_configs = job_configs.len(),
        plugin_configs = plugin_configs.len(),
        label_sets = label_sets.len(),
        "caches filled"
    );
    ready();
    let orphan_loop = tokio::spawn(orphans::run(orphans_receiver, ctx.clone()));

    let instance_stream = watcher(Api::<ProwInstance>::all(client.clone()), config)
        .default_backoff()
        .reflect(instances_writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    Controller::for_stream(instance_stream, instances)
        .reconcile_on(triggers_receiver)
        .graceful_shutdown_on(shutdown)
        .run(instance::reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile request failed");
            }
        })
        .await;
    info!("controller stopped");
    orphan_loop.abort();
    for task in tasks {
        task.abort();
    }
    Ok(())
}

fn watch_configs<K>(
    kind: ConfigKind,
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    ctx: &Arc<Context>,
    triggers: &Triggers,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (ctx, sender, mut changes) = (ctx.clone(), triggers.clone(), Changes::default());
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    drive(stream, move |event| {
        triggers::on_config_event(kind, event, &mut changes, &ctx, &sender)
    })
}

fn error_policy(instance: Arc<ProwInstance>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    ctx.metrics.increment(
        "prow_operator_reconcile_errors_total",
        "Failed reconciles by kind and reason.",
        &[("kind", "ProwInstance"), ("reason", error.reason())],
    );
    warn!(
        instance = %format!("{}/{}", instance.metadata.namespace.as_deref().unwrap_or_default(), instance.metadata.name.as_deref().unwrap_or_default()),
        %error,
        "reconcile failed; retrying"
    );
    Action::requeue(RETRY)
}
