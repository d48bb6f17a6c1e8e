//! The native job engine through the real binary: a pull request's webhook becomes ProwJobs,
//! pods and GitHub statuses; the scenario ends the pods (it patches their status as a kubelet
//! would; on the real control plane kwok runs them and holds them running until then) and plays
//! GitHub (wiremock, keeping the statuses and comments it is sent). Also: a periodic's schedule,
//! sinker, a restart mid-run, and two replicas of which only the Lease holder acts.
//!
//! On a cluster of `E2E_KUBECONFIG` the steps that end pods are skipped: its kubelet runs them.

use std::time::{Duration, Instant};

use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::github::{BASE, HEAD, deliver, installed_with_fake_github, installed_with_fake_github_in};
use crate::harness::{ProwJobCrd, Setup, World, repo};
use crate::install::{installed_in, installed_on_fake};

fn opened() -> Value {
    json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7, "title": "Add an endpoint", "state": "open", "draft": false,
            "html_url": "https://github.com/example-org/api/pull/7",
            "user": {"login": "alice"},
            "labels": [],
            "head": {"ref": "feature", "sha": HEAD, "repo": {"name": "api", "owner": {"login": "alice"}}},
            "base": {"ref": "main", "sha": BASE,
                     "repo": {"name": "api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"}}
        },
        "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}},
        "sender": {"login": "alice"}
    })
}

fn retest() -> Value {
    json!({
        "action": "created",
        "issue": {"number": 7, "state": "open",
                  "pull_request": {"url": "https://api.github.com/repos/example-org/api/pulls/7"}},
        "comment": {"body": "/retest", "user": {"login": "alice"}},
        "repository": {"name": "api", "full_name": "example-org/api", "owner": {"login": "example-org"}, "html_url": "https://github.com/example-org/api"},
        "sender": {"login": "alice"}
    })
}

/// The ProwJob of `job` for pull request 7 that is not complete yet, once it is in `state`.
async fn run_of(world: &World, job: &str, state: &str) -> Value {
    world
        .eventually(&format!("a {state} run of {job}"), || async {
            let runs = world
                .list(
                    "prow.k8s.io/v1",
                    "ProwJob",
                    "prow",
                    &format!("prow.k8s.io/refs.pull=7,prow.k8s.io/job={job}"),
                )
                .await;
            runs.into_iter().find(|r| r["status"]["state"] == state)
        })
        .await
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

pub async fn state_of(world: &World, name: &str, state: &str) -> Value {
    world
        .eventually(&format!("ProwJob {name} {state}"), || async {
            let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", name).await?;
            (job["status"]["state"] == state).then_some(job)
        })
        .await
}

/// Plays the kubelet: the pod's phase, with every container and init container terminated
/// with `exit_code` once it finished.
async fn finish_pod(world: &World, name: &str, phase: &str, exit_code: i32) {
    let pod = world
        .eventually(&format!("pod {name}"), || async {
            world.get("v1", "Pod", "test-pods", name).await
        })
        .await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(world.client.clone(), "test-pods");
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&kubelet_status(&pod, phase, exit_code)),
    )
    .await
    .expect("flip the pod");
}

/// The status patch a kubelet writes for `pod` in `phase`: started now, and once it finished
/// (`Succeeded` or `Failed`) every container and init container terminated with `exit_code`.
pub fn kubelet_status(pod: &Value, phase: &str, exit_code: i32) -> Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let finished = matches!(phase, "Succeeded" | "Failed");
    let containers = |key: &str| -> Vec<Value> {
        pod["spec"][key]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                // Init containers have ended by the time the pod runs.
                let state = match (finished, key) {
                    (true, _) => json!({"terminated": {"exitCode": exit_code, "finishedAt": now}}),
                    (false, "initContainers") => json!({"terminated": {"exitCode": 0, "finishedAt": now}}),
                    (false, _) => json!({"running": {"startedAt": now}}),
                };
                json!({"name": c["name"], "ready": !finished, "restartCount": 0, "image": c["image"], "imageID": "",
                       "state": state})
            })
            .collect()
    };
    json!({"status": {
        "phase": phase, "startTime": now,
        "containerStatuses": containers("containers"),
        "initContainerStatuses": containers("initContainers"),
    }})
}

/// The operator's pod creates on the fake: (made, refused as already there).
fn pod_creates(world: &World) -> (usize, usize) {
    let Some(fake) = world.fake.as_ref() else {
        return (0, 0);
    };
    let creates: Vec<u16> = fake
        .audit()
        .iter()
        .filter(|r| {
            r.verb == testkit::Verb::Create
                && r.rbac_resource() == "pods"
                && r.user_agent.as_deref().is_some_and(|a| a.starts_with("prow-operator/"))
        })
        .map(|r| r.code)
        .collect();
    (
        creates.iter().filter(|c| (200..300).contains(*c)).count(),
        creates.iter().filter(|c| **c == 409).count(),
    )
}

/// The job pods that exist, with `selector`.
async fn job_pods(world: &World, selector: &str) -> usize {
    let selector = format!("created-by-prow=true{selector}");
    world.list("v1", "Pod", "test-pods", &selector).await.len()
}

/// Pull request 7's runs have one pod each, and (where the fake's audit log tells) every pod the
/// operator made still exists: none was made twice.
async fn one_pod_per_run(world: &World, runs: usize) {
    if world.is_fake() {
        let (made, _) = pod_creates(world);
        assert_eq!(made, job_pods(world, "").await, "no pod made twice");
    }
    assert_eq!(job_pods(world, ",prow.k8s.io/refs.pull=7").await, runs);
}

#[tokio::test]
async fn a_pull_request_runs_as_pods_reports_once_and_comments_until_a_retest_passes() {
    let server = MockServer::start().await;
    let (world, github) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    deliver(&world, "pull_request", "e2e-jobs-opened", &opened()).await;
    let unit = name_of(&run_of(&world, "pull-api-unit", "pending").await);
    let lint = name_of(&run_of(&world, "pull-api-lint", "pending").await);
    let e2e = name_of(&run_of(&world, "pull-api-e2e", "pending").await);
    let pending = state_of(&world, &unit, "pending").await;
    assert!(pending["status"]["pendingTime"].is_string());
    assert_eq!(pending["status"]["pod_name"], unit.as_str());
    assert!(pending["status"]["build_id"].as_str().is_some_and(|b| b.len() == 19));
    let pod = world.get("v1", "Pod", "test-pods", &unit).await.expect("the pod");
    assert_eq!(pod["metadata"]["labels"]["prow.k8s.io/id"], unit.as_str());
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    // The sample jobs are decorated: the pod clones, uploads and wraps the test as upstream does.
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        names(&pod["spec"]["initContainers"]),
        ["clonerefs", "initupload", "place-entrypoint"]
    );
    assert_eq!(names(&pod["spec"]["containers"]), ["test", "sidecar"]);
    assert_eq!(pod["spec"]["containers"][0]["command"][0], "/tools/entrypoint");
    world
        .eventually("pending statuses", || async {
            (github.posted("pull-api-unit", "pending") > 0).then_some(())
        })
        .await;

    finish_pod(&world, &unit, "Succeeded", 0).await;
    finish_pod(&world, &lint, "Failed", 1).await;
    finish_pod(&world, &e2e, "Succeeded", 0).await;
    let done = state_of(&world, &unit, "success").await;
    assert!(done["status"]["completionTime"].is_string());
    state_of(&world, &lint, "failure").await;
    let comment = world
        .eventually("the failure comment", || async { github.comments().into_iter().next() })
        .await;
    assert!(comment.contains("<!-- test report -->"), "{comment}");
    assert!(comment.contains("pull-api-lint | 7777777 |"), "{comment}");
    world
        .eventually("the final statuses", || async {
            (github.posted("pull-api-unit", "success") == 1
                && github.posted("pull-api-lint", "failure") == 1
                && github.posted("pull-api-e2e", "success") == 1)
                .then_some(())
        })
        .await;

    // /retest reruns the failed context; it passes and the comment goes.
    deliver(&world, "issue_comment", "e2e-jobs-retest", &retest()).await;
    let rerun = world
        .eventually("the rerun of pull-api-lint", || async {
            let runs = world
                .list(
                    "prow.k8s.io/v1",
                    "ProwJob",
                    "prow",
                    "prow.k8s.io/refs.pull=7,prow.k8s.io/job=pull-api-lint",
                )
                .await;
            runs.into_iter().map(|r| name_of(&r)).find(|n| *n != lint)
        })
        .await;
    finish_pod(&world, &rerun, "Succeeded", 0).await;
    state_of(&world, &rerun, "success").await;
    world
        .eventually("the comment to go", || async {
            github.comments().is_empty().then_some(())
        })
        .await;
    // Each state once: the first run's statuses were not posted again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(github.posted("pull-api-unit", "success"), 1);
    assert_eq!(github.posted("pull-api-lint", "failure"), 1);
    assert_eq!(github.posted("pull-api-lint", "success"), 1);
    one_pod_per_run(&world, 4).await;
}

/// A periodic of its own: undecorated, every minute.
fn every_minute() -> Value {
    json!({
        "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig",
        "metadata": {"name": "every-minute", "namespace": "prow"},
        "spec": {"periodics": [{"name": "every-minute", "interval": "1m",
            "spec": {"containers": [{"image": "alpine:3.20", "command": ["true"]}]}}]}
    })
}

async fn periodic_runs(world: &World) -> Vec<Value> {
    let mut runs = world
        .list("prow.k8s.io/v1", "ProwJob", "prow", "prow.k8s.io/job=every-minute")
        .await;
    runs.sort_by_key(|r| r["status"]["startTime"].as_str().unwrap_or_default().to_string());
    runs
}

fn time_of(job: &Value, field: &str) -> k8s_openapi::jiff::Timestamp {
    job["status"][field]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("a timestamp")
}

#[tokio::test]
async fn a_one_minute_periodic_runs_again_once_it_finished_and_the_minute_passed() {
    let server = MockServer::start().await;
    let (world, _) = installed_with_fake_github(&server, json!({"horologium": {"tick_interval": "1s"}})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    world.apply_value(every_minute()).await;
    let first = world
        .eventually("the first run, at once", || async {
            periodic_runs(&world).await.into_iter().next()
        })
        .await;
    let first_name = name_of(&first);
    state_of(&world, &first_name, "pending").await;
    // Past the minute, but the first run still runs: nothing new.
    let started = time_of(&first, "startTime");
    while k8s_openapi::jiff::Timestamp::now() < started + k8s_openapi::jiff::SignedDuration::from_secs(63) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(periodic_runs(&world).await.len(), 1, "no run while one runs");
    finish_pod(&world, &first_name, "Succeeded", 0).await;
    let finished = state_of(&world, &first_name, "success").await;
    let second = world
        .eventually("the second run", || async {
            periodic_runs(&world).await.into_iter().nth(1)
        })
        .await;
    assert!(time_of(&second, "startTime") >= time_of(&finished, "completionTime"));
    let waited = time_of(&second, "startTime").duration_since(started);
    assert!(waited.as_secs() >= 60, "{waited:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(periodic_runs(&world).await.len(), 2, "one run per due time");
}

#[tokio::test]
async fn sinker_removes_aged_jobs_their_pods_and_orphans() {
    let server = MockServer::start().await;
    let (world, _) = installed_with_fake_github(
        &server,
        json!({"sinker": {"resync_period": "1s", "max_prowjob_age": "1h", "terminated_pod_ttl": "1m"}}),
    )
    .await;
    let long_ago = (k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_hours(3)).to_string();
    for (name, started) in [("aged", long_ago.as_str()), ("recent", "")] {
        let started = if started.is_empty() {
            k8s_openapi::jiff::Timestamp::now().to_string()
        } else {
            started.to_string()
        };
        world
            .apply_value(json!({
                "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
                "metadata": {"name": name, "namespace": "prow", "labels": {"created-by-prow": "true"}},
                "spec": {"type": "presubmit", "job": "pull-api-unit", "agent": "kubernetes"},
                "status": {"state": "success", "startTime": started, "completionTime": started}
            }))
            .await;
    }
    for name in ["aged", "recent", "orphan"] {
        world
            .apply_value(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "test-pods", "labels": {"created-by-prow": "true"}},
                "spec": {"containers": [{"name": "test", "image": "alpine:3.20"}]}
            }))
            .await;
    }
    world
        .eventually("the aged job and its pod to go", || async {
            let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", "aged").await;
            let pod = world.get("v1", "Pod", "test-pods", "aged").await;
            (job.is_none() && pod.is_none()).then_some(())
        })
        .await;
    assert!(
        world.get("prow.k8s.io/v1", "ProwJob", "prow", "recent").await.is_some(),
        "a recent job stays"
    );
    assert!(
        world.get("v1", "Pod", "test-pods", "recent").await.is_some(),
        "its pod too, within terminated_pod_ttl"
    );
    // An orphan is left alone for its first 30 seconds.
    let deadline = Instant::now() + Duration::from_secs(45);
    while world.get("v1", "Pod", "test-pods", "orphan").await.is_some() {
        assert!(
            Instant::now() < deadline,
            "the orphan pod stays\n{}",
            world.operator_log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_restart_mid_run_loses_and_duplicates_nothing() {
    let server = MockServer::start().await;
    let (mut world, github) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    deliver(&world, "pull_request", "e2e-jobs-restart", &opened()).await;
    let unit = name_of(&run_of(&world, "pull-api-unit", "pending").await);
    let runs = world
        .list("prow.k8s.io/v1", "ProwJob", "prow", "prow.k8s.io/refs.pull=7")
        .await
        .len();
    assert!(world.stop_operator().await, "a clean stop\n{}", world.operator_log());
    // The pod finishes while no operator runs.
    finish_pod(&world, &unit, "Succeeded", 0).await;
    world.start_operator();
    state_of(&world, &unit, "success").await;
    world
        .eventually("the success status", || async {
            (github.posted("pull-api-unit", "success") == 1).then_some(())
        })
        .await;
    let after = world
        .list("prow.k8s.io/v1", "ProwJob", "prow", "prow.k8s.io/refs.pull=7")
        .await;
    assert_eq!(after.len(), runs, "no ProwJob lost or made twice");
    one_pod_per_run(&world, runs).await;
}

#[tokio::test]
async fn with_two_replicas_only_the_lease_holder_runs_jobs() {
    let server = MockServer::start().await;
    let (mut world, _) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    world.start_operator();
    deliver(&world, "pull_request", "e2e-jobs-replicas", &opened()).await;
    let unit = name_of(&run_of(&world, "pull-api-unit", "pending").await);
    let runs = world
        .list("prow.k8s.io/v1", "ProwJob", "prow", "prow.k8s.io/refs.pull=7")
        .await
        .len();
    for name in world
        .list("prow.k8s.io/v1", "ProwJob", "prow", "prow.k8s.io/refs.pull=7")
        .await
        .iter()
        .map(name_of)
    {
        state_of(&world, &name, "pending").await;
    }
    one_pod_per_run(&world, runs).await;
    assert_eq!(pod_creates(&world).1, 0, "no replica raced another for a pod");
    let logs = world.operator_log();
    let acting: Vec<&str> = logs
        .split("--- replica ")
        .filter(|replica| replica.contains("pod created"))
        .collect();
    assert_eq!(acting.len(), 1, "only the Lease holder acts\n{logs}");
    // The leader goes; the other replica takes over and finishes the job.
    assert!(world.stop_operator().await);
    finish_pod(&world, &unit, "Succeeded", 0).await;
    state_of(&world, &unit, "success").await;
    one_pod_per_run(&world, runs).await;
}

#[tokio::test]
async fn a_terminated_leader_stops_acting_before_the_next_one_starts() {
    let server = MockServer::start().await;
    let (mut world, github) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    world.start_operator();
    world
        .eventually("the second replica to follow", || async {
            world
                .operator_log()
                .contains("following the current leader")
                .then_some(())
        })
        .await;
    deliver(&world, "pull_request", "e2e-jobs-handover", &opened()).await;
    let unit = name_of(&run_of(&world, "pull-api-unit", "pending").await);
    world
        .eventually("the pending state reported", || async {
            let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", &unit).await?;
            (job["status"]["prev_report_states"]["github-reporter"] == "pending").then_some(())
        })
        .await;
    // GitHub takes the success status at once and answers 2.5 s later: the leader is told to
    // stop while that report is in flight, before it could record it.
    github.set_slow(Some(Duration::from_millis(2500)));
    finish_pod(&world, &unit, "Succeeded", 0).await;
    world
        .eventually("the success status on its way", || async {
            (github.posted("pull-api-unit", "success") == 1).then_some(())
        })
        .await;
    let asked = Instant::now();
    assert!(world.stop_operator().await, "a clean stop\n{}", world.operator_log());
    assert!(asked.elapsed() < Duration::from_secs(5), "{:?}", asked.elapsed());
    // The leader finished the report (and recorded it) before it released the Lease; the next
    // leader, which reports every unreported state it finds, found nothing to report again.
    world
        .eventually("the second replica to lead and look at the jobs", || async {
            let logs = world.operator_log();
            let second = logs.split("--- replica 1 ---").nth(1)?;
            second.contains("job caches filled").then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        github.posted("pull-api-unit", "success"),
        1,
        "the success status was posted by both replicas\n{}",
        world.operator_log()
    );
    let job = state_of(&world, &unit, "success").await;
    assert_eq!(job["status"]["prev_report_states"]["github-reporter"], "success");
}

#[tokio::test]
async fn every_prowjob_the_operator_writes_is_accepted_by_upstreams_crd() {
    // An installation moving from upstream Prow keeps upstream's ProwJob CRD (697 KB, stricter
    // in places than ours): the trigger's creates, the executor's and the reporter's status
    // writes, and the scheduler's periodics must all pass its schema.
    let setup = Setup {
        prowjob_crd: ProwJobCrd::Upstream,
        ..Setup::default()
    };
    let server = MockServer::start().await;
    let world = installed_in(World::start_with(setup).await).await;
    let (world, github) =
        installed_with_fake_github_in(world, &server, json!({"horologium": {"tick_interval": "1s"}})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    let crd = world
        .get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "prowjobs.prow.k8s.io",
        )
        .await
        .expect("the ProwJob CRD");
    assert!(
        crd["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"].is_string(),
        "upstream's CRD (made by controller-gen) is installed"
    );
    deliver(&world, "pull_request", "e2e-upstream-crd-opened", &opened()).await;
    world.apply_value(every_minute()).await;
    let unit = name_of(&run_of(&world, "pull-api-unit", "pending").await);
    let lint = name_of(&run_of(&world, "pull-api-lint", "pending").await);
    let e2e = name_of(&run_of(&world, "pull-api-e2e", "pending").await);
    let periodic = world
        .eventually("the periodic's first run", || async {
            periodic_runs(&world).await.into_iter().next()
        })
        .await;
    let periodic = name_of(&periodic);
    state_of(&world, &periodic, "pending").await;
    finish_pod(&world, &unit, "Succeeded", 0).await;
    finish_pod(&world, &lint, "Failed", 1).await;
    finish_pod(&world, &e2e, "Succeeded", 0).await;
    finish_pod(&world, &periodic, "Succeeded", 0).await;
    let done = state_of(&world, &unit, "success").await;
    assert!(done["status"]["build_id"].is_string() && done["status"]["url"].is_string());
    state_of(&world, &lint, "failure").await;
    state_of(&world, &e2e, "success").await;
    state_of(&world, &periodic, "success").await;
    world
        .eventually("the final statuses and the reporter's record", || async {
            let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", &lint).await?;
            (github.posted("pull-api-lint", "failure") == 1
                && job["status"]["prev_report_states"]["github-reporter"] == "failure")
                .then_some(())
        })
        .await;
    let log = world.operator_log();
    assert!(
        !log.contains("is invalid"),
        "the API server refused a ProwJob write:\n{log}"
    );
}

/// A triggered, undecorated periodic ProwJob named `name`, as `mkpj` would write it.
pub fn direct_prowjob(name: &str) -> Value {
    json!({
        "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
        "metadata": {"name": name, "namespace": "prow",
                     "labels": {"created-by-prow": "true", "prow.k8s.io/type": "periodic", "prow.k8s.io/job": name}},
        "spec": {"type": "periodic", "agent": "kubernetes", "cluster": "default", "namespace": "test-pods",
                 "job": name, "report": false,
                 "pod_spec": {"containers": [{"name": "", "image": "alpine:3.20", "command": ["true"]}]}},
        "status": {"state": "triggered", "startTime": k8s_openapi::jiff::Timestamp::now().to_string()}
    })
}

/// Waits until the ProwJob `name`, whose pod was just deleted, is `error`, or `pending` with a
/// new pod that is not being deleted; returns that state.
async fn settled_after_churn(world: &World, name: &str) -> String {
    world
        .eventually(
            &format!("ProwJob {name} to settle after its pod was deleted"),
            || async {
                let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", name).await?;
                match job["status"]["state"].as_str()? {
                    "error" => Some("error".to_string()),
                    "pending" => {
                        let pod = world.get("v1", "Pod", "test-pods", name).await?;
                        let fresh = pod["metadata"]["deletionTimestamp"].is_null()
                            && pod["metadata"]["labels"]["e2e.prow.dev/churn"].is_null();
                        fresh.then(|| "pending".to_string())
                    }
                    _ => None,
                }
            },
        )
        .await
}

#[tokio::test]
async fn pod_changes_reach_their_prowjobs_after_pods_are_modified_and_deleted_back_to_back() {
    // Issue 16's lost wake-ups: a MODIFIED and a DELETED of one Pod a few milliseconds apart
    // (a label patched, then a forced deletion) once made the executor deaf to every later Pod
    // change. On a real API server this recipe lost them in 6 of 6 tries.
    let server = MockServer::start().await;
    let (world, _) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(world.client.clone(), "test-pods");
    let mut recreated = Vec::new();
    for round in 0..3 {
        let names: Vec<String> = (0..12).map(|i| format!("churn-{round}-{i}")).collect();
        for name in &names {
            world.apply_value(direct_prowjob(name)).await;
        }
        for name in &names {
            state_of(&world, name, "pending").await;
        }
        let churn = names.iter().map(|name| {
            let pods = pods.clone();
            async move {
                let label = json!({"metadata": {"labels": {"e2e.prow.dev/churn": "yes"}}});
                let _ = pods.patch(name, &PatchParams::default(), &Patch::Merge(&label)).await;
                let now = kube::api::DeleteParams {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                };
                let _ = pods.delete(name, &now).await;
            }
        });
        futures::future::join_all(churn).await;
        // Each job hears of its pod's fate: a pod gone at once is made again (the job stays
        // pending, as upstream's plank does); one seen while being deleted ends the job in error.
        for name in &names {
            let settled = settled_after_churn(&world, name).await;
            if settled == "pending" {
                recreated.push(name.clone());
            }
        }
    }
    for name in &recreated {
        finish_pod(&world, name, "Succeeded", 0).await;
        state_of(&world, name, "success").await;
    }
    // Every later Pod change still reaches its ProwJob.
    let later: Vec<String> = (0..6).map(|i| format!("after-churn-{i}")).collect();
    for name in &later {
        world.apply_value(direct_prowjob(name)).await;
    }
    for name in &later {
        state_of(&world, name, "pending").await;
    }
    for name in &later {
        finish_pod(&world, name, "Succeeded", 0).await;
    }
    let finished = Instant::now();
    for name in &later {
        state_of(&world, name, "success").await;
    }
    assert!(
        finished.elapsed() < Duration::from_secs(10),
        "the finished pods took {:?} to reach their ProwJobs",
        finished.elapsed()
    );
}

/// A finished presubmit of pull request 7 that was never reported, as plank leaves it.
fn unreported_presubmit(name: &str) -> Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    json!({
        "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
        "metadata": {"name": name, "namespace": "prow",
                     "labels": {"created-by-prow": "true", "prow.k8s.io/type": "presubmit", "prow.k8s.io/job": name,
                                "prow.k8s.io/refs.org": "example-org", "prow.k8s.io/refs.repo": "api",
                                "prow.k8s.io/refs.pull": "7"}},
        "spec": {"type": "presubmit", "agent": "kubernetes", "cluster": "default", "namespace": "test-pods",
                 "job": name, "context": name, "report": true, "rerun_command": format!("/test {name}"),
                 "refs": {"org": "example-org", "repo": "api", "base_ref": "main", "base_sha": BASE,
                          "pulls": [{"number": 7, "author": "alice", "sha": HEAD}]},
                 "pod_spec": {"containers": [{"name": "", "image": "alpine:3.20", "command": ["true"]}]}},
        "status": {"state": "success", "startTime": now, "completionTime": now, "description": "Job succeeded."}
    })
}

#[tokio::test]
async fn reports_held_back_by_an_outage_are_made_after_the_instance_is_deleted_and_created_again() {
    // Issue 16: with GitHub down, reports are retried; after the ProwInstance was deleted and
    // created again, 40 of 41 unreported ProwJobs were never retried until a restart.
    let server = MockServer::start().await;
    let (world, github) = installed_with_fake_github(&server, json!({})).await;
    github.set_down(true);
    let names: Vec<String> = (0..8).map(|i| format!("held-report-{i}")).collect();
    for name in &names {
        world.apply_value(unreported_presubmit(name)).await;
    }
    // Every report was tried and refused.
    world
        .eventually("every report to be tried during the outage", || async {
            let log = world.operator_log();
            names
                .iter()
                .all(|name| log.contains(&format!("reporting ProwJob prow/{name}")))
                .then_some(())
        })
        .await;
    let mut instance = world
        .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await
        .expect("the instance");
    world
        .delete_and_wait("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await;
    // The retries that come while there is no instance (1 s, doubling) find nothing to report for.
    tokio::time::sleep(Duration::from_secs(8)).await;
    instance["metadata"] = json!({"name": "prow", "namespace": "prow"});
    instance.as_object_mut().map(|o| o.remove("status"));
    world.apply_value(instance).await;
    github.set_down(false);
    world
        .eventually("every held report to be made once GitHub is back", || async {
            names
                .iter()
                .all(|name| github.posted(name, "success") == 1)
                .then_some(())
        })
        .await;
    // The record follows the status it was made for.
    for name in &names {
        world
            .eventually(&format!("the report of {name} to be recorded"), || async {
                let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", name).await?;
                (job["status"]["prev_report_states"]["github-reporter"] == "success").then_some(())
            })
            .await;
    }
}

/// Creates `objects` while the ProwJob CRD takes anything (as an older, looser CRD did), then
/// puts upstream's CRD back: the API server keeps serving what it stored meanwhile.
async fn store_under_a_loose_crd(world: &World, objects: &[Value]) {
    let upstream = repo().join("../shared/upstream/prowjob_customresourcedefinition.yaml");
    let mut crd = prow_api::yaml::load_documents(&std::fs::read_to_string(&upstream).unwrap())
        .unwrap()
        .values
        .remove(0);
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] =
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    world.apply_value(crd).await;
    let prowjobs: Api<kube::api::DynamicObject> = Api::namespaced_with(
        world.client.clone(),
        "prow",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("prow.k8s.io", "v1", "ProwJob"),
            "prowjobs",
        ),
    );
    for object in objects {
        let name = object["metadata"]["name"].as_str().unwrap();
        let object: kube::api::DynamicObject = serde_json::from_value(object.clone()).unwrap();
        // The API server takes a moment to serve the looser schema.
        world
            .eventually(&format!("the malformed ProwJob {name} to be stored"), || async {
                prowjobs.create(&Default::default(), &object).await.ok()
            })
            .await;
    }
    world.apply_file(&upstream).await;
}

/// ProwJobs upstream's CRD refuses today but an API server may still hold: no `status.state`,
/// a number for `spec.type`, a `status.startTime` that is not a time.
fn malformed_prowjobs(prefix: &str) -> Vec<Value> {
    let mut no_state = direct_prowjob(&format!("{prefix}-no-state"));
    no_state["status"] = json!({"startTime": k8s_openapi::jiff::Timestamp::now().to_string()});
    let mut wrong_type = direct_prowjob(&format!("{prefix}-wrong-type"));
    wrong_type["spec"]["type"] = json!(5);
    let mut not_a_time = direct_prowjob(&format!("{prefix}-not-a-time"));
    not_a_time["status"]["startTime"] = json!("yesterday");
    vec![no_state, wrong_type, not_a_time]
}

#[tokio::test]
async fn malformed_prowjobs_and_a_foreign_pod_stop_no_other_job() {
    // Issue 16: one ProwJob the operator cannot read (listed at start, or arriving later) or a
    // Pod it did not make that carries `prow.k8s.io/id` must stop no watch, cache or loop.
    let setup = Setup {
        prowjob_crd: ProwJobCrd::Upstream,
        ..Setup::default()
    };
    let world = World::start_with(setup).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    store_under_a_loose_crd(&world, &malformed_prowjobs("listed")).await;
    let server = MockServer::start().await;
    let world = installed_in(world).await;
    let (world, _) = installed_with_fake_github_in(world, &server, json!({})).await;
    world.apply_value(direct_prowjob("first")).await;
    state_of(&world, "first", "pending").await;
    store_under_a_loose_crd(&world, &malformed_prowjobs("watched")).await;
    let foreign = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "not-a-job-pod", "namespace": "test-pods",
                     "labels": {"prow.k8s.io/id": "first", "created-by-prow": "true"}},
        "spec": {"containers": [{"name": "main", "image": "alpine:3.20"}]}
    });
    world.apply_value(foreign).await;
    world.apply_value(direct_prowjob("second")).await;
    state_of(&world, "second", "pending").await;
    for name in ["first", "second"] {
        finish_pod(&world, name, "Succeeded", 0).await;
        state_of(&world, name, "success").await;
    }
    // One Warning per malformed ProwJob, naming what is wrong, however often it is listed.
    for (name, what) in [
        ("listed-no-state", "status.state"),
        ("listed-wrong-type", "spec.type"),
        ("listed-not-a-time", "status.startTime"),
        ("watched-no-state", "status.state"),
        ("watched-wrong-type", "spec.type"),
        ("watched-not-a-time", "status.startTime"),
    ] {
        let event = world
            .eventually(&format!("a Warning Event about ProwJob {name}"), || async {
                let events = world.list("events.k8s.io/v1", "Event", "prow", "").await;
                events
                    .into_iter()
                    .find(|e| e["regarding"]["name"] == name && e["type"] == "Warning")
            })
            .await;
        let note = event["note"].as_str().unwrap_or_default();
        assert!(note.contains(what), "{name}: {note}");
    }
    let log = world.operator_log();
    for name in ["listed-wrong-type", "watched-not-a-time"] {
        let warnings = log
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&format!("prow/{name}")))
            .count();
        assert_eq!(warnings, 1, "one warning about {name}:\n{log}");
    }
}

/// [`direct_prowjob`] as a run of `job`, at most one of which runs at a time.
fn one_at_a_time(name: &str, job: &str) -> Value {
    let mut run = direct_prowjob(name);
    run["metadata"]["labels"]["prow.k8s.io/job"] = json!(job);
    run["spec"]["job"] = json!(job);
    run["spec"]["max_concurrency"] = json!(1);
    run
}

#[tokio::test]
async fn a_job_waiting_for_a_concurrency_slot_holds_up_no_other_job_and_no_stop() {
    // Found by the randomized scenario (issue 16): a limited job that had to wait kept the
    // admission lock for 10 s, waiting for the cache to show it started, which it never would.
    // Every other limited job waited behind it, and SIGTERM took 10 s, 20 s, as many as waited.
    let server = MockServer::start().await;
    let (mut world, _) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    world.apply_value(one_at_a_time("slot-holder", "one-at-a-time")).await;
    state_of(&world, "slot-holder", "pending").await;
    world.apply_value(one_at_a_time("slot-waiter", "one-at-a-time")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    world.apply_value(one_at_a_time("free-to-run", "another-job")).await;
    let created = Instant::now();
    state_of(&world, "free-to-run", "pending").await;
    assert!(
        created.elapsed() < Duration::from_secs(2),
        "a job with a free slot waited {:?} behind one without",
        created.elapsed()
    );
    let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", "slot-waiter").await;
    assert_eq!(job.expect("the waiting job")["status"]["state"], "triggered");
    let asked = Instant::now();
    assert!(world.stop_operator().await, "a clean stop\n{}", world.operator_log());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "SIGTERM took {:?} while a job waited for its slot",
        asked.elapsed()
    );
    // The slot frees: the waiting job runs.
    world.start_operator();
    finish_pod(&world, "slot-holder", "Succeeded", 0).await;
    state_of(&world, "slot-waiter", "pending").await;
}

#[tokio::test]
async fn a_job_waiting_for_its_slot_starts_as_soon_as_the_slot_frees() {
    // A queued job was looked at again every 10 s: when the run ahead of it finished, it waited
    // for that poll instead of starting.
    let server = MockServer::start().await;
    let (world, _) = installed_with_fake_github(&server, json!({})).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet.
    }
    world.apply_value(one_at_a_time("queue-head", "one-by-one")).await;
    state_of(&world, "queue-head", "pending").await;
    world.apply_value(one_at_a_time("queued", "one-by-one")).await;
    world
        .eventually("the queued job to wait for its slot", || async {
            let logs = world.operator_log();
            logs.lines()
                .any(|l| l.contains("waiting for a concurrency slot") && l.contains("queued"))
                .then_some(())
        })
        .await;
    finish_pod(&world, "queue-head", "Succeeded", 0).await;
    state_of(&world, "queue-head", "success").await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while world.get("v1", "Pod", "test-pods", "queued").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the queued job had no Pod 3 s after the run ahead of it finished\n{}",
            world.operator_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    state_of(&world, "queued", "pending").await;
}

#[tokio::test]
async fn a_status_whose_record_failed_is_recorded_without_being_posted_again() {
    // Found by the randomized scenario (issue 16): the reporter posted a status, the API server
    // refused the write of prev_report_states (a 500), and the retry posted the status again.
    let server = MockServer::start().await;
    let (world, github) = installed_with_fake_github_in(installed_on_fake().await, &server, json!({})).await;
    let faults = world.fake.as_ref().expect("a world on testkit").faults();
    faults.inject(
        testkit::Fault::status(500)
            .verb(testkit::Verb::Patch)
            .resource("prowjobs")
            .times(2),
    );
    // Created, not applied: an apply is a patch, which the faults would answer.
    let prowjobs: Api<prow_api::ProwJob> = Api::namespaced(world.client.clone(), "prow");
    let job = serde_json::from_value(unreported_presubmit("recorded-after-a-500")).expect("a ProwJob");
    prowjobs.create(&Default::default(), &job).await.expect("create");
    world
        .eventually("the report to be recorded", || async {
            let job = world
                .get("prow.k8s.io/v1", "ProwJob", "prow", "recorded-after-a-500")
                .await?;
            (job["status"]["prev_report_states"]["github-reporter"] == "success").then_some(())
        })
        .await;
    assert_eq!(faults.pending(), 0, "both records were refused");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(github.posted("recorded-after-a-500", "success"), 1, "posted once");
}

#[tokio::test]
async fn a_report_that_went_stale_while_github_retried_leaves_the_newer_record_alone() {
    // Found by the randomized scenario (issue 16): the report of `pending` was retrying through
    // a GitHub outage when a newer run aborted the job (recording the abort as reported, as
    // upstream's plank does); the stale report then recorded `pending` over it, and the abort was
    // posted as a failure on the context the newer run now reports on.
    let server = MockServer::start().await;
    let (world, github) = installed_with_fake_github(&server, json!({})).await;
    github.set_down(true);
    let mut job = unreported_presubmit("stale-report");
    job["status"] = json!({"state": "pending", "startTime": k8s_openapi::jiff::Timestamp::now().to_string(),
                           "description": "Job triggered."});
    world.apply_value(job).await;
    world
        .eventually("the pending report to retry", || async {
            world.operator_log().contains("retrying GitHub request").then_some(())
        })
        .await;
    let superseded = json!({"status": {
        "state": "aborted", "completionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
        "description": "Aborted as the newer version of this job is running.",
        "prev_report_states": {"github-reporter": "aborted"}}});
    let prowjobs: Api<prow_api::ProwJob> = Api::namespaced(world.client.clone(), "prow");
    prowjobs
        .patch("stale-report", &PatchParams::default(), &Patch::Merge(&superseded))
        .await
        .expect("abort");
    github.set_down(false);
    world
        .eventually("the stale report to be made", || async {
            (github.posted("stale-report", "pending") > 0).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = world
        .get("prow.k8s.io/v1", "ProwJob", "prow", "stale-report")
        .await
        .expect("the job");
    assert_eq!(job["status"]["prev_report_states"]["github-reporter"], "aborted");
    assert_eq!(github.posted("stale-report", "failure"), 0, "the abort is not posted");
}
