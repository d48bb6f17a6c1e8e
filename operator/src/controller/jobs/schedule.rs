//! horologium, live: on every tick, each periodic of each instance that schedules natively is
//! decided from its newest ProwJob ([`engine::schedule::decide`]), and a due run is created under
//! the name every replica would give it ([`engine::schedule::successor_name`]), so a restart or
//! a second leader neither fires twice nor skips.
//!
//! [`engine::schedule::decide`]: crate::engine::schedule::decide
//! [`engine::schedule::successor_name`]: crate::engine::schedule::successor_name

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use futures::future::Shared;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use prow_api::{ProwJob, ProwJobType};
use tracing::{debug, info, warn};

use super::{Function, Jobs, JobsError};
use crate::engine::prowjob::{self, Creation};
use crate::engine::schedule::{self, Decision};

/// Runs a tick every `horologium.tick_interval` (the shortest of the instances', read anew so a
/// change takes effect within [`RECHECK`](super::RECHECK)) until `shutdown`. The first tick
/// comes at once; a cron that fired before it is not made up for, as upstream.
pub async fn run<F>(jobs: Arc<Jobs>, shutdown: Shared<F>)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut previous = jobs.clock.now();
    let mut first_seen = FirstSeen::default();
    loop {
        let now = jobs.clock.now();
        let last = tokio::time::Instant::now();
        match tick(&jobs, previous, &mut first_seen).await {
            Ok(created) if !created.is_empty() => info!(created = created.len(), "periodics started"),
            Ok(_) => {}
            Err(error) => warn!(%error, "starting periodics failed; trying again next tick"),
        }
        previous = now;
        let interval = || {
            jobs.instances()
                .iter()
                .filter(|(_, s)| s.runs(Function::Schedule))
                .map(|(_, s)| s.tick)
                .min()
                .unwrap_or(schedule::DEFAULT_TICK)
        };
        if !super::wait_for(&shutdown, &jobs.instances_changed, last, interval).await {
            return;
        }
    }
}

/// When the scheduler first saw each periodic, by ProwJob namespace and name: a cron fires for
/// it only after that, as upstream's horologium adds a periodic to its cron scheduler when it
/// first reads it. Holds only the periodics of the last tick.
#[derive(Default)]
pub struct FirstSeen(HashMap<(String, String), Timestamp>);

/// One tick at the clock's now: starts every periodic that is due. `previous` is when the last
/// tick looked: a cron firing is acted on at the first tick after it, and after the periodic was
/// first seen. Returns the ProwJobs created (`namespace/name`); one already made by another
/// replica or an earlier attempt counts as created.
#[tracing::instrument(skip_all)]
pub async fn tick(jobs: &Jobs, previous: Timestamp, first_seen: &mut FirstSeen) -> Result<Vec<String>, JobsError> {
    let now = jobs.clock.now();
    let mut seen_now = HashMap::new();
    let mut runs: HashMap<(String, String), Vec<Arc<ProwJob>>> = HashMap::new();
    for job in jobs.prowjobs.state() {
        if job.spec.job_type == ProwJobType::Periodic {
            let namespace = job.metadata.namespace.clone().unwrap_or_default();
            runs.entry((namespace, job.spec.job.clone())).or_default().push(job);
        }
    }
    let mut created = Vec::new();
    let mut failure = None;
    for (instance, settings) in jobs.instances() {
        if !settings.runs(Function::Schedule) {
            continue;
        }
        let live = jobs.ctx.live_jobs.get(&instance, &jobs.ctx).await;
        let namespace = &settings.namespaces.prowjob;
        let template = Creation {
            name: String::new(),
            namespace: namespace.clone(),
            start_time: Time(now),
            extra_labels: BTreeMap::new(),
            decorate_all_jobs: live.settings.decorate_all_jobs,
            generate_name: false,
            presets: live.presets.clone(),
            defaults: live.defaults.clone(),
            from_event: false,
        };
        let api: Api<ProwJob> = Api::namespaced(jobs.ctx.client.clone(), namespace);
        for periodic in live.configs.iter().flat_map(|c| c.spec.jobs.periodics.iter()) {
            let name = &periodic.base.name;
            let latest = runs
                .get(&(namespace.clone(), name.clone()))
                .and_then(|r| schedule::newest(r.iter().map(|j| j.as_ref())));
            let key = (namespace.clone(), name.clone());
            let first = first_seen.0.get(&key).copied().unwrap_or(now);
            seen_now.insert(key, first);
            let since = first.max(previous);
            let retry = match schedule::decide(periodic, latest, since, now) {
                Decision::Wait(reason) => {
                    debug!(periodic = %name, %reason, "not due");
                    continue;
                }
                Decision::Start => None,
                Decision::Retry(n) => Some(n),
            };
            let mut creation = Creation {
                name: schedule::successor_name(&settings.uid, name, latest),
                ..template.clone()
            };
            if let Some(n) = retry {
                creation
                    .extra_labels
                    .insert(schedule::RERUN_LABEL.to_string(), n.to_string());
            }
            let run = prowjob::periodic(periodic, &creation);
            match api.create(&PostParams::default(), &run).await {
                Ok(_) => info!(periodic = %name, prowjob = %creation.name, retry, "started"),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    debug!(periodic = %name, prowjob = %creation.name, "already started")
                }
                Err(source) => {
                    warn!(periodic = %name, error = %source, "could not start");
                    failure.get_or_insert(JobsError::ProwJob {
                        action: "creating",
                        namespace: namespace.clone(),
                        name: creation.name.clone(),
                        source,
                    });
                    continue;
                }
            }
            created.push(format!("{namespace}/{}", creation.name));
        }
    }
    first_seen.0 = seen_now;
    match failure {
        Some(error) => Err(error),
        None => Ok(created),
    }
}
