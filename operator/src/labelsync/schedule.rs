//! Which repositories a label-sync pass visits, and what is remembered of each. Pure: the clock
//! is a parameter.
//!
//! A pass is **full** (every repository: one listing each, so drift made on GitHub is repaired)
//! when none was made yet or the last one is older than the full-pass period (default 6 h).
//! Otherwise it is **incremental**: only repositories never synced, whose desired labels changed
//! (their [`Desired`] hash differs), or whose last sync failed and whose retry time has come (1
//! minute, doubling up to 1 hour, or longer when GitHub asked for it).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use prow_api::LabelSetSpec;
use prow_api::labelset::{RepoSyncState, RepoSyncStatus};

use super::plan::{Action, Desired};
use super::sync::RepoSync;

/// The default period of full passes.
pub const DEFAULT_FULL_PASS: Duration = Duration::from_secs(6 * 3600);
/// The first retry delay of a failed repository.
const FIRST_RETRY: Duration = Duration::from_secs(60);
/// The longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// The repositories (names without the org) of `org` among `served` that a LabelSet with `spec`
/// applies to: all of them when it has `default` labels, else those its `repos` name.
pub fn applies_to(spec: &LabelSetSpec, org: &str, served: &[String]) -> Vec<String> {
    if spec.default.as_ref().is_some_and(|d| !d.labels.is_empty()) {
        return served.to_vec();
    }
    served
        .iter()
        .filter(|repo| spec.repos.contains_key(&format!("{org}/{repo}")))
        .cloned()
        .collect()
}

/// A hash of what a repository should have.
pub fn fingerprint(desired: &Desired) -> u64 {
    let mut hasher = DefaultHasher::new();
    desired.hash(&mut hasher);
    hasher.finish()
}

/// What a sync made of a repository's labels, by kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Labels created.
    pub created: i64,
    /// Labels updated.
    pub updated: i64,
    /// Labels renamed or migrated.
    pub renamed: i64,
    /// Labels deleted.
    pub deleted: i64,
}

impl Counts {
    /// The counts of `actions`.
    pub fn of(actions: &[Action]) -> Self {
        let mut counts = Self::default();
        for action in actions {
            match action {
                Action::Create(_) => counts.created += 1,
                Action::Update(_) => counts.updated += 1,
                Action::Rename { .. } | Action::Migrate { .. } => counts.renamed += 1,
                Action::Delete { .. } => counts.deleted += 1,
            }
        }
        counts
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Why a repository's last sync failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One sentence.
    pub message: String,
    /// Whether it may pass by itself (an outage, a rate limit).
    pub transient: bool,
    /// Failed syncs in a row.
    pub attempts: u32,
    /// When to try again.
    pub retry_at: Timestamp,
}

/// What is remembered of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoMemory {
    /// The [`fingerprint`] of what it should have, at its last sync.
    pub fingerprint: u64,
    /// What the last sync changed (partly, when it failed).
    pub counts: Counts,
    /// When its labels were last found or made to match.
    pub last_synced: Option<Timestamp>,
    /// Why the last sync failed, if it did.
    pub failure: Option<Failure>,
}

/// What is remembered of one instance's label sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// By repository name (without the org).
    pub repos: BTreeMap<String, RepoMemory>,
    /// When the last full pass started.
    pub last_full: Option<Timestamp>,
}

/// What the label sync of a LabelSet's repositories came to, for its status.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncView {
    /// The repositories synced at least once.
    pub repos: Vec<RepoSyncStatus>,
    /// How many of them are `Synced`.
    pub synced: usize,
    /// How many repositories the LabelSet applies to.
    pub total: usize,
    /// `org/repo: error` of each repository whose sync failed for good (until something changes:
    /// a 404, a 403 without rate limiting, a 422).
    pub stalled: Vec<String>,
    /// How many failed for a passing reason (an outage, a rate limit) and are retried.
    pub retrying: usize,
}

/// The repositories a pass visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Whether it visits them all.
    pub full: bool,
    /// Their names, in order.
    pub repos: Vec<String>,
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn plus(time: Timestamp, duration: Duration) -> Timestamp {
    Timestamp::from_second(time.as_second().saturating_add(seconds(duration))).unwrap_or(Timestamp::MAX)
}

impl Memory {
    /// Whether a full pass is due at `now`.
    pub fn full_due(&self, now: Timestamp, full_every: Duration) -> bool {
        self.last_full.is_none_or(|last| plus(last, full_every) <= now)
    }

    /// The pass to make at `now`, given each repository's current [`fingerprint`]. Repositories
    /// no longer served are forgotten.
    pub fn due(&mut self, fingerprints: &BTreeMap<String, u64>, now: Timestamp, full_every: Duration) -> Pass {
        self.repos.retain(|repo, _| fingerprints.contains_key(repo));
        if self.full_due(now, full_every) {
            self.last_full = Some(now);
            return Pass {
                full: true,
                repos: fingerprints.keys().cloned().collect(),
            };
        }
        let repos = fingerprints
            .iter()
            .filter(|(repo, print)| match self.repos.get(*repo) {
                None => true,
                Some(memory) if memory.fingerprint != **print => true,
                Some(memory) => memory.failure.as_ref().is_some_and(|f| f.retry_at <= now),
            })
            .map(|(repo, _)| repo.clone())
            .collect();
        Pass { full: false, repos }
    }

    /// Records what the sync of `repo` (with `fingerprint`) did at `now`. `retry_after` is how
    /// long GitHub asked to wait, when it was rate limiting.
    pub fn record(
        &mut self,
        repo: &str,
        fingerprint: u64,
        sync: &RepoSync,
        retry_after: Option<Duration>,
        now: Timestamp,
    ) {
        let previous = self.repos.get(repo);
        let counts = Counts::of(sync.done());
        let (last_synced, failure) = match &sync.error {
            None => (Some(now), None),
            Some(error) => {
                let attempts = previous
                    .and_then(|m| m.failure.as_ref())
                    .map_or(1, |f| f.attempts.saturating_add(1));
                let doubling = FIRST_RETRY
                    .checked_mul(1 << (attempts - 1).min(16))
                    .map_or(MAX_RETRY, |d| d.min(MAX_RETRY));
                let wait = retry_after.map_or(doubling, |asked| asked.max(doubling));
                (
                    previous.and_then(|m| m.last_synced),
                    Some(Failure {
                        message: error.to_string(),
                        transient: error.is_transient(),
                        attempts,
                        retry_at: plus(now, wait),
                    }),
                )
            }
        };
        self.repos.insert(
            repo.to_string(),
            RepoMemory {
                fingerprint,
                counts,
                last_synced,
                failure,
            },
        );
    }

    /// How long until something is due: the next retry or the next full pass.
    pub fn next_due(&self, now: Timestamp, full_every: Duration) -> Duration {
        let full = self.last_full.map_or(now, |last| plus(last, full_every));
        let next = self
            .repos
            .values()
            .filter_map(|m| m.failure.as_ref().map(|f| f.retry_at))
            .fold(full, |a, b| a.min(b));
        Duration::from_secs(u64::try_from(next.as_second().saturating_sub(now.as_second())).unwrap_or(0))
    }

    /// What a LabelSet that applies to `repos` (names without the org) of `org` reports.
    pub fn view<'a>(&self, org: &str, repos: impl IntoIterator<Item = &'a String> + Clone) -> SyncView {
        let total = repos.clone().into_iter().count();
        let mut stalled = Vec::new();
        let mut retrying = 0;
        for repo in repos.clone() {
            match self.repos.get(repo).and_then(|m| m.failure.as_ref()) {
                Some(failure) if failure.transient => retrying += 1,
                Some(failure) => stalled.push(format!("{org}/{repo}: {}", failure.message)),
                None => {}
            }
        }
        let statuses = self.statuses(org, repos);
        let synced = statuses.iter().filter(|s| s.state == RepoSyncState::Synced).count();
        SyncView {
            repos: statuses,
            synced,
            total,
            stalled,
            retrying,
        }
    }

    /// The status of `repos` (names without the org) of `org`, for those synced at least once.
    pub fn statuses<'a>(&self, org: &str, repos: impl IntoIterator<Item = &'a String>) -> Vec<RepoSyncStatus> {
        repos
            .into_iter()
            .filter_map(|repo| self.repos.get(repo).map(|memory| (repo, memory)))
            .map(|(repo, memory)| RepoSyncStatus {
                repo: format!("{org}/{repo}"),
                state: if memory.failure.is_some() {
                    RepoSyncState::Failed
                } else {
                    RepoSyncState::Synced
                },
                created: memory.counts.created,
                updated: memory.counts.updated,
                renamed: memory.counts.renamed,
                deleted: memory.counts.deleted,
                last_error: memory.failure.as_ref().map(|f| f.message.clone()),
                last_sync_time: memory.last_synced.map(|t| t.to_string()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelsync::plan::{PlanError, WantedLabel};
    use crate::labelsync::sync::SyncError;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn prints(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(r, p)| (r.to_string(), *p)).collect()
    }

    fn synced(actions: Vec<Action>) -> RepoSync {
        RepoSync {
            repo: "o/r".into(),
            applied: actions.len(),
            planned: actions,
            error: None,
        }
    }

    fn failed() -> RepoSync {
        RepoSync {
            repo: "o/r".into(),
            planned: Vec::new(),
            applied: 0,
            error: Some(SyncError::Plan(PlanError::DuplicateObserved {
                first: "a".into(),
                second: "A".into(),
            })),
        }
    }

    const SIX_HOURS: Duration = DEFAULT_FULL_PASS;

    #[test]
    fn the_first_pass_is_full_then_only_changes_and_due_retries_until_the_next_full_one() {
        let mut memory = Memory::default();
        let fingerprints = prints(&[("a", 1), ("b", 2), ("c", 3)]);
        let pass = memory.due(&fingerprints, at(0), SIX_HOURS);
        assert_eq!((pass.full, pass.repos.len()), (true, 3));
        memory.record("a", 1, &synced(vec![]), None, at(1));
        memory.record("b", 2, &synced(vec![]), None, at(1));
        memory.record("c", 3, &failed(), None, at(1));

        // Nothing changed, the retry is not due yet: nothing to do.
        assert_eq!(memory.due(&fingerprints, at(30), SIX_HOURS).repos, Vec::<String>::new());
        assert_eq!(memory.next_due(at(30), SIX_HOURS), Duration::from_secs(31));
        // b's labels changed, c's retry came: those two.
        let changed = prints(&[("a", 1), ("b", 20), ("c", 3)]);
        let pass = memory.due(&changed, at(61), SIX_HOURS);
        assert_eq!((pass.full, pass.repos), (false, vec!["b".to_string(), "c".to_string()]));
        // A failure again doubles the wait.
        memory.record("c", 3, &failed(), None, at(61));
        assert_eq!(memory.repos["c"].failure.as_ref().unwrap().retry_at, at(181));
        // GitHub's Retry-After wins when longer.
        memory.record("c", 3, &failed(), Some(Duration::from_secs(900)), at(200));
        assert_eq!(memory.repos["c"].failure.as_ref().unwrap().retry_at, at(1100));
        // Six hours after the first: full again; a repository no longer served is forgotten.
        let pass = memory.due(&prints(&[("a", 1), ("b", 20)]), at(6 * 3600), SIX_HOURS);
        assert_eq!((pass.full, pass.repos.len()), (true, 2));
        assert!(!memory.repos.contains_key("c"));
    }

    #[test]
    fn statuses_report_counts_errors_and_the_last_good_sync() {
        let wanted = WantedLabel {
            name: "x".into(),
            color: None,
            description: String::new(),
        };
        let mut memory = Memory::default();
        memory.record(
            "a",
            1,
            &synced(vec![
                Action::Create(wanted.clone()),
                Action::Update(wanted.clone()),
                Action::Migrate {
                    from: "y".into(),
                    to: wanted,
                },
            ]),
            None,
            at(0),
        );
        memory.record("b", 1, &synced(vec![]), None, at(0));
        memory.record("b", 1, &failed(), None, at(10));
        let repos = ["a".to_string(), "b".to_string(), "never".to_string()];
        let statuses = memory.statuses("o", &repos);
        assert_eq!(statuses.len(), 2);
        assert_eq!(statuses[0].repo, "o/a");
        assert_eq!(statuses[0].state, RepoSyncState::Synced);
        assert_eq!(
            (statuses[0].created, statuses[0].updated, statuses[0].renamed),
            (1, 1, 1)
        );
        assert_eq!(statuses[1].state, RepoSyncState::Failed);
        assert!(
            statuses[1]
                .last_error
                .as_deref()
                .unwrap()
                .contains("differ only in case")
        );
        assert_eq!(statuses[1].last_sync_time, Some(at(0).to_string()));
    }
}
