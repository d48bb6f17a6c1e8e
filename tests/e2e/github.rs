//! The sample instance wired to a fake GitHub (wiremock, [`FakeGitHub`] keeping the statuses and
//! comments it is sent), and signed webhook deliveries: what the trigger, job-engine and
//! randomized scenarios share.

use std::sync::{Arc, Mutex};

use kube::Api;
use kube::api::{Patch, PatchParams};
use prow_api::ProwInstance;
use prow_operator::webhook::signature::sign;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::harness::{World, http_post, logged_address};
use crate::install::{installed, sample_secrets, wait_applied};

/// The head commit of pull request 7.
pub const HEAD: &str = "7777777777777777777777777777777777777777";
/// The base commit of pull request 7.
pub const BASE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";

/// What GitHub was told: the statuses posted, and the comments on pull requests.
#[derive(Default)]
struct GitHubState {
    /// (sha, context, state) of every status posted, in order.
    statuses: Vec<(String, String, String)>,
    /// (pull request, id, body) of the comments.
    comments: Vec<(u64, u64, String)>,
    next_id: u64,
    /// While set, every status is refused with a 500 (GitHub unreachable).
    down: bool,
    /// While set, every status is taken at once but answered this much later.
    slow: Option<std::time::Duration>,
}

/// The parts of GitHub the reporter writes to (statuses and failure comments, on any pull
/// request), and the combined status `/retest` reads.
#[derive(Clone, Default)]
pub struct FakeGitHub(Arc<Mutex<GitHubState>>);

impl FakeGitHub {
    /// How many statuses `state` were posted for `context`.
    pub fn posted(&self, context: &str, state: &str) -> usize {
        let github = self.0.lock().unwrap_or_else(|p| p.into_inner());
        github
            .statuses
            .iter()
            .filter(|(_, c, s)| c == context && s == state)
            .count()
    }

    /// Makes GitHub refuse statuses (`true`) or take them again.
    pub fn set_down(&self, down: bool) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).down = down;
    }

    /// Makes GitHub answer each status it takes `delay` later (`None`: at once again).
    pub fn set_slow(&self, delay: Option<std::time::Duration>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).slow = delay;
    }

    /// The comments on pull request 7.
    pub fn comments(&self) -> Vec<String> {
        let github = self.0.lock().unwrap_or_else(|p| p.into_inner());
        github
            .comments
            .iter()
            .filter(|(pull, _, _)| *pull == 7)
            .map(|(_, _, body)| body.clone())
            .collect()
    }

    /// (sha, context, state) of every status posted, in order.
    pub fn statuses(&self) -> Vec<(String, String, String)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).statuses.clone()
    }
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut github = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let route = request.url.path().to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
        let comment = |id: u64, body: &str| json!({"id": id, "user": {"login": "prow-bot"}, "body": body});
        match (request.method.as_str(), route.as_str()) {
            ("POST", r) if r.contains("/statuses/") && github.down => {
                ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"}))
            }
            ("POST", r) if r.contains("/statuses/") => {
                let sha = r.rsplit('/').next().unwrap_or_default().to_string();
                github.statuses.push((sha, text("context"), text("state")));
                let taken = ResponseTemplate::new(201).set_body_json(json!({}));
                match github.slow {
                    Some(delay) => taken.set_delay(delay),
                    None => taken,
                }
            }
            ("GET", r) if r.ends_with("/status") => {
                let mut latest: Vec<Value> = Vec::new();
                for (_, context, state) in github.statuses.iter().rev() {
                    if !latest.iter().any(|s| s["context"] == context.as_str()) {
                        latest.push(json!({"context": context, "state": state}));
                    }
                }
                ResponseTemplate::new(200).set_body_json(json!({ "statuses": latest }))
            }
            (verb, r) if r.ends_with("/comments") && r.contains("/issues/") && !r.contains("/issues/comments") => {
                let pull: u64 = r.rsplit('/').nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
                if verb == "GET" {
                    let list: Vec<Value> = github
                        .comments
                        .iter()
                        .filter(|(p, _, _)| *p == pull)
                        .map(|(_, id, b)| comment(*id, b))
                        .collect();
                    return ResponseTemplate::new(200).set_body_json(list);
                }
                github.next_id += 1;
                let id = github.next_id;
                github.comments.push((pull, id, text("body")));
                ResponseTemplate::new(201).set_body_json(comment(id, &text("body")))
            }
            (verb, r) if r.contains("/issues/comments/") => {
                let id: u64 = r.rsplit('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
                if verb == "DELETE" {
                    github.comments.retain(|(_, c, _)| *c != id);
                    return ResponseTemplate::new(204);
                }
                for entry in github.comments.iter_mut().filter(|(_, c, _)| *c == id) {
                    entry.2 = text("body");
                }
                ResponseTemplate::new(200).set_body_json(comment(id, &text("body")))
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

/// The samples, installed, with the instance talking to a fake GitHub with a token, and
/// `config` merged into its config.yaml overlay.
pub async fn installed_with_fake_github(server: &MockServer, config: Value) -> (World, FakeGitHub) {
    installed_with_fake_github_in(installed().await, server, config).await
}

/// [`installed_with_fake_github`] for a world already installed.
pub async fn installed_with_fake_github_in(world: World, server: &MockServer, config: Value) -> (World, FakeGitHub) {
    let world = installed_with_github_in(world, server, json!({"config": config})).await;
    let fake = FakeGitHub::default();
    let reply = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path("/repos/example-org/api/pulls/7/files"))
        .respond_with(reply(json!([{"filename": "main.go", "status": "modified"}])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/example-org/api/pulls/7"))
        .respond_with(reply(json!({
            "number": 7, "title": "Add an endpoint", "state": "open", "merged": false, "draft": false,
            "mergeable": true, "user": {"login": "alice"}, "labels": [], "changed_files": 1,
            "html_url": "https://github.com/example-org/api/pull/7",
            "head": {"ref": "feature", "sha": HEAD}, "base": {"ref": "main", "sha": BASE}
        })))
        .mount(server)
        .await;
    Mock::given(path_regex(
        "^/repos/example-org/api/(statuses/|commits/.*/status|issues/[0-9]+/comments|issues/comments/)",
    ))
    .respond_with(fake.clone())
    .mount(server)
    .await;
    (world, fake)
}

/// The samples, installed, with the instance talking to `github` with a token and `spec` merged
/// into its spec. GitHub says who the bot is (`prow-bot`) and that `alice` is an org member.
pub async fn installed_with_github(github: &MockServer, spec: Value) -> World {
    installed_with_github_in(installed().await, github, spec).await
}

/// [`installed_with_github`] for a world already installed.
pub async fn installed_with_github_in(world: World, github: &MockServer, spec: Value) -> World {
    world
        .apply_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "github-api-token", "namespace": "prow"},
            "stringData": {"token": "test-token"}}))
        .await;
    let mut patch_spec = json!({"github": {
        "auth": {"app": null, "token": {"secretRef": {"name": "github-api-token", "key": "token"}}},
        "apiUrl": github.uri(),
    }});
    if let (Some(patch), Value::Object(extra)) = (patch_spec.as_object_mut(), spec) {
        patch.extend(extra);
    }
    let instances: Api<ProwInstance> = Api::namespaced(world.client.clone(), "prow");
    instances
        .patch(
            "prow",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": patch_spec})),
        )
        .await
        .expect("patch the instance");
    wait_applied(&world).await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "prow-bot", "id": 1})))
        .mount(github)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/example-org/members/alice"))
        .respond_with(ResponseTemplate::new(204))
        .mount(github)
        .await;
    world
}

/// The sample `hmac-token` Secret's token.
pub fn sample_hmac() -> Vec<u8> {
    let hmac = sample_secrets()
        .into_iter()
        .find(|s| s["metadata"]["name"] == "hmac-token")
        .expect("the sample hmac-token Secret");
    hmac["stringData"]["hmac"]
        .as_str()
        .expect("its hmac key")
        .as_bytes()
        .to_vec()
}

/// Signs and posts a webhook until it is answered 200 (the first may come before the operator
/// has read the HMAC Secret; a refused one changes nothing); returns the response body.
pub async fn deliver(world: &World, event: &str, delivery: &str, payload: &Value) -> String {
    let body = serde_json::to_vec(payload).expect("payload");
    let signature = sign(&sample_hmac(), &body);
    let headers = [
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", signature.as_str()),
        ("Content-Type", "application/json"),
    ];
    world
        .eventually(&format!("{event} {delivery} answered 200"), || async {
            let address = logged_address(&world.operator_log(), "hook_address");
            let (status, answer) = http_post(&address, "/hook", &headers, &body).await;
            (status == 200).then_some(answer)
        })
        .await
}
