//! Carrying a label plan out on GitHub, repository by repository: list the labels, plan, and (unless
//! it is a dry run) apply the actions in order. One repository's failure is its own: the others
//! go on (upstream's `label_sync` gives up on the whole org instead).

use k8s_openapi::jiff::Timestamp;
use regex::Regex;
use std::sync::LazyLock;
use std::time::Duration;
use tracing::{Instrument, info};

use super::merged::Merged;
use super::plan::{Action, ObservedLabel, PlanError, plan};
use crate::github::{GitHubClient, GitHubError, RepoLabel, throttled_pass};

/// How many repositories are worked on at once.
pub const CONCURRENT_REPOS: usize = 8;

/// Upstream's private security forks (`<repo>-ghsa-<id>`), which label sync skips.
static SECURITY_FORK: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"^[\w-]+-ghsa-[\w-]+$"));

/// Whether the actions are only computed, or also applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plan only (`labels diff`): the only calls are reads.
    DryRun,
    /// Plan and apply.
    Apply,
}

/// Why a repository could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No plan could be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// GitHub refused or failed a call.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// The repository was not visited: GitHub was rate limiting another repository of the pass.
    #[error("not visited: GitHub is rate limiting (asked to wait {} s)", wait.as_secs())]
    Throttled {
        /// How long GitHub asked to wait.
        wait: Duration,
    },
}

impl SyncError {
    /// Whether trying again later may succeed (an outage or a rate limit).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::GitHub(e) => e.is_transient(),
            Self::Throttled { .. } => true,
            Self::Plan(_) => false,
        }
    }

    /// How long GitHub asked to wait, when it was rate limiting.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::GitHub(e) => e.retry_after(),
            Self::Throttled { wait } => Some(*wait),
            Self::Plan(_) => None,
        }
    }
}

/// What a pass did to one repository.
#[derive(Debug)]
pub struct RepoSync {
    /// `org/repo`.
    pub repo: String,
    /// The actions planned.
    pub planned: Vec<Action>,
    /// How many of them were carried out, in order (all of them unless `error`; none in a dry run).
    pub applied: usize,
    /// Why the repository stopped, if it did.
    pub error: Option<SyncError>,
}

impl RepoSync {
    /// The actions carried out.
    pub fn done(&self) -> &[Action] {
        &self.planned[..self.applied.min(self.planned.len())]
    }
}

/// The repositories label sync covers in `org`: `listed` when it is not empty (the instance's
/// `github.repos`), else every repository of the org except archived ones and private security
/// forks, as upstream's `loadRepos`.
pub async fn repositories(client: &GitHubClient, org: &str, listed: &[String]) -> Result<Vec<String>, GitHubError> {
    if !listed.is_empty() {
        return Ok(listed.to_vec());
    }
    let repos = client.org_repos(org).await?;
    Ok(repos
        .into_iter()
        .filter(|r| !(r.archived || (r.private && SECURITY_FORK.is_match(&r.name))))
        .map(|r| r.name)
        .collect())
}

/// Syncs `repos` of `org` to the merged LabelSets `merged`, [`CONCURRENT_REPOS`] at a time; the
/// results come back in the order of `repos`. Once GitHub rate limits one repository beyond the
/// client's wait budget, the repositories not started yet are not visited
/// ([`SyncError::Throttled`], to retry when GitHub said): a pass never hammers a limit.
pub async fn sync_repos(
    client: &GitHubClient,
    merged: &Merged,
    org: &str,
    repos: &[String],
    now: Timestamp,
    mode: Mode,
) -> Vec<RepoSync> {
    throttled_pass(
        repos,
        CONCURRENT_REPOS,
        |repo| sync_repo(client, merged, org, repo, now, mode),
        |result| result.error.as_ref().and_then(SyncError::retry_after),
        |repo, wait| RepoSync {
            repo: format!("{org}/{repo}"),
            planned: Vec::new(),
            applied: 0,
            error: Some(SyncError::Throttled { wait }),
        },
    )
    .await
}

/// Syncs one repository: one list call, then the plan's writes (none when nothing differs).
pub async fn sync_repo(
    client: &GitHubClient,
    merged: &Merged,
    org: &str,
    repo: &str,
    now: Timestamp,
    mode: Mode,
) -> RepoSync {
    let full = format!("{org}/{repo}");
    let span = tracing::info_span!("labelsync.repo", repo = %full);
    async {
        let mut result = RepoSync {
            repo: full.clone(),
            planned: Vec::new(),
            applied: 0,
            error: None,
        };
        let planned = match plan_repo(client, merged, org, repo, &full, now).await {
            Ok(planned) => planned,
            Err(error) => {
                result.error = Some(error);
                return result;
            }
        };
        result.planned = planned;
        if mode == Mode::DryRun {
            return result;
        }
        for action in &result.planned {
            if let Err(error) = apply(client, org, repo, action).await {
                result.error = Some(error.into());
                break;
            }
            info!(change = %action.line(&full), "label changed");
            result.applied += 1;
        }
        result
    }
    .instrument(span)
    .await
}

async fn plan_repo(
    client: &GitHubClient,
    merged: &Merged,
    org: &str,
    repo: &str,
    full: &str,
    now: Timestamp,
) -> Result<Vec<Action>, SyncError> {
    let desired = merged.desired(full, now)?;
    if desired.is_empty() {
        return Ok(Vec::new());
    }
    let observed: Vec<ObservedLabel> = client
        .repo_labels(org, repo)
        .await?
        .into_iter()
        .map(
            |RepoLabel {
                 name,
                 color,
                 description,
             }| ObservedLabel {
                name,
                color,
                description,
            },
        )
        .collect();
    Ok(plan(&desired, &observed)?)
}

/// Carries out one action. A migration moves every open issue and pull request labelled `from`
/// (upstream's search query) to `to`, then deletes `from`.
async fn apply(client: &GitHubClient, org: &str, repo: &str, action: &Action) -> Result<(), GitHubError> {
    match action {
        Action::Create(label) => {
            client
                .create_repo_label(org, repo, &label.name, label.color.as_deref(), &label.description)
                .await
        }
        Action::Update(label) => {
            client
                .update_repo_label(
                    org,
                    repo,
                    &label.name,
                    &label.name,
                    label.color.as_deref(),
                    &label.description,
                )
                .await
        }
        Action::Rename { from, to } => {
            client
                .update_repo_label(org, repo, from, &to.name, to.color.as_deref(), &to.description)
                .await
        }
        Action::Migrate { from, to } => {
            for number in client.open_issues_labelled(org, repo, from, &to.name).await? {
                client.add_label(org, repo, number, &to.name).await?;
                client.remove_label(org, repo, number, from).await?;
            }
            client.delete_repo_label(org, repo, from).await
        }
        Action::Delete { name } => client.delete_repo_label(org, repo, name).await,
    }
}
