//! A GitHub client against a wiremock server, and the `labels diff` / `webhooks diff` command
//! runs against one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use prow_operator::github::{Credentials, GitHubClient, GitHubConfig, RetryPolicy};
use wiremock::MockServer;

/// Fast retries, so that failure tests take milliseconds: 3 attempts within 5 s, backing off
/// 10 to 40 ms.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_total_wait: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

/// A client of `server` authenticating with `token`, with [`fast_retry`].
pub fn token_client(server: &MockServer, token: &str) -> GitHubClient {
    let mut config = GitHubConfig::new(Credentials::token(token)).with_base_uri(server.uri());
    config.retry = fast_retry();
    GitHubClient::new(config).expect("client")
}

/// A scratch directory for `prow-operator <command> diff`, named after the command, the test
/// process and `name`: `config/` holding `files` (name, text), and the file `token` holding
/// `token`.
pub fn diff_input(command: &str, name: &str, files: &[(&str, &str)], token: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prow-operator-{command}-diff-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("config")).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join("config").join(file), text).unwrap();
    }
    std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
    dir
}

/// Runs `prow-operator <command> diff` on the [`diff_input`] `dir` against `server`.
pub fn run_diff(command: &str, dir: &Path, server: &MockServer) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args([command, "diff", "-f"])
        .arg(dir.join("config"))
        .arg("--token-file")
        .arg(dir.join("token"))
        .args(["--api-url", &server.uri()])
        .output()
        .unwrap()
}
