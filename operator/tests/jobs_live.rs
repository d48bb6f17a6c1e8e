//! The native job loops against testkit and a wiremock GitHub: ProwJobs become pods and follow
//! them to their result, each state is reported once, the failure comment comes and goes,
//! periodics start on time and once, sinker removes what aged, and a restart loses and
//! duplicates nothing. Time is a test clock the loops read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use prow_api::job::{Pull, Refs};
use prow_api::{JobConfig, ProwInstance, ProwJob, ProwJobState};
use prow_operator::controller::jobs::{self, Clock, Jobs};
use prow_operator::controller::manager::{Caches, Settings};
use prow_operator::engine::prowjob::{self, Creation};
use prow_operator::http::metrics::Metrics;
use prow_operator::render::OperatorWebhook;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A clock the test moves.
struct TestClock(Mutex<Timestamp>);

impl TestClock {
    fn at(now: Timestamp) -> Arc<TestClock> {
        Arc::new(TestClock(Mutex::new(now)))
    }

    fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// What the fake GitHub saw and holds.
#[derive(Default)]
struct GitHubState {
    /// (sha, context, state, description) of every status posted.
    statuses: Vec<(String, String, String, String)>,
    /// Comments on pull request 7: (id, author, body).
    comments: Vec<(u64, String, String)>,
    next_id: u64,
    /// How many status posts fail with 500 before GitHub recovers.
    outage: usize,
}

#[derive(Clone, Default)]
struct FakeGitHub(Arc<Mutex<GitHubState>>);

impl FakeGitHub {
    fn statuses(&self, context: &str) -> Vec<String> {
        let state = self.0.lock().unwrap();
        state
            .statuses
            .iter()
            .filter(|s| s.1 == context)
            .map(|s| s.2.clone())
            .collect()
    }

    fn comments(&self) -> Vec<String> {
        self.0.lock().unwrap().comments.iter().map(|c| c.2.clone()).collect()
    }
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let path = request.url.path().to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let comment = |id: u64, author: &str, body: &str| json!({"id": id, "user": {"login": author}, "body": body});
        match (request.method.as_str(), path.as_str()) {
            ("POST", p) if p.contains("/statuses/") => {
                if state.outage > 0 {
                    state.outage -= 1;
                    return ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"}));
                }
                let sha = p.rsplit('/').next().unwrap_or_default().to_string();
                let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
                state
                    .statuses
                    .push((sha, text("context"), text("state"), text("description")));
                ResponseTemplate::new(201).set_body_json(json!({}))
            }
            ("GET", p) if p.ends_with("/issues/7/comments") => {
                let list: Vec<Value> = state.comments.iter().map(|(id, a, b)| comment(*id, a, b)).collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("POST", p) if p.ends_with("/issues/7/comments") => {
                state.next_id += 1;
                let id = state.next_id;
                let text = body["body"].as_str().unwrap_or_default().to_string();
                state.comments.push((id, "prow-bot".into(), text.clone()));
                ResponseTemplate::new(201).set_body_json(comment(id, "prow-bot", &text))
            }
            (verb, p) if p.contains("/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
                if verb == "DELETE" {
                    state.comments.retain(|c| c.0 != id);
                    return ResponseTemplate::new(204);
                }
                let text = body["body"].as_str().unwrap_or_default().to_string();
                for c in state.comments.iter_mut().filter(|c| c.0 == id) {
                    c.2 = text.clone();
                }
                ResponseTemplate::new(200).set_body_json(comment(id, "prow-bot", &text))
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

fn documents(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    prow_api::yaml::load_documents(&text).unwrap().values
}

/// The jobs of these tests: an undecorated presubmit of example-org/api, and whatever the test
/// adds.
fn job_config(extra: Value) -> JobConfig {
    let mut spec = json!({
        "presubmits": {"example-org/api": [{
            "name": "pull-api-unit", "always_run": true,
            "spec": {"containers": [{"image": "golang:1.22", "command": ["make", "test"]}]}
        }]}
    });
    spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig",
        "metadata": {"name": "jobs", "namespace": "prow"}, "spec": spec
    }))
    .unwrap()
}

struct World {
    kit: testkit::Testkit,
    github: FakeGitHub,
    _server: MockServer,
    caches: Caches,
    clock: Arc<TestClock>,
    running: Option<(Arc<Jobs>, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
    t0: Timestamp,
}

/// The test clock starts at the real time, which the fake stamps objects with.
fn t0() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

impl World {
    /// testkit with the CRDs, the sample instance (token auth against the fake GitHub, the
    /// `config` overlay given) and the test's JobConfig, the operator's caches, and the job loops
    /// running on a clock at [`t0`].
    async fn start(config: Value, jobs: JobConfig) -> World {
        let kit = testkit::Testkit::start().await;
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
        for name in ["prow", "test-pods"] {
            let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
            namespaces.create(&PostParams::default(), &namespace).await.unwrap();
        }
        let server = MockServer::start().await;
        let github = FakeGitHub::default();
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "prow-bot", "id": 1})))
            .mount(&server)
            .await;
        Mock::given(path_regex("^/repos/example-org/api/"))
            .respond_with(github.clone())
            .mount(&server)
            .await;
        let token: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
            "metadata": {"name": "gh-token", "namespace": "prow"}, "data": {"token": "dGVzdC10b2tlbg=="}
        }))
        .unwrap();
        Api::namespaced(client.clone(), "prow")
            .create(&PostParams::default(), &token)
            .await
            .unwrap();
        let samples = support::workspace().join("config/samples");
        let mut instance = documents(&samples.join("prowinstance.yaml")).remove(0);
        instance["spec"]["github"]["auth"] = json!({"token": {"secretRef": {"name": "gh-token", "key": "token"}}});
        instance["spec"]["github"]["apiUrl"] = json!(server.uri());
        instance["spec"]["config"] = config;
        let instance: ProwInstance = serde_json::from_value(instance).unwrap();
        Api::<ProwInstance>::namespaced(client.clone(), "prow")
            .create(&PostParams::default(), &instance)
            .await
            .unwrap();
        Api::<JobConfig>::namespaced(client.clone(), "prow")
            .create(&PostParams::default(), &jobs)
            .await
            .unwrap();
        let caches = Caches::start(
            client,
            Arc::new(Metrics::default()),
            Settings {
                webhook: OperatorWebhook::in_namespace("prow-operator-system"),
                identity: "test".into(),
                label_sync_full_pass: prow_operator::labelsync::schedule::DEFAULT_FULL_PASS,
            },
        )
        .await
        .unwrap();
        let t0 = t0();
        let mut world = World {
            kit,
            github,
            _server: server,
            caches,
            clock: TestClock::at(t0),
            running: None,
            t0,
        };
        world.start_loops().await;
        world
    }

    async fn start_loops(&mut self) {
        let (jobs, feeds) = Jobs::start(self.caches.ctx.clone(), &self.caches.leading_jobs, self.clock.clone())
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(jobs.clone().run(feeds, async move {
            let _ = stopped.await;
        }));
        self.running = Some((jobs, stop, task));
    }

    /// Stops the loops, as a replica that lost the Lease or stopped.
    async fn stop_loops(&mut self) {
        let (_, stop, task) = self.running.take().unwrap();
        let _ = stop.send(());
        task.await.unwrap();
    }

    fn jobs(&self) -> &Jobs {
        &self.running.as_ref().unwrap().0
    }

    fn prowjobs(&self) -> Api<ProwJob> {
        Api::namespaced(self.kit.client(), "prow")
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.kit.client(), "test-pods")
    }

    /// Creates a triggered presubmit of pull-api-unit for pull request `pull` at `sha`.
    async fn presubmit(&self, name: &str, pull: i64, sha: &str, extra: Value) -> ProwJob {
        let mut job = json!({"name": "pull-api-unit", "always_run": true,
                             "spec": {"containers": [{"image": "golang:1.22", "command": ["make", "test"]}]}});
        job.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let refs = Refs {
            org: "example-org".into(),
            repo: "api".into(),
            base_ref: Some("main".into()),
            base_sha: Some("base0000".into()),
            pulls: Some(vec![Pull {
                number: pull,
                author: "alice".into(),
                sha: sha.into(),
                ..Pull::default()
            }]),
            ..Refs::default()
        };
        let creation = Creation {
            name: name.into(),
            namespace: "prow".into(),
            start_time: Time(self.clock.now()),
            extra_labels: BTreeMap::new(),
            decorate_all_jobs: false,
            generate_name: false,
            presets: Default::default(),
            defaults: Default::default(),
            from_event: true,
        };
        let job = prowjob::presubmit(&serde_json::from_value(job).unwrap(), refs, &creation);
        self.prowjobs().create(&PostParams::default(), &job).await.unwrap()
    }

    async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        for _ in 0..400 {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Waits until GitHub was sent `state` for the status `context` (`what` names the wait).
    async fn status_posted(&self, context: &str, state: &str, what: &str) {
        self.eventually(what, || async {
            self.github.statuses(context).contains(&state.to_string()).then_some(())
        })
        .await
    }

    async fn job(&self, name: &str) -> ProwJob {
        self.prowjobs().get(name).await.unwrap()
    }

    async fn state_of(&self, name: &str, state: ProwJobState) -> ProwJob {
        self.eventually(&format!("{name} to be {state:?}"), || async {
            let job = self.prowjobs().get_opt(name).await.unwrap()?;
            (job.status.as_ref()?.state == state).then_some(job)
        })
        .await
    }

    async fn pod(&self, name: &str) -> Pod {
        self.eventually(&format!("pod {name}"), || async {
            self.pods().get_opt(name).await.unwrap()
        })
        .await
    }

    /// Plays the kubelet: the pod's phase, and its test container's exit code once finished.
    async fn set_phase(&self, name: &str, phase: &str, exit_code: i32) {
        let started = self.clock.now().to_string();
        let mut status = json!({"phase": phase, "startTime": started});
        if phase == "Succeeded" || phase == "Failed" {
            status["containerStatuses"] = json!([{"name": "test", "ready": false, "restartCount": 0, "image": "golang:1.22", "imageID": "",
                "state": {"terminated": {"exitCode": exit_code, "finishedAt": started}}}]);
        }
        self.pods()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "status": status })),
            )
            .await
            .unwrap();
    }

    /// Touches a pod, so its job is looked at now (the loops wait for deadlines in real time;
    /// the test moves its clock instead).
    async fn poke(&self, name: &str) {
        let patch = json!({"metadata": {"annotations": {"test/poked": self.clock.now().to_string()}}});
        self.pods()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    fn pod_creates(&self) -> usize {
        self.kit
            .audit()
            .iter()
            .filter(|r| r.verb == testkit::Verb::Create && r.rbac_resource() == "pods")
            .count()
    }
}

#[tokio::test]
async fn a_presubmit_runs_as_a_pod_and_each_state_is_reported_once() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world.presubmit("run-1", 7, "head1111", json!({})).await;

    let pod = world.pod("run-1").await;
    assert_eq!(pod.labels()["created-by-prow"], "true");
    assert_eq!(pod.labels()["prow.k8s.io/id"], "run-1");
    let pending = world.state_of("run-1", ProwJobState::Pending).await;
    let status = pending.status.as_ref().unwrap();
    assert_eq!(status.pod_name.as_deref(), Some("run-1"));
    assert!(status.pending_time.is_some());
    let build_id = status.build_id.clone().unwrap();
    assert_eq!(pod.labels()["prow.k8s.io/build-id"], build_id);
    assert_eq!(status.description.as_deref(), Some("Job triggered."));
    world
        .status_posted("pull-api-unit", "pending", "a pending status")
        .await;

    world.set_phase("run-1", "Running", 0).await;
    world.set_phase("run-1", "Succeeded", 0).await;
    let done = world.state_of("run-1", ProwJobState::Success).await;
    let status = done.status.as_ref().unwrap();
    assert!(status.completion_time.is_some(), "a final state sets completionTime");
    assert_eq!(status.description.as_deref(), Some("Job succeeded."));
    assert_eq!(status.build_id.as_deref(), Some(build_id.as_str()));
    world
        .eventually("the success recorded as reported", || async {
            let job = world.job("run-1").await;
            let reported = job.status?.prev_report_states?.get("github-reporter").copied();
            (reported == Some(ProwJobState::Success)).then_some(())
        })
        .await;
    let posted = world.github.statuses("pull-api-unit");
    assert_eq!(posted.iter().filter(|s| *s == "success").count(), 1, "{posted:?}");
    let state = world.github.0.lock().unwrap();
    let last = state.statuses.last().unwrap();
    assert_eq!(last.0, "head1111", "reported on the pull request's head");
    assert!(last.3.ends_with("Job succeeded. BaseSHA:base0000"), "{:?}", last.3);
    assert!(state.comments.is_empty(), "nothing failed: no comment");
    drop(state);
    assert_eq!(world.pod_creates(), 1, "one pod for one run");
}

#[tokio::test]
async fn a_failure_comments_and_a_passing_retest_removes_the_comment() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world.presubmit("run-1", 7, "head1111", json!({})).await;
    world.pod("run-1").await;
    world.set_phase("run-1", "Failed", 1).await;
    world.state_of("run-1", ProwJobState::Failure).await;
    let comment = world
        .eventually("the failure comment", || async {
            world.github.comments().into_iter().next()
        })
        .await;
    assert!(comment.contains("<!-- test report -->"), "{comment}");
    assert!(comment.contains("pull-api-unit | head111 |"), "{comment}");
    assert!(comment.contains("`/test pull-api-unit`"), "{comment}");
    assert!(world.github.statuses("pull-api-unit").contains(&"failure".to_string()));

    // /retest: a new run of the same commit passes; the comment goes.
    world.presubmit("run-2", 7, "head1111", json!({})).await;
    world.pod("run-2").await;
    world.set_phase("run-2", "Succeeded", 0).await;
    world.state_of("run-2", ProwJobState::Success).await;
    world
        .eventually("the comment to go", || async {
            world.github.comments().is_empty().then_some(())
        })
        .await;
    let posted = world.github.statuses("pull-api-unit");
    assert_eq!(posted.iter().filter(|s| *s == "failure").count(), 1, "{posted:?}");
    assert_eq!(posted.iter().filter(|s| *s == "success").count(), 1, "{posted:?}");
}

#[tokio::test]
async fn a_github_outage_delays_the_report_and_loses_none() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world.github.0.lock().unwrap().outage = 4;
    world.presubmit("run-1", 7, "head1111", json!({})).await;
    world.pod("run-1").await;
    world.set_phase("run-1", "Succeeded", 0).await;
    world.state_of("run-1", ProwJobState::Success).await;
    world
        .status_posted("pull-api-unit", "success", "the success status after the outage")
        .await;
    assert_eq!(world.github.0.lock().unwrap().outage, 0, "every failure was met");
}

#[tokio::test]
async fn a_restart_mid_run_loses_and_duplicates_nothing() {
    let mut world = World::start(json!({}), job_config(json!({}))).await;
    world.presubmit("run-1", 7, "head1111", json!({})).await;
    world.state_of("run-1", ProwJobState::Pending).await;
    world.stop_loops().await;

    // While no replica leads, the pod finishes; a ProwJob also arrives whose pod was made just
    // before the previous leader stopped (it never recorded it).
    world.set_phase("run-1", "Succeeded", 0).await;
    world.presubmit("run-2", 8, "head2222", json!({})).await;
    let orphan_of_crash: Pod = serde_json::from_value(json!({
        "metadata": {"name": "run-2", "namespace": "test-pods",
                     "labels": {"created-by-prow": "true", "prow.k8s.io/id": "run-2", "prow.k8s.io/build-id": "77"}},
        "spec": {"containers": [{"name": "test", "image": "golang:1.22"}]}
    }))
    .unwrap();
    world
        .pods()
        .create(&PostParams::default(), &orphan_of_crash)
        .await
        .unwrap();
    let creates_before = world.pod_creates();

    world.start_loops().await;
    world.state_of("run-1", ProwJobState::Success).await;
    let adopted = world.state_of("run-2", ProwJobState::Pending).await;
    assert_eq!(
        adopted.status.unwrap().build_id.as_deref(),
        Some("77"),
        "the existing pod is adopted with its build id"
    );
    world
        .status_posted("pull-api-unit", "success", "run-1's success reported")
        .await;
    assert_eq!(world.pod_creates(), creates_before, "no pod made twice");
    assert_eq!(
        world.prowjobs().list(&ListParams::default()).await.unwrap().items.len(),
        2
    );
}

#[tokio::test]
async fn timeouts_duplicates_limits_and_refusals() {
    let world = World::start(
        json!({"plank": {"pod_unscheduled_timeout": "5m"}}),
        job_config(json!({})),
    )
    .await;

    // A newer run of the same pull request aborts the older one, whose pod goes.
    world.presubmit("old", 7, "head1111", json!({})).await;
    world.pod("old").await;
    world.set_phase("old", "Running", 0).await;
    world.clock.advance(SignedDuration::from_secs(1));
    world.presubmit("new", 7, "head2222", json!({})).await;
    world.state_of("old", ProwJobState::Aborted).await;
    let status = world
        .eventually("the abort to complete", || async {
            let status = world.job("old").await.status?;
            status.completion_time.is_some().then_some(status)
        })
        .await;
    assert_eq!(
        status.prev_report_states.unwrap()["github-reporter"],
        ProwJobState::Aborted,
        "crier does not report a superseded run"
    );
    world
        .eventually("the old pod to go", || async {
            world.pods().get_opt("old").await.unwrap().is_none().then_some(())
        })
        .await;

    // Another cluster is refused by name.
    world
        .presubmit("elsewhere", 9, "head3333", json!({"cluster": "gpu-cluster"}))
        .await;
    let refused = world.state_of("elsewhere", ProwJobState::Error).await;
    assert!(
        refused.status.unwrap().description.unwrap().contains("gpu-cluster"),
        "the description names the cluster"
    );

    // A pod that never gets scheduled times out (the clock moves past 5 minutes).
    world.pod("new").await;
    world.clock.advance(SignedDuration::from_mins(6));
    world.poke("new").await;
    let timed_out = world.state_of("new", ProwJobState::Error).await;
    assert_eq!(
        timed_out.status.unwrap().description.as_deref(),
        Some("Pod scheduling timeout.")
    );
    world
        .eventually("the unscheduled pod to go", || async {
            world.pods().get_opt("new").await.unwrap().is_none().then_some(())
        })
        .await;
}

#[tokio::test]
async fn max_concurrency_holds_a_run_until_the_previous_finishes() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world
        .presubmit("first", 7, "head1111", json!({"max_concurrency": 1}))
        .await;
    world.pod("first").await;
    world.state_of("first", ProwJobState::Pending).await;
    // Another pull request's run of the same job waits.
    world
        .presubmit("second", 8, "head2222", json!({"max_concurrency": 1}))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        world.pods().get_opt("second").await.unwrap().is_none(),
        "one run at a time"
    );
    assert_eq!(world.job("second").await.status.unwrap().state, ProwJobState::Triggered);
    world.set_phase("first", "Succeeded", 0).await;
    world.state_of("first", ProwJobState::Success).await;
    world.pod("second").await;
}

#[tokio::test]
async fn a_pod_create_refused_by_the_api_is_an_error_with_its_message() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world
        .kit
        .faults()
        .inject(testkit::Fault::status(422).verb(testkit::Verb::Create).resource("pods"));
    world.presubmit("run-1", 7, "head1111", json!({})).await;
    let refused = world.state_of("run-1", ProwJobState::Error).await;
    let status = refused.status.unwrap();
    assert!(status.description.unwrap().starts_with("Pod can not be created: "),);
    assert!(status.completion_time.is_some());
}

#[tokio::test]
async fn a_deleted_pod_is_made_again_and_one_deleted_while_running_is_an_error() {
    let world = World::start(json!({}), job_config(json!({}))).await;
    world.presubmit("run-1", 7, "head1111", json!({})).await;
    world.pod("run-1").await;
    let first = world.state_of("run-1", ProwJobState::Pending).await;
    let first_build = first.status.unwrap().build_id.unwrap();
    // Gone at once (no grace period): made again, with a new build id.
    world.pods().delete("run-1", &Default::default()).await.unwrap();
    let remade = world
        .eventually("the pod made again", || async {
            let pod = world.pods().get_opt("run-1").await.unwrap()?;
            (pod.labels().get("prow.k8s.io/build-id") != Some(&first_build)).then_some(pod)
        })
        .await;
    assert!(remade.labels()["prow.k8s.io/build-id"] > first_build);

    // Deleted while it runs (held by a finalizer, as a kubelet holds a terminating pod): error.
    world
        .pods()
        .patch(
            "run-1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"finalizers": ["test/hold"]}})),
        )
        .await
        .unwrap();
    world.set_phase("run-1", "Running", 0).await;
    world.pods().delete("run-1", &Default::default()).await.unwrap();
    let gone = world.state_of("run-1", ProwJobState::Error).await;
    assert_eq!(
        gone.status.unwrap().description.as_deref(),
        Some("Pod got deleted unexpectedly")
    );
}

#[tokio::test]
async fn a_one_minute_periodic_runs_again_only_after_it_finished_and_the_minute_passed() {
    let periodic = json!({"periodics": [{
        "name": "every-minute", "interval": "1m",
        "spec": {"containers": [{"image": "alpine", "command": ["true"]}]}
    }]});
    let mut world = World::start(json!({}), job_config(periodic)).await;
    let periodic_runs = |world: &World| {
        let api = world.prowjobs();
        async move {
            let mut runs: Vec<ProwJob> = api
                .list(&ListParams::default().labels("prow.k8s.io/job=every-minute"))
                .await
                .unwrap()
                .items;
            runs.sort_by_key(|j| j.status.as_ref().and_then(|s| s.start_time.clone()).map(|t| t.0));
            runs
        }
    };
    let previous = world.t0;
    // The loop's first tick, and this one: the first run, once.
    let created = jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    let first = created[0].split('/').nth(1).unwrap().to_string();
    world
        .eventually("the first run", || async {
            (periodic_runs(&world).await.len() == 1).then_some(())
        })
        .await;
    world.pod(&first).await;

    // Still running a minute and a half later: nothing new.
    world.clock.advance(SignedDuration::from_secs(90));
    world.state_of(&first, ProwJobState::Pending).await;
    jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    world.set_phase(&first, "Succeeded", 0).await;
    world.state_of(&first, ProwJobState::Success).await;
    assert_eq!(
        periodic_runs(&world).await.len(),
        1,
        "no run while the previous one runs"
    );

    // Finished, and the minute since its start has passed: the next run.
    let second = jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0], created[0]);
    world
        .eventually("the second run", || async {
            (periodic_runs(&world).await.len() == 2).then_some(())
        })
        .await;

    // A new leader ticks at the same moment: it decides from the same newest run and names its
    // successor the same, so nothing is started twice.
    world.stop_loops().await;
    world.start_loops().await;
    let again = jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "the second run is the newest, and still running: {again:?}"
    );
    assert_eq!(periodic_runs(&world).await.len(), 2);
    let names: Vec<String> = periodic_runs(&world).await.iter().map(|j| j.name_any()).collect();
    assert_eq!(names, [first, second[0].split('/').nth(1).unwrap().to_string()]);
}

#[tokio::test]
async fn a_cron_periodic_first_seen_between_ticks_waits_for_its_next_firing() {
    // Issue 16: a `*/1` periodic added at 23:22:41 fired at once, for the 23:22:00 that came
    // before it existed. Upstream's horologium adds a periodic to its cron scheduler when it
    // first reads it; it fires at the next minute.
    let periodic = json!({"periodics": [{
        "name": "every-minute-cron", "cron": "*/1 * * * *",
        "spec": {"containers": [{"image": "alpine", "command": ["true"]}]}
    }]});
    let world = World::start(json!({}), job_config(periodic)).await;
    // The last tick was two minutes before the periodic was read: firings in between are not its.
    let previous = world.t0 - SignedDuration::from_secs(120);
    let mut first_seen = Default::default();
    let created = jobs::schedule::tick(world.jobs(), previous, &mut first_seen)
        .await
        .unwrap();
    assert!(created.is_empty(), "fired for a minute before it was read: {created:?}");
    // A minute later its first firing is due.
    world.clock.advance(SignedDuration::from_secs(61));
    let created = jobs::schedule::tick(world.jobs(), world.t0, &mut first_seen)
        .await
        .unwrap();
    assert_eq!(created.len(), 1, "its first firing after it was read");
}

#[tokio::test]
async fn a_failed_periodic_is_retried_with_its_count_until_the_attempts_are_used() {
    let periodic = json!({"periodics": [{
        "name": "nightly", "interval": "24h", "retry": {"attempts": 1, "interval": "10m"},
        "spec": {"containers": [{"image": "alpine", "command": ["false"]}]}
    }]});
    // The test's clock runs ahead of the pods' creation times: no pod timeouts get in the way.
    let plank = json!({"plank": {"pod_unscheduled_timeout": "24h", "pod_pending_timeout": "24h"}});
    let world = World::start(plank, job_config(periodic)).await;
    let previous = world.t0;
    // Waits until the job cache (what the scheduler reads) shows `name` failed.
    let failed_in_cache = |name: String| {
        let world = &world;
        async move {
            world
                .eventually(&format!("{name} failed in the cache"), || async {
                    let cached = world
                        .jobs()
                        .prowjobs
                        .get(&kube::runtime::reflector::ObjectRef::new(&name).within("prow"))?;
                    (cached.status.as_ref()?.state == ProwJobState::Failure).then_some(cached)
                })
                .await
        }
    };
    let first = jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let first = first[0].split('/').nth(1).unwrap().to_string();
    world.pod(&first).await;
    world.set_phase(&first, "Failed", 1).await;
    failed_in_cache(first.clone()).await;

    // Not before the retry interval; then retry 1, labelled so.
    world.clock.advance(SignedDuration::from_secs(5 * 60));
    assert!(
        jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    world.clock.advance(SignedDuration::from_secs(5 * 60 + 1));
    let retry = jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    let retry = retry[0].split('/').nth(1).unwrap().to_string();
    let labels = world.job(&retry).await.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("prow.k8s.io/re-run").map(String::as_str), Some("1"));

    // The retry fails too: the one attempt is used, and the 24h interval has not passed.
    world.pod(&retry).await;
    world.set_phase(&retry, "Failed", 1).await;
    let cached = failed_in_cache(retry.clone()).await;
    assert_eq!(
        cached.labels().get("prow.k8s.io/re-run").map(String::as_str),
        Some("1"),
        "the cache keeps the count"
    );
    world.clock.advance(SignedDuration::from_secs(60 * 60));
    assert!(
        jobs::schedule::tick(world.jobs(), previous, &mut Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn sinker_removes_aged_jobs_and_pods_and_keeps_each_periodics_newest_run() {
    // Its cron (January 1st) never fires during the test: only the runs made here exist.
    let periodic = json!({"periodics": [{
        "name": "nightly", "cron": "0 0 1 1 *",
        "spec": {"containers": [{"image": "alpine", "command": ["true"]}]}
    }]});
    let world = World::start(
        json!({"sinker": {"max_prowjob_age": "48h", "max_pod_age": "24h", "terminated_pod_ttl": "30m"}}),
        job_config(periodic),
    )
    .await;
    let t0 = world.t0;
    let at = |hours: i64| (t0 - SignedDuration::from_hours(hours)).to_string();
    let finished = |name: &str, job: &str, job_type: &str, started: i64| -> ProwJob {
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
            "metadata": {"name": name, "namespace": "prow", "labels": {"created-by-prow": "true"}},
            "spec": {"type": job_type, "job": job, "agent": "kubernetes"},
            "status": {"state": "success", "startTime": at(started), "completionTime": at(started - 1)}
        }))
        .unwrap()
    };
    for job in [
        finished("old-presubmit", "pull-api-unit", "presubmit", 100),
        finished("young-presubmit", "pull-api-unit", "presubmit", 3),
        finished("nightly-1", "nightly", "periodic", 200),
        finished("nightly-2", "nightly", "periodic", 100),
    ] {
        world.prowjobs().create(&PostParams::default(), &job).await.unwrap();
    }
    let pod = |name: &str| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "test-pods", "labels": {"created-by-prow": "true"}},
            "spec": {"containers": [{"name": "test", "image": "alpine"}]}
        }))
        .unwrap()
    };
    for name in ["young-presubmit", "orphan", "not-ours"] {
        let mut made = pod(name);
        if name == "not-ours" {
            made.metadata.labels = None;
        }
        world.pods().create(&PostParams::default(), &made).await.unwrap();
    }
    world
        .eventually("the caches", || async {
            (world.jobs().prowjobs.len() >= 4 && world.jobs().pods.len() >= 2).then_some(())
        })
        .await;
    // The jobs started hours ago; the pods were made now. A year later everything has aged,
    // but sinker keeps the newest run of the periodic and what is not Prow's.
    world.clock.advance(SignedDuration::from_hours(24 * 365));
    let swept = jobs::clean::sweep(world.jobs()).await.unwrap();
    let mut jobs_gone = swept.prowjobs.clone();
    jobs_gone.sort();
    assert_eq!(
        jobs_gone,
        ["prow/nightly-1", "prow/old-presubmit", "prow/young-presubmit"],
        "the periodic's newest run stays"
    );
    let mut pods_gone: Vec<&str> = swept.pods.iter().map(|(p, _)| p.as_str()).collect();
    pods_gone.sort();
    assert_eq!(pods_gone, ["test-pods/orphan", "test-pods/young-presubmit"]);
    assert!(world.prowjobs().get_opt("nightly-2").await.unwrap().is_some());
    assert!(world.pods().get_opt("not-ours").await.unwrap().is_some());
}
