//! Native label sync on the real control plane, GitHub faked by wiremock with the labels API's
//! REST shapes: the sample LabelSet synced to `website` (an old name renamed in place, a case
//! drift repaired, an unknown label left alone, the rest created), `api` refusing access next to
//! it without stopping it, status per repository, Events, and an edit of the LabelSet syncing both
//! once `api` is readable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::github::installed_with_github;
use crate::harness::{World, condition};

/// The labels of each repository (`None`: the token may not read it, 403).
#[derive(Clone, Default)]
struct FakeLabels(Arc<Mutex<BTreeMap<String, Option<Vec<Value>>>>>);

fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Ok(byte) = u8::from_str_radix(&segment[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FakeLabels {
    fn set(&self, repo: &str, labels: Option<Vec<Value>>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.into(), labels);
    }

    fn names(&self, repo: &str) -> Vec<String> {
        let repos = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = repos[repo]
            .iter()
            .flatten()
            .map(|l| l["name"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    }
}

impl Respond for FakeLabels {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let parts: Vec<&str> = request.url.path().split('/').collect();
        // ["", "repos", "example-org", repo, "labels", name?]
        let (repo, name) = (parts[3].to_string(), parts.get(5).map(|n| decode(n)));
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut repos = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(Some(labels)) = repos.get_mut(&repo) else {
            return ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Must have admin rights to Repository."}));
        };
        let position = name.as_ref().and_then(|n| {
            labels
                .iter()
                .position(|l| l["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(n)))
        });
        match (request.method.as_str(), position) {
            ("GET", _) => ResponseTemplate::new(200).set_body_json(labels.clone()),
            ("POST", _) => {
                let label = json!({"name": body["name"], "color": body.get("color").cloned().unwrap_or(json!("ededed")),
                                   "description": body["description"], "default": false});
                labels.push(label.clone());
                ResponseTemplate::new(201).set_body_json(label)
            }
            ("PATCH", Some(i)) => {
                let label = &mut labels[i];
                label["name"] = body["new_name"].clone();
                label["description"] = body["description"].clone();
                if let Some(color) = body.get("color") {
                    label["color"] = color.clone();
                }
                ResponseTemplate::new(200).set_body_json(label.clone())
            }
            ("DELETE", Some(i)) => {
                labels.remove(i);
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

fn github_label(name: &str, color: &str, description: &str) -> Value {
    json!({"id": 1, "name": name, "color": color, "description": description, "default": true})
}

async fn label_set(world: &World) -> Value {
    world
        .get("operator.prow.dev/v1alpha1", "LabelSet", "prow", "example-org")
        .await
        .unwrap_or(Value::Null)
}

fn repo_status<'a>(set: &'a Value, repo: &str) -> Option<&'a Value> {
    set["status"]["repos"].as_array()?.iter().find(|r| r["repo"] == repo)
}

#[tokio::test]
async fn label_sets_are_synced_per_repository_and_one_failing_does_not_stop_the_other() {
    let github = MockServer::start().await;
    let fake = FakeLabels::default();
    fake.set(
        "website",
        Some(vec![
            github_label("bug", "d73a4a", "Something isn't working"),
            github_label("wontfix", "ffffff", "This will not be worked on"),
            github_label("LGTM", "15dd18", ""),
        ]),
    );
    fake.set("api", None);
    Mock::given(path_regex("^/repos/example-org/[^/]+/labels"))
        .respond_with(fake.clone())
        .mount(&github)
        .await;
    let world = installed_with_github(&github, json!({})).await;

    let set = world
        .eventually("LabelSet example-org synced to 1 of 2 repositories", || async {
            let set = label_set(&world).await;
            (set["status"]["repositoriesSynced"] == "1/2").then_some(set)
        })
        .await;
    let website = repo_status(&set, "example-org/website").expect("website's status");
    assert_eq!(website["state"], "Synced");
    // bug -> kind/bug and LGTM -> lgtm are renames; the other sample labels are created.
    assert_eq!(website["renamed"], 2, "{website}");
    assert!(website["created"].as_i64().unwrap_or(0) > 5, "{website}");
    assert!(website["lastSyncTime"].is_string());
    let api = repo_status(&set, "example-org/api").expect("api's status");
    assert_eq!(api["state"], "Failed");
    let error = api["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("HTTP 403") && error.contains("example-org/api"),
        "{error}"
    );
    let (stalled, reason, message) = condition(&set, "Stalled").expect("a Stalled condition");
    assert_eq!((stalled.as_str(), reason.as_str()), ("True", "SyncFailed"), "{message}");

    let names = fake.names("website");
    for name in ["kind/bug", "lgtm", "wontfix", "size/XS", "needs-ok-to-test"] {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n == "bug" || n == "LGTM"), "{names:?}");
    let events = world.list("events.k8s.io/v1", "Event", "prow", "").await;
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["regarding"]["kind"] == "LabelSet")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"LabelsSynced") && reasons.contains(&"LabelSyncFailed"),
        "{reasons:?}"
    );

    // The token may read api now, and a new LabelSet adds a default label: what both repositories
    // should have changed, so both are visited at once (not at api's retry or the next full
    // pass), and the LabelSet is Ready.
    fake.set("api", Some(vec![]));
    world
        .apply_value(json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "LabelSet",
            "metadata": {"name": "e2e-extra", "namespace": "prow"},
            "spec": {"default": {"labels": [{"name": "area/docs", "color": "0052cc"}]}},
        }))
        .await;
    world
        .eventually("both repositories synced, with area/docs", || async {
            let set = label_set(&world).await;
            let ready = condition(&set, "Ready").is_some_and(|(status, _, _)| status == "True");
            (set["status"]["repositoriesSynced"] == "2/2"
                && ready
                && fake.names("website").iter().any(|n| n == "area/docs")
                && fake.names("api").iter().any(|n| n == "kind/bug"))
            .then_some(())
        })
        .await;
    let extra = world
        .eventually("the new LabelSet's own status", || async {
            let extra = world
                .get("operator.prow.dev/v1alpha1", "LabelSet", "prow", "e2e-extra")
                .await?;
            (extra["status"]["repositoriesSynced"] == "2/2").then_some(extra)
        })
        .await;
    assert_eq!(extra["status"]["repos"][1]["state"], "Synced");
}
