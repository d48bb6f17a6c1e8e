//! The label-sync loop (on the leader): every instance's accepted LabelSets made true on GitHub,
//! with the instance's credentials, repository by repository.
//!
//! When a LabelSet or an instance changes, and at least every [`TICK`] (or sooner when a retry or
//! the full pass is due), it computes, without calling
//! GitHub, what each repository should have; [`Memory::due`] picks the repositories to visit
//! (incremental passes, a full pass every `full_pass`, failed ones after their backoff). Each
//! visited repository costs one listing plus the writes its plan needs, and a repository's failure
//! stays its own. The outcome goes to the LabelSets' `status.repos`, their conditions, and Events.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::{Api, Resource, ResourceExt};
use prow_api::status::Severity;
use prow_api::{LabelSet, ProwInstance};
use tracing::{Instrument, info, warn};

use super::configs::{self, Outcome};
use super::notices::Notice;
use super::{Context, selected_by};
use crate::labelsync::schedule::{Counts, Memory, SyncView, applies_to, fingerprint};
use crate::labelsync::{Merged, Mode, SyncError, repositories, sync_repos};
use crate::pipeline::ConfigKind;

/// How often desired labels are compared with what was last synced (no GitHub call).
pub const TICK: Duration = Duration::from_secs(30);

/// What the loop keeps per instance.
#[derive(Debug, Default, Clone)]
struct InstanceSync {
    /// The instance's org.
    org: String,
    /// The repositories served, as last listed.
    repos: Vec<String>,
    memory: Memory,
}

/// The label sync's memory of every instance, shared with the instance reconcile (which writes
/// the same LabelSet statuses).
#[derive(Debug, Default)]
pub struct LabelSyncMemo {
    by_instance: Mutex<HashMap<(String, String), InstanceSync>>,
}

fn key_of(instance: &ProwInstance) -> (String, String) {
    (instance.namespace().unwrap_or_default(), instance.name_any())
}

impl LabelSyncMemo {
    /// What the label sync made of `set`'s repositories in `instance`, once it synced any.
    pub fn view(&self, instance: &ProwInstance, set: &LabelSet) -> Option<SyncView> {
        let by_instance = self.lock();
        let state = by_instance.get(&key_of(instance))?;
        let repos = applies_to(&set.spec, &state.org, &state.repos);
        Some(state.memory.view(&state.org, &repos))
    }

    fn take(&self, key: &(String, String)) -> InstanceSync {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    fn put(&self, key: (String, String), state: InstanceSync) {
        self.lock().insert(key, state);
    }

    fn retain(&self, keep: impl Fn(&(String, String)) -> bool) {
        self.lock().retain(|key, _| keep(key));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), InstanceSync>> {
        self.by_instance.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs the loop until `shutdown` completes. `full_pass` is the period of full passes.
pub async fn lead(ctx: Arc<Context>, full_pass: Duration, shutdown: impl Future<Output = ()>) {
    let passes = async {
        loop {
            let instances = ctx.stores.instances.state();
            ctx.label_sync.retain(|key| instances.iter().any(|i| &key_of(i) == key));
            let mut wait = TICK;
            for instance in instances {
                if instance.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let span = tracing::info_span!("labelsync", instance = %format!("{}/{}", key_of(&instance).0, key_of(&instance).1));
                if let Some(next) = sync_instance(&ctx, &instance, full_pass).instrument(span).await {
                    wait = wait.min(next.max(Duration::from_secs(1)));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = ctx.changed.label_sets.notified() => {}
            }
        }
    };
    tokio::select! {
        () = passes => {}
        () = shutdown => {}
    }
    info!("label sync stopped");
}

/// The instance's LabelSets without errors, with their warnings.
fn accepted_label_sets(ctx: &Context, instance: &ProwInstance) -> Vec<(Arc<LabelSet>, Vec<prow_api::status::Finding>)> {
    let namespaces = ctx.stores.namespaces.state();
    let labels_of = |name: &str| namespaces.iter().find(|n| n.name_any() == name).map(|n| n.labels());
    let mut sets = selected_by(instance, ConfigKind::LabelSet, ctx.stores.label_sets.state(), labels_of);
    sets.sort_by_key(|s| (s.namespace(), s.name_any()));
    sets.into_iter()
        .map(|set| {
            let findings = crate::check::check_labels(&set.spec);
            (set, findings)
        })
        .filter(|(_, findings)| findings.iter().all(|f| f.severity != Severity::Error))
        .collect()
}

/// One pass over an instance; returns how long until its next one is due.
async fn sync_instance(ctx: &Context, instance: &ProwInstance, full_pass: Duration) -> Option<Duration> {
    let key = key_of(instance);
    let accepted = accepted_label_sets(ctx, instance);
    if accepted.is_empty() {
        ctx.label_sync.retain(|k| k != &key);
        return None;
    }
    let secrets = Api::namespaced(ctx.client.clone(), &key.0);
    let client = match ctx.github.client_for(instance, &secrets).await {
        Ok(client) => client,
        Err(error) => {
            // The instance's own status reports its credentials.
            warn!(%error, "no GitHub client: labels not synced");
            return None;
        }
    };
    let github = &instance.spec.github;
    let mut state = ctx.label_sync.take(&key);
    state.org = github.org.clone();
    let now = Timestamp::now();
    if !github.repos.is_empty() {
        state.repos = github.repos.clone();
    } else if state.repos.is_empty() || state.memory.full_due(now, full_pass) {
        match repositories(&client, &github.org, &[]).await {
            Ok(repos) => state.repos = repos,
            Err(error) => {
                warn!(%error, "cannot list the org's repositories: labels not synced");
                let notice = Notice {
                    warning: true,
                    reason: "LabelSyncFailed".into(),
                    note: format!("cannot list the repositories of {}: {error}", github.org),
                };
                for (set, _) in &accepted {
                    ctx.publish(&set.object_ref(&()), &notice).await;
                }
                ctx.label_sync.put(key, state);
                return Some(Duration::from_secs(60));
            }
        }
    }
    let sets: Vec<&LabelSet> = accepted.iter().map(|(s, _)| s.as_ref()).collect();
    let merged = Merged::of(&sets);
    let fingerprints: BTreeMap<String, u64> = state
        .repos
        .iter()
        .map(|repo| {
            let print = merged
                .desired(&format!("{}/{repo}", github.org), now)
                .map(|d| fingerprint(&d))
                .unwrap_or_default();
            (repo.clone(), print)
        })
        .collect();
    let pass = state.memory.due(&fingerprints, now, full_pass);
    if pass.repos.is_empty() {
        let next = state.memory.next_due(now, full_pass);
        ctx.label_sync.put(key, state);
        return Some(next);
    }
    info!(full = pass.full, repos = pass.repos.len(), "label sync pass");
    let results = sync_repos(&client, &merged, &github.org, &pass.repos, now, Mode::Apply).await;
    let finished = Timestamp::now();
    for (repo, result) in pass.repos.iter().zip(&results) {
        let retry_after = result.error.as_ref().and_then(SyncError::retry_after);
        let print = fingerprints.get(repo).copied().unwrap_or_default();
        state.memory.record(repo, print, result, retry_after, finished);
    }
    let next = state.memory.next_due(finished, full_pass);
    let org = github.org.clone();
    let served = state.repos.clone();
    let memory = state.memory.clone();
    ctx.label_sync.put(key.clone(), state);

    let time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(finished);
    for (set, findings) in &accepted {
        let repos = applies_to(&set.spec, &org, &served);
        let view = memory.view(&org, &repos);
        let outcome = Outcome::Selected {
            instances: vec![format!("{}/{}", key.0, key.1)],
            findings: findings.clone(),
        };
        let status = configs::label_set_status(set, &outcome, Some(&view), &time);
        if let Err(error) = ctx.update_config_status(set.as_ref(), status).await {
            warn!(%error, label_set = %set.name_any(), "cannot write the LabelSet's status");
        }
        for notice in notices(&org, &repos, &pass.repos, &results) {
            ctx.publish(&set.object_ref(&()), &notice).await;
        }
    }
    Some(next)
}

/// The Events of a pass for a LabelSet applying to `repos`: one for the changes made, one for
/// the failures.
fn notices(org: &str, repos: &[String], visited: &[String], results: &[crate::labelsync::RepoSync]) -> Vec<Notice> {
    let mut changed = 0;
    let mut total = Counts::default();
    let mut failures = Vec::new();
    for (repo, result) in visited.iter().zip(results) {
        if !repos.contains(repo) {
            continue;
        }
        let counts = Counts::of(result.done());
        if !counts.is_empty() {
            changed += 1;
            total.created += counts.created;
            total.updated += counts.updated;
            total.renamed += counts.renamed;
            total.deleted += counts.deleted;
        }
        if let Some(error) = &result.error {
            failures.push(format!("{org}/{repo}: {error}"));
        }
    }
    let mut out = Vec::new();
    if changed > 0 {
        out.push(Notice {
            warning: false,
            reason: "LabelsSynced".into(),
            note: format!(
                "labels changed in {changed} repositories: {} created, {} updated, {} renamed, {} deleted",
                total.created, total.updated, total.renamed, total.deleted
            ),
        });
    }
    if let Some(first) = failures.first() {
        out.push(Notice {
            warning: true,
            reason: "LabelSyncFailed".into(),
            note: format!("{} repositories could not be synced (first: {first})", failures.len()),
        });
    }
    out
}
