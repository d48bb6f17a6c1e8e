//! The sample instance wired to a fake GitHub (wiremock), and signed webhook deliveries: what the
//! trigger and job-engine scenarios share.

use kube::Api;
use kube::api::{Patch, PatchParams};
use prow_api::ProwInstance;
use prow_operator::webhook::signature::sign;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{World, http_post, logged_address};
use crate::install::{installed, sample_secrets, wait_applied};

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
