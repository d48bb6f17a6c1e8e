//! plank's bookkeeping across jobs (reference §7.3): superseded duplicate presubmits, and the
//! concurrency limits a triggered job waits for.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use prow_api::{ProwJob, ProwJobState, ProwJobType};

fn state(job: &ProwJob) -> Option<ProwJobState> {
    job.status.as_ref().map(|s| s.state)
}

fn start(job: &ProwJob) -> Option<k8s_openapi::jiff::Timestamp> {
    job.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0)
}

/// What makes two presubmit runs the same: job, org, repo, base ref and sorted pull numbers.
pub type RunKey = (String, String, String, String, Vec<i64>);

/// The run `job` belongs to, if it may have duplicates (see [`may_have_duplicates`]).
pub fn run_key(job: &ProwJob) -> Option<RunKey> {
    let refs = job.spec.refs.as_ref().filter(|_| may_have_duplicates(job))?;
    let mut pulls: Vec<i64> = refs.pulls.iter().flatten().map(|p| p.number).collect();
    pulls.sort_unstable();
    Some((
        job.spec.job.clone(),
        refs.org.clone(),
        refs.repo.clone(),
        refs.base_ref.clone().unwrap_or_default(),
        pulls,
    ))
}

/// Whether `job` may have duplicates to terminate: a triggered or pending presubmit. Only such
/// jobs need [`superseded`], and only among the runs of the same job name.
pub fn may_have_duplicates(job: &ProwJob) -> bool {
    job.spec.job_type == ProwJobType::Presubmit
        && job.spec.refs.is_some()
        && matches!(state(job), Some(ProwJobState::Pending | ProwJobState::Triggered))
}

/// The presubmits superseded by a newer run for the same pull requests: pending or triggered
/// presubmits with the same name, the same `org/repo@base_ref` and the same pull numbers (SHAs
/// do not matter); every one but the newest (by start time) is returned, to be aborted.
pub fn superseded<J: Borrow<ProwJob>>(jobs: &[J]) -> Vec<&ProwJob> {
    let mut groups: BTreeMap<RunKey, Vec<&ProwJob>> = BTreeMap::new();
    for job in jobs.iter().map(Borrow::borrow) {
        if let Some(key) = run_key(job) {
            groups.entry(key).or_default().push(job);
        }
    }
    let mut older = Vec::new();
    for mut group in groups.into_values() {
        // Equal start times: the name decides, so every replica and retry picks the same one.
        group.sort_by_key(|job| (start(job), job.metadata.name.clone()));
        group.pop();
        older.extend(group);
    }
    older
}

/// plank's limits on pending jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Concurrency {
    /// `plank.max_concurrency`: pending jobs in all; 0 is unlimited.
    pub max_concurrency: i64,
    /// `plank.job_queue_capacities`: pending jobs per queue; 0 blocks, negative is unlimited.
    pub queue_capacities: BTreeMap<String, i64>,
}

impl Concurrency {
    /// Whether a limit applies to `job` at all; when none does, [`may_start`] needs no other
    /// job and always allows it.
    pub fn limits(&self, job: &ProwJob) -> bool {
        self.max_concurrency > 0 || job.spec.max_concurrency.is_some_and(|m| m > 0) || job.spec.job_queue_name.is_some()
    }
}

/// Which jobs leaving `pending` (or `triggered`) may free the slot a waiting job waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Awaited {
    /// Any job (`plank.max_concurrency` is set).
    any: bool,
    /// Runs of this job (its own `max_concurrency` is set).
    job: Option<String>,
    /// Jobs of this queue (its `job_queue_name`).
    queue: Option<String>,
}

impl Awaited {
    /// Whether `gone`, a job that left `pending` or `triggered` (or was deleted), may have freed
    /// the slot.
    pub fn freed_by(&self, gone: &ProwJob) -> bool {
        self.any
            || self.job.as_ref() == Some(&gone.spec.job)
            || self.queue.is_some() && self.queue == gone.spec.job_queue_name
    }
}

impl Concurrency {
    /// What the triggered `job`, held back by [`may_start`], waits for.
    pub fn awaited(&self, job: &ProwJob) -> Awaited {
        Awaited {
            any: self.max_concurrency > 0,
            job: job
                .spec
                .max_concurrency
                .is_some_and(|m| m > 0)
                .then(|| job.spec.job.clone()),
            queue: job.spec.job_queue_name.clone(),
        }
    }
}

/// Whether `job` holds a slot, or may be ahead of one that waits: it is `pending` or `triggered`.
pub fn holds_or_awaits_slot(job: &ProwJob) -> bool {
    matches!(state(job), Some(ProwJobState::Pending | ProwJobState::Triggered))
}

/// Whether the triggered `job` may get its pod now, or why it waits. `jobs` are every ProwJob.
pub fn may_start<J: Borrow<ProwJob>>(job: &ProwJob, jobs: &[J], limits: &Concurrency) -> Result<(), String> {
    let jobs = || jobs.iter().map(Borrow::borrow);
    let pending = || jobs().filter(|j| state(j) == Some(ProwJobState::Pending));
    if limits.max_concurrency > 0 && pending().count() as i64 >= limits.max_concurrency {
        return Err(format!(
            "plank.max_concurrency ({}) jobs are pending",
            limits.max_concurrency
        ));
    }
    if let Some(max) = job.spec.max_concurrency.filter(|m| *m > 0) {
        let mine = start(job);
        let same = jobs().filter(|j| j.spec.job == job.spec.job && j.metadata.name != job.metadata.name);
        let ahead = same
            .filter(|j| match state(j) {
                Some(ProwJobState::Pending) => true,
                Some(ProwJobState::Triggered) => start(j) < mine,
                _ => false,
            })
            .count() as i64;
        if ahead >= max {
            return Err(format!(
                "max_concurrency {max}: {ahead} runs of {} are pending or ahead",
                job.spec.job
            ));
        }
    }
    if let Some(queue) = &job.spec.job_queue_name {
        let capacity = limits.queue_capacities.get(queue).copied().unwrap_or(-1);
        let used = pending()
            .filter(|j| j.spec.job_queue_name.as_ref() == Some(queue))
            .count() as i64;
        if capacity >= 0 && used >= capacity {
            return Err(format!("queue {queue:?} is full ({used} of {capacity})"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn job(name: &str, job: &str, state: &str, minute: u32, extra: Value) -> ProwJob {
        let mut spec = json!({"type": "presubmit", "job": job,
            "refs": {"org": "o", "repo": "r", "base_ref": "main", "pulls": [{"number": 1, "author": "a", "sha": format!("sha{minute}")}]}});
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": name}, "spec": spec,
            "status": {"state": state, "startTime": format!("2026-11-24T10:{minute:02}:00Z")}
        }))
        .unwrap()
    }

    #[test]
    fn older_duplicates_of_a_pull_request_are_superseded() {
        let jobs = vec![
            job("a", "unit", "pending", 1, json!({})),
            job("b", "unit", "triggered", 5, json!({})),
            job("c", "unit", "success", 0, json!({})),
            job("d", "lint", "pending", 2, json!({})),
        ];
        let names: Vec<&str> = superseded(&jobs)
            .iter()
            .map(|j| j.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            names,
            ["a"],
            "the newer run for the same pull wins; other jobs and finished runs are untouched"
        );
    }

    #[test]
    fn of_runs_started_in_the_same_second_the_name_sorting_last_is_kept() {
        // Start times are whole seconds: neither run is newer, so every replica and retry must
        // pick the same one, whatever order the cache lists them in (scenario seed 165876 had
        // taken "s12-rerun" for the newer of the two).
        let jobs = vec![
            job("s9-rerun", "unit", "pending", 3, json!({})),
            job("s12-rerun", "unit", "triggered", 3, json!({})),
        ];
        let mut reversed = jobs.clone();
        reversed.reverse();
        for listed in [jobs, reversed] {
            let names: Vec<&str> = superseded(&listed)
                .iter()
                .map(|j| j.metadata.name.as_deref().unwrap())
                .collect();
            assert_eq!(names, ["s12-rerun"]);
        }
    }

    #[test]
    fn a_waiting_job_awaits_only_the_jobs_that_may_free_its_slot() {
        let own = job("w", "unit", "triggered", 9, json!({"max_concurrency": 1}));
        let queued = job("q", "e2e", "triggered", 9, json!({"job_queue_name": "gpu"}));
        let unit = job("u", "unit", "success", 1, json!({}));
        let gpu = job("g", "other", "success", 1, json!({"job_queue_name": "gpu"}));
        let lint = job("l", "lint", "success", 1, json!({}));
        let none = Concurrency::default();
        assert!(none.awaited(&own).freed_by(&unit));
        assert!(!none.awaited(&own).freed_by(&lint));
        assert!(!none.awaited(&own).freed_by(&gpu));
        assert!(none.awaited(&queued).freed_by(&gpu));
        assert!(!none.awaited(&queued).freed_by(&unit));
        let global = Concurrency {
            max_concurrency: 3,
            ..Concurrency::default()
        };
        assert!(global.awaited(&own).freed_by(&lint), "any job frees a global slot");
        assert!(holds_or_awaits_slot(&own) && !holds_or_awaits_slot(&unit));
    }

    #[test]
    fn concurrency_limits() {
        let limited = job("new", "unit", "triggered", 9, json!({"max_concurrency": 1}));
        let others = vec![job("old", "unit", "pending", 1, json!({})), limited.clone()];
        assert!(may_start(&limited, &others, &Concurrency::default()).is_err());
        assert!(may_start(&limited, std::slice::from_ref(&limited), &Concurrency::default()).is_ok());
        let global = Concurrency {
            max_concurrency: 1,
            ..Concurrency::default()
        };
        let free = job("free", "lint", "triggered", 9, json!({}));
        assert!(may_start(&free, &others, &global).is_err());
        let queued = job("q", "lint", "triggered", 9, json!({"job_queue_name": "gpu"}));
        let capacities = |n| Concurrency {
            queue_capacities: BTreeMap::from([("gpu".to_string(), n)]),
            ..Concurrency::default()
        };
        assert!(
            may_start(&queued, std::slice::from_ref(&queued), &capacities(0)).is_err(),
            "0 blocks"
        );
        assert!(
            may_start(&queued, std::slice::from_ref(&queued), &capacities(-1)).is_ok(),
            "negative is unlimited"
        );
        let busy = vec![
            job("g", "x", "pending", 1, json!({"job_queue_name": "gpu"})),
            queued.clone(),
        ];
        assert!(may_start(&queued, &busy, &capacities(1)).is_err());
        assert!(may_start(&queued, &busy, &capacities(2)).is_ok());
    }
}
