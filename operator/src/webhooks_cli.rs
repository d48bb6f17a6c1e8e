//! `prow-operator webhooks diff`: what managed webhooks would change on GitHub, without changing
//! it.
//!
//! For every ProwInstance in the input: its targets (the org for `level: org`, else its
//! `github.repos`, or the org's repositories when empty), one listing per target, and one line per
//! change: `create|update <target> <url>`, as if `managed` were on (to preview it before turning
//! it on). An instance authenticating as a GitHub App has no line: the App's own webhook is used,
//! and the operator manages none. The HMAC Secret is not read: GitHub never shows a
//! webhook's secret, so the dry run reports a secret only where a webhook has none.

use std::path::{Path, PathBuf};

use prow_api::ProwInstance;
use prow_api::instance::WebhookLevel;

use crate::github::GitHubClient;
use crate::hooksync::{Known, Target, TargetWork, desired_url, sync_targets, wanted};
use crate::input;
use crate::labels_cli::read_token;
use crate::labelsync::{Mode, repositories};

/// An error of `webhooks diff` that stops it before any target is read.
#[derive(Debug, thiserror::Error)]
pub enum WebhooksCliError {
    /// The input could not be read.
    #[error(transparent)]
    Input(#[from] input::InputError),
    /// The token file could not be read, or is empty.
    #[error("cannot read the GitHub token from {path}: {reason}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The input holds no ProwInstance.
    #[error("no ProwInstance in the input: webhooks diff needs one, for its github and ingress")]
    NoInstance,
    /// The GitHub client could not be built, or the async runtime could not start.
    #[error("cannot start the GitHub client: {0}")]
    Client(String),
}

/// What `webhooks diff` found.
#[derive(Debug, Default)]
pub struct Diff {
    /// The change lines, for standard output.
    pub lines: Vec<String>,
    /// One sentence per problem (an instance whose webhook cannot be worked out, a target GitHub
    /// could not read), for standard error.
    pub errors: Vec<String>,
}

/// Computes the diff of every ProwInstance in `paths` against GitHub at `api_url` (the
/// instance's `github.apiUrl` when `None`), authenticating with the token in `token_file`.
pub fn diff(paths: &[PathBuf], token_file: &Path, api_url: Option<&str>) -> Result<Diff, WebhooksCliError> {
    let inputs = input::load(paths)?;
    if inputs.instances.is_empty() {
        return Err(WebhooksCliError::NoInstance);
    }
    let token = read_token(token_file).map_err(|reason| WebhooksCliError::Token {
        path: token_file.to_path_buf(),
        reason,
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WebhooksCliError::Client(e.to_string()))?;
    runtime.block_on(async {
        let mut out = Diff::default();
        out.errors.extend(inputs.problems.iter().map(ToString::to_string));
        for instance in &inputs.instances {
            diff_instance(&instance.object, &token, api_url, &mut out).await?;
        }
        Ok(out)
    })
}

async fn diff_instance(
    instance: &ProwInstance,
    token: &str,
    api_url: Option<&str>,
    out: &mut Diff,
) -> Result<(), WebhooksCliError> {
    let spec = &instance.spec;
    let github = &spec.github;
    if github.auth.app.is_some() {
        return Ok(());
    }
    let url = match desired_url(spec) {
        Ok(url) => url,
        Err(error) => {
            out.errors.push(format!(
                "ProwInstance {}: {error}",
                instance.metadata.name.as_deref().unwrap_or_default()
            ));
            return Ok(());
        }
    };
    let client = GitHubClient::with_token(api_url.unwrap_or(&github.api_url), token)
        .map_err(|e| WebhooksCliError::Client(e.to_string()))?;
    let level = github.webhook.as_ref().map(|w| w.level).unwrap_or_default();
    let repos = match level {
        WebhookLevel::Org => Vec::new(),
        WebhookLevel::Repos => match repositories(&client, &github.org, &github.repos).await {
            Ok(repos) => repos,
            Err(error) => {
                out.errors
                    .push(format!("cannot list the repositories of {}: {error}", github.org));
                return Ok(());
            }
        },
    };
    let statuses = instance
        .status
        .as_ref()
        .map(|s| s.webhooks.as_slice())
        .unwrap_or_default();
    let work: Vec<TargetWork> = Target::all(&github.org, level, &repos)
        .into_iter()
        .map(|target| {
            let name = target.name();
            TargetWork {
                wanted: wanted(spec, &target, None),
                known: Known {
                    url: statuses.iter().find(|s| s.target == name).and_then(|s| s.url.clone()),
                    secret_digest: None,
                },
                target,
            }
        })
        .collect();
    for result in sync_targets(&client, &work, Mode::DryRun).await {
        let name = result.target.name();
        match (&result.error, &result.plan) {
            (Some(error), _) => out.errors.push(format!("{name}: {error}")),
            (None, Some(plan)) => out.lines.extend(plan.line(&name, &url)),
            (None, None) => {}
        }
    }
    Ok(())
}
