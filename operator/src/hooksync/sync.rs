//! Carrying webhook plans out on GitHub, target by target: list the target's webhooks (one call),
//! plan, and (unless it is a dry run) create or update. One target's failure is its own: the
//! others go on.

use std::time::Duration;

use tracing::{Instrument, info};

use super::desired::{DesiredError, Target};
use super::plan::{CONTENT_TYPE, Drift, HookAction, Known, ObservedHook, Plan, WantedHook, plan};
use crate::github::{GitHubClient, GitHubError, Hook, HookConfig, HookScope, HookUpdate, throttled_pass};
use crate::labelsync::Mode;

/// How many targets are worked on at once.
pub const CONCURRENT_TARGETS: usize = 8;

/// Why a target's webhook could not be made right.
#[derive(Debug, thiserror::Error)]
pub enum HookSyncError {
    /// The wanted webhook could not be worked out.
    #[error(transparent)]
    Desired(#[from] DesiredError),
    /// GitHub refused or failed a call.
    #[error("{0}{hint}", hint = permission_hint(.0))]
    GitHub(#[from] GitHubError),
    /// The target was not visited: GitHub was rate limiting another target of the pass.
    #[error("not visited: GitHub is rate limiting (asked to wait {} s)", wait.as_secs())]
    Throttled {
        /// How long GitHub asked to wait.
        wait: Duration,
    },
}

impl HookSyncError {
    /// How long GitHub asked to wait, when it was rate limiting.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::GitHub(e) => e.retry_after(),
            Self::Throttled { wait } => Some(*wait),
            Self::Desired(_) => None,
        }
    }
}

fn permission_hint(error: &GitHubError) -> &'static str {
    match error.status() {
        Some(403 | 404) => " (managing webhooks needs a token with the admin:repo_hook or admin:org_hook scope)",
        _ => "",
    }
}

/// One target's work: its wanted webhook and what the operator remembers of it.
#[derive(Debug, Clone)]
pub struct TargetWork {
    /// Where the webhook lives.
    pub target: Target,
    /// The webhook wanted there (or why it cannot be worked out).
    pub wanted: Result<WantedHook, DesiredError>,
    /// What the operator remembers (status).
    pub known: Known,
}

/// What a pass did to one target.
#[derive(Debug)]
pub struct TargetSync {
    /// Where the webhook lives.
    pub target: Target,
    /// The plan made (`None` when GitHub could not be read).
    pub plan: Option<Plan>,
    /// Whether the plan was carried out (never in a dry run).
    pub applied: bool,
    /// Why the target failed, if it did.
    pub error: Option<HookSyncError>,
}

/// Syncs every target, [`CONCURRENT_TARGETS`] at a time; the results come back in order. Once
/// GitHub rate limits one target beyond the client's wait budget, the targets not started yet
/// are not visited ([`HookSyncError::Throttled`], for the next pass).
pub async fn sync_targets(client: &GitHubClient, work: &[TargetWork], mode: Mode) -> Vec<TargetSync> {
    throttled_pass(
        work,
        CONCURRENT_TARGETS,
        |work| sync_target(client, work, mode),
        |result| result.error.as_ref().and_then(HookSyncError::retry_after),
        |work, wait| TargetSync {
            target: work.target.clone(),
            plan: None,
            applied: false,
            error: Some(HookSyncError::Throttled { wait }),
        },
    )
    .await
}

/// Syncs one target: one list call, then at most one write.
pub async fn sync_target(client: &GitHubClient, work: &TargetWork, mode: Mode) -> TargetSync {
    let span = tracing::info_span!("hooksync.target", target = %work.target.name());
    async {
        let mut result = TargetSync {
            target: work.target.clone(),
            plan: None,
            applied: false,
            error: None,
        };
        let wanted = match &work.wanted {
            Ok(wanted) => wanted,
            Err(error) => {
                result.error = Some(error.clone().into());
                return result;
            }
        };
        let scope = scope_of(&work.target);
        let observed: Vec<ObservedHook> = match client.hooks(scope).await {
            Ok(hooks) => hooks.into_iter().map(observed).collect(),
            Err(error) => {
                result.error = Some(error.into());
                return result;
            }
        };
        let planned = plan(wanted, &observed, &work.known);
        result.plan = Some(planned.clone());
        if mode == Mode::DryRun {
            return result;
        }
        let Some(action) = &planned.action else {
            return result;
        };
        match apply(client, scope, wanted, action).await {
            Ok(()) => {
                info!(change = %planned.line(&work.target.name(), &wanted.url).unwrap_or_default(), "webhook changed");
                result.applied = true;
            }
            Err(error) => result.error = Some(error.into()),
        }
        result
    }
    .instrument(span)
    .await
}

fn scope_of(target: &Target) -> HookScope<'_> {
    match target {
        Target::Org(org) => HookScope::Org(org),
        Target::Repo { org, repo } => HookScope::Repo(org, repo),
    }
}

fn observed(hook: Hook) -> ObservedHook {
    ObservedHook {
        id: hook.id,
        url: hook.url,
        content_type: hook.content_type,
        events: hook.events.into_iter().collect(),
        active: hook.active,
        has_secret: hook.has_secret,
    }
}

fn config(wanted: &WantedHook) -> HookConfig {
    HookConfig {
        url: wanted.url.clone(),
        content_type: CONTENT_TYPE.to_string(),
        secret: wanted.secret.clone(),
    }
}

async fn apply(
    client: &GitHubClient,
    scope: HookScope<'_>,
    wanted: &WantedHook,
    action: &HookAction,
) -> Result<(), GitHubError> {
    let events: Vec<String> = wanted.events.iter().cloned().collect();
    match action {
        HookAction::Create => client.create_hook(scope, &config(wanted), &events).await.map(|_| ()),
        HookAction::Update { id, drift } => {
            let update = HookUpdate {
                config: drift.iter().any(|d| d.in_config()).then(|| config(wanted)),
                events: drift.contains(&Drift::Events).then_some(events),
                active: drift.contains(&Drift::Active).then_some(true),
            };
            client.update_hook(scope, *id, &update).await
        }
    }
}
