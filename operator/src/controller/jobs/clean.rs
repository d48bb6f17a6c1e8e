//! sinker, live: every `sinker.resync_period`, the ProwJobs and job pods the rules of
//! [`engine::clean`](crate::engine::clean) condemn are deleted, for each instance that cleans
//! natively.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use futures::future::Shared;
use k8s_openapi::jiff::Timestamp;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use prow_api::ProwJob;
use tracing::{info, warn};

use super::clusters::PodSite;
use super::execute::bounded;
use super::{Function, Jobs, JobsError};
use crate::engine::clean::{self, PodReason};
use crate::engine::job_pod::JobPod;

/// What one sweep deleted (`namespace/name` each).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// The ProwJobs deleted.
    pub prowjobs: Vec<String>,
    /// The pods deleted, with why.
    pub pods: Vec<(String, PodReason)>,
}

/// Sweeps every `sinker.resync_period` (the shortest of the instances', read anew so a change
/// takes effect within [`RECHECK`](super::RECHECK)) until `shutdown`; the first sweep comes at
/// once.
pub async fn run<F>(jobs: Arc<Jobs>, shutdown: Shared<F>)
where
    F: Future<Output = ()> + Send + 'static,
{
    loop {
        let last = tokio::time::Instant::now();
        match sweep(&jobs).await {
            Ok(swept) if swept != Swept::default() => {
                info!(prowjobs = swept.prowjobs.len(), pods = swept.pods.len(), "cleaned up")
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "cleaning up failed; trying again next round"),
        }
        jobs.forget_deleted();
        let interval = || {
            jobs.instances()
                .iter()
                .filter(|(_, s)| s.runs(Function::Clean))
                .map(|(_, s)| s.resync)
                .min()
                .unwrap_or(clean::DEFAULT_RESYNC)
        };
        if !super::wait_for(&shutdown, &jobs.instances_changed, last, interval).await {
            return;
        }
    }
}

fn deleted(result: Result<impl Sized, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

/// One sweep at the clock's now. An orphaned pod is deleted only once a read confirms its
/// ProwJob is gone. Failed deletions are retried next sweep; the first failure is returned.
#[tracing::instrument(skip_all)]
pub async fn sweep(jobs: &Jobs) -> Result<Swept, JobsError> {
    let now = jobs.clock.now();
    let all = jobs.prowjobs.state();
    let by_name: BTreeMap<String, &ProwJob> = all.iter().map(|j| (j.name_any(), j.as_ref())).collect();
    let mut swept = Swept::default();
    let mut failure = None;
    for (instance, settings) in jobs.instances() {
        if !settings.runs(Function::Clean) {
            continue;
        }
        let namespace = &settings.namespaces.prowjob;
        let mine: Vec<&ProwJob> = all
            .iter()
            .filter(|j| j.metadata.namespace.as_ref() == Some(namespace))
            .map(|j| j.as_ref())
            .collect();
        let live = jobs.ctx.live_jobs.get(&instance, &jobs.ctx).await;
        let periodics: BTreeSet<String> = live
            .configs
            .iter()
            .flat_map(|c| c.spec.jobs.periodics.iter().map(|p| p.base.name.clone()))
            .collect();
        let prowjobs: Api<ProwJob> = Api::namespaced(jobs.ctx.client.clone(), namespace);
        for job in clean::prowjobs_to_delete(&mine, &periodics, &settings.ages, now) {
            let name = job.name_any();
            match deleted(prowjobs.delete(&name, &DeleteParams::default()).await) {
                Ok(()) => {
                    info!(prowjob = %name, "deleted an old ProwJob");
                    swept.prowjobs.push(format!("{namespace}/{name}"));
                }
                Err(source) => {
                    failure.get_or_insert(JobsError::ProwJob {
                        action: "deleting",
                        namespace: namespace.clone(),
                        name,
                        source,
                    });
                }
            }
        }
        // The pods in the operator's own cluster and in every build cluster listed now (one
        // that cannot be reached is swept once it can).
        let mut sites = vec![jobs.own_site(&settings)];
        sites.extend(jobs.build_cluster_sites(&instance, &settings));
        for site in sites {
            if let Err(error) = sweep_pods(&site, &prowjobs, &by_name, &settings.ages, now, &mut swept).await {
                failure.get_or_insert(error);
            }
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(swept),
    }
}

/// Deletes the job pods of `site` the rules condemn (see [`sweep`]); returns the first failure.
async fn sweep_pods(
    site: &PodSite,
    prowjobs: &Api<ProwJob>,
    by_name: &BTreeMap<String, &ProwJob>,
    ages: &clean::Ages,
    now: Timestamp,
    swept: &mut Swept,
) -> Result<(), JobsError> {
    let pods = site.pods();
    let theirs: Vec<&JobPod> = pods.iter().map(|p| p.as_ref()).collect();
    let namespace = prowjobs.namespace().unwrap_or_default().to_string();
    let mut failure = None;
    for (pod, reason) in clean::pods_to_delete(&theirs, by_name, ages, now) {
        let name = pod.name_any();
        if reason == PodReason::Orphaned {
            let owner = pod
                .labels()
                .get(crate::job_labels::PROWJOB_ID)
                .cloned()
                .unwrap_or_else(|| name.clone());
            // Its metadata only: a ProwJob the cache leaves out as unreadable still owns it.
            match prowjobs.get_metadata_opt(&owner).await {
                Ok(None) => {}
                Ok(Some(_)) => continue,
                Err(source) => {
                    failure.get_or_insert(JobsError::ProwJob {
                        action: "reading",
                        namespace: namespace.clone(),
                        name,
                        source,
                    });
                    continue;
                }
            }
        }
        let result = async {
            bounded(super::execute::release_finalizer(&site.api, pod)).await?;
            deleted(bounded(site.api.delete(&name, &DeleteParams::default())).await)
        };
        match result.await {
            Ok(()) => {
                info!(pod = %name, cluster = %site.cluster, ?reason, "deleted a job pod");
                swept.pods.push((format!("{}/{name}", site.namespace), reason));
            }
            Err(source) => {
                failure.get_or_insert(JobsError::Pod {
                    action: "deleting",
                    namespace: site.namespace.clone(),
                    name,
                    source,
                });
            }
        }
    }
    failure.map_or(Ok(()), Err)
}
