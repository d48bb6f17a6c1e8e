//! `prow-operator labels diff`: what label sync would change on GitHub, without changing it.
//!
//! For every ProwInstance in the input: its LabelSets (those without errors) merged, its
//! repositories (`github.repos`, else the org's), one listing per repository, and one line per
//! change: `create|update|delete org/repo label`, `rename|migrate org/repo old new`.

use std::path::{Path, PathBuf};

use k8s_openapi::jiff::Timestamp;

use crate::github::{GitHubClient, GitHubError};
use crate::input::{self, Inputs};
use crate::labelsync::{Merged, Mode, repositories, sync_repos};
use crate::pipeline;

/// An error of `labels diff` that stops it before any repository is read.
#[derive(Debug, thiserror::Error)]
pub enum LabelsCliError {
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
    /// The input holds no ProwInstance (which names the org and repositories).
    #[error("no ProwInstance in the input: labels diff needs one, for its github.org and github.repos")]
    NoInstance,
    /// The GitHub client could not be built, or the async runtime could not start.
    #[error("cannot start the GitHub client: {0}")]
    Client(String),
}

/// What `labels diff` found.
#[derive(Debug, Default)]
pub struct Diff {
    /// The change lines, for standard output.
    pub lines: Vec<String>,
    /// One sentence per problem (a LabelSet left out, a repository or org GitHub could not read),
    /// for standard error.
    pub errors: Vec<String>,
}

/// Computes the diff of every ProwInstance in `paths` against GitHub at `api_url` (the
/// instance's `github.apiUrl` when `None`), authenticating with the token in `token_file`.
pub fn diff(paths: &[PathBuf], token_file: &Path, api_url: Option<&str>) -> Result<Diff, LabelsCliError> {
    let inputs = input::load(paths)?;
    if inputs.instances.is_empty() {
        return Err(LabelsCliError::NoInstance);
    }
    let token = read_token(token_file).map_err(|reason| LabelsCliError::Token {
        path: token_file.to_path_buf(),
        reason,
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LabelsCliError::Client(e.to_string()))?;
    runtime.block_on(diff_all(&inputs, &token, api_url))
}

/// The token in `path`, trimmed; why not, in a few words, when it cannot be read or is empty.
pub(crate) fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".to_string());
    }
    Ok(token.to_string())
}

async fn diff_all(inputs: &Inputs, token: &str, api_url: Option<&str>) -> Result<Diff, LabelsCliError> {
    let mut out = Diff::default();
    for problem in &inputs.problems {
        out.errors.push(problem.to_string());
    }
    let now = Timestamp::now();
    for instance in &inputs.instances {
        let github = &instance.object.spec.github;
        let client = GitHubClient::with_token(api_url.unwrap_or(&github.api_url), token)
            .map_err(|e| LabelsCliError::Client(e.to_string()))?;
        let selected = pipeline::select(inputs, instance);
        let reports = pipeline::check_label_sets(&selected.label_sets);
        let mut usable = Vec::new();
        for (set, report) in selected.label_sets.iter().zip(&reports) {
            if report.has_errors() {
                out.errors.push(format!(
                    "{} ({}) has errors and is left out (run `prow-operator check` for them)",
                    report.object, set.source
                ));
            } else {
                usable.push(&set.object);
            }
        }
        let spec = Merged::of(&usable);
        let repos = match repositories(&client, &github.org, &github.repos).await {
            Ok(repos) => repos,
            Err(error) => {
                out.errors.push(unreadable(&github.org, &error));
                continue;
            }
        };
        for result in sync_repos(&client, &spec, &github.org, &repos, now, Mode::DryRun).await {
            match &result.error {
                None => out.lines.extend(result.planned.iter().map(|a| a.line(&result.repo))),
                Some(error) => out.errors.push(format!("{}: {error}", result.repo)),
            }
        }
    }
    Ok(out)
}

fn unreadable(org: &str, error: &GitHubError) -> String {
    format!("cannot list the repositories of {org}: {error}")
}
