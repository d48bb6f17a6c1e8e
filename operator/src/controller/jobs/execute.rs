//! plank, live: triggered ProwJobs get their pod (named after the job, in the pod namespace)
//! and become `pending`; a pending job follows its pod ([`engine::execute::on_pending`]) to a
//! final state; superseded duplicate presubmits are aborted; an aborted job's pod is deleted.
//!
//! The job is the record: a pod made before a restart is adopted, a state change only applies
//! if the state it starts from still holds, and every final state sets `completionTime`.
//!
//! Each job's pod lives in the cluster its `spec.cluster` names ([`Jobs::site`]): a job naming
//! a cluster its instance does not have ends `error`; one whose cluster cannot be used now waits,
//! with a description saying why, and goes on where it was once the cluster is back.
//!
//! [`engine::execute::on_pending`]: crate::engine::execute::on_pending

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use prow_api::{ProwJob, ProwJobState};
use serde_json::json;
use tracing::{debug, info, warn};

use super::clusters::PodSite;
use super::recent::CACHE_LAG;
use super::{Function, InstanceSettings, Jobs, JobsError, Transition};
use crate::engine::execute::{self, Action as PodAction, CreateRefused, GCSK8S_FINALIZER, Triggered};
use crate::engine::job_pod::JobPod;
use crate::engine::limits;
use crate::engine::placement::{self, Placement};
use crate::engine::report::REPORTER;
use crate::podspec::{self, PodError, PodInputs};

/// How many ProwJobs are worked on at once.
pub const CONCURRENCY: u16 = 64;
/// How long a job held back by a concurrency limit waits before it is looked at again, should
/// nothing wake it first (a job that may free its slot leaving `pending` wakes it at once).
const LIMITED: Duration = Duration::from_secs(10);
/// How soon a job whose pod is on its way into the cache is looked at again.
const SOON: Duration = Duration::from_secs(1);
/// The description of a duplicate aborted by a newer run, as upstream's.
const SUPERSEDED: &str = "Aborted as the newer version of this job is running.";
/// The description of a pending job, as upstream's.
const TRIGGERED: &str = "Job triggered.";
/// How often a job held by its cluster is looked at again, should nothing wake it first (its
/// cluster coming back does at once).
const HELD: Duration = Duration::from_secs(30);
/// How long a request to a cluster may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Moves `job` one step along its lifecycle.
#[tracing::instrument(skip_all, fields(prowjob = %job.name_any()))]
pub async fn reconcile(job: Arc<ProwJob>, jobs: Arc<Jobs>) -> Result<Action, JobsError> {
    let namespace = job.namespace().unwrap_or_default();
    let Some((instance, settings)) = jobs.instance_for(&namespace, Function::Execute) else {
        return Ok(Action::await_change());
    };
    let kubernetes = job.spec.agent.as_deref().is_none_or(|a| a == "kubernetes");
    let Some(status) = job.status.as_ref().filter(|_| kubernetes) else {
        return Ok(Action::await_change());
    };
    let site = jobs.site(&instance, &settings, &job);
    let pod = site.as_ref().ok().and_then(|site| site.pod(&job.name_any()));
    let now = jobs.clock.now();
    let step = JobStep {
        jobs: &jobs,
        job: &job,
        settings: &settings,
        now,
    };
    let action = if status.completion_time.is_some() {
        match (&site, pod.as_deref()) {
            (Ok(site), Some(pod)) if execute::stop_pod_of_complete_job(&job, pod) => {
                step.delete_pod(site, pod).await?;
                Action::await_change()
            }
            // Its pod goes once its cluster is back.
            (Err(Placement::Hold(_)), _) => Action::requeue(HELD),
            _ => Action::await_change(),
        }
    } else if limits::may_have_duplicates(&job) && step.terminate_duplicates().await? {
        // Upstream's terminateDupes, on every reconcile of a triggered or pending presubmit (an
        // index lookup unless the pull request has several runs of the job).
        Action::await_change()
    } else {
        match (status.state, site) {
            (ProwJobState::Triggered | ProwJobState::Pending, Err(Placement::Unknown(description))) => {
                step.finish(ProwJobState::Error, description).await?;
                Action::await_change()
            }
            (ProwJobState::Triggered | ProwJobState::Pending, Err(held)) => step.hold(held).await?,
            (ProwJobState::Triggered, Ok(site)) => step.triggered(&site, pod.as_deref()).await?,
            (ProwJobState::Pending, Ok(site)) => step.pending(&site, pod.as_deref()).await?,
            // Upstream's plank leaves a job without a state it knows alone.
            (ProwJobState::Scheduling | ProwJobState::Unknown, _) => Action::await_change(),
            // A final state without its completion time (an abort): the pod goes when the time
            // is set.
            (state, _) => {
                step.finish(state, status.description.clone().unwrap_or_default())
                    .await?;
                Action::await_change()
            }
        }
    };
    jobs.succeeded(&job);
    Ok(action)
}

/// Tries a job again after a failure, with backoff.
pub fn error_policy(job: Arc<ProwJob>, error: &JobsError, jobs: Arc<Jobs>) -> Action {
    let wait = jobs.backoff(&job, error);
    warn!(prowjob = %job.name_any(), %error, retry_in = ?wait, "executing failed; trying again");
    Action::requeue(wait)
}

/// Removes crier's pod-reporter finalizer from `pod`, if it has it, so the pod can go.
pub async fn release_finalizer(api: &Api<Pod>, pod: &JobPod) -> Result<(), kube::Error> {
    let finalizers = pod.finalizers();
    if !finalizers.iter().any(|f| f == GCSK8S_FINALIZER) {
        return Ok(());
    }
    let kept: Vec<&String> = finalizers.iter().filter(|f| *f != GCSK8S_FINALIZER).collect();
    let patch = json!({"metadata": {"finalizers": kept}});
    match api
        .patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// `job` as a run with `build_id`, in a pod named after it.
fn with_build_id(mut job: ProwJob, build_id: &str) -> ProwJob {
    let name = job.name_any();
    if let Some(status) = job.status.as_mut() {
        status.build_id = Some(build_id.to_string());
        status.pod_name = Some(name);
    }
    job
}

/// One reconcile of one job.
struct JobStep<'a> {
    jobs: &'a Jobs,
    job: &'a ProwJob,
    settings: &'a InstanceSettings,
    now: Timestamp,
}

impl JobStep<'_> {
    fn state(&self) -> ProwJobState {
        self.job.status.as_ref().map_or(ProwJobState::Triggered, |s| s.state)
    }

    /// Aborts the runs of the same presubmit for the same pull requests that a newer one
    /// supersedes; returns whether this job was one.
    async fn terminate_duplicates(&self) -> Result<bool, JobsError> {
        let names = self
            .jobs
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .same_run(self.job);
        if names.len() < 2 {
            return Ok(false);
        }
        let namespace = self.job.namespace().unwrap_or_default();
        let same: Vec<Arc<ProwJob>> = names
            .iter()
            .filter_map(|name| self.jobs.prowjobs.get(&ObjectRef::new(name).within(&namespace)))
            .collect();
        if same.len() < 2 {
            return Ok(false);
        }
        let mut superseded = false;
        for older in limits::superseded(&same) {
            superseded |= older.metadata.name == self.job.metadata.name;
            let Some(status) = &older.status else { continue };
            let mut reported = status.prev_report_states.clone().unwrap_or_default();
            reported.insert(REPORTER.to_string(), ProwJobState::Aborted);
            let aborted = Transition::from(status.state)
                .set("state", ProwJobState::Aborted)
                .set("description", SUPERSEDED)
                .set("prev_report_states", reported)
                .apply(self.jobs, older)
                .await?;
            if aborted {
                info!(duplicate = %older.name_any(), "aborted: a newer run of the same pull request started");
            }
        }
        Ok(superseded)
    }

    /// Leaves a job whose cluster cannot be used now as it is, but for its description, which
    /// says why when the placement gives a reason.
    async fn hold(&self, held: Placement) -> Result<Action, JobsError> {
        let Placement::Hold(Some(description)) = held else {
            return Ok(Action::requeue(SOON));
        };
        let current = self.job.status.as_ref().and_then(|s| s.description.as_deref());
        if current != Some(description.as_str()) {
            let noted = Transition::from(self.state())
                .set("description", &description)
                .apply(self.jobs, self.job)
                .await?;
            if noted {
                info!(%description, "waiting for the job's cluster");
            }
        }
        Ok(Action::requeue(HELD))
    }

    async fn triggered(&self, site: &PodSite, pod: Option<&JobPod>) -> Result<Action, JobsError> {
        let uid = self.job.uid().unwrap_or_default();
        if self.jobs.started.lock().unwrap_or_else(|p| p.into_inner()).fresh(&uid) {
            // This term started it moments ago; the cache has not caught up.
            return Ok(Action::await_change());
        }
        let limited = self.settings.concurrency.limits(self.job);
        // A limited job is admitted alone, so two jobs never take the same slot.
        let admission = match limited {
            true => Some(self.jobs.admission.lock().await),
            false => None,
        };
        let admitted = match limited {
            true => {
                // Noted before the cache is read: a slot freed after the read wakes it.
                self.jobs
                    .waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .note(self.job, self.settings.concurrency.awaited(self.job));
                let namespace = self.job.metadata.namespace.as_ref();
                let all: Vec<Arc<ProwJob>> = self
                    .jobs
                    .prowjobs
                    .state()
                    .into_iter()
                    .filter(|j| j.metadata.namespace.as_ref() == namespace)
                    .collect();
                limits::may_start(self.job, &all, &self.settings.concurrency)
            }
            false => Ok(()),
        };
        let decision = execute::on_triggered(pod, admitted);
        if limited && !matches!(decision, Triggered::Wait(_)) {
            self.jobs
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .forget(self.job);
        }
        let action = match decision {
            Triggered::Wait(reason) => {
                debug!(%reason, "waiting for a concurrency slot");
                Action::requeue(LIMITED)
            }
            Triggered::Adopt { build_id } => {
                let build_id = build_id
                    .or_else(|| self.job.status.as_ref().and_then(|s| s.build_id.clone()))
                    .unwrap_or_else(|| self.jobs.build_ids.next(self.now));
                // The URL reads the job's decoration, which the cache leaves out.
                let Some(whole) = self.read_whole().await? else {
                    return Ok(Action::requeue(SOON));
                };
                let url = self
                    .inputs()
                    .ok()
                    .and_then(|inputs| podspec::job_url(&with_build_id(whole, &build_id), inputs));
                self.started(&build_id, url).await?;
                info!(%build_id, "adopted the existing pod");
                Action::await_change()
            }
            Triggered::Start => self.start_pod(site).await?,
        };
        // Only a job this reconcile started takes a slot the next admission must see; one that
        // waits (or whose pod is on its way) stays triggered, and the cache would never show it
        // otherwise: waiting for that held every other limited job, and a stop, for CACHE_LAG.
        let started = self.jobs.started.lock().unwrap_or_else(|p| p.into_inner()).fresh(&uid);
        if admission.is_some() && started {
            self.await_cache().await;
        }
        Ok(action)
    }

    /// Waits (up to [`CACHE_LAG`]) until the cache shows this job, which this reconcile started,
    /// past `triggered`, so the next admission counts it.
    async fn await_cache(&self) {
        let reference = ObjectRef::from_obj(self.job);
        let deadline = tokio::time::Instant::now() + CACHE_LAG;
        while tokio::time::Instant::now() < deadline {
            let moved = self
                .jobs
                .prowjobs
                .get(&reference)
                .and_then(|j| j.status.as_ref().map(|s| s.state))
                .is_none_or(|state| state != ProwJobState::Triggered);
            if moved {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn inputs(&self) -> Result<&PodInputs, PodError> {
        self.settings.pod_inputs.as_ref().map_err(Clone::clone)
    }

    /// The job as the API server has it, with what the cache leaves out (its pod spec, its
    /// decoration...); `None` when its state there is no longer the cached one (the watch brings
    /// the change).
    async fn read_whole(&self) -> Result<Option<ProwJob>, JobsError> {
        let namespace = self.job.namespace().unwrap_or_default();
        let api: Api<ProwJob> = Api::namespaced(self.jobs.ctx.client.clone(), &namespace);
        let whole = api
            .get(&self.job.name_any())
            .await
            .map_err(|source| JobsError::ProwJob {
                action: "reading",
                namespace,
                name: self.job.name_any(),
                source,
            })?;
        let state = whole.status.as_ref().map_or(ProwJobState::Triggered, |s| s.state);
        Ok((state == self.state()).then_some(whole))
    }

    /// Makes the job's pod with a new build id. A triggered job becomes pending; a pending one
    /// (whose pod was lost) gets the new build id.
    async fn start_pod(&self, site: &PodSite) -> Result<Action, JobsError> {
        let name = self.job.name_any();
        let key = (site.cluster.clone(), site.namespace.clone(), name.clone());
        let on_its_way = self
            .jobs
            .created_pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fresh(&key);
        if on_its_way {
            // Made moments ago and not in the cache yet.
            return Ok(Action::requeue(SOON));
        }
        // The cache leaves the pod spec out: the pod is built from the whole job.
        let Some(whole) = self.read_whole().await? else {
            return Ok(Action::requeue(SOON));
        };
        let build_id = self.jobs.build_ids.next(self.now);
        let run = with_build_id(whole, &build_id);
        let built = self
            .inputs()
            .and_then(|inputs| Ok((podspec::prowjob_to_pod(&run, inputs)?, podspec::job_url(&run, inputs))));
        let (mut pod, url) = match built {
            Ok(built) => built,
            Err(error) => {
                self.finish(ProwJobState::Error, error.to_string()).await?;
                return Ok(Action::await_change());
            }
        };
        // Always the instance's pod namespace, as upstream's `pod_namespace` (a job's own
        // `namespace` does not move its pod).
        pod.metadata.namespace = Some(site.namespace.clone());
        // Noted before the create, so the cache's sighting (which may come before the answer)
        // clears it.
        self.jobs
            .created_pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .note(key.clone());
        let result = bounded(site.api.create(&PostParams::default(), &pod)).await;
        if result.is_err() {
            self.jobs
                .created_pods
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .forget(&key);
        }
        if let Err(source) = result {
            let answer = match &source {
                kube::Error::Api(status) => Some((status.code, status.reason.as_str(), status.message.as_str())),
                _ => None,
            };
            if site.is_build_cluster() && answer.is_some_and(|(code, _, _)| code == 404) {
                // A build cluster without the pod namespace: made as in the operator's own.
                if let Err(error) = site.create_namespace().await {
                    warn!(namespace = %site.namespace, cluster = %site.cluster, error = %crate::controller::api_error::cause(&error), "could not create the pod namespace");
                }
            }
            return match execute::on_create_refused(answer) {
                // Made before (by an earlier attempt or another replica): adopt it once cached.
                CreateRefused::Exists => Ok(Action::requeue(SOON)),
                CreateRefused::Fail(description) => {
                    self.finish(ProwJobState::Error, description).await?;
                    Ok(Action::await_change())
                }
                // The job stays as it is; the error policy tries again with backoff.
                CreateRefused::Retry => Err(JobsError::Pod {
                    action: "creating",
                    namespace: site.namespace.clone(),
                    name,
                    source,
                }),
            };
        }
        info!(%build_id, pod = %format!("{}/{name}", site.namespace), cluster = %site.cluster, "pod created");
        self.started(&build_id, url).await?;
        Ok(Action::await_change())
    }

    /// Records the running pod: a triggered job becomes pending with its pending time.
    async fn started(&self, build_id: &str, url: Option<String>) -> Result<bool, JobsError> {
        let mut change = Transition::from(self.state())
            .set("pod_name", self.job.name_any())
            .set("build_id", build_id);
        if let Some(url) = url {
            change = change.set("url", url);
        }
        let starting = self.state() == ProwJobState::Triggered;
        if starting {
            change = change
                .set("state", ProwJobState::Pending)
                .set("pendingTime", Time(self.now))
                .set("description", TRIGGERED);
        }
        let applied = change.apply(self.jobs, self.job).await?;
        if applied && starting {
            self.jobs
                .started
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .note(self.job.uid().unwrap_or_default());
        }
        Ok(applied)
    }

    async fn pending(&self, site: &PodSite, pod: Option<&JobPod>) -> Result<Action, JobsError> {
        let description = self.job.status.as_ref().and_then(|s| s.description.as_deref());
        if placement::is_held(description) {
            // Its cluster is back: the description it had before.
            Transition::from(ProwJobState::Pending)
                .set("description", TRIGGERED)
                .apply(self.jobs, self.job)
                .await?;
        }
        match execute::on_pending(self.job, pod, self.settings.limits, self.now) {
            PodAction::Finish {
                state,
                description,
                delete_pod,
            } => {
                let finished = self.finish(state, description).await?;
                if let (true, true, Some(pod)) = (finished, delete_pod, pod) {
                    self.delete_pod(site, pod).await?;
                }
                Ok(Action::await_change())
            }
            PodAction::Revive => {
                let count = self.job.status.as_ref().and_then(|s| s.pod_revival_count).unwrap_or(0);
                let counted = Transition::from(ProwJobState::Pending)
                    .set("pod_revival_count", count + 1)
                    .apply(self.jobs, self.job)
                    .await?;
                if let (true, Some(pod)) = (counted, pod) {
                    info!(revival = count + 1, "the pod was lost; making it again");
                    self.delete_pod(site, pod).await?;
                }
                Ok(Action::await_change())
            }
            PodAction::RecreatePod => self.start_pod(site).await,
            PodAction::WaitUntil(deadline) => {
                let wait = Duration::try_from(deadline.duration_since(self.now)).unwrap_or_default();
                Ok(Action::requeue(wait.max(SOON)))
            }
        }
    }

    /// Moves the job to the final `state`, with `description` and its completion time.
    async fn finish(&self, state: ProwJobState, description: String) -> Result<bool, JobsError> {
        let done = Transition::from(self.state())
            .set("state", state)
            .set("description", &description)
            .set("completionTime", Time(self.now))
            .apply(self.jobs, self.job)
            .await?;
        if done {
            info!(state = ?state, %description, "finished");
        }
        Ok(done)
    }

    async fn delete_pod(&self, site: &PodSite, pod: &JobPod) -> Result<(), JobsError> {
        let api = &site.api;
        let failed = |source| JobsError::Pod {
            action: "deleting",
            namespace: site.namespace.clone(),
            name: pod.name_any(),
            source,
        };
        bounded(release_finalizer(api, pod)).await.map_err(failed)?;
        match bounded(api.delete(&pod.name_any(), &DeleteParams::default())).await {
            Ok(_) => {
                info!(pod = %pod.name_any(), "pod deleted");
                Ok(())
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(source) => Err(failed(source)),
        }
    }
}

/// `request`, failing as a timeout after [`REQUEST_TIMEOUT`] (a build cluster that stops
/// answering mid-request must not hold a reconcile for good).
pub async fn bounded<T>(request: impl std::future::Future<Output = Result<T, kube::Error>>) -> Result<T, kube::Error> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(answer) => answer,
        Err(_) => Err(kube::Error::Service(
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()).into(),
        )),
    }
}
