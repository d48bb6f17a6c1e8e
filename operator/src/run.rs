//! `prow-operator run`: the controller, with its health and metrics endpoints, under a Lease.
//!
//! Every replica serves `/healthz`, `/readyz`, `/metrics` and `POST /hook` (the native trigger:
//! a webhook is answered once its ProwJobs are written, see [`crate::http`]). Only the replica
//! holding the Lease reconciles; when it loses the Lease it stops at once, abandoning the reconciles
//! in flight, and waits to win it again. SIGTERM (or Ctrl-C) stops the controller after the
//! reconciles in flight (abandoned after [`DRAIN`]), only then releases the Lease, and exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::controller::manager::{self, Settings};
use crate::controller::webhook_activity::ActivityRecorder;
use crate::controller::{Context, hmac};
use crate::http::metrics::Metrics;
use crate::http::{self as endpoints, Routes, State};
use crate::lease::{ElectionConfig, LeaderElector};
use crate::render::OperatorWebhook;
use crate::trigger;
use crate::webhook::signature::Tokens;

/// How `run` is configured.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// A kubeconfig file; in-cluster configuration (or `$KUBECONFIG`) otherwise.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace the operator runs in: its Lease and webhook Service are there.
    pub namespace: String,
    /// Where `/healthz` and `/readyz` are served.
    pub health_address: SocketAddr,
    /// Where `/metrics` is served.
    pub metrics_address: SocketAddr,
    /// Where `POST /hook` (GitHub webhooks for the native trigger) is served.
    pub hook_address: SocketAddr,
    /// How many webhook deliveries are remembered to catch redeliveries.
    pub remembered_deliveries: usize,
    /// The Lease's duration.
    pub lease_duration: Duration,
    /// How often the leader renews the Lease.
    pub lease_renew_period: Duration,
    /// How often label sync visits every repository.
    pub label_sync_full_pass: Duration,
}

/// Why `run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// No usable cluster configuration.
    #[error("cannot load the cluster configuration: {0}")]
    Config(String),
    /// The client could not be built.
    #[error("cannot create the Kubernetes client: {}", crate::controller::api_error::cause(.0))]
    Client(kube::Error),
    /// An endpoint could not listen.
    #[error(transparent)]
    Listen(#[from] endpoints::ListenError),
    /// The Lease settings are invalid.
    #[error("leader election: {0}")]
    Lease(#[from] crate::lease::ElectionError),
    /// The controller could not start.
    #[error(transparent)]
    Manager(#[from] manager::ManagerError),
}

/// How long, after the operator stopped, its runtime waits for blocking work (a signature being
/// checked over a large body, say) before it exits anyway.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long, after SIGTERM, the reconciles in flight may take to finish before they are
/// abandoned and the Lease released (abandoning one is safe: each step is repeated by the next
/// leader).
const DRAIN: Duration = Duration::from_secs(3);

/// Runs the operator until SIGTERM.
pub fn run(options: RunOptions) -> Result<(), RunError> {
    return_large_buffers_to_the_system();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let result = runtime.block_on(run_async(options));
    runtime.shutdown_timeout(EXIT_GRACE);
    result
}

async fn client(kubeconfig: Option<&PathBuf>) -> Result<Client, RunError> {
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| RunError::Config(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| RunError::Config(format!("{}: {e}", path.display())))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| RunError::Config(e.to_string()))?,
    };
    let mut config = config;
    config.headers.push((
        hyper::header::USER_AGENT,
        hyper::header::HeaderValue::from_static(USER_AGENT),
    ));
    Client::try_from(config).map_err(RunError::Client)
}

/// The `User-Agent` of the operator's API requests, so audit logs tell it apart.
pub const USER_AGENT: &str = concat!("prow-operator/", env!("CARGO_PKG_VERSION"));

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                warn!(%error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Keeps the webhook tokens in force equal to the native-trigger instances' HMAC Secrets: read
/// again whenever an instance or a Secret one names changes, and every minute in case a watch
/// event was missed.
async fn refresh_tokens(ctx: Arc<Context>, state: Arc<State>) {
    loop {
        let tokens = hmac::tokens(&ctx).await;
        *state.tokens.write().unwrap_or_else(|p| p.into_inner()) = tokens;
        tokio::select! {
            _ = ctx.changed.secrets.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}

/// Raises the soft limit of open files to the hard one, as Go programs (upstream's hook) do at
/// start: the webhook listener's connection cap must stay below it, with room for the API and
/// GitHub connections and for the probes' own listener.
fn raise_open_files_limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct given.
        let raised = unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max && {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
            }
        };
        if raised {
            info!(open_files = limit.rlim_cur, "raised the limit of open files");
        }
    }
}

/// Makes glibc serve every allocation of 1 MiB or more (webhook bodies, above all) by `mmap`, so
/// it goes back to the system when freed. By default glibc raises that threshold after freeing
/// such a block (up to 32 MiB), and the 25 MiB bodies of unsigned requests then stayed in the
/// heap: under 50 clients sending them, RSS grew past the body budget.
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a setting of the allocator (under its own locks); it is
        // called once, before the runtime's threads start.
        let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024) };
    }
}

async fn run_async(options: RunOptions) -> Result<(), RunError> {
    let client = client(options.kubeconfig.as_ref()).await?;
    let metrics = Arc::new(Metrics::default());
    raise_open_files_limit();
    let state = Arc::new(State::new(
        Tokens::default(),
        options.remembered_deliveries,
        metrics.clone(),
    ));
    let (health_address, _health) = endpoints::serve(options.health_address, state.clone(), Routes::HEALTH).await?;
    let (metrics_address, _metrics) = endpoints::serve(options.metrics_address, state.clone(), Routes::METRICS).await?;
    let (hook_address, hook) = endpoints::serve(options.hook_address, state.clone(), Routes::HOOK).await?;
    info!(%health_address, %metrics_address, %hook_address, "serving");

    let (stop_sender, stop) = watch::channel(false);
    tokio::spawn(async move {
        terminated().await;
        // No new webhook connections while draining (the Service sends them to other
        // replicas); the ones open are answered. Health and metrics stay up until the end.
        hook.abort();
        info!("termination requested; draining");
        let _ = stop_sender.send(true);
    });
    let stopped = |mut stop: watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|s| *s).await;
    };

    let mut election = ElectionConfig::new(options.namespace.clone(), "prow-operator");
    election.lease_duration = options.lease_duration;
    election.renew_period = options.lease_renew_period;
    let elector = LeaderElector::new(client.clone(), election)?;
    let identity = elector.identity().to_string();
    let mut leader = elector.subscribe();
    // The Lease is released only once this replica stopped acting, so that the next leader never
    // acts beside it (as upstream's controllers release on cancel only after they stopped).
    let (acting_ended, ended) = watch::channel(false);
    let election_task = tokio::spawn(elector.run(stopped(ended)));

    let caches = manager::Caches::start(
        client.clone(),
        metrics.clone(),
        Settings {
            webhook: OperatorWebhook::in_namespace(&options.namespace),
            identity: identity.clone(),
            label_sync_full_pass: options.label_sync_full_pass,
        },
    )
    .await?;
    // Every replica acts on webhooks (the Service spreads them); the HMAC tokens follow the
    // instances and their Secrets.
    tokio::spawn(refresh_tokens(caches.ctx.clone(), state.clone()));
    // A burst of deliveries leaves freed pages across glibc's arenas that it would keep, and the
    // Deployment's memory limit counts them.
    let answered = state.clone();
    tokio::spawn(async move { crate::controller::release_freed_memory_while_busy(&answered.answered).await });
    let _ = state.consumer.set(Arc::new(trigger::Consumer {
        ctx: caches.ctx.clone(),
        jobs: caches.leading_jobs.clone(),
    }));
    // Every replica notes the signed deliveries it receives for the leader's webhook loop.
    let activity = Arc::new(ActivityRecorder::new(caches.ctx.clone()));
    let _ = state.observer.set(activity.clone());
    tokio::spawn(activity.run());
    state.ready.store(true, Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = stopped(stop.clone()) => break,
            changed = leader.wait_for(|l| *l) => if changed.is_err() { break },
        }
        info!(%identity, "leading: starting the controller");
        let (mut lost, mut lost_now) = (leader.clone(), leader.clone());
        let stop_now = stop.clone();
        let stop_drain = stop.clone();
        caches
            .lead(
                async move {
                    tokio::select! {
                        _ = stopped(stop_now) => {}
                        _ = lost.wait_for(|l| !*l) => {}
                    }
                },
                async move {
                    tokio::select! {
                        // Terminating while still holding the Lease: the work in flight may
                        // finish, for a while.
                        _ = async {
                            stopped(stop_drain).await;
                            tokio::time::sleep(DRAIN).await;
                        } => {}
                        // The Lease is lost: another replica may lead any moment.
                        _ = lost_now.wait_for(|l| !*l) => {}
                    }
                },
            )
            .await;
        if *stop.borrow() {
            break;
        }
        warn!("lost the Lease: the controller stopped until it is won again");
    }
    let _ = acting_ended.send(true);
    let _ = election_task.await;
    info!("stopped");
    Ok(())
}
