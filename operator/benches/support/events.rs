//! The GitHub side of the webhook benchmarks: the events they send (signed by each bench) and a
//! fake GitHub (wiremock) answering what a trigger reads for them.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The open pull requests of each repository (numbered from 1).
pub const PULLS_PER_REPO: usize = 5;

/// A `synchronize` of pull request `number` of `org/repo-<repo>` by a member, with head `sha`.
pub fn synchronize(repo: usize, number: usize, sha: &str) -> Value {
    let repository = json!({
        "id": 1000 + repo, "name": format!("repo-{repo}"), "full_name": format!("org/repo-{repo}"),
        "private": false, "owner": {"login": "org", "id": 1, "type": "Organization"},
        "html_url": format!("https://github.com/org/repo-{repo}"),
        "description": "A repository of the benchmark", "fork": false, "default_branch": "main"
    });
    json!({
        "action": "synchronize",
        "number": number,
        "before": "0000000000000000000000000000000000000001",
        "after": sha,
        "pull_request": {
            "id": 5000 + number, "number": number, "state": "open", "locked": false, "draft": false,
            "title": "Tighten the retry loop of the uploader",
            "body": "This change makes the uploader retry with backoff.\n\n```release-note\nNONE\n```",
            "html_url": format!("https://github.com/org/repo-{repo}/pull/{number}"),
            "user": {"login": "alice", "id": 7, "type": "User", "html_url": "https://github.com/alice"},
            "labels": [{"name": "lgtm"}, {"name": "approved"}, {"name": "size/M"}],
            "mergeable": true,
            "head": {"ref": "retry", "sha": sha, "repo": repository.clone(), "user": {"login": "alice"}},
            "base": {"ref": "main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b", "repo": repository.clone()},
            "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-24T10:00:00Z",
            "commits": 3, "additions": 120, "deletions": 30, "changed_files": 4
        },
        "repository": repository,
        "organization": {"login": "org", "id": 1},
        "sender": {"login": "alice", "id": 7, "type": "User"}
    })
}

/// A push of `sha` to a branch no postsubmit runs on.
pub fn push_elsewhere(repo: usize, sha: &str) -> Value {
    json!({
        "ref": "refs/heads/feature-x",
        "before": "0000000000000000000000000000000000000001",
        "after": sha,
        "deleted": false,
        "commits": [{"id": sha, "added": [], "removed": [], "modified": ["pkg/1/main.go"]}],
        "repository": {"name": format!("repo-{repo}"), "full_name": format!("org/repo-{repo}"),
                       "owner": {"login": "org"}, "html_url": format!("https://github.com/org/repo-{repo}")},
        "sender": {"login": "alice"}
    })
}

/// The files pull request `number` changes: one package, so one `run_if_changed` job of a
/// repository of `jobs_per_config` synthetic jobs runs (none when that job is not a presubmit).
pub fn changed_files(number: usize, jobs_per_config: usize) -> [String; 2] {
    [
        format!("pkg/{}/upload.go", number * 3 % jobs_per_config),
        "docs/uploader.md".to_string(),
    ]
}

/// GitHub as the trigger reads it, upstream's and ours: the bot, `alice` a member of `org`, the
/// base branch `main` of every repository and the files of each pull request.
pub async fn fake_github(jobs_per_config: usize) -> MockServer {
    // Recording every request (two an event) would cost the bench's CPU and memory for nothing.
    let github = MockServer::builder().disable_request_recording().start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "prow-bot", "id": 1})))
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/org/members/alice"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&github)
        .await;
    // Upstream's trigger reads the base branch's head first.
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/org/repo-\d+/git/refs/heads/main$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ref": "refs/heads/main",
            "object": {"sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b", "type": "commit"}
        })))
        .mount(&github)
        .await;
    for number in 1..=PULLS_PER_REPO {
        let files: Vec<Value> = changed_files(number, jobs_per_config)
            .iter()
            .map(|f| json!({"filename": f, "status": "modified"}))
            .collect();
        Mock::given(method("GET"))
            .and(path_regex(format!(r"^/repos/org/repo-\d+/pulls/{number}/files$")))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(files)))
            .mount(&github)
            .await;
    }
    github
}
