//! Managed webhooks against a wiremock GitHub with the REST shapes of the webhooks API: the
//! adapter's calls, then whole passes over several repositories.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use prow_operator::github::{GitHubClient, HookConfig, HookScope, HookUpdate};
use prow_operator::hooksync::{Known, Target, TargetWork, WantedHook, secret_digest, sync_targets};
use prow_operator::labelsync::Mode;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod support;

const URL: &str = "https://prow.example.com/hook";

fn client(server: &MockServer) -> GitHubClient {
    support::github::token_client(server, "hook-token-0123")
}

/// A webhook as `GET /repos/{org}/{repo}/hooks` lists it.
fn hook(id: u64, url: &str, content_type: &str, events: &[&str]) -> Value {
    json!({
        "type": "Repository", "id": id, "name": "web", "active": true, "events": events,
        "config": {"content_type": content_type, "insecure_ssl": "0", "url": url, "secret": "********"},
        "updated_at": "2026-09-03T00:17:00Z", "created_at": "2026-09-06T20:39:23Z",
        "url": format!("https://api.github.com/repos/acme/x/hooks/{id}"),
        "test_url": format!("https://api.github.com/repos/acme/x/hooks/{id}/test"),
        "ping_url": format!("https://api.github.com/repos/acme/x/hooks/{id}/pings"),
        "deliveries_url": format!("https://api.github.com/repos/acme/x/hooks/{id}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null},
    })
}

fn wanted(secret: &str) -> WantedHook {
    WantedHook {
        url: URL.into(),
        events: ["issue_comment", "pull_request", "push"]
            .iter()
            .map(|e| e.to_string())
            .collect(),
        secret: Some(secret.into()),
    }
}

fn work(repo: &str, secret: &str, known: Known) -> TargetWork {
    TargetWork {
        target: Target::Repo {
            org: "acme".into(),
            repo: repo.into(),
        },
        wanted: Ok(wanted(secret)),
        known,
    }
}

fn synced(secret: &str) -> Known {
    Known {
        url: Some(URL.into()),
        secret_digest: Some(secret_digest(secret)),
    }
}

async fn mount_hooks(server: &MockServer, repo: &str, hooks: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/{repo}/hooks")))
        .respond_with(ResponseTemplate::new(200).set_body_json(hooks))
        .mount(server)
        .await;
}

fn writes(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

// ---------------------------------------------------------------- the adapter

#[tokio::test]
async fn hooks_are_listed_for_repositories_and_orgs_with_a_masked_secret() {
    let server = MockServer::start().await;
    mount_hooks(&server, "widgets", json!([hook(1, URL, "json", &["push"])])).await;
    let mut unsigned = hook(2, "https://ci.example/x", "form", &["*"]);
    unsigned["config"].as_object_mut().unwrap().remove("secret");
    unsigned["type"] = json!("Organization");
    Mock::given(method("GET"))
        .and(path("/orgs/acme/hooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([unsigned])))
        .mount(&server)
        .await;
    let gh = client(&server);
    let repo = gh.hooks(HookScope::Repo("acme", "widgets")).await.unwrap();
    assert_eq!(
        (repo[0].id, repo[0].url.as_str(), repo[0].content_type.as_str()),
        (1, URL, "json")
    );
    assert!(repo[0].has_secret && repo[0].active);
    let org = gh.hooks(HookScope::Org("acme")).await.unwrap();
    assert_eq!(
        (org[0].events.clone(), org[0].has_secret),
        (vec!["*".to_string()], false)
    );
}

#[tokio::test]
async fn create_and_update_send_the_documented_bodies() {
    let server = MockServer::start().await;
    let config = HookConfig {
        url: URL.into(),
        content_type: "json".into(),
        secret: Some("s3cret".into()),
    };
    Mock::given(method("POST"))
        .and(path("/orgs/acme/hooks"))
        .and(body_json(json!({"name": "web", "active": true, "events": ["push"],
            "config": {"url": URL, "content_type": "json", "secret": "s3cret", "insecure_ssl": "0"}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(hook(77, URL, "json", &["push"])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/hooks/5"))
        .and(body_json(json!({"events": ["push"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(hook(5, URL, "json", &["push"])))
        .expect(1)
        .mount(&server)
        .await;
    let gh = client(&server);
    let id = gh
        .create_hook(HookScope::Org("acme"), &config, &["push".to_string()])
        .await
        .unwrap();
    assert_eq!(id, 77);
    let events_only = HookUpdate {
        events: Some(vec!["push".to_string()]),
        ..HookUpdate::default()
    };
    gh.update_hook(HookScope::Repo("acme", "widgets"), 5, &events_only)
        .await
        .unwrap();
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_refused_create_is_a_422_and_is_not_retried() {
    let server = MockServer::start().await;
    mount_hooks(&server, "widgets", json!([])).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/hooks"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    let results = sync_targets(&client(&server), &[work("widgets", "t", Known::default())], Mode::Apply).await;
    let error = results[0].error.as_ref().unwrap().to_string();
    assert_eq!(
        error,
        "GitHub create_hook (acme/widgets): HTTP 422: Validation Failed (Hook already exists on this repository)"
    );
    assert!(!results[0].applied);
}

// ---------------------------------------------------------------- passes

#[tokio::test]
async fn a_failing_repository_does_not_stop_the_others() {
    let server = MockServer::start().await;
    mount_hooks(&server, "missing", json!([])).await;
    mount_hooks(
        &server,
        "drifted",
        json!([
            hook(9, URL, "form", &["push"]),
            hook(3, "https://ci.example/x", "form", &["*"])
        ]),
    )
    .await;
    mount_hooks(
        &server,
        "fine",
        json!([hook(4, URL, "json", &["issue_comment", "pull_request", "push"])]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/private/hooks"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/forbidden/hooks"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/missing/hooks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(hook(11, URL, "json", &["push"])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/drifted/hooks/9"))
        .and(body_json(json!({
            "config": {"url": URL, "content_type": "json", "secret": "t", "insecure_ssl": "0"},
            "events": ["issue_comment", "pull_request", "push"],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(hook(9, URL, "json", &["push"])))
        .expect(1)
        .mount(&server)
        .await;
    let targets = [
        work("private", "t", Known::default()),
        work("missing", "t", Known::default()),
        work("forbidden", "t", Known::default()),
        work("drifted", "t", synced("t")),
        work("fine", "t", synced("t")),
    ];
    let results = sync_targets(&client(&server), &targets, Mode::Apply).await;
    let states: Vec<(String, Option<&str>, bool)> = results
        .iter()
        .map(|r| (r.target.name(), r.plan.as_ref().map(|p| p.state()), r.error.is_some()))
        .collect();
    assert_eq!(
        states,
        [
            ("acme/private".to_string(), None, true),
            ("acme/missing".to_string(), Some("Missing"), false),
            ("acme/forbidden".to_string(), None, true),
            ("acme/drifted".to_string(), Some("Drifted"), false),
            ("acme/fine".to_string(), Some("Present"), false),
        ]
    );
    assert_eq!(
        results[0].error.as_ref().unwrap().to_string(),
        "GitHub list_hooks (acme/private): HTTP 404: Not Found (managing webhooks needs a token with the admin:repo_hook or admin:org_hook scope)"
    );
    // The other webhook of `drifted` (id 3) was not touched.
    assert_eq!(
        writes(&server.received_requests().await.unwrap()),
        ["POST /repos/acme/missing/hooks", "PATCH /repos/acme/drifted/hooks/9"]
    );
}

#[tokio::test]
async fn a_rotated_token_is_set_on_the_webhook_with_its_other_fields_as_they_are() {
    let server = MockServer::start().await;
    mount_hooks(
        &server,
        "widgets",
        json!([hook(9, URL, "json", &["issue_comment", "pull_request", "push"])]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/hooks/9"))
        .and(body_json(
            json!({"config": {"url": URL, "content_type": "json", "secret": "new", "insecure_ssl": "0"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(hook(9, URL, "json", &["push"])))
        .expect(1)
        .mount(&server)
        .await;
    let results = sync_targets(&client(&server), &[work("widgets", "new", synced("old"))], Mode::Apply).await;
    assert!(results[0].applied && results[0].error.is_none());
}

#[tokio::test]
async fn a_rate_limited_listing_fails_its_target_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/hooks"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "9999999999")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_hooks(
        &server,
        "gadgets",
        json!([hook(4, URL, "json", &["issue_comment", "pull_request", "push"])]),
    )
    .await;
    let results = sync_targets(
        &client(&server),
        &[work("widgets", "t", synced("t")), work("gadgets", "t", synced("t"))],
        Mode::Apply,
    )
    .await;
    let Some(prow_operator::hooksync::HookSyncError::GitHub(error)) = &results[0].error else {
        panic!("expected a GitHub error, got {:?}", results[0].error);
    };
    assert!(error.is_transient(), "{error}");
    assert_eq!(results[1].plan.as_ref().map(|p| p.state()), Some("Present"));
}

#[tokio::test]
async fn a_dry_run_only_reads() {
    let server = MockServer::start().await;
    mount_hooks(&server, "widgets", json!([])).await;
    let results = sync_targets(
        &client(&server),
        &[work("widgets", "t", Known::default())],
        Mode::DryRun,
    )
    .await;
    assert_eq!(
        results[0]
            .plan
            .as_ref()
            .and_then(|p| p.line("acme/widgets", URL))
            .as_deref(),
        Some("create acme/widgets https://prow.example.com/hook")
    );
    assert!(writes(&server.received_requests().await.unwrap()).is_empty());
}

/// 200 repositories from scratch: one listing and one create each; the second pass (with the
/// status the first left) lists once per repository and writes nothing.
#[tokio::test]
async fn performance_200_repositories() {
    let server = MockServer::start().await;
    // GitHub as the first pass leaves it: each listing answers [] once, then the created webhook.
    let repos: Vec<String> = (0..200).map(|i| format!("repo-{i:03}")).collect();
    for repo in &repos {
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/{repo}/hooks")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_hooks(
            &server,
            repo,
            json!([hook(1, URL, "json", &["issue_comment", "pull_request", "push"])]),
        )
        .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(hook(1, URL, "json", &["push"])))
        .mount(&server)
        .await;
    let gh = client(&server);
    let first: Vec<TargetWork> = repos.iter().map(|r| work(r, "t", Known::default())).collect();
    let started = Instant::now();
    let results = sync_targets(&gh, &first, Mode::Apply).await;
    let first_time = started.elapsed();
    assert!(results.iter().all(|r| r.applied && r.error.is_none()));
    let requests = server.received_requests().await.unwrap();
    assert_eq!((requests.len(), writes(&requests).len()), (400, 200));

    server.reset().await;
    for repo in &repos {
        mount_hooks(
            &server,
            repo,
            json!([hook(1, URL, "json", &["issue_comment", "pull_request", "push"])]),
        )
        .await;
    }
    let second: Vec<TargetWork> = repos.iter().map(|r| work(r, "t", synced("t"))).collect();
    let started = Instant::now();
    let results = sync_targets(&gh, &second, Mode::Apply).await;
    let second_time = started.elapsed();
    let states: BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r.plan.as_ref().map(|p| p.state()))
        .collect();
    assert_eq!(states, BTreeSet::from(["Present"]));
    let requests = server.received_requests().await.unwrap();
    assert_eq!((requests.len(), writes(&requests).len()), (200, 0));
    eprintln!(
        "webhooks over 200 repositories: first pass 400 calls (200 writes) in {first_time:?}, second pass 200 calls (0 writes) in {second_time:?}"
    );
}

// ---------------------------------------------------------------- webhooks diff

fn diff_input(name: &str, level: &str) -> std::path::PathBuf {
    let instance = format!(
        r#"apiVersion: operator.prow.dev/v1alpha1
kind: ProwInstance
metadata: {{name: prow, namespace: prow}}
spec:
  version: v20240802-66b115076
  github:
    org: acme
    repos: [website, api]
    auth: {{token: {{secretRef: {{name: github-token, key: oauth}}}}}}
    hmacSecretRef: {{name: hmac-token, key: hmac}}
    webhook: {{managed: true, level: {level}}}
  components: {{hook: {{enabled: false}}}}
  ingress: {{host: prow.example.com}}
"#
    );
    support::github::diff_input("webhooks", name, &[("prowinstance.yaml", &instance)], "diff-token-0123")
}

fn run_diff(dir: &std::path::Path, server: &MockServer) -> std::process::Output {
    support::github::run_diff("webhooks", dir, server)
}

#[tokio::test]
async fn webhooks_diff_prints_one_line_per_change_and_writes_nothing() {
    let server = MockServer::start().await;
    mount_hooks(
        &server,
        "website",
        json!([hook(3, "https://ci.example/x", "json", &["*"])]),
    )
    .await;
    // Form-encoded: drifted. Its secret cannot be compared (GitHub masks it) and is not reported.
    mount_hooks(
        &server,
        "api",
        json!([hook(4, URL, "form", &["issue_comment", "pull_request", "push"])]),
    )
    .await;
    let dir = diff_input("repos", "repos");
    let output = run_diff(&dir, &server);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "create acme/website https://prow.example.com/hook\nupdate acme/api https://prow.example.com/hook\n"
    );
    assert!(writes(&server.received_requests().await.unwrap()).is_empty());
    assert!(!stderr.contains("diff-token-0123"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn webhooks_diff_at_org_level_names_the_org_and_exits_1_when_github_cannot_be_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/hooks"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let dir = diff_input("org", "org");
    let output = run_diff(&dir, &server);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap().trim(),
        "error: acme: GitHub list_hooks (acme): HTTP 404: Not Found (managing webhooks needs a token with the admin:repo_hook or admin:org_hook scope)"
    );
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/hooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let output = run_diff(&dir, &server);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "create acme https://prow.example.com/hook\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_rate_limited_pass_stops_asking_github_and_leaves_the_rest_for_later() {
    let server = MockServer::start().await;
    // Every listing is rate limited for a minute: beyond the client's 5 s budget.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .mount(&server)
        .await;
    let targets: Vec<TargetWork> = (0..40).map(|i| work(&format!("r{i}"), "t", synced("t"))).collect();
    let results = sync_targets(&client(&server), &targets, Mode::Apply).await;
    assert!(results.iter().all(|r| r.error.is_some()));
    let calls = server.received_requests().await.unwrap().len();
    // The targets already started when the first answer came (8 at a time) asked; no other did.
    assert!(
        calls <= prow_operator::hooksync::sync::CONCURRENT_TARGETS,
        "{calls} calls"
    );
    let Some(prow_operator::hooksync::HookSyncError::Throttled { wait }) = &results[39].error else {
        panic!("expected the last target not visited, got {:?}", results[39].error);
    };
    assert_eq!(*wait, Duration::from_secs(60));
}
