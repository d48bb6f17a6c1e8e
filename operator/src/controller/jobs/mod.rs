//! The native job engine, live: the loops that run ProwJobs as pods ([`execute`], plank),
//! start periodics ([`schedule`], horologium), report to GitHub ([`report`], crier's GitHub
//! reporter) and clean up ([`clean`], sinker).
//!
//! Each loop reads the ProwJob and Pod caches, asks the pure core in `engine` what to do, and
//! applies the answer. They run only while this replica holds the Lease ([`lead`]), for the
//! instances that run the function natively ([`Function::native`]); a ProwJob belongs to the
//! instance whose ProwJob namespace holds it.
//!
//! Writes are safe to repeat and to race with another replica: pods are named after their
//! ProwJob, periodic runs get deterministic names, state changes are JSON patches that test the
//! state they start from, and a report is recorded in `prev_report_states` only once made.

pub mod clean;
pub mod clusters;
pub mod execute;
mod instance_changes;
mod lenient;
pub mod recent;
pub mod report;
pub mod runs;
pub mod schedule;
pub mod settings;
mod slim;
mod waiting;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::future::Shared;
use futures::{FutureExt, StreamExt};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::{WatchStreamExt, controller};
use kube::{Api, ResourceExt};
use prow_api::{ProwInstance, ProwJob, ProwJobState};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::github_clients::CredentialsError;
use super::watch_task::drive;
use super::{Context, api_error};
use crate::engine::execute::BuildIds;
use crate::engine::job_pod::JobPod;
use crate::github::{GitHubClient, GitHubError};
use crate::job_labels::{CREATED_BY_PROW, PROWJOB_ID};
use recent::Recent;
pub use settings::{Function, InstanceSettings};

/// How often the schedule and clean loops read their interval again while they wait, should
/// nothing wake them first (an instance created or edited does at once).
pub const RECHECK: Duration = Duration::from_secs(5);

/// Waits until `interval()` has passed since `last`; `false` when `shutdown` came first.
/// `interval()` is read again whenever `changed` is notified (the instances changed: one created
/// again, or a shorter interval set) and every [`RECHECK`].
async fn wait_for<F>(
    shutdown: &Shared<F>,
    changed: &tokio::sync::Notify,
    last: tokio::time::Instant,
    interval: impl Fn() -> Duration,
) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    loop {
        // Listening before the interval is read, so a change made meanwhile is not missed.
        let notified = changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let left = interval().saturating_sub(last.elapsed());
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = shutdown.clone() => return false,
            _ = tokio::time::sleep(left.min(RECHECK)) => {}
            _ = notified => {}
        }
    }
}

/// Why a step of a job loop failed; it is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The ProwJob or Pod cache could not be filled.
    #[error("the ProwJob and Pod caches did not fill: a watch stopped")]
    Caches,
    /// A ProwJob could not be read or written.
    #[error("{action} ProwJob {namespace}/{name}: {}", api_error::cause(.source))]
    ProwJob {
        /// What was being done.
        action: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// A job pod could not be written.
    #[error("{action} Pod {namespace}/{name}: {}", api_error::cause(.source))]
    Pod {
        /// What was being done.
        action: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// The instance's GitHub credentials are unusable.
    #[error("GitHub credentials of ProwInstance {instance}: {source}")]
    Credentials {
        /// The instance, `namespace/name`.
        instance: String,
        /// Why.
        source: CredentialsError,
    },
    /// GitHub did not take a report; it is made again later.
    #[error("reporting ProwJob {prowjob}: {source}")]
    GitHub {
        /// The ProwJob, `namespace/name`.
        prowjob: String,
        /// The GitHub error.
        source: GitHubError,
    },
}

impl JobsError {
    /// How long GitHub asked to wait before the next attempt, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            JobsError::GitHub { source, .. } => source.retry_after(),
            _ => None,
        }
    }
}

/// Where the loops get the time from, so tests can move it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The job loops while this replica leads and has their caches filled: the handle the trigger
/// takes to find a pull request's unfinished presubmits and to note the ProwJobs it created.
/// It holds them weakly, so they end with the term of leadership.
#[derive(Clone, Debug, Default)]
pub struct LeadingJobs(Arc<std::sync::RwLock<std::sync::Weak<Jobs>>>);

impl LeadingJobs {
    /// The job loops, if this replica leads and has their caches filled.
    pub fn get(&self) -> Option<Arc<Jobs>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).upgrade()
    }

    /// Makes `jobs` the leading job loops.
    fn set(&self, jobs: &Arc<Jobs>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(jobs);
    }
}

/// What the loops share during one term of leadership: the caches, and what was done but may not
/// be in the caches yet.
pub struct Jobs {
    /// The operator's context (client, instance caches, GitHub clients).
    pub ctx: Arc<Context>,
    /// Every ProwJob, reduced to what the loops read (without what builds its pod).
    pub prowjobs: Store<ProwJob>,
    /// Every pod labelled `created-by-prow=true`, as what the loops read of it.
    pub pods: Store<JobPod>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    settings: settings::SettingsByInstance,
    build_ids: BuildIds,
    /// The triggered and pending presubmits by run, for finding duplicates.
    runs: Arc<Mutex<runs::RunIndex>>,
    /// Pods this term created that the pod caches do not show yet.
    created_pods: clusters::CreatedPods,
    /// The Pod watches of the build clusters.
    clusters: clusters::BuildClusterPods,
    /// ProwJobs (by uid) this term moved from `triggered` to `pending`, while the ProwJob cache
    /// may still show them triggered.
    started: Mutex<Recent<String>>,
    /// The state reported for each ProwJob uid, until `prev_report_states` shows it.
    reported: Mutex<HashMap<String, ProwJobState>>,
    /// The state posted to GitHub for each ProwJob uid whose record in `prev_report_states`
    /// failed: the retry records it without posting it again.
    posted: Mutex<HashMap<String, ProwJobState>>,
    /// Failed attempts by ProwJob uid, for backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// One lock per pull request's failure comment.
    comment_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Held while a limited job is admitted, so two jobs never take the same slot.
    admission: tokio::sync::Mutex<()>,
    /// The triggered jobs waiting for a concurrency slot, woken when one may have freed.
    waiting: Arc<Mutex<waiting::Waiting>>,
    /// What wakes the executor and the reporter.
    wakers: Arc<Wakers>,
    /// Notified (every waiter) when the instances change, so the schedule and clean loops read
    /// their interval again at once.
    instances_changed: tokio::sync::Notify,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What wakes the loops: the ProwJob of every ProwJob event (for the executor and the reporter)
/// and the owning ProwJob of every Pod event, deletions included.
///
/// The loops are not driven by kube-runtime's shared streams (`reflect_shared` and
/// `ReflectHandle`): a `ReflectHandle` told of an object that is already gone from the store
/// (a MODIFIED and a DELETED of one Pod back to back) returns `Pending` without arranging a
/// wake-up, and its controller never hears of that stream again, so every later Pod change was
/// lost until something else woke the loop. Here each watch event is turned into the references
/// to reconcile as it passes the store, and nothing is looked up that may be gone.
pub struct Feeds {
    execute: UnboundedReceiver<ObjectRef<ProwJob>>,
    report: UnboundedReceiver<ObjectRef<ProwJob>>,
}

/// The senders of [`Feeds`]. The channels are unbounded, but each holds only references, and
/// the controllers drain them continuously (their schedulers fold repeats of one reference).
struct Wakers {
    execute: UnboundedSender<ObjectRef<ProwJob>>,
    report: UnboundedSender<ObjectRef<ProwJob>>,
}

impl Wakers {
    /// Wakes the executor, and the reporter when `report`, for `job`.
    fn wake(&self, job: ObjectRef<ProwJob>, report: bool) {
        if report {
            let _ = self.report.unbounded_send(job.clone());
        }
        let _ = self.execute.unbounded_send(job);
    }
}

impl Jobs {
    /// Starts the ProwJob and Pod watches and waits until both caches are filled.
    pub async fn start(
        ctx: Arc<Context>,
        leading: &LeadingJobs,
        clock: Arc<dyn Clock>,
    ) -> Result<(Arc<Jobs>, Feeds), JobsError> {
        let client = ctx.client.clone();
        let (prowjobs, prowjob_writer) = reflector::store::<ProwJob>();
        let (pods, pod_writer) = reflector::store::<JobPod>();
        let (execute_sender, execute) = unbounded();
        let (report_sender, report) = unbounded();
        let wakers = Arc::new(Wakers {
            execute: execute_sender,
            report: report_sender,
        });
        // Each ProwJob is read on its own: one the operator cannot read is left out, not the list.
        let prowjob_stream = lenient::prowjob_events(client.clone(), ctx.clone())
            .modify(slim::slim_prowjob)
            .reflect(prowjob_writer);
        let pod_config = watcher::Config::default().labels(&format!("{CREATED_BY_PROW}=true"));
        let pod_stream = watcher(Api::<JobPod>::all(client), pod_config)
            .default_backoff()
            .reflect(pod_writer);
        let owners = ctx.clone();
        let created_pods: clusters::CreatedPods = Arc::default();
        let seen = created_pods.clone();
        let runs: Arc<Mutex<runs::RunIndex>> = Arc::default();
        let index = runs.clone();
        let waiting: Arc<Mutex<waiting::Waiting>> = Arc::default();
        let queue = waiting.clone();
        let (job_wakers, pod_wakers) = (wakers.clone(), wakers.clone());
        let tasks = vec![
            drive(prowjob_stream, move |event| {
                if let Event::Apply(job) | Event::InitApply(job) = event {
                    job_wakers.wake(ObjectRef::from_obj(job), true);
                }
                index.lock().unwrap_or_else(|p| p.into_inner()).follow(event);
                let freed = queue.lock().unwrap_or_else(|p| p.into_inner()).follow(event);
                for job in freed {
                    job_wakers.wake(job, false);
                }
            }),
            drive(pod_stream, move |event| match event {
                Event::Apply(pod) | Event::InitApply(pod) => {
                    seen.lock().unwrap_or_else(|p| p.into_inner()).forget(&(
                        String::new(),
                        pod.namespace().unwrap_or_default(),
                        pod.name_any(),
                    ));
                    for owner in owners_of(&owners, pod) {
                        pod_wakers.wake(owner, false);
                    }
                }
                // A pod deleted at once (without a grace period) must wake its job up too.
                Event::Delete(pod) => {
                    for owner in owners_of(&owners, pod) {
                        pod_wakers.wake(owner, false);
                    }
                }
                _ => {}
            }),
        ];
        let jobs = Arc::new(Jobs {
            ctx,
            prowjobs,
            pods,
            clock,
            settings: settings::SettingsByInstance::default(),
            build_ids: BuildIds::default(),
            runs,
            created_pods,
            clusters: clusters::BuildClusterPods::default(),
            started: Mutex::default(),
            reported: Mutex::default(),
            posted: Mutex::default(),
            failures: Mutex::default(),
            comment_locks: Mutex::default(),
            admission: tokio::sync::Mutex::new(()),
            waiting,
            wakers,
            instances_changed: tokio::sync::Notify::new(),
            tasks,
        });
        let ready = async {
            jobs.prowjobs.wait_until_ready().await?;
            jobs.pods.wait_until_ready().await
        };
        if ready.await.is_err() {
            return Err(JobsError::Caches);
        }
        info!(
            prowjobs = jobs.prowjobs.len(),
            pods = jobs.pods.len(),
            "job caches filled"
        );
        // The trigger finds a pull request's unfinished presubmits here instead of listing them.
        leading.set(&jobs);
        Ok((jobs, Feeds { execute, report }))
    }

    /// Runs the four loops until `shutdown` completes; the execute and report loops finish the
    /// reconciles they started.
    pub async fn run(self: Arc<Self>, feeds: Feeds, shutdown: impl Future<Output = ()> + Send + 'static) {
        let shutdown = shutdown.shared();
        let activity = Arc::new(AtomicU64::new(0));
        let count = |activity: &Arc<AtomicU64>| {
            let activity = activity.clone();
            move |_| {
                activity.fetch_add(1, Ordering::Relaxed);
                futures::future::ready(())
            }
        };
        // The controllers' own trigger streams never yield: every wake-up comes from the feeds.
        let execute = controller::Controller::for_shared_stream(
            futures::stream::pending::<Arc<ProwJob>>(),
            self.prowjobs.clone(),
        )
        .reconcile_on(feeds.execute)
        .with_config(controller::Config::default().concurrency(execute::CONCURRENCY))
        .graceful_shutdown_on(shutdown.clone())
        .run(execute::reconcile, execute::error_policy, self.clone())
        .for_each(count(&activity));
        let report = controller::Controller::for_shared_stream(
            futures::stream::pending::<Arc<ProwJob>>(),
            self.prowjobs.clone(),
        )
        .reconcile_on(feeds.report)
        .with_config(controller::Config::default().concurrency(report::CONCURRENCY))
        .graceful_shutdown_on(shutdown.clone())
        .run(report::reconcile, report::error_policy, self.clone())
        .for_each(count(&activity));
        tokio::join!(
            execute,
            report,
            schedule::run(self.clone(), shutdown.clone()),
            clean::run(self.clone(), shutdown.clone()),
            self.clone().wake_on_instance_changes(shutdown.clone()),
            self.clone().follow_build_clusters(shutdown.clone()),
            async {
                // The loops' reconciles count as activity.
                tokio::select! {
                    () = shutdown => {}
                    () = super::release_freed_memory_while_busy(&activity) => {}
                }
            },
        );
        info!("job loops stopped");
    }

    /// Wakes the unfinished and unreported ProwJobs of every instance that is created (again) or
    /// edited, until `shutdown` (see [`instance_changes`]).
    async fn wake_on_instance_changes<F>(self: Arc<Self>, shutdown: Shared<F>)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut known = instance_changes::KnownInstances::default();
        // The start woke every ProwJob already.
        known.changed(&self.instances());
        loop {
            tokio::select! {
                _ = shutdown.clone() => return,
                _ = self.ctx.changed.instances.notified() => {}
            }
            self.instances_changed.notify_waiters();
            let jobs = self.prowjobs.state();
            for namespace in known.changed(&self.instances()) {
                let woken = instance_changes::to_wake(&jobs, &namespace);
                debug!(%namespace, prowjobs = woken.len(), "an instance was created or edited; waking its jobs");
                for (job, report) in woken {
                    self.wakers.wake(job, report);
                }
            }
        }
    }

    /// The instance whose ProwJob namespace is `namespace`, when it runs `function` natively.
    /// Should several instances share the namespace, the first by namespace and name acts alone.
    pub fn instance_for(
        &self,
        namespace: &str,
        function: Function,
    ) -> Option<(Arc<ProwInstance>, Arc<InstanceSettings>)> {
        let (instance, settings) = self
            .instances()
            .into_iter()
            .find(|(_, settings)| settings.namespaces.prowjob == namespace)?;
        settings.runs(function).then_some((instance, settings))
    }

    /// Every instance that is not being deleted, by namespace and name, with its settings.
    pub fn instances(&self) -> Vec<(Arc<ProwInstance>, Arc<InstanceSettings>)> {
        let mut instances: Vec<_> = self
            .ctx
            .stores
            .instances
            .state()
            .into_iter()
            .filter(|i| i.metadata.deletion_timestamp.is_none())
            .map(|i| {
                let settings = self.settings.get(&i);
                (i, settings)
            })
            .collect();
        instances.sort_by_key(|(i, _)| (i.namespace(), i.name_any()));
        instances
    }

    /// The instance's GitHub client.
    async fn github(&self, instance: &ProwInstance) -> Result<Arc<GitHubClient>, JobsError> {
        let namespace = instance.namespace().unwrap_or_default();
        let secrets = Api::namespaced(self.ctx.client.clone(), &namespace);
        self.ctx
            .github
            .client_for(instance, &secrets)
            .await
            .map_err(|source| JobsError::Credentials {
                instance: format!("{namespace}/{}", instance.name_any()),
                source,
            })
    }

    /// Counts a failed attempt on `job`; returns how long to wait before the next one: 1 s,
    /// doubling up to 5 minutes, or what GitHub asked for.
    fn backoff(&self, job: &ProwJob, error: &JobsError) -> Duration {
        let uid = job.uid().unwrap_or_default();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let attempts = failures.entry(uid).or_default();
        *attempts = attempts.saturating_add(1);
        let doubling = Duration::from_secs(1 << (*attempts - 1).min(9)).min(Duration::from_secs(300));
        error.retry_after().map_or(doubling, |asked| asked.max(doubling))
    }

    /// The names of the unfinished (triggered and pending) presubmits of pull request
    /// `org/repo#number` in `namespace`, including ones just created that the cache does not show
    /// yet.
    pub fn unfinished_presubmits(&self, namespace: &str, org: &str, repo: &str, number: i64) -> Vec<String> {
        let names = self
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .of_pull(namespace, org, repo, number);
        names
            .into_iter()
            .filter(|name| {
                self.prowjobs
                    .get(&ObjectRef::new(name).within(namespace))
                    .is_none_or(|job| job.status.as_ref().is_none_or(|s| s.completion_time.is_none()))
            })
            .collect()
    }

    /// Takes in a ProwJob the trigger just created, so that an event right after it finds it
    /// before the watch shows it.
    pub fn note_created(&self, job: &ProwJob) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).note(job);
    }

    /// Forgets the failed attempts on `job` after a success.
    fn succeeded(&self, job: &ProwJob) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !failures.is_empty() {
            failures.remove(&job.uid().unwrap_or_default());
        }
    }

    /// Forgets what is kept about ProwJobs that are gone.
    fn forget_deleted(&self) {
        let live: std::collections::HashSet<String> = self.prowjobs.state().iter().filter_map(|j| j.uid()).collect();
        self.reported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|uid, _| live.contains(uid));
        self.posted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|uid, _| live.contains(uid));
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|uid, _| live.contains(uid));
    }
}

/// The ProwJobs a job pod belongs to: its `prow.k8s.io/id` (else its name) in the ProwJob
/// namespace of each instance whose pods live in the pod's namespace.
fn owners_of(ctx: &Context, pod: &JobPod) -> Vec<ObjectRef<ProwJob>> {
    let Some(namespace) = pod.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    let name = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(PROWJOB_ID))
        .or(pod.metadata.name.as_ref());
    let Some(name) = name else { return Vec::new() };
    ctx.stores
        .instances
        .state()
        .iter()
        .filter_map(|instance| {
            let owner = crate::render::meta::Owner::of(instance);
            let namespaces = crate::render::config_yaml::Namespaces::of(&owner, &instance.spec);
            (namespaces.pod == namespace).then(|| ObjectRef::new(name).within(&namespaces.prowjob))
        })
        .collect()
}

/// A change of a ProwJob's status, made only if its state is still `from` (a JSON patch that
/// tests it first), so that a change made meanwhile (an abort) is never overwritten.
pub struct Transition {
    from: ProwJobState,
    fields: Vec<(&'static str, Value)>,
}

impl Transition {
    /// A change from state `from`.
    pub fn from(from: ProwJobState) -> Self {
        Self {
            from,
            fields: Vec::new(),
        }
    }

    /// Sets `status.<field>`.
    pub fn set(mut self, field: &'static str, value: impl serde::Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.push((field, value));
        self
    }

    /// Applies the change; `Ok(false)` when the job changed meanwhile or is gone (its next
    /// event brings it back).
    pub async fn apply(self, jobs: &Jobs, job: &ProwJob) -> Result<bool, JobsError> {
        let namespace = job.namespace().unwrap_or_default();
        let name = job.name_any();
        let mut ops = vec![json!({"op": "test", "path": "/status/state", "value": self.from})];
        ops.extend(
            self.fields
                .into_iter()
                .map(|(field, value)| json!({"op": "add", "path": format!("/status/{field}"), "value": value})),
        );
        let api: Api<ProwJob> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
        let patch: json_patch::Patch = match serde_json::from_value(Value::Array(ops)) {
            Ok(patch) => patch,
            Err(error) => {
                warn!(%error, prowjob = %name, "could not build a status patch");
                return Ok(false);
            }
        };
        match api
            .patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409 | 422) => {
                debug!(prowjob = %name, code = status.code, message = %status.message, "changed meanwhile");
                Ok(false)
            }
            Err(source) => Err(JobsError::ProwJob {
                action: "updating the status of",
                namespace,
                name,
                source,
            }),
        }
    }
}

/// Runs the job loops for one term of leadership, until `shutdown`: starts the ProwJob and Pod
/// caches, then the execute, report, schedule and clean loops. Should the caches not fill, it
/// logs why and returns (the next term tries again).
pub async fn lead(ctx: Arc<Context>, leading: LeadingJobs, shutdown: impl Future<Output = ()> + Send + 'static) {
    lead_with(ctx, leading, Arc::new(SystemClock), shutdown).await
}

/// [`lead`] with another clock.
pub async fn lead_with(
    ctx: Arc<Context>,
    leading: LeadingJobs,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let shutdown = shutdown.shared();
    let started = tokio::select! {
        started = Jobs::start(ctx, &leading, clock) => started,
        _ = shutdown.clone() => return,
    };
    match started {
        Ok((jobs, feeds)) => jobs.run(feeds, shutdown).await,
        Err(error) => warn!(%error, "the job loops did not start"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    #[tokio::test]
    async fn a_loop_waiting_for_its_interval_reads_it_again_when_the_instances_change() {
        // An instance created again while the clean loop waited out the no-instance interval:
        // its sweep (and an orphan's deletion) came up to 5 s late.
        let interval_ms = Arc::new(AtomicU64::new(3_600_000));
        let changed = Arc::new(tokio::sync::Notify::new());
        let shutdown = futures::future::pending::<()>().shared();
        let (reader, notifier) = (interval_ms.clone(), changed.clone());
        let waiting = tokio::spawn(async move {
            let interval = || Duration::from_millis(reader.load(Ordering::Relaxed));
            wait_for(&shutdown, &notifier, tokio::time::Instant::now(), interval).await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        interval_ms.store(50, Ordering::Relaxed);
        changed.notify_waiters();
        let done = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(
            matches!(done, Ok(Ok(true))),
            "still waiting a second after the instances changed"
        );
    }
}
