//! The triggered jobs held back by a concurrency limit, woken the moment a job that may free
//! their slot leaves `pending` or `triggered` (or is deleted), instead of on the executor's next
//! look ([`super::execute`]'s fallback poll).

use std::collections::{HashMap, HashSet};

use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use prow_api::{ProwJob, ProwJobState};

use crate::engine::limits::{self, Awaited};

/// A ProwJob's namespace and name.
type Name = (String, String);

fn name_of(job: &ProwJob) -> Name {
    (
        job.metadata.namespace.clone().unwrap_or_default(),
        job.metadata.name.clone().unwrap_or_default(),
    )
}

/// The waiting jobs, and which jobs hold or may be ahead of a slot, kept from the ProwJob watch.
#[derive(Debug, Default)]
pub struct Waiting {
    /// The jobs waiting for a slot, with what may free it.
    waiting: HashMap<Name, Awaited>,
    /// The `pending` and `triggered` jobs.
    holding: HashSet<Name>,
    /// `holding`, rebuilt while the watch relists.
    relisting: Option<HashSet<Name>>,
}

impl Waiting {
    /// Notes that `job` waits for a slot that a job `awaited` names may free. The executor notes
    /// it before it reads the cache, so a slot freed after that read wakes it.
    pub fn note(&mut self, job: &ProwJob, awaited: Awaited) {
        self.waiting.insert(name_of(job), awaited);
    }

    /// Forgets `job`, which no longer waits.
    pub fn forget(&mut self, job: &ProwJob) {
        self.waiting.remove(&name_of(job));
    }

    /// Follows one event of the ProwJob watch (after the cache took it in); returns the waiting
    /// jobs to wake, which are no longer noted (one that still has to wait is noted again).
    pub fn follow(&mut self, event: &Event<ProwJob>) -> Vec<ObjectRef<ProwJob>> {
        match event {
            Event::Apply(job) => {
                let name = name_of(job);
                if job.status.as_ref().is_none_or(|s| s.state != ProwJobState::Triggered) {
                    self.waiting.remove(&name);
                }
                if limits::holds_or_awaits_slot(job) {
                    self.holding.insert(name);
                    return Vec::new();
                }
                match self.holding.remove(&name) {
                    true => self.wake_for(job),
                    false => Vec::new(),
                }
            }
            Event::Delete(job) => {
                let name = name_of(job);
                self.waiting.remove(&name);
                match self.holding.remove(&name) {
                    true => self.wake_for(job),
                    false => Vec::new(),
                }
            }
            Event::Init => {
                self.relisting = Some(HashSet::new());
                Vec::new()
            }
            Event::InitApply(job) => {
                if limits::holds_or_awaits_slot(job) {
                    self.relisting.get_or_insert_with(HashSet::new).insert(name_of(job));
                }
                Vec::new()
            }
            Event::InitDone => {
                self.holding = self.relisting.take().unwrap_or_default();
                // What ended while the watch was away is not known: every waiting job looks again.
                self.waiting
                    .drain()
                    .map(|((namespace, name), _)| ObjectRef::new(&name).within(&namespace))
                    .collect()
            }
        }
    }

    /// Takes out and returns the jobs waiting for a slot that `gone` may have freed.
    fn wake_for(&mut self, gone: &ProwJob) -> Vec<ObjectRef<ProwJob>> {
        let namespace = gone.metadata.namespace.clone().unwrap_or_default();
        let woken: Vec<Name> = self
            .waiting
            .iter()
            .filter(|((ns, _), awaited)| *ns == namespace && awaited.freed_by(gone))
            .map(|(name, _)| name.clone())
            .collect();
        woken
            .into_iter()
            .map(|name| {
                self.waiting.remove(&name);
                ObjectRef::new(&name.1).within(&name.0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::limits::Concurrency;

    fn job(name: &str, job: &str, state: &str) -> ProwJob {
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
            "metadata": {"name": name, "namespace": "prow"},
            "spec": {"type": "periodic", "job": job, "max_concurrency": 1},
            "status": {"state": state, "startTime": "2026-01-01T00:00:00Z"}
        }))
        .expect("a ProwJob")
    }

    fn names(woken: Vec<ObjectRef<ProwJob>>) -> Vec<String> {
        woken.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_job_leaving_pending_wakes_the_jobs_waiting_for_its_slot_once() {
        let mut waiting = Waiting::default();
        let limits = Concurrency::default();
        assert!(waiting.follow(&Event::Apply(job("head", "unit", "pending"))).is_empty());
        let queued = job("queued", "unit", "triggered");
        let other = job("other", "lint", "triggered");
        waiting.note(&queued, limits.awaited(&queued));
        waiting.note(&other, limits.awaited(&other));
        assert!(
            waiting.follow(&Event::Apply(job("head", "unit", "pending"))).is_empty(),
            "still pending"
        );
        assert_eq!(
            names(waiting.follow(&Event::Apply(job("head", "unit", "success")))),
            ["queued"],
            "a run of another job frees no slot of this one"
        );
        assert!(
            waiting.follow(&Event::Apply(job("head", "unit", "success"))).is_empty(),
            "a finished job's later edits wake nothing"
        );
        waiting.note(&queued, limits.awaited(&queued));
        waiting.follow(&Event::Apply(job("next", "unit", "pending")));
        assert_eq!(
            names(waiting.follow(&Event::Delete(job("next", "unit", "pending")))),
            ["queued"],
            "a deleted run frees its slot"
        );
    }

    #[test]
    fn a_waiting_job_that_starts_or_goes_is_forgotten_and_a_relist_wakes_every_waiting_job() {
        let mut waiting = Waiting::default();
        let limits = Concurrency::default();
        let queued = job("queued", "unit", "triggered");
        waiting.note(&queued, limits.awaited(&queued));
        waiting.follow(&Event::Apply(job("queued", "unit", "pending")));
        waiting.follow(&Event::Apply(job("head", "unit", "pending")));
        assert!(waiting.follow(&Event::Apply(job("head", "unit", "failure"))).is_empty());

        waiting.note(&queued, limits.awaited(&queued));
        waiting.follow(&Event::Init);
        waiting.follow(&Event::InitApply(job("head", "unit", "pending")));
        assert_eq!(names(waiting.follow(&Event::InitDone)), ["queued"]);
        waiting.note(&queued, limits.awaited(&queued));
        assert_eq!(
            names(waiting.follow(&Event::Apply(job("head", "unit", "success")))),
            ["queued"],
            "the relisted pending job is known"
        );
    }
}
