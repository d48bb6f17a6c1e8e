//! The triggered and pending presubmits grouped by run and by pull request, kept from the ProwJob
//! watch, so the executor finds a job's duplicates, and the trigger a pull request's unfinished
//! presubmits, without scanning (or listing) every ProwJob.

use std::collections::{BTreeSet, HashMap};

use kube::runtime::watcher::Event;
use prow_api::ProwJob;

use crate::engine::limits::{self, RunKey};

/// A run in a namespace.
type Key = (String, RunKey);
/// A pull request in a namespace: namespace, org, repo and number.
type PullKey = (String, String, String, i64);

fn pull_keys((namespace, (_, org, repo, _, pulls)): &Key) -> impl Iterator<Item = PullKey> + '_ {
    pulls
        .iter()
        .map(move |number| (namespace.clone(), org.clone(), repo.clone(), *number))
}

/// The names of the triggered and pending presubmits of each run (namespace, job, org, repo,
/// base ref and pull numbers): the groups [`limits::superseded`] picks from.
#[derive(Debug, Default)]
pub struct RunIndex {
    live: Index,
    /// The index being rebuilt while the watch relists.
    relisting: Option<Index>,
}

#[derive(Debug, Default)]
struct Index {
    names: HashMap<Key, BTreeSet<String>>,
    by_pull: HashMap<PullKey, BTreeSet<String>>,
    key_of: HashMap<(String, String), Key>,
}

impl Index {
    fn apply(&mut self, job: &ProwJob) {
        let object = (
            job.metadata.namespace.clone().unwrap_or_default(),
            job.metadata.name.clone().unwrap_or_default(),
        );
        let key = limits::run_key(job).map(|run| (object.0.clone(), run));
        if self.key_of.get(&object) == key.as_ref() {
            return;
        }
        self.remove(&object);
        if let Some(key) = key {
            for pull in pull_keys(&key) {
                self.by_pull.entry(pull).or_default().insert(object.1.clone());
            }
            self.names.entry(key.clone()).or_default().insert(object.1.clone());
            self.key_of.insert(object, key);
        }
    }

    fn remove(&mut self, object: &(String, String)) {
        let Some(key) = self.key_of.remove(object) else { return };
        for pull in pull_keys(&key) {
            if let Some(names) = self.by_pull.get_mut(&pull) {
                names.remove(&object.1);
                if names.is_empty() {
                    self.by_pull.remove(&pull);
                }
            }
        }
        if let Some(names) = self.names.get_mut(&key) {
            names.remove(&object.1);
            if names.is_empty() {
                self.names.remove(&key);
            }
        }
    }
}

impl RunIndex {
    /// Follows one event of the ProwJob watch.
    pub fn follow(&mut self, event: &Event<ProwJob>) {
        match event {
            Event::Apply(job) => self.live.apply(job),
            Event::Delete(job) => self.live.remove(&(
                job.metadata.namespace.clone().unwrap_or_default(),
                job.metadata.name.clone().unwrap_or_default(),
            )),
            Event::Init => self.relisting = Some(Index::default()),
            Event::InitApply(job) => self.relisting.get_or_insert_with(Index::default).apply(job),
            Event::InitDone => self.live = self.relisting.take().unwrap_or_default(),
        }
    }

    /// Takes in a ProwJob this process just created, before the watch shows it.
    pub fn note(&mut self, job: &ProwJob) {
        self.live.apply(job);
    }

    /// The names of the triggered and pending presubmits of pull request `org/repo#number` in
    /// `namespace`.
    pub fn of_pull(&self, namespace: &str, org: &str, repo: &str, number: i64) -> Vec<String> {
        let key = (namespace.to_string(), org.to_string(), repo.to_string(), number);
        self.live
            .by_pull
            .get(&key)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The names of the runs in `job`'s group, `job` included if it is triggered or pending;
    /// empty for a job that cannot have duplicates.
    pub fn same_run(&self, job: &ProwJob) -> Vec<String> {
        let Some(run) = limits::run_key(job) else {
            return Vec::new();
        };
        let key = (job.metadata.namespace.clone().unwrap_or_default(), run);
        self.live
            .names
            .get(&key)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(name: &str, pull: i64, state: &str) -> ProwJob {
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1",
            "kind": "ProwJob",
            "metadata": {"name": name, "namespace": "prow"},
            "spec": {"type": "presubmit", "job": "unit", "refs": {
                "org": "o", "repo": "r", "base_ref": "main",
                "pulls": [{"number": pull, "author": "a", "sha": "s"}]}},
            "status": {"state": state, "startTime": "2026-01-01T00:00:00Z"}
        }))
        .expect("a ProwJob")
    }

    #[test]
    fn groups_unfinished_runs_of_the_same_pull_request() {
        let mut index = RunIndex::default();
        index.follow(&Event::Apply(job("a", 1, "pending")));
        index.follow(&Event::Apply(job("b", 1, "triggered")));
        index.follow(&Event::Apply(job("c", 2, "triggered")));
        assert_eq!(index.same_run(&job("b", 1, "triggered")), ["a", "b"]);
        assert_eq!(index.same_run(&job("c", 2, "triggered")), ["c"]);

        index.follow(&Event::Apply(job("a", 1, "success")));
        assert_eq!(
            index.same_run(&job("b", 1, "triggered")),
            ["b"],
            "a finished run leaves its group"
        );
        index.follow(&Event::Delete(job("b", 1, "triggered")));
        assert!(index.same_run(&job("b", 1, "triggered")).is_empty());
        assert!(
            index.same_run(&job("a", 1, "success")).is_empty(),
            "finished runs have no group"
        );
    }

    #[test]
    fn a_relist_replaces_the_index_when_done() {
        let mut index = RunIndex::default();
        index.follow(&Event::Apply(job("gone", 1, "pending")));
        index.follow(&Event::Init);
        index.follow(&Event::InitApply(job("kept", 1, "pending")));
        assert_eq!(
            index.same_run(&job("x", 1, "pending")),
            ["gone"],
            "the old index serves until the relist ends"
        );
        index.follow(&Event::InitDone);
        assert_eq!(index.same_run(&job("x", 1, "pending")), ["kept"]);
    }
}
