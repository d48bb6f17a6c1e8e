//! What `labels diff` and `webhooks diff` share: load the input, refuse one without a
//! ProwInstance, read the token file, run each instance's pass on a current-thread runtime, and
//! gather the change lines and the problems. Each command brings only its per-instance pass.

use std::path::{Path, PathBuf};

use prow_api::ProwInstance;
use prow_api::instance::GitHubSpec;

use crate::github::GitHubClient;
use crate::input::{self, Inputs, Sourced};
use crate::labelsync::repositories;

/// An error of a GitHub diff (`labels diff`, `webhooks diff`) that stops it before GitHub is
/// read, or while it cannot talk to GitHub at all.
#[derive(Debug, thiserror::Error)]
pub enum GitHubDiffError {
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
    #[error("no ProwInstance in the input: {command} needs one, for its {reads}")]
    NoInstance {
        /// The command, e.g. `labels diff`.
        command: &'static str,
        /// What it reads of the instance, e.g. `github and ingress`.
        reads: &'static str,
    },
    /// The GitHub client could not be built, or the async runtime could not start.
    #[error("cannot start the GitHub client: {0}")]
    Client(String),
}

/// What a GitHub diff found.
#[derive(Debug, Default)]
pub struct Diff {
    /// The change lines, for standard output.
    pub lines: Vec<String>,
    /// One sentence per problem (an input left out, an instance the command cannot work out, a
    /// repository or org GitHub could not read), for standard error.
    pub errors: Vec<String>,
}

/// Which command runs, for its messages.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Its name, e.g. `labels diff`.
    pub name: &'static str,
    /// What it reads of a ProwInstance, e.g. `github.org and github.repos`.
    pub reads: &'static str,
}

/// What a per-instance pass is given besides its instance: the whole input, the token and the
/// API URL to use, and the diff to add to.
pub struct Pass<'a> {
    /// Every object of the input.
    pub inputs: &'a Inputs,
    token: &'a str,
    api_url: Option<&'a str>,
    /// The lines and problems found so far.
    pub out: &'a mut Diff,
}

impl Pass<'_> {
    /// A client for the instance's `github` at the `--api-url` given, else at its `apiUrl`.
    pub fn client(&self, github: &GitHubSpec) -> Result<GitHubClient, GitHubDiffError> {
        GitHubClient::with_token(self.api_url.unwrap_or(&github.api_url), self.token)
            .map_err(|e| GitHubDiffError::Client(e.to_string()))
    }

    /// The repositories of `github` (`github.repos`, else the org's), or `None` with the problem
    /// added to the diff.
    pub async fn repositories(&mut self, client: &GitHubClient, github: &GitHubSpec) -> Option<Vec<String>> {
        match repositories(client, &github.org, &github.repos).await {
            Ok(repos) => Some(repos),
            Err(error) => {
                self.out
                    .errors
                    .push(format!("cannot list the repositories of {}: {error}", github.org));
                None
            }
        }
    }
}

/// Runs `pass` on every ProwInstance in `paths`, with the token in `token_file` and GitHub at
/// `api_url` (each instance's `github.apiUrl` when `None`). The input's problems come first in
/// the diff's errors.
pub fn run(
    command: Command,
    paths: &[PathBuf],
    token_file: &Path,
    api_url: Option<&str>,
    pass: impl AsyncFn(&Sourced<ProwInstance>, &mut Pass<'_>) -> Result<(), GitHubDiffError>,
) -> Result<Diff, GitHubDiffError> {
    let inputs = input::load(paths)?;
    if inputs.instances.is_empty() {
        return Err(GitHubDiffError::NoInstance {
            command: command.name,
            reads: command.reads,
        });
    }
    let token = read_token(token_file).map_err(|reason| GitHubDiffError::Token {
        path: token_file.to_path_buf(),
        reason,
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| GitHubDiffError::Client(e.to_string()))?;
    runtime.block_on(async {
        let mut out = Diff::default();
        out.errors.extend(inputs.problems.iter().map(ToString::to_string));
        for instance in &inputs.instances {
            let mut context = Pass {
                inputs: &inputs,
                token: &token,
                api_url,
                out: &mut out,
            };
            pass(instance, &mut context).await?;
        }
        Ok(out)
    })
}

/// The token in `path`, trimmed; why not, in a few words, when it cannot be read or is empty.
fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".to_string());
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory holding `files` (name, text), removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let dir = std::env::temp_dir().join(format!("prow-operator-github-diff-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in files {
                std::fs::write(dir.join(file), text).unwrap();
            }
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn instance(name: &str) -> String {
        format!(
            r#"apiVersion: operator.prow.dev/v1alpha1
kind: ProwInstance
metadata: {{name: {name}, namespace: prow}}
spec:
  version: v20240802-66b115076
  github:
    org: acme
    repos: [website]
    auth: {{token: {{secretRef: {{name: github-token, key: oauth}}}}}}
    hmacSecretRef: {{name: hmac-token, key: hmac}}
"#
        )
    }

    #[test]
    fn each_command_names_itself_when_the_input_has_no_instance() {
        let dir = Scratch::new("empty", &[("token", "t\n"), ("other.yaml", "a: 1\n")]);
        let paths = [dir.0.join("other.yaml")];
        let labels = crate::labels_cli::diff(&paths, &dir.0.join("token"), None).unwrap_err();
        assert_eq!(
            labels.to_string(),
            "no ProwInstance in the input: labels diff needs one, for its github.org and github.repos"
        );
        let webhooks = crate::webhooks_cli::diff(&paths, &dir.0.join("token"), None).unwrap_err();
        assert_eq!(
            webhooks.to_string(),
            "no ProwInstance in the input: webhooks diff needs one, for its github and ingress"
        );
    }

    #[test]
    fn an_empty_or_missing_token_file_stops_the_diff_with_its_path() {
        let dir = Scratch::new("token", &[("prowinstance.yaml", &instance("prow")), ("token", " \n")]);
        let paths = [dir.0.join("prowinstance.yaml")];
        let empty = dir.0.join("token");
        let error = crate::labels_cli::diff(&paths, &empty, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot read the GitHub token from {}: the file is empty",
                empty.display()
            )
        );
        let missing = dir.0.join("absent");
        let error = crate::webhooks_cli::diff(&paths, &missing, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read the GitHub token from {}: ", missing.display())),
            "{error}"
        );
    }

    #[test]
    fn the_pass_sees_every_instance_with_the_input_problems_already_reported() {
        let dir = Scratch::new(
            "pass",
            &[
                ("a.yaml", &instance("first")),
                ("b.yaml", &instance("second")),
                ("c.yaml", "kind: [unclosed\n"),
                ("token", "diff-token\n"),
            ],
        );
        let paths = [dir.0.clone()];
        let command = Command {
            name: "test diff",
            reads: "github",
        };
        let diff = run(
            command,
            &paths,
            &dir.0.join("token"),
            Some("http://127.0.0.1:1"),
            async |instance, pass| {
                let client = pass.client(&instance.object.spec.github)?;
                assert_eq!(client.base_uri(), "http://127.0.0.1:1");
                let problems = pass.out.errors.len();
                pass.out.lines.push(format!(
                    "{} after {problems} problem(s)",
                    instance.object.metadata.name.as_deref().unwrap_or_default()
                ));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(diff.lines, ["first after 1 problem(s)", "second after 1 problem(s)"]);
        assert_eq!(diff.errors.len(), 1, "{:?}", diff.errors);
    }
}
