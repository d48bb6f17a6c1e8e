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

use crate::github_diff::{self, Command, Diff, GitHubDiffError, Pass};
use crate::hooksync::{Known, Target, TargetWork, desired_url, sync_targets, wanted};
use crate::input::Sourced;
use crate::labelsync::Mode;

const COMMAND: Command = Command {
    name: "webhooks diff",
    reads: "github and ingress",
};

/// Computes the diff of every ProwInstance in `paths` against GitHub at `api_url` (the
/// instance's `github.apiUrl` when `None`), authenticating with the token in `token_file`.
pub fn diff(paths: &[PathBuf], token_file: &Path, api_url: Option<&str>) -> Result<Diff, GitHubDiffError> {
    github_diff::run(COMMAND, paths, token_file, api_url, diff_instance)
}

async fn diff_instance(instance: &Sourced<ProwInstance>, pass: &mut Pass<'_>) -> Result<(), GitHubDiffError> {
    let instance = &instance.object;
    let spec = &instance.spec;
    let github = &spec.github;
    if github.auth.app.is_some() {
        return Ok(());
    }
    let url = match desired_url(spec) {
        Ok(url) => url,
        Err(error) => {
            pass.out.errors.push(format!(
                "ProwInstance {}: {error}",
                instance.metadata.name.as_deref().unwrap_or_default()
            ));
            return Ok(());
        }
    };
    let client = pass.client(github)?;
    let level = github.webhook.as_ref().map(|w| w.level).unwrap_or_default();
    let repos = match level {
        WebhookLevel::Org => Vec::new(),
        WebhookLevel::Repos => match pass.repositories(&client, github).await {
            Some(repos) => repos,
            None => return Ok(()),
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
            (Some(error), _) => pass.out.errors.push(format!("{name}: {error}")),
            (None, Some(plan)) => pass.out.lines.extend(plan.line(&name, &url)),
            (None, None) => {}
        }
    }
    Ok(())
}
