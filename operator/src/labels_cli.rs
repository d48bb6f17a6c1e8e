//! `prow-operator labels diff`: what label sync would change on GitHub, without changing it.
//!
//! For every ProwInstance in the input: its LabelSets (those without errors) merged, its
//! repositories (`github.repos`, else the org's), one listing per repository, and one line per
//! change: `create|update|delete org/repo label`, `rename|migrate org/repo old new`.

use std::path::{Path, PathBuf};

use k8s_openapi::jiff::Timestamp;
use prow_api::ProwInstance;

use crate::github_diff::{self, Command, Diff, GitHubDiffError, Pass};
use crate::input::Sourced;
use crate::labelsync::{Merged, Mode, sync_repos};
use crate::pipeline;

const COMMAND: Command = Command {
    name: "labels diff",
    reads: "github.org and github.repos",
};

/// Computes the diff of every ProwInstance in `paths` against GitHub at `api_url` (the
/// instance's `github.apiUrl` when `None`), authenticating with the token in `token_file`.
pub fn diff(paths: &[PathBuf], token_file: &Path, api_url: Option<&str>) -> Result<Diff, GitHubDiffError> {
    let now = Timestamp::now();
    github_diff::run(COMMAND, paths, token_file, api_url, async |instance, pass| {
        diff_instance(instance, now, pass).await
    })
}

async fn diff_instance(
    instance: &Sourced<ProwInstance>,
    now: Timestamp,
    pass: &mut Pass<'_>,
) -> Result<(), GitHubDiffError> {
    let github = &instance.object.spec.github;
    let client = pass.client(github)?;
    let selected = pipeline::select(pass.inputs, instance);
    let reports = pipeline::check_label_sets(&selected.label_sets);
    let mut usable = Vec::new();
    for (set, report) in selected.label_sets.iter().zip(&reports) {
        if report.has_errors() {
            pass.out.errors.push(format!(
                "{} ({}) has errors and is left out (run `prow-operator check` for them)",
                report.object, set.source
            ));
        } else {
            usable.push(&set.object);
        }
    }
    let spec = Merged::of(&usable);
    let Some(repos) = pass.repositories(&client, github).await else {
        return Ok(());
    };
    for result in sync_repos(&client, &spec, &github.org, &repos, now, Mode::DryRun).await {
        match &result.error {
            None => pass
                .out
                .lines
                .extend(result.planned.iter().map(|a| a.line(&result.repo))),
            Some(error) => pass.out.errors.push(format!("{}: {error}", result.repo)),
        }
    }
    Ok(())
}
