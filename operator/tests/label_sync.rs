//! Label sync against a wiremock GitHub with the REST shapes of the labels API: the adapter's
//! calls, then whole passes over several repositories.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use prow_api::{LabelSet, LabelSetSpec};
use prow_operator::github::GitHubClient;
use prow_operator::labelsync::{Merged, Mode, repositories, sync_repos};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod support;

const TOKEN: &str = "label-sync-token-0123";

fn client(server: &MockServer) -> GitHubClient {
    support::github::token_client(server, TOKEN)
}

fn label(name: &str, color: &str, description: Option<&str>) -> Value {
    json!({"id": 1, "node_id": "MDU6TGFiZWwx", "url": format!("https://api.github.com/repos/acme/x/labels/{name}"),
           "name": name, "color": color, "default": false, "description": description})
}

fn spec(value: Value) -> LabelSetSpec {
    serde_json::from_value(value).unwrap()
}

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

async fn mount_labels(server: &MockServer, repo: &str, labels: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/{repo}/labels")))
        .respond_with(ResponseTemplate::new(200).set_body_json(labels))
        .mount(server)
        .await;
}

/// Mounts a mock that answers `verb route` (whose body is `body`, when given) with `status` and
/// the JSON `answer`, and expects it exactly once.
async fn expect_once(
    server: &MockServer,
    (verb, route): (&str, &str),
    body: Option<Value>,
    (status, answer): (u16, Option<Value>),
) {
    let mut response = ResponseTemplate::new(status);
    if let Some(answer) = answer {
        response = response.set_body_json(answer);
    }
    let mock = Mock::given(method(verb)).and(path(route));
    let mock = match body {
        Some(body) => mock.and(body_json(body)).respond_with(response),
        None => mock.respond_with(response),
    };
    mock.expect(1).mount(server).await;
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
async fn repo_labels_follow_pagination_and_read_a_null_description() {
    let server = MockServer::start().await;
    let next = format!(
        "<{}/repositories/7/labels?per_page=100&page=2>; rel=\"next\", <{}/repositories/7/labels?per_page=100&page=2>; rel=\"last\"",
        server.uri(),
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/labels"))
        .and(query_param("per_page", "100"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([label("bug", "d73a4a", Some("Something isn't working"))])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/7/labels"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([label("lgtm", "15dd18", None)])))
        .expect(1)
        .mount(&server)
        .await;
    let labels = client(&server).repo_labels("acme", "widgets").await.unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].description, "Something isn't working");
    assert_eq!((labels[1].name.as_str(), labels[1].description.as_str()), ("lgtm", ""));
}

#[tokio::test]
async fn create_update_and_delete_send_the_documented_requests() {
    let server = MockServer::start().await;
    expect_once(
        &server,
        ("POST", "/repos/acme/widgets/labels"),
        Some(json!({"name": "kind/bug", "color": "e11d21", "description": "A bug"})),
        (201, Some(label("kind/bug", "e11d21", Some("A bug")))),
    )
    .await;
    // The current name is one path segment; the new name goes in the body.
    expect_once(
        &server,
        ("PATCH", "/repos/acme/widgets/labels/kind%2Fbug"),
        Some(json!({"new_name": "Kind/Bug", "description": ""})),
        (200, Some(label("Kind/Bug", "e11d21", None))),
    )
    .await;
    expect_once(&server, ("DELETE", "/repos/acme/widgets/labels/old"), None, (204, None)).await;
    expect_once(
        &server,
        ("DELETE", "/repos/acme/widgets/labels/gone"),
        None,
        (404, Some(json!({"message": "Not Found"}))),
    )
    .await;
    let gh = client(&server);
    gh.create_repo_label("acme", "widgets", "kind/bug", Some("e11d21"), "A bug")
        .await
        .unwrap();
    gh.update_repo_label("acme", "widgets", "kind/bug", "Kind/Bug", None, "")
        .await
        .unwrap();
    gh.delete_repo_label("acme", "widgets", "old").await.unwrap();
    gh.delete_repo_label("acme", "widgets", "gone").await.unwrap();
}

#[tokio::test]
async fn a_refused_create_is_a_422_naming_the_label_and_is_not_retried() {
    let server = MockServer::start().await;
    let refused = json!({
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "code": "already_exists", "field": "name", "message": "already_exists"}],
    });
    expect_once(
        &server,
        ("POST", "/repos/acme/widgets/labels"),
        None,
        (422, Some(refused)),
    )
    .await;
    let err = client(&server)
        .create_repo_label("acme", "widgets", "bug", None, "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(!err.is_transient());
    assert_eq!(
        err.to_string(),
        "GitHub create_repo_label (acme/widgets label=bug): HTTP 422: Validation Failed (already_exists)"
    );
}

#[tokio::test]
async fn a_secondary_rate_limit_without_retry_after_is_a_rate_limit_not_a_permission_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/labels"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        })))
        .expect(1) // GitHub asks for a minute: beyond this client's 5 s budget, so handed back at once
        .mount(&server)
        .await;
    let err = client(&server).repo_labels("acme", "widgets").await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn a_rate_limited_write_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/labels"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    expect_once(
        &server,
        ("POST", "/repos/acme/widgets/labels"),
        None,
        (201, Some(label("bug", "ededed", None))),
    )
    .await;
    let started = Instant::now();
    client(&server)
        .create_repo_label("acme", "widgets", "bug", None, "")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn org_repositories_skip_archived_ones_and_security_forks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/repos"))
        .and(query_param("type", "all"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"name": "widgets", "archived": false, "private": false},
            {"name": "attic", "archived": true, "private": false},
            {"name": "widgets-ghsa-abcd-1234", "archived": false, "private": true},
            {"name": "secret", "archived": false, "private": true},
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let gh = client(&server);
    assert_eq!(repositories(&gh, "acme", &[]).await.unwrap(), ["widgets", "secret"]);
    // Listed repositories are taken as they are, without a call.
    assert_eq!(repositories(&gh, "acme", &["one".into()]).await.unwrap(), ["one"]);
}

// ---------------------------------------------------------------- passes

#[tokio::test]
async fn a_failing_repository_does_not_stop_the_others() {
    let server = MockServer::start().await;
    mount_labels(&server, "healthy", json!([])).await;
    mount_labels(&server, "also-healthy", json!([label("lgtm", "000000", None)])).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/missing/labels"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/locked/labels"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Must have admin rights to Repository."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(label("lgtm", "15dd18", None)))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(label("lgtm", "15dd18", None)))
        .mount(&server)
        .await;
    let s = spec(json!({"default": {"labels": [{"name": "lgtm", "color": "15dd18"}]}}));
    let repos: Vec<String> = ["missing", "healthy", "locked", "also-healthy"]
        .map(String::from)
        .into();
    let results = sync_repos(
        &client(&server),
        &Merged::from(s.clone()),
        "acme",
        &repos,
        now(),
        Mode::Apply,
    )
    .await;
    let summary: Vec<(String, usize, Option<u16>)> = results
        .iter()
        .map(|r| (r.repo.clone(), r.applied, r.error.as_ref().and_then(github_status)))
        .collect();
    assert_eq!(
        summary,
        [
            ("acme/missing".to_string(), 0, Some(404)),
            ("acme/healthy".to_string(), 1, None),
            ("acme/locked".to_string(), 0, Some(403)),
            ("acme/also-healthy".to_string(), 1, None),
        ]
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        writes(&requests),
        [
            "POST /repos/acme/healthy/labels",
            "PATCH /repos/acme/also-healthy/labels/lgtm"
        ]
    );
}

fn github_status(error: &prow_operator::labelsync::SyncError) -> Option<u16> {
    match error {
        prow_operator::labelsync::SyncError::GitHub(e) => e.status(),
        _ => None,
    }
}

#[tokio::test]
async fn previously_renames_in_one_patch_and_migrates_issues_when_both_exist() {
    let server = MockServer::start().await;
    mount_labels(&server, "renamed", json!([label("bug", "ffffff", Some("old"))])).await;
    mount_labels(
        &server,
        "merged",
        json!([label("bug", "ffffff", None), label("kind/bug", "e11d21", Some("A bug"))]),
    )
    .await;
    expect_once(
        &server,
        ("PATCH", "/repos/acme/renamed/labels/bug"),
        Some(json!({"new_name": "kind/bug", "color": "e11d21", "description": "A bug"})),
        (200, Some(label("kind/bug", "e11d21", Some("A bug")))),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/search/issues"))
        .and(query_param(
            "q",
            "is:open repo:acme/merged label:\"bug\" -label:\"kind/bug\"",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1, "incomplete_results": false,
            "items": [{"number": 12, "title": "it breaks", "labels": [{"name": "bug"}]}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    expect_once(
        &server,
        ("POST", "/repos/acme/merged/issues/12/labels"),
        Some(json!({"labels": ["kind/bug"]})),
        (200, Some(json!([{"name": "kind/bug"}, {"name": "bug"}]))),
    )
    .await;
    expect_once(
        &server,
        ("DELETE", "/repos/acme/merged/issues/12/labels/bug"),
        None,
        (200, Some(json!([{"name": "kind/bug"}]))),
    )
    .await;
    expect_once(&server, ("DELETE", "/repos/acme/merged/labels/bug"), None, (204, None)).await;
    let s = spec(json!({"default": {"labels": [{
        "name": "kind/bug", "color": "e11d21", "description": "A bug", "previously": [{"name": "bug"}],
    }]}}));
    let repos: Vec<String> = ["renamed", "merged"].map(String::from).into();
    let results = sync_repos(
        &client(&server),
        &Merged::from(s.clone()),
        "acme",
        &repos,
        now(),
        Mode::Apply,
    )
    .await;
    for r in &results {
        assert!(r.error.is_none(), "{}: {:?}", r.repo, r.error);
    }
    assert_eq!(
        results[0].done()[0].line("acme/renamed"),
        "rename acme/renamed bug kind/bug"
    );
    assert_eq!(
        results[1].done()[0].line("acme/merged"),
        "migrate acme/merged bug kind/bug"
    );
}

#[tokio::test]
async fn a_dry_run_only_reads() {
    let server = MockServer::start().await;
    mount_labels(
        &server,
        "widgets",
        json!([label("lgtm", "000000", None), label("gone", "000000", None)]),
    )
    .await;
    let s = spec(json!({"default": {"labels": [
        {"name": "lgtm", "color": "15dd18"}, {"name": "hold", "color": "e11d21"},
        {"name": "gone", "deleteAfter": "2020-01-01T00:00:00Z"},
    ]}}));
    let results = sync_repos(
        &client(&server),
        &Merged::from(s.clone()),
        "acme",
        &["widgets".into()],
        now(),
        Mode::DryRun,
    )
    .await;
    let lines: Vec<String> = results[0].planned.iter().map(|a| a.line("acme/widgets")).collect();
    assert_eq!(
        lines,
        [
            "delete acme/widgets gone",
            "create acme/widgets hold",
            "update acme/widgets lgtm"
        ]
    );
    assert_eq!(results[0].applied, 0);
    assert!(writes(&server.received_requests().await.unwrap()).is_empty());
}

/// `deleteUnlisted`: the labels no LabelSet names are deleted (one DELETE each), and only they:
/// old names, labels waiting for their `deleteAfter` and listed ones stay; without the opt-in,
/// or where another LabelSet applying to the repository does not opt in, nothing is deleted.
#[tokio::test]
async fn unlisted_labels_are_deleted_only_when_opted_in() {
    let server = MockServer::start().await;
    let observed = json!([
        label("lgtm", "15dd18", None),
        label("Stale", "000000", None),
        label("bug", "000000", None),
        label("later", "000000", None),
        label("wontfix", "000000", None),
    ]);
    for repo in ["widgets", "gadgets"] {
        mount_labels(&server, repo, observed.clone()).await;
    }
    for name in ["Stale", "wontfix"] {
        Mock::given(method("DELETE"))
            .and(path(format!("/repos/acme/widgets/labels/{name}")))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let labels = json!([
        {"name": "lgtm", "color": "15dd18"},
        {"name": "kind/bug", "color": "e11d21", "previously": [{"name": "bug"}]},
        {"name": "later", "deleteAfter": "2099-01-01T00:00:00Z"},
    ]);
    let opted = LabelSet::new(
        "org",
        spec(json!({"deleteUnlisted": true, "default": {"labels": labels}})),
    );
    // A team's LabelSet for gadgets only, which keeps unknown labels.
    let team = LabelSet::new(
        "team",
        spec(json!({"repos": {"acme/gadgets": {"labels": [{"name": "area/gadgets"}]}}})),
    );
    let merged = Merged::of(&[&opted, &team]);
    let repos: Vec<String> = ["widgets", "gadgets"].map(String::from).into();
    let dry = sync_repos(&client(&server), &merged, "acme", &repos, now(), Mode::DryRun).await;
    let lines =
        |r: &prow_operator::labelsync::RepoSync| -> Vec<String> { r.planned.iter().map(|a| a.line(&r.repo)).collect() };
    assert_eq!(
        lines(&dry[0]),
        [
            "delete acme/widgets Stale",
            "delete acme/widgets wontfix",
            "rename acme/widgets bug kind/bug"
        ]
    );
    assert!(
        lines(&dry[1]).iter().all(|l| !l.starts_with("delete")),
        "{:?}",
        lines(&dry[1])
    );
    // Applied: only the two DELETEs of widgets' unlisted labels (and the rename).
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/labels/bug"))
        .respond_with(ResponseTemplate::new(200).set_body_json(label("kind/bug", "e11d21", None)))
        .mount(&server)
        .await;
    let widgets = sync_repos(&client(&server), &merged, "acme", &repos[..1], now(), Mode::Apply).await;
    assert!(widgets[0].error.is_none(), "{:?}", widgets[0].error);
    let deletes: Vec<String> = writes(&server.received_requests().await.unwrap())
        .into_iter()
        .filter(|w| w.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            "DELETE /repos/acme/widgets/labels/Stale",
            "DELETE /repos/acme/widgets/labels/wontfix"
        ]
    );
    // Without the opt-in, nothing unlisted is deleted.
    let plain = Merged::from(spec(json!({"default": {"labels": labels}})));
    let kept = sync_repos(&client(&server), &plain, "acme", &repos[..1], now(), Mode::DryRun).await;
    assert!(
        lines(&kept[0]).iter().all(|l| !l.starts_with("delete")),
        "{:?}",
        lines(&kept[0])
    );
}

/// The issue's performance bound: 150 labels over 200 repositories converge from scratch in one
/// write per label, and a second pass with nothing to do makes no write and one listing per
/// repository (two pages at 100 labels a page).
#[tokio::test]
async fn performance_150_labels_over_200_repositories() {
    let labels: Vec<Value> = (0..150)
        .map(|i| json!({"name": format!("label-{i:03}"), "color": "00ff00", "description": format!("Label {i}")}))
        .collect();
    let s = spec(json!({"default": {"labels": labels}}));
    let repos: Vec<String> = (0..200).map(|i| format!("repo-{i:03}")).collect();

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(label("x", "00ff00", None)))
        .mount(&server)
        .await;
    let gh = client(&server);
    let started = Instant::now();
    let first = sync_repos(&gh, &Merged::from(s.clone()), "acme", &repos, now(), Mode::Apply).await;
    let first_time = started.elapsed();
    assert!(first.iter().all(|r| r.error.is_none() && r.applied == 150));
    let requests = server.received_requests().await.unwrap();
    let first_writes = writes(&requests).len();
    assert_eq!(first_writes, 200 * 150);
    assert_eq!(requests.len() - first_writes, 200, "one listing per repository");

    // GitHub now has every label: two pages each.
    server.reset().await;
    let have: Vec<Value> = (0..150)
        .map(|i| label(&format!("label-{i:03}"), "00ff00", Some(&format!("Label {i}"))))
        .collect();
    Mock::given(method("GET"))
        .and(query_param("per_page", "100"))
        .respond_with(move |request: &Request| {
            let second = format!(
                "<{}://{}{}?per_page=100&page=2>; rel=\"next\"",
                request.url.scheme(),
                request.url.authority(),
                request.url.path()
            );
            ResponseTemplate::new(200)
                .insert_header("link", second.as_str())
                .set_body_json(have[..100].to_vec())
        })
        .mount(&server)
        .await;
    let rest: Vec<Value> = (100..150)
        .map(|i| label(&format!("label-{i:03}"), "00ff00", Some(&format!("Label {i}"))))
        .collect();
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(rest))
        .with_priority(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let second = sync_repos(&gh, &Merged::from(s.clone()), "acme", &repos, now(), Mode::Apply).await;
    let second_time = started.elapsed();
    assert!(
        second.iter().all(|r| r.error.is_none() && r.planned.is_empty()),
        "{:?}",
        second.iter().find(|r| r.error.is_some())
    );
    let requests = server.received_requests().await.unwrap();
    assert!(writes(&requests).is_empty());
    assert_eq!(requests.len(), 200 * 2, "one listing (two pages) per repository");
    eprintln!(
        "from scratch: {} writes + 200 listings in {first_time:?}; second pass: 0 writes, {} page reads in {second_time:?}",
        first_writes,
        requests.len()
    );
}

// ---------------------------------------------------------------- labels diff

/// A directory with the sample ProwInstance (org `example-org`, repos `website` and `api`), a
/// LabelSet, and a token file.
fn diff_input(name: &str) -> std::path::PathBuf {
    let instance = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/samples/prowinstance.yaml"
    ))
    .unwrap();
    let label_set = r#"apiVersion: operator.prow.dev/v1alpha1
kind: LabelSet
metadata: {name: labels, namespace: prow}
spec:
  default:
    labels:
      - {name: lgtm, color: 15dd18}
      - {name: kind/bug, color: e11d21, previously: [{name: bug}]}
"#;
    support::github::diff_input(
        "labels",
        name,
        &[("prowinstance.yaml", &instance), ("labelset.yaml", label_set)],
        TOKEN,
    )
}

fn run_diff(dir: &std::path::Path, server: &MockServer) -> std::process::Output {
    support::github::run_diff("labels", dir, server)
}

#[tokio::test]
async fn labels_diff_prints_one_line_per_change_and_writes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/example-org/website/labels"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([label("Bug", "ffffff", None), label("LGTM", "15dd18", None)])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/example-org/api/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            label("lgtm", "15dd18", None),
            label("kind/bug", "e11d21", None)
        ])))
        .mount(&server)
        .await;
    let dir = diff_input("ok");
    let output = run_diff(&dir, &server);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "rename example-org/website Bug kind/bug\nrename example-org/website LGTM lgtm\n"
    );
    assert!(writes(&server.received_requests().await.unwrap()).is_empty());
    assert!(!stderr.contains(TOKEN));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `labels diff` shows what `deleteUnlisted` would delete.
#[tokio::test]
async fn labels_diff_shows_the_deletion_of_unlisted_labels() {
    let server = MockServer::start().await;
    for (repo, labels) in [
        (
            "website",
            json!([label("lgtm", "15dd18", None), label("question", "cc317c", None)]),
        ),
        (
            "api",
            json!([label("lgtm", "15dd18", None), label("kind/bug", "e11d21", None)]),
        ),
    ] {
        mount_labels_of(&server, "example-org", repo, labels).await;
    }
    let dir = diff_input("unlisted");
    let labelset = std::fs::read_to_string(dir.join("config/labelset.yaml")).unwrap();
    std::fs::write(
        dir.join("config/labelset.yaml"),
        labelset.replace("spec:\n", "spec:\n  deleteUnlisted: true\n"),
    )
    .unwrap();
    let output = run_diff(&dir, &server);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "delete example-org/website question\ncreate example-org/website kind/bug\n"
    );
    assert!(writes(&server.received_requests().await.unwrap()).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

async fn mount_labels_of(server: &MockServer, org: &str, repo: &str, labels: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/{org}/{repo}/labels")))
        .respond_with(ResponseTemplate::new(200).set_body_json(labels))
        .mount(server)
        .await;
}

#[tokio::test]
async fn labels_diff_exits_1_with_a_sentence_when_a_repository_cannot_be_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/example-org/website/labels"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/example-org/api/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let dir = diff_input("fail");
    let output = run_diff(&dir, &server);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "create example-org/api kind/bug\ncreate example-org/api lgtm\n"
    );
    assert_eq!(
        String::from_utf8(output.stderr).unwrap().trim(),
        "error: example-org/website: GitHub repo_labels (example-org/website): HTTP 404: Not Found"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_rate_limited_pass_stops_asking_github_and_leaves_the_rest_for_later() {
    let server = MockServer::start().await;
    let reset = (std::time::SystemTime::now() + Duration::from_secs(1800))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str())
                .set_body_json(json!({"message": "API rate limit exceeded for user ID 1."})),
        )
        .mount(&server)
        .await;
    let s = spec(json!({"default": {"labels": [{"name": "lgtm", "color": "15dd18"}]}}));
    let repos: Vec<String> = (0..40).map(|i| format!("repo-{i:02}")).collect();
    let results = sync_repos(
        &client(&server),
        &Merged::from(s.clone()),
        "acme",
        &repos,
        now(),
        Mode::Apply,
    )
    .await;
    let asked = server.received_requests().await.unwrap().len();
    // At most the repositories already in flight when the first answer came back.
    assert!(
        asked <= prow_operator::labelsync::sync::CONCURRENT_REPOS,
        "{asked} requests"
    );
    assert_eq!(results.len(), 40);
    for result in &results {
        let error = result.error.as_ref().expect("every repository is left for later");
        assert!(error.is_transient(), "{error}");
        let wait = error.retry_after().expect("the wait GitHub asked for");
        assert!(wait > Duration::from_secs(1700), "{wait:?}");
    }
    assert!(
        results[39]
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .starts_with("not visited: GitHub is rate limiting"),
        "{}",
        results[39].error.as_ref().unwrap()
    );
}
