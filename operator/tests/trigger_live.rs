//! The live native trigger against testkit: a push becomes the postsubmit ProwJobs upstream's
//! trigger would create, exactly once however often the delivery comes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ListParams, PostParams};
use prow_api::{JobConfig, ProwInstance, ProwJob};
use prow_operator::controller::manager::{Caches, Settings};
use prow_operator::http::Event;
use prow_operator::http::metrics::Metrics;
use prow_operator::render::OperatorWebhook;
use prow_operator::trigger;
use serde_json::{Value, json};

fn documents(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    prow_api::yaml::load_documents(&text).unwrap().values
}

async fn installed(kit: &testkit::Testkit) -> Caches {
    let client = kit.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for entry in std::fs::read_dir(support::workspace().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_str().unwrap().contains('_') {
            let crd: CustomResourceDefinition = serde_json::from_value(documents(&path).remove(0)).unwrap();
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let prow: Namespace = serde_json::from_value(json!({"metadata": {"name": "prow"}})).unwrap();
    namespaces.create(&PostParams::default(), &prow).await.unwrap();
    let samples = support::workspace().join("config/samples");
    let instance: ProwInstance =
        serde_json::from_value(documents(&samples.join("prowinstance.yaml")).remove(0)).unwrap();
    Api::<ProwInstance>::namespaced(client.clone(), "prow")
        .create(&PostParams::default(), &instance)
        .await
        .unwrap();
    let jobs: JobConfig = serde_json::from_value(documents(&samples.join("jobconfig-api.yaml")).remove(0)).unwrap();
    Api::<JobConfig>::namespaced(client.clone(), "prow")
        .create(&PostParams::default(), &jobs)
        .await
        .unwrap();
    Caches::start(
        client,
        Arc::new(Metrics::default()),
        Settings {
            webhook: OperatorWebhook::in_namespace("prow-operator-system"),
            identity: "test".into(),
            label_sync_full_pass: prow_operator::labelsync::schedule::DEFAULT_FULL_PASS,
        },
    )
    .await
    .unwrap()
}

/// A delivery as GitHub sends it, before `POST /hook` reads it.
struct Delivery {
    event: &'static str,
    delivery: String,
    payload: serde_json::Value,
}

impl Delivery {
    /// The delivery as the trigger gets it, read as `POST /hook` reads it.
    fn read(&self) -> Event {
        Event::read(self.event, &self.delivery, &self.payload).unwrap()
    }
}

fn push(branch: &str) -> Delivery {
    Delivery {
        event: "push",
        delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        payload: json!({
            "ref": format!("refs/heads/{branch}"),
            "before": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
            "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "deleted": false,
            "compare": "https://github.com/example-org/api/compare/9049f1265b7d...0d1a26e67d8f",
            "commits": [{"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "added": [], "removed": [], "modified": ["main.go"]}],
            "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"}
        }),
    }
}

#[tokio::test]
async fn a_push_to_main_creates_the_postsubmits_once() {
    let kit = testkit::Testkit::start().await;
    let caches = installed(&kit).await;
    let handled = trigger::handle(&push("main").read(), &caches.ctx, &caches.leading_jobs)
        .await
        .unwrap();
    assert_eq!(handled.created.len(), 1, "{handled:?}");
    let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
    let created = prowjobs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(created.len(), 1);
    let prowjob = &created[0];
    let labels = prowjob.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["prow.k8s.io/job"], "post-api-push-image");
    assert_eq!(labels["prow.k8s.io/type"], "postsubmit");
    assert_eq!(labels["event-GUID"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(labels["created-by-prow"], "true");
    let refs = prowjob.spec.refs.as_ref().unwrap();
    assert_eq!(refs.base_ref.as_deref(), Some("main"));
    assert_eq!(
        refs.base_sha.as_deref(),
        Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")
    );
    let name = prowjob.metadata.name.clone().unwrap();
    assert_eq!(name.len(), 36, "a UUID name: {name}");

    // Redelivered (or retried after a failure): the same ProwJob, nothing new.
    let again = trigger::handle(&push("main").read(), &caches.ctx, &caches.leading_jobs)
        .await
        .unwrap();
    assert_eq!(again, handled);
    assert_eq!(prowjobs.list(&ListParams::default()).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_push_to_another_branch_or_repository_creates_nothing() {
    let kit = testkit::Testkit::start().await;
    let caches = installed(&kit).await;
    assert!(
        trigger::handle(&push("feature").read(), &caches.ctx, &caches.leading_jobs)
            .await
            .unwrap()
            .created
            .is_empty()
    );
    let mut elsewhere = push("main");
    elsewhere.payload["repository"]["owner"]["login"] = json!("another-org");
    elsewhere.payload["repository"]["full_name"] = json!("another-org/api");
    assert!(
        trigger::handle(&elsewhere.read(), &caches.ctx, &caches.leading_jobs)
            .await
            .unwrap()
            .created
            .is_empty()
    );
    let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
    assert!(prowjobs.list(&ListParams::default()).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn the_hmac_tokens_are_the_instances_secrets_scoped_to_their_orgs() {
    use prow_operator::webhook::signature::sign;
    let kit = testkit::Testkit::start().await;
    let caches = installed(&kit).await;
    assert!(
        prow_operator::controller::hmac::tokens(&caches.ctx).await.is_empty(),
        "no Secret yet"
    );
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": "hmac-token", "namespace": "prow"},
        "data": {"hmac": "czNjcmV0"}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(kit.client(), "prow")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let tokens = prow_operator::controller::hmac::tokens(&caches.ctx).await;
    let body = b"{}";
    let signature = sign(b"s3cret", body);
    assert!(tokens.verify(&signature, body, Some("example-org/api")));
    assert!(!tokens.verify(&signature, body, Some("another-org/api")));
    assert!(!tokens.verify(&sign(b"wrong", body), body, Some("example-org/api")));
}

/// Answers `body` signed with `token` as `event`, through the webhook endpoint whose tokens are
/// the instances' Secrets and whose consumer is the live trigger.
async fn through_the_hook(
    hook: &prow_operator::http::Hook,
    event: &str,
    delivery: &str,
    body: &Value,
    token: &[u8],
) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    let request = hyper::Request::post("/hook")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header(
            "X-Hub-Signature-256",
            prow_operator::webhook::signature::sign(token, &bytes),
        )
        .body(http_body_util::Full::new(bytes::Bytes::from(bytes)))
        .unwrap();
    hook.answer(request).await.status().as_u16()
}

/// Finding 1, live: two tenants, example-org (token `s3cret`, namespace `prow`) and globex
/// (token `beta`, namespace `globex`). Every forgery of the report, signed with globex's token,
/// is refused and creates nothing in `prow`; example-org's own token, with the org spelled in
/// another case, creates its postsubmit.
#[tokio::test]
async fn a_tenants_token_never_creates_prowjobs_for_another_tenant() {
    use k8s_openapi::api::core::v1::Secret;
    let kit = testkit::Testkit::start().await;
    let caches = installed(&kit).await;
    let client = kit.client();
    let globex: Namespace = serde_json::from_value(json!({"metadata": {"name": "globex"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &globex)
        .await
        .unwrap();
    for (namespace, token) in [("prow", "czNjcmV0"), ("globex", "YmV0YQ==")] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "hmac-token", "namespace": namespace},
            "data": {"hmac": token}
        }))
        .unwrap();
        Api::<Secret>::namespaced(client.clone(), namespace)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let mut second: Value = documents(&support::workspace().join("config/samples/prowinstance.yaml")).remove(0);
    second["metadata"]["namespace"] = json!("globex");
    second["spec"]["github"]["org"] = json!("globex");
    let second: ProwInstance = serde_json::from_value(second).unwrap();
    Api::<ProwInstance>::namespaced(client.clone(), "globex")
        .create(&PostParams::default(), &second)
        .await
        .unwrap();
    for _ in 0..200 {
        if caches.ctx.stores.instances.state().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let tokens = prow_operator::controller::hmac::tokens(&caches.ctx).await;
    let state = Arc::new(prow_operator::http::State::new(
        tokens,
        100,
        Arc::new(Metrics::default()),
    ));
    let _ = state.consumer.set(Arc::new(trigger::Consumer {
        ctx: caches.ctx.clone(),
        jobs: caches.leading_jobs.clone(),
    }) as Arc<dyn prow_operator::http::Consumer>);
    let hook = prow_operator::http::Hook::new(state, prow_operator::http::Limits::HOOK);

    let example = json!({"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}});
    let theirs = json!({"name": "api", "full_name": "globex/api", "owner": {"login": "globex"}});
    // repository names globex, the pull request's base example-org.
    let mut pr = json!({"action": "opened", "number": 7, "pull_request": {"number": 7, "user": {"login": "mallory"},
        "head": {"ref": "f", "sha": "abc"}, "base": {"ref": "main", "sha": "def", "repo": example.clone()}},
        "repository": theirs.clone()});
    assert_eq!(through_the_hook(&hook, "pull_request", "f1", &pr, b"beta").await, 400);
    // No repository key.
    pr.as_object_mut().unwrap().remove("repository");
    assert_eq!(through_the_hook(&hook, "pull_request", "f2", &pr, b"beta").await, 400);
    // A push: full_name globex's, owner example-org.
    let mut forged = push("main").payload;
    forged["repository"]["full_name"] = json!("globex/api");
    assert_eq!(through_the_hook(&hook, "push", "f3", &forged, b"beta").await, 400);
    // example-org's own push, signed by globex's token.
    assert_eq!(
        through_the_hook(&hook, "push", "f4", &push("main").payload, b"beta").await,
        401
    );
    // /test all on example-org's pull request, signed by globex's token.
    let comment = json!({"action": "created", "issue": {"number": 7, "state": "open", "pull_request": {}},
        "comment": {"body": "/test all", "user": {"login": "mallory"}}, "repository": example});
    assert_eq!(
        through_the_hook(&hook, "issue_comment", "f5", &comment, b"beta").await,
        401
    );
    let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
    assert!(prowjobs.list(&ListParams::default()).await.unwrap().items.is_empty());

    // The genuine push, its org spelled in capitals: served by example-org's instance.
    let mut genuine = push("main").payload;
    genuine["repository"]["full_name"] = json!("Example-Org/api");
    genuine["repository"]["owner"]["login"] = json!("EXAMPLE-ORG");
    assert_eq!(through_the_hook(&hook, "push", "g1", &genuine, b"s3cret").await, 200);
    let created = prowjobs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].spec.refs.as_ref().unwrap().org, "Example-Org");
    assert!(
        Api::<ProwJob>::namespaced(kit.client(), "globex")
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A push whose typed form does not read is refused when `POST /hook` reads it (400, before
/// the trigger sees it), for a reason that names the event type.
#[test]
fn a_malformed_push_is_refused_when_read() {
    let mut bad = push("main");
    bad.payload["commits"] = json!("not a list");
    let error = Event::read(bad.event, &bad.delivery, &bad.payload)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a valid push payload"), "{error}");
}

mod pull_requests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The samples, with token auth against `github` instead of the sample's GitHub App.
    async fn installed_with_github(kit: &testkit::Testkit, github: &MockServer) -> Caches {
        let client = kit.client();
        let caches = installed(kit).await;
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), "prow");
        let token: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
            "metadata": {"name": "gh-token", "namespace": "prow"},
            "data": {"token": "dGVzdC10b2tlbg=="}
        }))
        .unwrap();
        secrets.create(&PostParams::default(), &token).await.unwrap();
        let instances: Api<ProwInstance> = Api::namespaced(client, "prow");
        let patch = json!({"spec": {"github": {
            "auth": {"app": null, "token": {"secretRef": {"name": "gh-token", "key": "token"}}},
            "apiUrl": github.uri(),
        }}});
        instances
            .patch(
                "prow",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .unwrap();
        // The cache sees the change.
        for _ in 0..100 {
            let seen = caches
                .ctx
                .stores
                .instances
                .state()
                .iter()
                .any(|i| i.spec.github.api_url == github.uri());
            if seen {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "prow-bot", "id": 1})))
            .mount(github)
            .await;
        // Nothing posted yet: no labels, no comments (tests that look again mount their own).
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/issues/7/labels"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/pulls/7/files"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([{"filename": "main.go", "status": "modified"}])),
            )
            .mount(github)
            .await;
        caches
    }

    fn opened(author: &str, head: &str, action: &str) -> Delivery {
        Delivery {
            event: "pull_request",
            delivery: format!("delivery-{action}-{head}"),
            payload: json!({
                "action": action,
                "number": 7,
                "pull_request": {
                    "number": 7, "title": "Add an endpoint", "state": "open", "draft": false,
                    "html_url": "https://github.com/example-org/api/pull/7",
                    "user": {"login": author},
                    "labels": [],
                    "head": {"ref": "feature", "sha": head, "repo": {"name": "api", "owner": {"login": author}}},
                    "base": {"ref": "main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
                             "repo": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"}}
                },
                "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"},
                "sender": {"login": author}
            }),
        }
    }

    fn job_names(prowjobs: &[ProwJob]) -> Vec<String> {
        let mut names: Vec<String> = prowjobs.iter().map(|p| p.spec.job.clone()).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_members_pull_request_starts_its_presubmits_and_a_new_push_aborts_them() {
        members_pull_request_then_push(false).await;
    }

    /// The leader finds the pull request's unfinished presubmits in its job caches, including
    /// the ones created moments before that the watch may not show yet.
    #[tokio::test]
    async fn the_leader_aborts_from_its_job_caches() {
        members_pull_request_then_push(true).await;
    }

    async fn members_pull_request_then_push(leading: bool) {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        let _jobs = match leading {
            true => {
                let clock = Arc::new(prow_operator::controller::jobs::SystemClock);
                let (jobs, _feeds) =
                    prow_operator::controller::jobs::Jobs::start(caches.ctx.clone(), &caches.leading_jobs, clock)
                        .await
                        .unwrap();
                assert!(caches.leading_jobs.get().is_some());
                Some(jobs)
            }
            false => None,
        };
        Mock::given(method("GET"))
            .and(path("/orgs/example-org/members/alice"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&github)
            .await;

        let first = trigger::handle(
            &opened("alice", "1111111", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
        let created = prowjobs.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(created.len(), first.created.len());
        assert!(
            job_names(&created).contains(&"pull-api-unit".to_string()),
            "{:?}",
            job_names(&created)
        );
        assert!(
            job_names(&created).contains(&"pull-api-lint".to_string()),
            "{:?}",
            job_names(&created)
        );
        let labels = created[0].metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels["prow.k8s.io/refs.pull"], "7");
        assert_eq!(labels["prow.k8s.io/type"], "presubmit");
        assert!(first.labeled.is_empty(), "a member's pull request needs no ok-to-test");

        // A new commit: the unfinished presubmits are aborted and new ones start.
        let before = kit.audit().len();
        let second = trigger::handle(
            &opened("alice", "2222222", "synchronize").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        let listed = kit.audit()[before..]
            .iter()
            .any(|r| r.verb == testkit::Verb::List && r.resource == "prowjobs");
        assert_eq!(
            listed, !leading,
            "only a replica without the job caches lists the ProwJobs"
        );
        assert_eq!(second.aborted.len(), first.created.len());
        let all = prowjobs.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(all.len(), first.created.len() + second.created.len());
        let aborted = all
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .is_some_and(|s| s.state == prow_api::ProwJobState::Aborted)
            })
            .count();
        assert_eq!(aborted, first.created.len());
    }

    #[tokio::test]
    async fn an_outsiders_pull_request_gets_needs_ok_to_test_and_no_jobs() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        Mock::given(method("GET"))
            .and(path("/orgs/example-org/members/mallory"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/collaborators/mallory"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&github)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/labels"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "needs-ok-to-test"}])))
            .expect(1)
            .mount(&github)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .and(body_string_contains("/ok-to-test"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "body": "hi"})))
            .expect(1)
            .mount(&github)
            .await;
        let handled = trigger::handle(
            &opened("mallory", "3333333", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert!(handled.created.is_empty());
        assert_eq!(handled.labeled, ["needs-ok-to-test"]);
        assert!(handled.replies[0].starts_with("Hi @mallory."), "{:?}", handled.replies);
        let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
        assert!(prowjobs.list(&ListParams::default()).await.unwrap().items.is_empty());
    }

    /// Finding 7: a redelivery after a restart looks at the pull request before it writes: the
    /// label it has and the welcome already posted for this delivery are not written again.
    #[tokio::test]
    async fn a_redelivered_outsiders_pull_request_is_not_welcomed_twice() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        for route in [
            "/orgs/example-org/members/mallory",
            "/repos/example-org/api/collaborators/mallory",
        ] {
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(ResponseTemplate::new(404))
                .mount(&github)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/labels"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "needs-ok-to-test"}])))
            .expect(1)
            .mount(&github)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "body": "hi"})))
            .expect(1)
            .mount(&github)
            .await;
        let event = opened("mallory", "6666666", "opened");
        let first = trigger::handle(&event.read(), &caches.ctx, &caches.leading_jobs)
            .await
            .unwrap();
        assert_eq!(first.labeled, ["needs-ok-to-test"]);
        assert_eq!(first.replies.len(), 1);
        // What GitHub holds now: the label, and the welcome as posted.
        let requests = github.received_requests().await.unwrap_or_default();
        let posted = requests
            .iter()
            .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/example-org/api/issues/7/comments")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["body"].clone())
            .unwrap();
        assert!(
            posted.as_str().unwrap().contains("delivery=delivery-opened-6666666"),
            "{posted}"
        );
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/issues/7/labels"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "needs-ok-to-test"}])))
            .with_priority(1)
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([{"id": 1, "body": posted, "user": {"login": "prow-bot"}}])),
            )
            .with_priority(1)
            .mount(&github)
            .await;
        let again = trigger::handle(&event.read(), &caches.ctx, &caches.leading_jobs)
            .await
            .unwrap();
        assert!(again.labeled.is_empty() && again.replies.is_empty(), "{again:?}");
        drop(github);
    }

    #[tokio::test]
    async fn a_github_outage_is_an_error_and_changes_nothing() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        Mock::given(method("GET"))
            .and(path("/orgs/example-org/members/alice"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/collaborators/alice"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&github)
            .await;
        let error = trigger::handle(
            &opened("alice", "4444444", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, trigger::TriggerError::GitHub { .. }), "{error}");
        let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
        assert!(prowjobs.list(&ListParams::default()).await.unwrap().items.is_empty());
    }

    fn comment(commenter: &str, body: &str) -> Delivery {
        Delivery {
            event: "issue_comment",
            delivery: format!("comment-{commenter}-{}", body.len()),
            payload: json!({
                "action": "created",
                "issue": {"number": 7, "state": "open", "pull_request": {"url": "https://api.github.com/repos/example-org/api/pulls/7"}},
                "comment": {"body": body, "user": {"login": commenter}},
                "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"}
            }),
        }
    }

    async fn pull_request_7(github: &MockServer, author: &str) {
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/pulls/7"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "number": 7, "title": "Add an endpoint", "state": "open", "merged": false, "draft": false,
                "mergeable": true, "user": {"login": author}, "labels": [], "changed_files": 1,
                "html_url": "https://github.com/example-org/api/pull/7",
                "head": {"ref": "feature", "sha": "5555555"},
                "base": {"ref": "main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b"}
            })))
            .mount(github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/commits/5555555/status"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"statuses": [
                {"context": "pull-api-unit", "state": "failure"},
                {"context": "pull-api-lint", "state": "success"}
            ]})))
            .mount(github)
            .await;
    }

    #[tokio::test]
    async fn a_members_test_and_retest_comments_start_the_named_and_the_failed_or_unreported_jobs() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        pull_request_7(&github, "alice").await;
        Mock::given(method("GET"))
            .and(path("/orgs/example-org/members/alice"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&github)
            .await;
        let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");

        let named = trigger::handle(
            &comment("alice", "/test pull-api-lint").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert_eq!(named.created.len(), 1, "{named:?}");
        assert_eq!(
            job_names(&prowjobs.list(&ListParams::default()).await.unwrap().items),
            ["pull-api-lint"]
        );

        // As upstream: the failed context, plus the automatic job not yet reported on the head
        // SHA (pull-api-e2e); not the passed one.
        let retest = trigger::handle(&comment("alice", "/retest").read(), &caches.ctx, &caches.leading_jobs)
            .await
            .unwrap();
        assert_eq!(retest.created.len(), 2, "{retest:?}");
        let rerun = prowjobs
            .list(&ListParams::default().labels("prow.k8s.io/retest=true"))
            .await
            .unwrap()
            .items;
        assert_eq!(job_names(&rerun), ["pull-api-e2e", "pull-api-unit"]);
    }

    /// A comment that names its job, or holds no command, is decided without the changed files
    /// (the trigger's outcome asks for them only when a judged job filters on them), so GitHub is
    /// not asked for them, though the repository's jobs filter on them.
    #[tokio::test]
    async fn comments_that_judge_no_filtered_job_do_not_read_the_changed_files() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        pull_request_7(&github, "alice").await;
        Mock::given(method("GET"))
            .and(path("/orgs/example-org/members/alice"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/example-org/api/pulls/7/files"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .with_priority(1)
            .expect(0)
            .named("the changed files")
            .mount(&github)
            .await;
        for (body, created) in [("/test pull-api-lint", 1), ("Thanks, looks good.", 0)] {
            let handled = trigger::handle(&comment("alice", body).read(), &caches.ctx, &caches.leading_jobs)
                .await
                .unwrap();
            assert_eq!(handled.created.len(), created, "{body}: {handled:?}");
        }
        github.verify().await;
    }

    #[tokio::test]
    async fn an_outsiders_test_comment_on_an_untrusted_pull_request_gets_the_cannot_trigger_reply() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        pull_request_7(&github, "mallory").await;
        for user in ["mallory"] {
            Mock::given(method("GET"))
                .and(path(format!("/orgs/example-org/members/{user}")))
                .respond_with(ResponseTemplate::new(404))
                .mount(&github)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/repos/example-org/api/collaborators/{user}")))
                .respond_with(ResponseTemplate::new(404))
                .mount(&github)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": 9, "body": "reply", "user": {"login": "prow-bot"}})),
            )
            .expect(1)
            .mount(&github)
            .await;
        let handled = trigger::handle(
            &comment("mallory", "/test all").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert!(handled.created.is_empty());
        assert_eq!(handled.replies.len(), 1);
        assert!(
            handled.replies[0].contains("Cannot trigger testing"),
            "{:?}",
            handled.replies
        );
        let prowjobs: Api<ProwJob> = Api::namespaced(kit.client(), "prow");
        assert!(prowjobs.list(&ListParams::default()).await.unwrap().items.is_empty());
    }

    #[tokio::test]
    async fn the_plugin_configs_trigger_settings_decide_who_is_trusted() {
        let kit = testkit::Testkit::start().await;
        let github = MockServer::start().await;
        let caches = installed_with_github(&kit, &github).await;
        for (user, member, collaborator) in [("carol", 404, 204), ("dependabot[bot]", 404, 404)] {
            Mock::given(method("GET"))
                .and(path(format!("/orgs/example-org/members/{user}")))
                .respond_with(ResponseTemplate::new(member))
                .mount(&github)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/repos/example-org/api/collaborators/{user}")))
                .respond_with(ResponseTemplate::new(collaborator))
                .mount(&github)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/labels"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&github)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/example-org/api/issues/7/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "body": "hi"})))
            .mount(&github)
            .await;

        // Without a PluginConfig, a collaborator is trusted.
        let trusted = trigger::handle(
            &opened("carol", "a1", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert!(!trusted.created.is_empty(), "{trusted:?}");

        // The sample PluginConfig: only_org_members, and dependabot trusted as an app.
        let plugin_config: prow_api::PluginConfig =
            serde_json::from_value(documents(&support::workspace().join("config/samples/pluginconfig.yaml")).remove(0))
                .unwrap();
        Api::<prow_api::PluginConfig>::namespaced(kit.client(), "prow")
            .create(&PostParams::default(), &plugin_config)
            .await
            .unwrap();
        for _ in 0..100 {
            if !caches.ctx.stores.plugin_configs.state().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let collaborator = trigger::handle(
            &opened("carol", "a2", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert!(collaborator.created.is_empty(), "only org members: {collaborator:?}");
        assert_eq!(collaborator.labeled, ["needs-ok-to-test"]);
        assert!(
            collaborator.replies[0].contains("https://github.com/orgs/example-org/people"),
            "{:?}",
            collaborator.replies
        );
        let app = trigger::handle(
            &opened("dependabot[bot]", "a3", "opened").read(),
            &caches.ctx,
            &caches.leading_jobs,
        )
        .await
        .unwrap();
        assert!(!app.created.is_empty(), "a trusted app: {app:?}");
    }
}
