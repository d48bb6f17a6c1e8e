//! Managed webhooks on the real control plane, GitHub faked by wiremock with the webhooks API's
//! REST shapes: the instance's webhook created on `website` (whose other webhook is left alone)
//! while `api` refuses access, status per repository and Events; then the HMAC Secret rotated to
//! upstream's list form, and the webhook's secret moved to the newest token.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kube::Api;
use kube::api::{Patch, PatchParams};
use prow_api::ProwInstance;
use serde_json::{Value, json};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::github::installed_with_github;
use crate::harness::World;

/// The webhooks of each repository, with their secrets in clear (`None`: 403).
#[derive(Clone, Default)]
struct FakeHooks(Arc<Mutex<BTreeMap<String, Option<Vec<Value>>>>>);

impl FakeHooks {
    fn set(&self, repo: &str, hooks: Option<Vec<Value>>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.into(), hooks);
    }

    fn hooks(&self, repo: &str) -> Vec<Value> {
        let repos = self.0.lock().unwrap_or_else(|p| p.into_inner());
        repos.get(repo).cloned().flatten().unwrap_or_default()
    }
}

impl Respond for FakeHooks {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let parts: Vec<&str> = request.url.path().split('/').collect();
        // ["", "repos", "example-org", repo, "hooks", id?]
        let (repo, id) = (parts[3].to_string(), parts.get(5).and_then(|i| i.parse::<u64>().ok()));
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut repos = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(Some(hooks)) = repos.get_mut(&repo) else {
            return ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Must have admin rights to Repository."}));
        };
        match (request.method.as_str(), id) {
            ("GET", None) => {
                let masked: Vec<Value> = hooks
                    .iter()
                    .map(|h| {
                        let mut h = h.clone();
                        if h["config"].get("secret").is_some() {
                            h["config"]["secret"] = json!("********");
                        }
                        h
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(masked)
            }
            ("POST", None) => {
                let hook = json!({"type": "Repository", "id": 100 + hooks.len(), "name": "web",
                    "active": body["active"], "events": body["events"], "config": body["config"]});
                hooks.push(hook.clone());
                ResponseTemplate::new(201).set_body_json(hook)
            }
            ("PATCH", Some(id)) => {
                let Some(hook) = hooks.iter_mut().find(|h| h["id"] == id) else {
                    return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
                };
                for field in ["config", "events", "active"] {
                    if let Some(value) = body.get(field) {
                        hook[field] = value.clone();
                    }
                }
                ResponseTemplate::new(200).set_body_json(hook.clone())
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

async fn webhook_statuses(world: &World) -> Vec<Value> {
    let instance = world
        .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await
        .unwrap_or(Value::Null);
    instance["status"]["webhooks"].as_array().cloned().unwrap_or_default()
}

fn state_of(statuses: &[Value], target: &str) -> Option<String> {
    statuses
        .iter()
        .find(|s| s["target"] == target)
        .and_then(|s| s["state"].as_str().map(String::from))
}

/// The samples installed against `github`, whose repositories' webhooks `fake` plays, with
/// managed webhooks on and read again every `resync`.
async fn managing_webhooks(github: &MockServer, fake: &FakeHooks, resync: &str) -> World {
    Mock::given(path_regex("^/repos/example-org/[^/]+/hooks"))
        .respond_with(fake.clone())
        .mount(github)
        .await;
    let world = installed_with_github(github, json!({})).await;
    let instances: Api<ProwInstance> = Api::namespaced(world.client.clone(), "prow");
    let managed = json!({"spec": {"github": {"webhook": {"managed": true, "resyncPeriod": resync}}}});
    instances
        .patch("prow", &PatchParams::default(), &Patch::Merge(&managed))
        .await
        .expect("patch the instance");
    world
}

#[tokio::test]
async fn managed_webhooks_are_created_per_repository_and_follow_a_rotated_token() {
    let github = MockServer::start().await;
    let fake = FakeHooks::default();
    let foreign = json!({"type": "Repository", "id": 7, "name": "web", "active": true, "events": ["push"],
        "config": {"url": "https://ci.example/hook", "content_type": "form"}});
    fake.set("website", Some(vec![foreign.clone()]));
    fake.set("api", None);
    let world = managing_webhooks(&github, &fake, "2s").await;

    let statuses = world
        .eventually("status.webhooks: website Present, api Failed", || async {
            let statuses = webhook_statuses(&world).await;
            (state_of(&statuses, "example-org/website").as_deref() == Some("Present")
                && state_of(&statuses, "example-org/api").as_deref() == Some("Failed"))
            .then_some(statuses)
        })
        .await;
    let website = fake.hooks("website");
    assert_eq!(website.len(), 2, "{website:?}");
    assert_eq!(website[0], foreign, "the other webhook is left alone");
    let ours = &website[1];
    assert_eq!(ours["config"]["url"], "https://prow.example.com/hook");
    assert_eq!(ours["config"]["content_type"], "json");
    assert_eq!(ours["config"]["secret"], "not-a-real-secret");
    let api = statuses
        .iter()
        .find(|s| s["target"] == "example-org/api")
        .expect("api's status");
    let error = api["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("HTTP 403") && error.contains("admin:repo_hook"),
        "{error}"
    );
    let serialized = serde_json::to_string(&statuses).unwrap_or_default();
    assert!(!serialized.contains("not-a-real-secret"), "{serialized}");
    // The Events follow the status write.
    world
        .eventually("the WebhooksSynced and WebhookSyncFailed Events", || async {
            let events = world.list("events.k8s.io/v1", "Event", "prow", "").await;
            let reasons: Vec<&str> = events
                .iter()
                .filter(|e| e["regarding"]["kind"] == "ProwInstance")
                .filter_map(|e| e["reason"].as_str())
                .collect();
            (reasons.contains(&"WebhooksSynced") && reasons.contains(&"WebhookSyncFailed")).then_some(())
        })
        .await;

    // Rotation: the Secret lists a newer token next to the old one; the webhook gets the newest,
    // in one PATCH, and api, readable now, gets its webhook on the next resync.
    fake.set("api", Some(vec![]));
    world
        .apply_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "hmac-token", "namespace": "prow"},
            "stringData": {"hmac": "'*':\n  - value: not-a-real-secret\n    created_at: 2026-01-01T00:00:00Z\n  - value: rotated-token\n    created_at: 2026-06-01T00:00:00Z\n"}}))
        .await;
    world
        .eventually(
            "website's webhook signs with the rotated token, api has one",
            || async {
                let website = fake.hooks("website");
                let api = fake.hooks("api");
                (website.len() == 2
                    && website[1]["config"]["secret"] == "rotated-token"
                    && api.len() == 1
                    && api[0]["config"]["secret"] == "rotated-token")
                    .then_some(())
            },
        )
        .await;
    // The status follows the writes.
    world
        .eventually("status.webhooks: api Present", || async {
            let statuses = webhook_statuses(&world).await;
            (state_of(&statuses, "example-org/api").as_deref() == Some("Present")).then_some(())
        })
        .await;
}

#[tokio::test]
async fn with_a_github_app_the_apps_webhook_is_reported_and_github_is_not_called() {
    let github = MockServer::start().await;
    let fake = FakeHooks::default();
    Mock::given(path_regex("^/repos/example-org/[^/]+/hooks"))
        .respond_with(fake.clone())
        .mount(&github)
        .await;
    // The samples authenticate as a GitHub App.
    let world = crate::install::installed().await;
    let instances: Api<ProwInstance> = Api::namespaced(world.client.clone(), "prow");
    let managed = json!({"spec": {"github": {"apiUrl": github.uri(), "webhook": {"managed": true}}}});
    instances
        .patch("prow", &PatchParams::default(), &Patch::Merge(&managed))
        .await
        .expect("patch the instance");
    let statuses = world
        .eventually("status.webhooks: example-org AppManaged", || async {
            let statuses = webhook_statuses(&world).await;
            (state_of(&statuses, "example-org").as_deref() == Some("AppManaged")).then_some(statuses)
        })
        .await;
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let requests = github.received_requests().await.unwrap_or_default();
    assert!(
        requests.iter().all(|r| !r.url.path().contains("/hooks")),
        "{:?}",
        requests.iter().map(|r| r.url.path().to_string()).collect::<Vec<_>>()
    );
}

/// The `status.webhooks[]` entry of `target`.
fn status_of<'a>(statuses: &'a [Value], target: &str) -> Option<&'a Value> {
    statuses.iter().find(|s| s["target"] == target)
}

/// Item 1 and 2 of the webhook work: a signed `meta` delivery (webhook deleted) received by the
/// operator makes the leader read the webhooks again at once (the resync period is an hour), and
/// the deliveries received show as `lastDelivery`; a `meta` signed with another token changes
/// nothing.
#[tokio::test]
async fn a_deleted_webhook_is_recreated_on_its_meta_delivery_and_deliveries_show_in_status() {
    let github = MockServer::start().await;
    let fake = FakeHooks::default();
    fake.set("website", Some(vec![]));
    fake.set("api", Some(vec![]));
    let world = managing_webhooks(&github, &fake, "1h").await;
    world
        .eventually("both webhooks created", || async {
            let statuses = webhook_statuses(&world).await;
            (state_of(&statuses, "example-org/website").as_deref() == Some("Present")
                && state_of(&statuses, "example-org/api").as_deref() == Some("Present"))
            .then_some(())
        })
        .await;
    assert_eq!(fake.hooks("website").len(), 1);

    // Someone deletes website's webhook; GitHub sends its last delivery, a `meta`.
    fake.set("website", Some(vec![]));
    let repository = json!({"full_name": "example-org/website", "name": "website",
        "owner": {"login": "example-org"}});
    let meta = json!({"action": "deleted", "hook_id": 100,
        "hook": {"type": "Repository", "id": 100, "name": "web"}, "repository": repository});
    // Signed with a token the instance does not have: acknowledged as unauthorized, no re-read.
    let body = serde_json::to_vec(&meta).expect("payload");
    let forged = prow_operator::webhook::signature::sign(b"not-the-token", &body);
    let address = crate::harness::logged_address(&world.operator_log(), "hook_address");
    let headers = [
        ("X-GitHub-Event", "meta"),
        ("X-GitHub-Delivery", "forged-meta"),
        ("X-Hub-Signature-256", forged.as_str()),
    ];
    let (status, _) = crate::harness::http_post(&address, "/hook", &headers, &body).await;
    assert_eq!(status, 401);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(fake.hooks("website").is_empty(), "a forged meta made a pass");

    // A ping first: written at once; the meta after it comes within the 10 s bound of news of a
    // deletion (deliveries alone would wait a minute).
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 101,
        "hook": {"type": "Repository", "id": 101, "name": "web"},
        "repository": {"full_name": "example-org/api", "name": "api", "owner": {"login": "example-org"}}});
    crate::github::deliver(&world, "ping", "ping-1", &ping).await;
    let sent = std::time::Instant::now();
    let answer = crate::github::deliver(&world, "meta", "meta-1", &meta).await;
    assert_eq!(answer, "noted");
    world
        .eventually("website's webhook created again, within the hour's resync", || async {
            (fake.hooks("website").len() == 1).then_some(())
        })
        .await;
    // The ping's write came first, so the meta's waits out the 10 s bound, then the pass runs.
    let took = sent.elapsed();
    eprintln!("meta delivery to webhook re-created: {took:?}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    let statuses = world
        .eventually("lastDelivery of both targets", || async {
            let statuses = webhook_statuses(&world).await;
            let both = ["example-org/website", "example-org/api"]
                .iter()
                .all(|t| status_of(&statuses, t).is_some_and(|s| s["lastDelivery"].is_string()));
            both.then_some(statuses)
        })
        .await;
    let website = status_of(&statuses, "example-org/website").expect("website");
    assert_eq!(website["state"], "Present", "{website}");
    let instance = world
        .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await
        .unwrap_or(Value::Null);
    let activity = instance["metadata"]["annotations"]["operator.prow.dev/webhook-activity"]
        .as_str()
        .unwrap_or_default();
    assert!(activity.contains("hookDeleted"), "{activity}");
}
