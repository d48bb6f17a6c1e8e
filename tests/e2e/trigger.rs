//! The native trigger through the real binary: signed GitHub webhooks on `POST /hook` become
//! ProwJobs in the cluster, with GitHub played by wiremock.

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::github::{deliver, installed_with_github, sample_hmac};
use crate::harness::{World, http_get, http_post, logged_address};

const HEAD: &str = "5555555555555555555555555555555555555555";
const BASE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";

/// The samples, installed, with the instance talking to `github`, which also answers for
/// mallory (no member, no collaborator) and for pull requests 7 and 8.
async fn installed_with_fake_github(github: &MockServer) -> World {
    let world = installed_with_github(github, json!({})).await;
    let json_response = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    for missing in [
        "/orgs/example-org/members/mallory",
        "/repos/example-org/api/collaborators/mallory",
    ] {
        Mock::given(method("GET"))
            .and(path(missing))
            .respond_with(ResponseTemplate::new(404))
            .mount(github)
            .await;
    }
    for number in [7, 8] {
        // The trigger looks at the labels and its comments before it writes them.
        for listed in ["labels", "comments"] {
            Mock::given(method("GET"))
                .and(path(format!("/repos/example-org/api/issues/{number}/{listed}")))
                .respond_with(json_response(json!([])))
                .mount(github)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(format!("/repos/example-org/api/pulls/{number}/files")))
            .respond_with(json_response(json!([{"filename": "main.go", "status": "modified"}])))
            .mount(github)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/repos/example-org/api/issues/{number}/comments")))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": number, "body": "reply", "user": {"login": "prow-bot"}})),
            )
            .mount(github)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/repos/example-org/api/issues/{number}/labels")))
            .respond_with(json_response(json!([])))
            .mount(github)
            .await;
    }
    world
}

fn pull_request(action: &str, number: u64, author: &str) -> Value {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "title": "Add an endpoint", "state": "open", "draft": false,
            "html_url": format!("https://github.com/example-org/api/pull/{number}"),
            "user": {"login": author},
            "labels": [],
            "head": {"ref": "feature", "sha": HEAD, "repo": {"name": "api", "owner": {"login": author}}},
            "base": {"ref": "main", "sha": BASE,
                     "repo": {"name": "api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"}}
        },
        "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}},
        "sender": {"login": author}
    })
}

fn comment(number: u64, commenter: &str, body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": number, "state": "open",
                  "pull_request": {"url": format!("https://api.github.com/repos/example-org/api/pulls/{number}")}},
        "comment": {"body": body, "user": {"login": commenter}},
        "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"},
        "sender": {"login": commenter}
    })
}

/// GitHub's view of pull request `number`: its author, labels, and the statuses on its head.
async fn pull_request_on_github(github: &MockServer, number: u64, author: &str, labels: &[&str], statuses: Value) {
    let labels: Vec<Value> = labels.iter().map(|l| json!({"name": l})).collect();
    Mock::given(method("GET"))
        .and(path(format!("/repos/example-org/api/pulls/{number}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": number, "title": "Add an endpoint", "state": "open", "merged": false, "draft": false,
            "mergeable": true, "user": {"login": author}, "labels": labels, "changed_files": 1,
            "html_url": format!("https://github.com/example-org/api/pull/{number}"),
            "head": {"ref": "feature", "sha": HEAD},
            "base": {"ref": "main", "sha": BASE}
        })))
        .mount(github)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/example-org/api/commits/{HEAD}/status")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "statuses": statuses })))
        .mount(github)
        .await;
}

async fn prowjobs(world: &World, selector: &str) -> Vec<Value> {
    world.list("prow.k8s.io/v1", "ProwJob", "prow", selector).await
}

fn job_names(prowjobs: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = prowjobs
        .iter()
        .filter_map(|p| p["spec"]["job"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn posted(requests: &[Request], verb: &str, route: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn a_members_pull_request_creates_its_presubmits_with_upstream_labels() {
    let github = MockServer::start().await;
    let world = installed_with_fake_github(&github).await;
    let delivery = "e2e-opened-7";
    let answer = deliver(&world, "pull_request", delivery, &pull_request("opened", 7, "alice")).await;
    assert_eq!(answer, "handled");
    let created = prowjobs(&world, "prow.k8s.io/refs.pull=7").await;
    assert_eq!(
        job_names(&created),
        ["pull-api-e2e", "pull-api-lint", "pull-api-unit"],
        "the always_run job, and the jobs whose files changed"
    );
    for prowjob in &created {
        let labels = &prowjob["metadata"]["labels"];
        let job = prowjob["spec"]["job"].as_str().unwrap_or_default();
        assert_eq!(labels["created-by-prow"], "true");
        assert_eq!(labels["prow.k8s.io/job"], job);
        assert_eq!(labels["prow.k8s.io/type"], "presubmit");
        assert_eq!(labels["prow.k8s.io/refs.org"], "example-org");
        assert_eq!(labels["prow.k8s.io/refs.repo"], "api");
        assert_eq!(labels["prow.k8s.io/refs.base_ref"], "main");
        assert_eq!(labels["prow.k8s.io/refs.pull"], "7");
        assert_eq!(labels["event-GUID"], delivery);
        // Created `triggered`; the executor may have started it already.
        let state = prowjob["status"]["state"].as_str().unwrap_or_default();
        assert!(["triggered", "pending"].contains(&state), "{state}");
        assert!(prowjob["status"]["startTime"].is_string());
        assert_eq!(prowjob["spec"]["refs"]["pulls"][0]["sha"], HEAD);
        assert_eq!(prowjob["spec"]["refs"]["pulls"][0]["author"], "alice");
    }
    // The same delivery again: acknowledged, nothing new.
    assert_eq!(
        deliver(&world, "pull_request", delivery, &pull_request("opened", 7, "alice")).await,
        "duplicate"
    );
    assert_eq!(prowjobs(&world, "prow.k8s.io/refs.pull=7").await.len(), 3);
}

#[tokio::test]
async fn an_outsider_waits_for_ok_to_test_from_a_member() {
    let github = MockServer::start().await;
    let world = installed_with_fake_github(&github).await;
    deliver(
        &world,
        "pull_request",
        "e2e-opened-8",
        &pull_request("opened", 8, "mallory"),
    )
    .await;
    let requests = github.received_requests().await.unwrap_or_default();
    let labels = posted(&requests, "POST", "/repos/example-org/api/issues/8/labels");
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert!(labels[0].contains("needs-ok-to-test"), "{labels:?}");
    let comments = posted(&requests, "POST", "/repos/example-org/api/issues/8/comments");
    assert!(
        comments.iter().any(|c| c.contains("/ok-to-test")),
        "the welcome: {comments:?}"
    );
    assert!(prowjobs(&world, "prow.k8s.io/refs.pull=8").await.is_empty());

    // The outsider cannot start tests themselves.
    pull_request_on_github(&github, 8, "mallory", &["needs-ok-to-test"], json!([])).await;
    deliver(
        &world,
        "issue_comment",
        "e2e-mallory-test",
        &comment(8, "mallory", "/test all"),
    )
    .await;
    assert!(prowjobs(&world, "prow.k8s.io/refs.pull=8").await.is_empty());

    // A member says /ok-to-test: the labels swap and the automatic jobs start.
    Mock::given(method("DELETE"))
        .and(path("/repos/example-org/api/issues/8/labels/needs-ok-to-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/example-org/api/issues/8/labels"))
        .and(body_string_contains("\"ok-to-test\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(1)
        .expect(1)
        .mount(&github)
        .await;
    deliver(
        &world,
        "issue_comment",
        "e2e-alice-ok",
        &comment(8, "alice", "/ok-to-test"),
    )
    .await;
    assert_eq!(
        job_names(&prowjobs(&world, "prow.k8s.io/refs.pull=8").await),
        ["pull-api-e2e", "pull-api-lint", "pull-api-unit"]
    );
}

#[tokio::test]
async fn retest_reruns_only_the_failed_contexts() {
    let github = MockServer::start().await;
    let world = installed_with_fake_github(&github).await;
    pull_request_on_github(
        &github,
        7,
        "alice",
        &[],
        json!([
            {"context": "pull-api-unit", "state": "failure"},
            {"context": "pull-api-lint", "state": "success"},
            {"context": "pull-api-e2e", "state": "success"}
        ]),
    )
    .await;
    deliver(&world, "issue_comment", "e2e-retest", &comment(7, "alice", "/retest")).await;
    let rerun = prowjobs(&world, "prow.k8s.io/refs.pull=7").await;
    assert_eq!(job_names(&rerun), ["pull-api-unit"]);
    assert_eq!(rerun[0]["metadata"]["labels"]["prow.k8s.io/retest"], "true");
}

/// Issue 15 through the release binary: a declared body over the limit is refused at once with no
/// `100 Continue`; an empty delivery id, a wrong shape and a payload naming two repositories are
/// `400` and not remembered; unsigned requests' event names never reach `/metrics`.
#[tokio::test]
async fn the_front_door_refuses_bad_requests_with_their_exact_answers() {
    use prow_operator::webhook::signature::sign;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let github = MockServer::start().await;
    let world = installed_with_fake_github(&github).await;
    // The tokens are loaded once a signed ping is answered 200.
    assert_eq!(
        deliver(&world, "ping", "e2e-ping", &json!({"zen": "hi"})).await,
        "ignored"
    );
    let hook = logged_address(&world.operator_log(), "hook_address");

    let mut stream = tokio::net::TcpStream::connect(&hook).await.expect("connect");
    let started = std::time::Instant::now();
    stream
        .write_all(
            b"POST /hook HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: big\r\n\
              Expect: 100-continue\r\nContent-Length: 1073741824\r\n\r\n",
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));

    let post = |event: &'static str, delivery: &'static str, body: Value| {
        let hook = hook.clone();
        async move {
            let body = serde_json::to_vec(&body).expect("body");
            let signature = sign(&sample_hmac(), &body);
            let headers = [
                ("X-GitHub-Event", event),
                ("X-GitHub-Delivery", delivery),
                ("X-Hub-Signature-256", signature.as_str()),
            ];
            http_post(&hook, "/hook", &headers, &body).await.0
        }
    };
    assert_eq!(post("pull_request", "", pull_request("opened", 7, "alice")).await, 400);
    assert_eq!(post("pull_request", "e2e-shape", json!({})).await, 400);
    let mut two_repositories = pull_request("opened", 7, "alice");
    two_repositories["repository"]["full_name"] = json!("another-org/api");
    two_repositories["repository"]["owner"]["login"] = json!("another-org");
    assert_eq!(post("pull_request", "e2e-shape", two_repositories).await, 400);
    assert!(prowjobs(&world, "prow.k8s.io/refs.pull=7").await.is_empty());
    // Not remembered: the same delivery, well formed, is acted on.
    assert_eq!(
        post("pull_request", "e2e-shape", pull_request("opened", 7, "alice")).await,
        200
    );
    assert_eq!(prowjobs(&world, "prow.k8s.io/refs.pull=7").await.len(), 3);

    let long = "x".repeat(8_000);
    for n in 0..50 {
        let delivery = format!("unsigned-{n}");
        let headers = [
            ("X-GitHub-Event", long.as_str()),
            ("X-GitHub-Delivery", delivery.as_str()),
        ];
        assert_eq!(http_post(&hook, "/hook", &headers, b"{}").await.0, 401);
    }
    let metrics = logged_address(&world.operator_log(), "metrics_address");
    let (_, text) = http_get(&metrics, "/metrics").await;
    assert!(!text.contains("xxxxxxxx"), "an attacker's event name became a label");
    assert!(
        text.contains("prow_operator_webhooks_total{event=\"other\",outcome=\"unauthorized\"} 50"),
        "{text}"
    );
}
