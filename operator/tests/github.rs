//! The GitHub adapter against a wiremock GitHub on loopback: real HTTP through octocrab.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::time::{Duration, Instant};

use prow_operator::github::{Credentials, GitHubClient, GitHubConfig, GitHubError, PullRequestState, StatusState};
use serde_json::json;
use wiremock::matchers::{body_json, header, header_regex, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod support;

use support::github::fast_retry;

const TOKEN: &str = "test-token-0123456789";
const JWT: &str = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$";

fn token_client(server: &MockServer) -> GitHubClient {
    support::github::token_client(server, TOKEN)
}

fn bearer_token() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

/// An RSA key for the GitHub App tests: a fresh one from the `openssl` CLI when it is there,
/// else the committed test-only key.
fn app_private_key() -> String {
    let generated = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .stderr(std::process::Stdio::null())
        .output();
    if let Ok(out) = generated
        && out.status.success()
        && !out.stdout.is_empty()
    {
        return String::from_utf8(out.stdout).expect("PEM is ASCII");
    }
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-only-github-app-key.pem"
    ))
    .expect("test key fixture")
}

fn app_client(server: &MockServer, pem: &str) -> GitHubClient {
    let mut config = GitHubConfig::new(Credentials::github_app(4242, pem)).with_base_uri(server.uri());
    config.retry = fast_retry();
    GitHubClient::new(config).expect("app client")
}

// ---------------------------------------------------------------- trust

#[tokio::test]
async fn org_membership_yes_and_no() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/mallory"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    assert!(gh.is_org_member("acme", "alice").await.unwrap());
    assert!(!gh.is_org_member("acme", "mallory").await.unwrap());
}

#[tokio::test]
async fn org_membership_302_falls_back_to_public_membership() {
    let server = MockServer::start().await;
    let location = format!("{}/orgs/acme/public_members/carol", server.uri());
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/carol"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", location.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/public_members/carol"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/dave"))
        .respond_with(ResponseTemplate::new(302))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/public_members/dave"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    assert!(gh.is_org_member("acme", "carol").await.unwrap());
    assert!(!gh.is_org_member("acme", "dave").await.unwrap());
}

#[tokio::test]
async fn collaborator_yes_and_no() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/collaborators/bob"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/collaborators/eve"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    assert!(gh.is_collaborator("acme", "widgets", "bob").await.unwrap());
    assert!(!gh.is_collaborator("acme", "widgets", "eve").await.unwrap());
}

#[tokio::test]
async fn trust_answers_are_cached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/collaborators/eve"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    assert!(gh.is_org_member("acme", "alice").await.unwrap());
    // Logins are case-insensitive on GitHub, and so is the cache.
    assert!(gh.is_org_member("acme", "Alice").await.unwrap());
    assert!(!gh.is_collaborator("acme", "widgets", "eve").await.unwrap());
    assert!(!gh.is_collaborator("acme", "widgets", "eve").await.unwrap());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_zero_ttl_disables_the_cache() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let mut config = GitHubConfig::new(Credentials::token(TOKEN)).with_base_uri(server.uri());
    config.cache_ttl = Duration::ZERO;
    let gh = GitHubClient::new(config).unwrap();
    assert!(gh.is_org_member("acme", "alice").await.unwrap());
    assert!(gh.is_org_member("acme", "alice").await.unwrap());
}

// ---------------------------------------------------------------- pull requests

#[tokio::test]
async fn pull_request_is_read_into_our_struct() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7,
            "title": "Fix the frobnicator",
            "state": "open",
            "draft": false,
            "merged": false,
            "mergeable": true,
            "user": {"login": "alice", "id": 1},
            "head": {"ref": "fix", "sha": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "repo": {"name": "widgets"}},
            "base": {"ref": "main", "sha": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
            "labels": [{"name": "ok-to-test", "color": "fff"}, {"name": "lgtm"}],
            "html_url": "https://github.com/acme/widgets/pull/7",
            "changed_files": 3
        })))
        .expect(1)
        .mount(&server)
        .await;
    let pr = token_client(&server).pull_request("acme", "widgets", 7).await.unwrap();
    assert_eq!(pr.number, 7);
    assert_eq!(pr.head_sha, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(pr.base_ref, "main");
    assert_eq!(pr.base_sha, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_eq!(pr.author, "alice");
    assert!(!pr.draft);
    assert_eq!(pr.mergeable, Some(true));
    assert_eq!(pr.state, PullRequestState::Open);
    assert_eq!(pr.labels, vec!["ok-to-test", "lgtm"]);
    assert_eq!(pr.html_url, "https://github.com/acme/widgets/pull/7");
    assert_eq!(pr.changed_files, Some(3));
}

#[tokio::test]
async fn a_missing_pull_request_is_a_404_naming_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/99"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1) // a 404 is an answer: no retry
        .mount(&server)
        .await;
    let err = token_client(&server)
        .pull_request("acme", "widgets", 99)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.is_not_found());
    assert!(!err.is_transient());
    assert_eq!(err.call().map(|c| c.operation()), Some("pull_request"));
    assert_eq!(
        err.to_string(),
        "GitHub pull_request (acme/widgets#99): HTTP 404: Not Found"
    );
}

#[tokio::test]
async fn pull_request_files_follow_link_pagination() {
    let server = MockServer::start().await;
    let next = format!(
        "<{0}/repos/acme/widgets/pulls/7/files?per_page=100&page=2>; rel=\"next\", <{0}/repos/acme/widgets/pulls/7/files?per_page=100&page=2>; rel=\"last\"",
        server.uri()
    );
    let page1: Vec<_> = (0..100)
        .map(|i| json!({"filename": format!("src/f{i}.rs"), "status": "modified"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7/files"))
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .and(bearer_token())
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(page1),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7/files"))
        .and(query_param("page", "2"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"filename": "docs/README.md", "status": "added"},
            {"filename": "new/name.go", "previous_filename": "old/name.go", "status": "renamed"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let files = token_client(&server)
        .pull_request_files("acme", "widgets", 7)
        .await
        .unwrap();
    assert_eq!(files.len(), 102);
    assert_eq!(files[0], "src/f0.rs");
    assert_eq!(files[101], "new/name.go");
}

// ---------------------------------------------------------------- comments

#[tokio::test]
async fn comments_create_list_edit_delete() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .and(bearer_token())
        .and(body_json(json!({"body": "Hi @alice"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 555, "user": {"login": "prow-bot"}, "body": "Hi @alice"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let next = format!(
        "<{}/repos/acme/widgets/issues/7/comments?per_page=100&page=2>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([{"id": 1, "user": {"login": "alice"}, "body": "/ok-to-test"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 555, "user": {"login": "prow-bot"}, "body": "Hi @alice"},
            {"id": 556, "user": null, "body": "from a deleted account"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/issues/comments/555"))
        .and(body_json(json!({"body": "edited"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 555, "body": "edited"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/comments/555"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/comments/556"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;

    let gh = token_client(&server);
    let created = gh.create_comment("acme", "widgets", 7, "Hi @alice").await.unwrap();
    assert_eq!((created.id, created.author.as_str()), (555, "prow-bot"));
    let comments = gh.list_comments("acme", "widgets", 7).await.unwrap();
    let summary: Vec<_> = comments
        .iter()
        .map(|c| (c.id, c.author.as_str(), c.body.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "alice", "/ok-to-test"),
            (555, "prow-bot", "Hi @alice"),
            (556, "ghost", "from a deleted account")
        ]
    );
    gh.edit_comment("acme", "widgets", 555, "edited").await.unwrap();
    gh.delete_comment("acme", "widgets", 555).await.unwrap();
    // Already gone: not an error.
    gh.delete_comment("acme", "widgets", 556).await.unwrap();
}

#[tokio::test]
async fn a_new_comment_is_not_repeated_after_a_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = token_client(&server)
        .create_comment("acme", "widgets", 7, "hello")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.is_transient());
}

// ---------------------------------------------------------------- labels

#[tokio::test]
async fn labels_add_and_remove() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/labels"))
        .and(bearer_token())
        .and(body_json(json!({"labels": ["ok-to-test"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "ok-to-test"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/7/labels/needs-ok-to-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    // Label names are path-encoded: "do-not-merge/hold" is one segment.
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/7/labels/do-not-merge%2Fhold"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Label does not exist"})))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    gh.add_label("acme", "widgets", 7, "ok-to-test").await.unwrap();
    gh.remove_label("acme", "widgets", 7, "needs-ok-to-test").await.unwrap();
    gh.remove_label("acme", "widgets", 7, "do-not-merge/hold")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_label_is_an_error_with_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/labels"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .expect(1) // a permission 403 (no rate-limit headers) is not retried
        .mount(&server)
        .await;
    let err = token_client(&server)
        .add_label("acme", "widgets", 7, "lgtm")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(!err.is_transient());
    let shown = err.to_string();
    assert!(shown.contains("add_label (acme/widgets#7 label=lgtm)"), "{shown}");
    assert!(shown.contains("Resource not accessible"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

// ---------------------------------------------------------------- statuses

#[tokio::test]
async fn commit_statuses_are_the_latest_state_per_context() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/commits/abc123/status"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "state": "failure",
            "statuses": [
                {"context": "pull-widgets-unit", "state": "failure", "description": "Job failed."},
                {"context": "pull-widgets-lint", "state": "success"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let statuses = token_client(&server)
        .commit_statuses("acme", "widgets", "abc123")
        .await
        .unwrap();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses["pull-widgets-unit"], "failure");
    assert_eq!(statuses["pull-widgets-lint"], "success");
}

#[tokio::test]
async fn create_status_sends_the_documented_body() {
    let server = MockServer::start().await;
    let long = "x".repeat(200);
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/statuses/abc123"))
        .and(bearer_token())
        .and(body_json(json!({
            "state": "failure",
            "context": "pull-widgets-unit",
            "description": "x".repeat(140),
            "target_url": "https://prow.example.com/view/1"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": "failure"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/statuses/abc123"))
        .and(body_json(json!({
            "state": "pending",
            "context": "pull-widgets-lint",
            "description": "Job triggered."
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 2})))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    gh.create_status(
        "acme",
        "widgets",
        "abc123",
        StatusState::Failure,
        "pull-widgets-unit",
        &long,
        Some("https://prow.example.com/view/1"),
    )
    .await
    .unwrap();
    gh.create_status(
        "acme",
        "widgets",
        "abc123",
        StatusState::Pending,
        "pull-widgets-lint",
        "Job triggered.",
        None,
    )
    .await
    .unwrap();
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members/alice"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    assert!(token_client(&server).is_org_member("acme", "alice").await.unwrap());
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_rate_limit_beyond_the_wait_budget_comes_back_at_once_with_its_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "3600")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = token_client(&server)
        .pull_request("acme", "widgets", 7)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_persistent_5xx_fails_after_the_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(3)
        .mount(&server)
        .await;
    let err = token_client(&server)
        .pull_request("acme", "widgets", 7)
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Status { status: 502, .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_transient_5xx_then_success_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/statuses/abc"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/statuses/abc"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    token_client(&server)
        .create_status("acme", "widgets", "abc", StatusState::Success, "ctx", "ok", None)
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn no_server_is_a_transient_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = GitHubConfig::new(Credentials::token(TOKEN)).with_base_uri(format!("http://127.0.0.1:{port}"));
    config.retry = fast_retry();
    let err = GitHubClient::new(config)
        .unwrap()
        .is_collaborator("acme", "widgets", "bob")
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Transport { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(err.status(), None);
    assert!(!err.to_string().contains(TOKEN));
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn bot_login_for_a_token_is_asked_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(bearer_token())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "prow-bot", "id": 9})))
        .expect(1)
        .mount(&server)
        .await;
    let gh = token_client(&server);
    assert_eq!(gh.bot_login().await.unwrap(), "prow-bot");
    assert_eq!(gh.bot_login().await.unwrap(), "prow-bot");
}

// ---------------------------------------------------------------- GitHub App

async fn mount_installation(server: &MockServer, token: &str, expires_at: &str, exchanges: u64) {
    Mock::given(method("GET"))
        .and(path("/orgs/acme/installation"))
        .and(header_regex("authorization", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 77, "app_id": 4242, "account": {"login": "acme"}
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .and(header_regex("authorization", JWT))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": token,
            "expires_at": expires_at,
            "permissions": {"pull_requests": "write"}
        })))
        .expect(exchanges)
        .mount(server)
        .await;
}

#[tokio::test]
async fn github_app_uses_its_installation_token() {
    let server = MockServer::start().await;
    let pem = app_private_key();
    mount_installation(&server, "ghs_installation_token", "2099-01-01T00:00:00Z", 1).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/collaborators/bob"))
        .and(header("authorization", "Bearer ghs_installation_token"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7/files"))
        .and(header("authorization", "Bearer ghs_installation_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"filename": "a.go"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/app"))
        .and(header_regex("authorization", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 4242, "slug": "acme-prow"})))
        .expect(1)
        .mount(&server)
        .await;

    let gh = app_client(&server, &pem);
    assert!(gh.is_github_app());
    let shown = format!("{gh:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(gh.is_collaborator("acme", "widgets", "bob").await.unwrap());
    // The installation and its token are reused.
    assert_eq!(gh.pull_request_files("acme", "widgets", 7).await.unwrap(), vec!["a.go"]);
    assert_eq!(gh.installation_id("acme").await.unwrap(), Some(77));
    assert_eq!(gh.bot_login().await.unwrap(), "acme-prow[bot]");
}

#[tokio::test]
async fn github_app_refreshes_a_token_about_to_expire() {
    let server = MockServer::start().await;
    let pem = app_private_key();
    // A token already past its expiry is replaced before the next use.
    mount_installation(&server, "ghs_short_lived", "2000-01-01T00:00:00Z", 2).await;
    Mock::given(method("GET"))
        .and(path_regex_members())
        .and(header("authorization", "Bearer ghs_short_lived"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let gh = app_client(&server, &pem);
    assert!(gh.is_org_member("acme", "alice").await.unwrap());
    assert!(gh.is_org_member("acme", "bob").await.unwrap());
}

fn path_regex_members() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex(r"^/orgs/acme/members/[a-z]+$")
}

#[tokio::test]
async fn github_app_not_installed_in_the_org_is_a_404_on_the_lookup() {
    let server = MockServer::start().await;
    let pem = app_private_key();
    Mock::given(method("GET"))
        .and(path("/orgs/elsewhere/installation"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = app_client(&server, &pem)
        .pull_request("elsewhere", "widgets", 1)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.call().map(|c| c.operation()), Some("installation"));
}

#[tokio::test]
async fn github_app_token_exchange_failure_is_an_auth_error() {
    let server = MockServer::start().await;
    let pem = app_private_key();
    Mock::given(method("GET"))
        .and(path("/orgs/acme/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77})))
        .expect(2) // looked up again after the failed exchange
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})))
        .expect(2)
        .mount(&server)
        .await;
    let gh = app_client(&server, &pem);
    for _ in 0..2 {
        let err = gh.is_org_member("acme", "alice").await.unwrap_err();
        assert!(matches!(err, GitHubError::Auth { status: Some(401), .. }), "{err}");
        assert!(!err.is_transient());
        assert!(!err.to_string().contains("PRIVATE"), "{err}");
    }
}
