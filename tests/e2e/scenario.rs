//! A randomized, seeded scenario that hunts for ordering bugs in the native job engine (issue
//! 16): the real binary, driven by a plain seeded loop over steps chosen at random, with the
//! engine's invariants checked after every step settles.
//!
//! Steps: ProwJobs of every type created directly (some sharing a job name with
//! `max_concurrency` 1 or 2, some newer runs superseding older ones), their Pods run, finished,
//! deleted (at once, gracefully, or held by a finalizer released later, back to back), jobs
//! aborted as upstream's hook and deck do and deleted, the ProwInstance edited, deleted and
//! created again, the operator stopped and started, GitHub refusing statuses for a while; on
//! testkit also dropped watches and injected 409s and 500s.
//!
//! Invariants, whenever an operator leads and the instance exists (a clock paused otherwise):
//! - a job whose Pod finished reaches the matching final state within [`WITHIN`] of the Pod's
//!   status write; a job whose Pod was deleted settles (`error`, or `pending` with a new Pod);
//!   an aborted job's Pod stops; a job free to start gets its Pod;
//! - each reported job's states are posted to GitHub once: never twice, nothing after the final
//!   state, nothing for jobs that are not reported, and at the end, GitHub up, nothing missing;
//! - no job name has more pending jobs, or live Pods of unfinished jobs, than its
//!   `max_concurrency`, and a free slot is taken within 3 s;
//! - no Pod without a ProwJob survives sinker's orphan grace.
//!
//! Without `SCENARIO_SEED` the scenario runs a fixed seed, so CI is repeatable; `SCENARIO_SEED`
//! replays a seed (the choices follow the seed and the settled state, so a replay
//! takes the same steps unless timing changes what settled), `SCENARIO_STEPS` sets the number of
//! steps; `make soak` runs thousands. A failure panics with the seed and the steps taken.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use prow_api::{ProwInstance, ProwJob};
use serde_json::{Value, json};
use testkit::{Fault, Verb};
use wiremock::MockServer;

use crate::github::{BASE, FakeGitHub, HEAD, installed_with_fake_github_in};
use crate::harness::{Setup, World};
use crate::install::installed_in;
use crate::jobs::kubelet_status;

/// How soon the engine must act on a change (a Pod's status, deletion, an abort, a new job).
const WITHIN: Duration = Duration::from_secs(2);
/// How long a free concurrency slot may stay free while jobs wait: a waiting job is woken when a
/// run that may free its slot ends (upstream requeues it every 10 s), then [`WITHIN`].
const QUEUE_WITHIN: Duration = Duration::from_secs(3);
/// Sinker's orphan grace (30 s from the Pod's creation), its resync period here (1 s), and room
/// for the Pod's deletion to finish.
const ORPHAN_WITHIN: Duration = Duration::from_secs(30 + 1 + 4);
/// How long the end waits for the reports held back by outages (the reporter backs off, 1 s
/// doubling).
const REPORTS_WITHIN: Duration = Duration::from_secs(60);
/// How long the operator may take to exit after SIGTERM.
const STOP_WITHIN: Duration = Duration::from_secs(5);
/// How often the settled state is read.
const POLL: Duration = Duration::from_millis(50);
/// The finalizer the scenario holds Pods with.
const HOLD: &str = "e2e.prow.dev/hold";
/// The description of a run superseded by a newer one (the operator's, as upstream's).
const SUPERSEDED: &str = "Aborted as the newer version of this job is running.";
/// The job names several runs share, with their `max_concurrency`.
const LIMITED: [(&str, i64); 2] = [("limited-one", 1), ("limited-two", 2)];

/// `log` without ANSI colour codes.
fn without_colours(log: &str) -> String {
    let mut plain = String::with_capacity(log.len());
    let mut escape = false;
    for c in log.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (false, c) => plain.push(c),
            (true, 'm') => escape = false,
            (true, _) => {}
        }
    }
    plain
}

/// SplitMix64: small, seedable, and good enough to choose steps.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// One of `items`, if any.
    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())].clone())
    }

    /// Up to `most` distinct items of `items`, at least one if any.
    fn some<T: Clone>(&mut self, items: &[T], most: usize) -> Vec<T> {
        let mut left = items.to_vec();
        let count = 1 + self.below(most.min(left.len()).max(1));
        let mut chosen = Vec::new();
        while chosen.len() < count && !left.is_empty() {
            chosen.push(left.swap_remove(self.below(left.len())));
        }
        chosen
    }
}

/// The type of a ProwJob the scenario creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Periodic,
    Presubmit,
    Postsubmit,
    Batch,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Periodic, Kind::Presubmit, Kind::Postsubmit, Kind::Batch];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Periodic => "periodic",
            Kind::Presubmit => "presubmit",
            Kind::Postsubmit => "postsubmit",
            Kind::Batch => "batch",
        }
    }

    /// Whether the GitHub reporter reports it (its default `job_types_to_report`).
    fn reported(self) -> bool {
        matches!(self, Kind::Presubmit | Kind::Postsubmit)
    }
}

/// What the scenario knows of a ProwJob it created.
#[derive(Clone, Debug)]
struct Job {
    kind: Kind,
    /// `spec.job`.
    job: String,
    /// Its pull request (presubmits) or first pull (batches).
    pull: i64,
    /// Deleted by the scenario.
    deleted: bool,
    /// The newer run of it created, and the step that created it: it is aborted, whatever its Pod
    /// does meanwhile (as upstream's plank, which terminates duplicates before it looks at Pods),
    /// unless the newer run is aborted or deleted first.
    superseded_by: Option<(String, usize)>,
    /// The second its `status.startTime` names (ProwJob times are whole seconds, as upstream's).
    started: i64,
}

/// A ProwJob as `mkpj` or the trigger would create it, `triggered`, undecorated, its context its
/// own name (so each job's statuses can be told apart).
fn prowjob(name: &str, kind: Kind, job: &str, max_concurrency: Option<i64>, pull: i64) -> Value {
    let mut labels = json!({"created-by-prow": "true", "prow.k8s.io/type": kind.as_str(), "prow.k8s.io/job": job});
    let author = |number: i64| json!({"number": number, "author": "alice", "sha": HEAD});
    let refs = match kind {
        Kind::Periodic => Value::Null,
        Kind::Postsubmit => json!({"org": "example-org", "repo": "api", "base_ref": "main", "base_sha": BASE}),
        Kind::Presubmit => {
            labels["prow.k8s.io/refs.org"] = json!("example-org");
            labels["prow.k8s.io/refs.repo"] = json!("api");
            labels["prow.k8s.io/refs.pull"] = json!(pull.to_string());
            json!({"org": "example-org", "repo": "api", "base_ref": "main", "base_sha": BASE, "pulls": [author(pull)]})
        }
        Kind::Batch => json!({"org": "example-org", "repo": "api", "base_ref": "main", "base_sha": BASE,
                               "pulls": [author(pull), author(pull + 1)]}),
    };
    let mut spec = json!({
        "type": kind.as_str(), "agent": "kubernetes", "cluster": "default", "namespace": "test-pods",
        "job": job, "context": name, "report": true, "rerun_command": format!("/test {job}"),
        "pod_spec": {"containers": [{"name": "", "image": "alpine:3.20", "command": ["true"]}]}
    });
    if !refs.is_null() {
        spec["refs"] = refs;
    }
    if let Some(max) = max_concurrency {
        spec["max_concurrency"] = json!(max);
    }
    json!({
        "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
        "metadata": {"name": name, "namespace": "prow", "labels": labels},
        "spec": spec,
        "status": {"state": "triggered", "startTime": Timestamp::now().to_string()}
    })
}

/// What the engine must bring about for one job.
#[derive(Clone, Debug, PartialEq)]
enum Want {
    /// A final state: this one, or any when `None`.
    Final(Option<&'static str>),
    /// After its Pod (uid) was deleted: a final state, or `pending` with another Pod that is not
    /// being deleted.
    Settled(String),
    /// Its Pod stops: gone, being deleted, or finished.
    PodStopped,
    /// It leaves `triggered`.
    Started,
}

/// A [`Want`] with the time from which it is due.
#[derive(Clone, Debug)]
struct Expectation {
    job: String,
    want: Want,
    /// When the change it follows was written.
    since: Instant,
    /// Extra time allowed, for the injected faults' backoff.
    slack: Duration,
    /// The step that made it.
    step: usize,
}

/// The cluster as read at one moment.
struct Snapshot {
    jobs: BTreeMap<String, Value>,
    pods: BTreeMap<String, Value>,
}

impl Snapshot {
    fn state(&self, job: &str) -> Option<&str> {
        self.jobs.get(job)?["status"]["state"].as_str()
    }

    fn complete(&self, job: &str) -> bool {
        self.jobs
            .get(job)
            .is_some_and(|j| j["status"]["completionTime"].is_string())
    }

    /// Whether the Pod exists, is not being deleted and has not finished.
    fn pod_live(&self, pod: &str) -> bool {
        self.pods.get(pod).is_some_and(|p| {
            p["metadata"]["deletionTimestamp"].is_null()
                && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
    }

    /// The pending jobs whose Pod is live.
    fn running(&self) -> Vec<String> {
        self.jobs
            .keys()
            .filter(|name| self.state(name) == Some("pending") && !self.complete(name) && self.pod_live(name))
            .cloned()
            .collect()
    }
}

/// Whether an operator leads and the instance exists, since when.
#[derive(Default)]
struct Engine {
    operator_up: bool,
    instance_present: bool,
    up_since: Option<Instant>,
}

impl Engine {
    fn update(&mut self, now: Instant) {
        let up = self.operator_up && self.instance_present;
        match (up, self.up_since) {
            (true, None) => self.up_since = Some(now),
            (false, Some(_)) => self.up_since = None,
            _ => {}
        }
    }
}

/// One run of the scenario.
struct Scenario {
    world: World,
    github: FakeGitHub,
    rng: Rng,
    seed: u64,
    steps: usize,
    log: Vec<String>,
    started: Instant,
    jobs: BTreeMap<String, Job>,
    expectations: Vec<Expectation>,
    engine: Engine,
    /// The instance as installed, to create it again.
    instance: Value,
    /// Pods held by [`HOLD`] and deleted: name and uid.
    held: Vec<(String, String)>,
    /// When GitHub takes statuses again, while it refuses them.
    github_back: Option<Instant>,
    /// When the last outage ended.
    github_back_at: Instant,
    /// Pods without a ProwJob: when first seen so.
    orphans: HashMap<String, Instant>,
    /// Limited job names with a free slot and a job waiting: since when.
    free_slots: HashMap<String, Instant>,
    /// Extra time allowed while injected faults may still hit, until when.
    fault_slack: Option<(Duration, Instant)>,
    next_pull: i64,
    revivals: i64,
    /// The longest stop of an operator (SIGTERM to exit).
    longest_stop: Duration,
}

/// The scenario's step count: `SCENARIO_STEPS`, else `default`.
fn step_count(default: usize) -> usize {
    std::env::var("SCENARIO_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The seed that runs when none is given (as in `make test` and CI): one that passed on both
/// variants, so that CI repeats the same steps; `make soak` hunts with random seeds.
const DEFAULT_SEED: u64 = 31;

/// The seed: `SCENARIO_SEED`, else [`DEFAULT_SEED`].
fn seed() -> u64 {
    std::env::var("SCENARIO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// Retries the scenario's own request while the API server answers 409 or 500 (injected faults
/// hit the scenario's requests too); other errors are returned.
async fn retried<T, F, Fut>(mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut tries = 0;
    loop {
        match request().await {
            Err(kube::Error::Api(status)) if matches!(status.code, 409 | 500) && tries < 20 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

impl Scenario {
    async fn new(world: World, github: FakeGitHub, seed: u64, steps: usize) -> Scenario {
        let mut instance = world
            .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
            .await
            .expect("the instance");
        instance["metadata"] = json!({"name": "prow", "namespace": "prow"});
        instance.as_object_mut().map(|o| o.remove("status"));
        let now = Instant::now();
        let mut engine = Engine {
            operator_up: true,
            instance_present: true,
            up_since: None,
        };
        engine.update(now);
        eprintln!("scenario: seed {seed}, {steps} steps (replay: SCENARIO_SEED={seed} SCENARIO_STEPS={steps})");
        Scenario {
            world,
            github,
            rng: Rng(seed),
            seed,
            steps,
            log: Vec::new(),
            started: now,
            jobs: BTreeMap::new(),
            expectations: Vec::new(),
            engine,
            instance,
            held: Vec::new(),
            github_back: None,
            github_back_at: now,
            orphans: HashMap::new(),
            free_slots: HashMap::new(),
            fault_slack: None,
            next_pull: 100,
            revivals: 3,
            longest_stop: Duration::ZERO,
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.world.client.clone(), "test-pods")
    }

    fn prowjobs(&self) -> Api<ProwJob> {
        Api::namespaced(self.world.client.clone(), "prow")
    }

    fn instances(&self) -> Api<ProwInstance> {
        Api::namespaced(self.world.client.clone(), "prow")
    }

    /// Fails the scenario: the seed, the steps, the operator's log about `job` and its last
    /// lines (the whole log is kept in a file named in the message).
    fn fail(&self, message: &str, job: Option<&str>) -> ! {
        let log = without_colours(&self.world.operator_log());
        let kept = std::env::temp_dir().join(format!("prow-operator-scenario-{}.log", self.seed));
        let kept = match std::fs::write(&kept, &log) {
            Ok(()) => kept.display().to_string(),
            Err(error) => format!("not kept: {error}"),
        };
        let mut about = String::new();
        if let Some(job) = job {
            for line in log.lines().filter(|l| l.contains(job)).take(100) {
                let _ = writeln!(about, "{line}");
            }
        }
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        panic!(
            "scenario failed: {message}\nseed {seed}: replay with SCENARIO_SEED={seed} SCENARIO_STEPS={steps}\n\
             --- steps ---\n{steps_taken}\n--- operator log about {job:?} ---\n{about}\n\
             --- operator log, last lines (all of it: {kept}) ---\n{tail}",
            seed = self.seed,
            steps = self.steps,
            steps_taken = self.log.join("\n"),
        )
    }

    fn note(&mut self, step: usize, text: String) {
        let line = format!("{step:4} {:7.2}s {text}", self.started.elapsed().as_secs_f64());
        if std::env::var_os("SCENARIO_VERBOSE").is_some() {
            eprintln!("{line}");
        }
        self.log.push(line);
    }

    fn expect(&mut self, step: usize, job: &str, want: Want) {
        let slack = self.slack();
        self.expectations.push(Expectation {
            job: job.to_string(),
            want,
            since: Instant::now(),
            slack,
            step,
        });
    }

    fn slack(&self) -> Duration {
        match self.fault_slack {
            Some((slack, until)) if Instant::now() < until => slack,
            _ => Duration::ZERO,
        }
    }

    /// Reads the job Pods and the ProwJobs.
    async fn snapshot(&self) -> Snapshot {
        let name = |o: &Value| o["metadata"]["name"].as_str().unwrap_or_default().to_string();
        // Pods first: a job is never older than what its Pod shows, so a Pod made for a job
        // whose slot was just freed is not counted beside the job that freed it.
        let pods = self.world.list("v1", "Pod", "test-pods", "created-by-prow=true").await;
        let jobs = self.world.list("prow.k8s.io/v1", "ProwJob", "prow", "").await;
        Snapshot {
            jobs: jobs.into_iter().map(|j| (name(&j), j)).collect(),
            pods: pods.into_iter().map(|p| (name(&p), p)).collect(),
        }
    }

    /// Makes GitHub refuse statuses for `outage` (whatever the scenario does meanwhile).
    fn github_outage(&mut self, outage: Duration) {
        self.github.set_down(true);
        self.github_back = Some(Instant::now() + outage);
        let github = self.github.clone();
        tokio::spawn(async move {
            tokio::time::sleep(outage).await;
            github.set_down(false);
        });
    }

    /// Notes the end of GitHub's outage, and keeps the faults' slack while injected faults are
    /// still to hit.
    fn tick(&mut self) {
        let pending = self.faults_pending() > 0;
        if let (true, Some((_, until))) = (pending, self.fault_slack.as_mut()) {
            *until = Instant::now() + Duration::from_secs(5);
        }
        if let Some(back) = self.github_back
            && Instant::now() >= back
        {
            self.github_back = None;
            self.github_back_at = back;
        }
    }

    /// Whether `want` holds for `job` in `snapshot`; an error when it cannot any more.
    fn holds(snapshot: &Snapshot, job: &str, want: &Want) -> Result<bool, String> {
        if !snapshot.jobs.contains_key(job) {
            return Ok(true); // Deleted by the scenario.
        }
        let state = snapshot.state(job).unwrap_or_default();
        Ok(match want {
            Want::Final(expected) => {
                if !snapshot.complete(job) {
                    return Ok(false);
                }
                if let Some(expected) = expected
                    && state != *expected
                {
                    let description = &snapshot.jobs[job]["status"]["description"];
                    return Err(format!("ProwJob {job} ended {state} ({description}), not {expected}"));
                }
                true
            }
            Want::Settled(old_uid) => {
                snapshot.complete(job)
                    || (state == "pending"
                        && snapshot.pods.get(job).is_some_and(|p| {
                            p["metadata"]["uid"].as_str() != Some(old_uid)
                                && p["metadata"]["deletionTimestamp"].is_null()
                        }))
            }
            Want::PodStopped => !snapshot.pod_live(job),
            Want::Started => state != "triggered",
        })
    }

    /// Checks every invariant on `snapshot`; returns how many expectations are still open.
    fn check(&mut self, snapshot: &Snapshot) -> usize {
        let now = Instant::now();
        let mut open = 0;
        let mut failure = None;
        self.expectations
            .retain(|e| match Self::holds(snapshot, &e.job, &e.want) {
                Ok(true) => false,
                Ok(false) => {
                    open += 1;
                    if let Some(up) = self.engine.up_since {
                        let from = e.since.max(up);
                        if now > from + WITHIN + e.slack && failure.is_none() {
                            failure = Some((
                                format!(
                                    "ProwJob {} not {:?} {:?} after step {} (state {:?}, pod {})",
                                    e.job,
                                    e.want,
                                    now - from,
                                    e.step,
                                    snapshot.state(&e.job),
                                    snapshot.pods.get(&e.job).map_or("missing".to_string(), |p| format!(
                                        "{} {}",
                                        p["status"]["phase"],
                                        if p["metadata"]["deletionTimestamp"].is_null() {
                                            ""
                                        } else {
                                            "(deleting)"
                                        }
                                    )),
                                ),
                                e.job.clone(),
                            ));
                        }
                    }
                    true
                }
                Err(message) => {
                    failure.get_or_insert((message, e.job.clone()));
                    false
                }
            });
        if let Some((message, job)) = failure {
            self.fail(&message, Some(&job));
        }
        self.check_concurrency(snapshot, now);
        self.check_orphans(snapshot, now);
        self.check_reports_so_far();
        open
    }

    /// No limited job name has more pending jobs, or live Pods of unfinished jobs, than its
    /// `max_concurrency`, and a free slot is taken soon. (The Pod of a run just aborted may still
    /// run while it is deleted, beside the run that took its slot, as upstream's plank allows.)
    fn check_concurrency(&mut self, snapshot: &Snapshot, now: Instant) {
        for (name, max) in LIMITED {
            let of_name = |job: &&String| snapshot.jobs[*job]["spec"]["job"] == name;
            let pending: Vec<&String> = snapshot
                .jobs
                .keys()
                .filter(of_name)
                .filter(|j| snapshot.state(j) == Some("pending"))
                .collect();
            if pending.len() as i64 > max {
                self.fail(
                    &format!(
                        "{} pending runs of {name} (max_concurrency {max}): {pending:?}",
                        pending.len()
                    ),
                    pending.first().map(|s| s.as_str()),
                );
            }
            let live: Vec<&String> = snapshot
                .jobs
                .keys()
                .filter(of_name)
                .filter(|j| matches!(snapshot.state(j), Some("triggered" | "pending")) && snapshot.pod_live(j))
                .collect();
            if live.len() as i64 > max {
                self.fail(
                    &format!("{} live pods of {name} (max_concurrency {max}): {live:?}", live.len()),
                    live.first().map(|s| s.as_str()),
                );
            }
            let waiting: Vec<&String> = snapshot
                .jobs
                .keys()
                .filter(of_name)
                .filter(|j| snapshot.state(j) == Some("triggered"))
                .collect();
            if (pending.len() as i64) < max && !waiting.is_empty() {
                let since = *self.free_slots.entry(name.to_string()).or_insert(now);
                if let Some(up) = self.engine.up_since
                    && now > since.max(up) + QUEUE_WITHIN + self.slack()
                {
                    self.fail(
                        &format!(
                            "{name} had a free slot for {:?} while {waiting:?} waited",
                            now - since.max(up)
                        ),
                        waiting.first().map(|s| s.as_str()),
                    );
                }
            } else {
                self.free_slots.remove(name);
            }
        }
    }

    /// No Pod without a ProwJob outlives sinker's grace (a Pod the scenario holds cannot go).
    fn check_orphans(&mut self, snapshot: &Snapshot, now: Instant) {
        let orphans: Vec<&String> = snapshot
            .pods
            .keys()
            .filter(|pod| !snapshot.jobs.contains_key(*pod))
            .collect();
        self.orphans.retain(|pod, _| orphans.contains(&pod));
        for pod in orphans {
            let seen = *self.orphans.entry(pod.clone()).or_insert(now);
            let object = &snapshot.pods[pod];
            let held = object["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == HOLD));
            if held && object["metadata"]["deletionTimestamp"].is_string() {
                continue;
            }
            let created: Option<Timestamp> = object["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(|t| t.parse().ok());
            let age = created
                .map(|c| Timestamp::now().duration_since(c))
                .and_then(|a| Duration::try_from(a).ok())
                .unwrap_or_default();
            let Some(up) = self.engine.up_since else { continue };
            // Due ORPHAN_WITHIN after its creation, counted from when it was seen orphaned and
            // the engine up at the earliest.
            let due_in = ORPHAN_WITHIN.saturating_sub(age);
            let from = seen.max(up);
            if now > from + due_in.max(Duration::from_secs(5)) + self.slack() && age > ORPHAN_WITHIN {
                self.fail(
                    &format!("pod {pod} without a ProwJob survived {age:?} after its creation"),
                    Some(pod),
                );
            }
        }
    }

    /// Every reported job's states are posted at most once, nothing after its final state,
    /// nothing at all for jobs that are not reported.
    fn check_reports_so_far(&self) {
        let statuses = self.github.statuses();
        let mut by_context: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (_, context, state) in &statuses {
            by_context.entry(context).or_default().push(state);
        }
        for (context, posted) in by_context {
            let Some(job) = self.jobs.get(context) else { continue };
            if !job.kind.reported() {
                self.fail(
                    &format!("{context}, a {}, was reported: {posted:?}", job.kind.as_str()),
                    Some(context),
                );
            }
            let pending = posted.iter().filter(|s| **s == "pending").count();
            let finals = posted.len() - pending;
            // `triggered` and `pending` are both posted as pending.
            if pending > 2 || finals > 1 || (finals == 1 && posted.last() == Some(&"pending")) {
                self.fail(&format!("statuses posted for {context}: {posted:?}"), Some(context));
            }
        }
    }

    /// Reads until every open expectation holds (or the engine is down, when none can).
    async fn settle(&mut self) {
        loop {
            self.tick();
            let snapshot = self.snapshot().await;
            let open = self.check(&snapshot);
            if open == 0 || self.engine.up_since.is_none() {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn run(&mut self) {
        self.settle().await;
        for step in 0..self.steps {
            let snapshot = self.snapshot().await;
            self.check(&snapshot);
            self.step(step, &snapshot).await;
            self.settle().await;
        }
        self.finish().await;
    }

    /// Chooses and takes one step.
    async fn step(&mut self, step: usize, snapshot: &Snapshot) {
        if !self.engine.operator_up && self.rng.chance(35) {
            return self.start_operator(step).await;
        }
        if !self.engine.instance_present && self.engine.operator_up && self.rng.chance(35) {
            return self.create_instance(step).await;
        }
        let running: Vec<String> = snapshot
            .running()
            .into_iter()
            .filter(|job| self.jobs.get(job).is_some_and(|j| j.superseded_by.is_none()))
            .collect();
        let fake = self.world.is_fake();
        loop {
            let roll = self.rng.below(100);
            match roll {
                0..=13 => return self.create(step).await,
                14..=16 => {
                    if let Some(older) = self.supersedable(snapshot) {
                        return self.supersede(step, &older).await;
                    }
                }
                17..=22 => {
                    let waiting: Vec<String> = running
                        .iter()
                        .filter(|p| snapshot.pods[*p]["status"]["phase"].as_str() != Some("Running"))
                        .cloned()
                        .collect();
                    if let Some(pod) = self.rng.pick(&waiting) {
                        return self.set_phase(step, &pod, "Running").await;
                    }
                }
                23..=48 => {
                    if let Some(pod) = self.rng.pick(&running) {
                        let phase = if self.rng.chance(70) { "Succeeded" } else { "Failed" };
                        return self.set_phase(step, &pod, phase).await;
                    }
                }
                49..=54 if !running.is_empty() => {
                    let pods = self.rng.some(&running, 2);
                    let force = self.rng.chance(50);
                    return self.delete_pods(step, snapshot, &pods, force, false).await;
                }
                55..=57 if !running.is_empty() => {
                    let pods = self.rng.some(&running, 8);
                    return self.delete_pods(step, snapshot, &pods, true, true).await;
                }
                58..=62 if !running.is_empty() => {
                    let pods = self.rng.some(&running, 3);
                    return self.hold_and_delete(step, snapshot, &pods).await;
                }
                63..=66 if !self.held.is_empty() => return self.release(step).await,
                67..=71 => {
                    let unfinished: Vec<String> = snapshot
                        .jobs
                        .keys()
                        .filter(|j| !snapshot.complete(j) && self.jobs.contains_key(*j))
                        .cloned()
                        .collect();
                    if let Some(job) = self.rng.pick(&unfinished) {
                        return self.abort(step, &job).await;
                    }
                }
                72..=74 => {
                    let live: Vec<String> = self
                        .jobs
                        .iter()
                        .filter(|(name, job)| !job.deleted && snapshot.jobs.contains_key(*name))
                        .map(|(name, _)| name.clone())
                        .collect();
                    if let Some(job) = self.rng.pick(&live) {
                        return self.delete_prowjob(step, &job).await;
                    }
                }
                75..=76 if self.engine.instance_present && self.engine.operator_up => {
                    return self.edit_instance(step).await;
                }
                77 if self.engine.instance_present && self.engine.operator_up => {
                    return self.delete_instance(step).await;
                }
                78..=79 if self.engine.operator_up => return self.restart_operator(step).await,
                80..=82 if self.github_back.is_none() && self.github_back_at.elapsed() > Duration::from_secs(5) => {
                    let outage = Duration::from_millis(1000 + self.rng.below(2000) as u64);
                    self.note(step, format!("GitHub refuses statuses for {outage:?}"));
                    return self.github_outage(outage);
                }
                83..=86 if fake => return self.drop_watches(step),
                // One injection at a time, so the backoff it causes stays bounded.
                87..=93 if fake && self.faults_pending() == 0 => return self.inject_fault(step),
                _ => {}
            }
        }
    }

    /// An unfinished presubmit that may get a newer run.
    fn supersedable(&mut self, snapshot: &Snapshot) -> Option<String> {
        let unfinished: Vec<String> = self
            .jobs
            .iter()
            .filter(|(name, job)| {
                job.kind == Kind::Presubmit
                    && job.superseded_by.is_none()
                    && snapshot.jobs.contains_key(*name)
                    && !snapshot.complete(name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        self.rng.pick(&unfinished)
    }

    async fn create_job(&mut self, step: usize, name: &str, kind: Kind, job: &str, max: Option<i64>, pull: i64) {
        let object = prowjob(name, kind, job, max, pull);
        let api = self.prowjobs();
        let created: ProwJob = serde_json::from_value(object).expect("a ProwJob");
        let started = created
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map_or(0, |t| t.0.as_second());
        let create = PostParams::default();
        retried(|| api.create(&create, &created))
            .await
            .unwrap_or_else(|e| self.fail(&format!("creating ProwJob {name}: {e}"), None));
        self.jobs.insert(
            name.to_string(),
            Job {
                kind,
                job: job.to_string(),
                pull,
                deleted: false,
                superseded_by: None,
                started,
            },
        );
        if max.is_none() {
            self.expect(step, name, Want::Started);
        }
    }

    async fn create(&mut self, step: usize) {
        let kind = Kind::ALL[self.rng.below(4)];
        let name = format!("s{step}-{}", kind.as_str());
        let (job, max) = match self.rng.below(10) {
            0..=3 => (LIMITED[0].0.to_string(), Some(LIMITED[0].1)),
            4..=5 => (LIMITED[1].0.to_string(), Some(LIMITED[1].1)),
            _ => (name.clone(), None),
        };
        self.next_pull += 2;
        let pull = self.next_pull;
        self.note(
            step,
            format!(
                "create {name}: {} {job} max_concurrency {max:?} pull {pull}",
                kind.as_str()
            ),
        );
        self.create_job(step, &name, kind, &job, max, pull).await;
    }

    async fn supersede(&mut self, step: usize, older: &str) {
        let Job { job, pull, started, .. } = self.jobs[older].clone();
        let name = format!("s{step}-rerun");
        // A start time is whole seconds (as upstream's), and of two runs that started in the same
        // second neither is newer: the engine, like upstream's plank, may keep either (seed 165876
        // expected s12 to supersede s9, created in the same second, and the name kept s9). A
        // newer run starts in a later second, as a real one does.
        while Timestamp::now().as_second() <= started {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let max = LIMITED.iter().find(|(n, _)| *n == job).map(|(_, m)| *m);
        self.note(
            step,
            format!("create {name}: a newer run of {older} ({job}, pull {pull})"),
        );
        // Whatever the older run was about to become, it is superseded now.
        self.expectations.retain(|e| e.job != older);
        if let Some(known) = self.jobs.get_mut(older) {
            known.superseded_by = Some((name.clone(), step));
        }
        self.create_job(step, &name, Kind::Presubmit, &job, max, pull).await;
        self.expect(step, older, Want::Final(Some("aborted")));
        self.expect(step, older, Want::PodStopped);
    }

    async fn set_phase(&mut self, step: usize, pod: &str, phase: &str) {
        let api = self.pods();
        let Ok(Some(object)) = retried(|| api.get_opt(pod)).await else {
            return;
        };
        let object = serde_json::to_value(object).expect("JSON");
        let exit_code = i32::from(phase == "Failed");
        let status = kubelet_status(&object, phase, exit_code);
        let (params, patch) = (PatchParams::default(), Patch::Merge(&status));
        self.note(step, format!("pod {pod} {phase}"));
        match retried(|| api.patch_status(pod, &params, &patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return,
            Err(error) => self.fail(&format!("writing the status of pod {pod}: {error}"), Some(pod)),
        }
        match phase {
            "Succeeded" => self.expect(step, pod, Want::Final(Some("success"))),
            "Failed" => self.expect(step, pod, Want::Final(Some("failure"))),
            _ => {}
        }
    }

    /// Deletes `pods`, at once (`force`) or gracefully; with `churn`, each is labelled first, a
    /// MODIFIED and a DELETED back to back, all at the same time.
    async fn delete_pods(&mut self, step: usize, snapshot: &Snapshot, pods: &[String], force: bool, churn: bool) {
        let how = match (churn, force) {
            (true, _) => "labelled and deleted at once, all together",
            (false, true) => "deleted at once",
            (false, false) => "deleted",
        };
        self.note(step, format!("pods {pods:?} {how}"));
        let api = self.pods();
        let params = DeleteParams {
            grace_period_seconds: force.then_some(0),
            ..Default::default()
        };
        let deletions = pods.iter().map(|pod| {
            let api = api.clone();
            let params = params.clone();
            async move {
                if churn {
                    let patch_params = PatchParams::default();
                    let label = Patch::Merge(json!({"metadata": {"labels": {"e2e.prow.dev/churn": "yes"}}}));
                    let _ = retried(|| api.patch(pod, &patch_params, &label)).await;
                }
                let _ = retried(|| api.delete(pod, &params)).await;
            }
        });
        join_all(deletions).await;
        for pod in pods {
            let uid = snapshot.pods[pod]["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.expect(step, pod, Want::Settled(uid));
        }
    }

    /// Holds `pods` with a finalizer and deletes them: their jobs end in `error`.
    async fn hold_and_delete(&mut self, step: usize, snapshot: &Snapshot, pods: &[String]) {
        self.note(step, format!("pods {pods:?} held by a finalizer and deleted"));
        let api = self.pods();
        for pod in pods {
            let mut finalizers: Vec<Value> = snapshot.pods[pod]["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            finalizers.push(json!(HOLD));
            let (params, patch) = (
                PatchParams::default(),
                Patch::Merge(json!({"metadata": {"finalizers": finalizers}})),
            );
            let delete = DeleteParams::default();
            if retried(|| api.patch(pod, &params, &patch)).await.is_err() {
                continue;
            }
            let _ = retried(|| api.delete(pod, &delete)).await;
            let uid = snapshot.pods[pod]["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.held.push((pod.clone(), uid));
            self.expect(step, pod, Want::Final(Some("error")));
        }
    }

    /// Releases every held Pod, back to back.
    async fn release(&mut self, step: usize) {
        let held = std::mem::take(&mut self.held);
        let names: Vec<&String> = held.iter().map(|(n, _)| n).collect();
        self.note(step, format!("finalizers of {names:?} released back to back"));
        // A job that did not see its Pod being deleted (no operator then) sees it gone instead.
        for (pod, uid) in &held {
            for expectation in self.expectations.iter_mut().filter(|e| &e.job == pod) {
                if expectation.want == Want::Final(Some("error")) {
                    expectation.want = Want::Settled(uid.clone());
                }
            }
        }
        let api = self.pods();
        let releases = held.iter().map(|(pod, uid)| {
            let api = api.clone();
            async move {
                let Ok(Some(current)) = retried(|| api.get_opt(pod)).await else {
                    return;
                };
                if current.metadata.uid.as_deref() != Some(uid) {
                    return;
                }
                let kept: Vec<String> = current
                    .metadata
                    .finalizers
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| f != HOLD)
                    .collect();
                let patch =
                    json!({"metadata": {"finalizers": kept, "resourceVersion": current.metadata.resource_version}});
                let _ = api.patch(pod, &PatchParams::default(), &Patch::Merge(&patch)).await;
            }
        });
        join_all(releases).await;
    }

    /// Aborts `job` as upstream's hook and deck do: state `aborted`, complete (or, at random,
    /// without the completion time), written with the version read.
    async fn abort(&mut self, step: usize, job: &str) {
        let complete = self.rng.chance(70);
        self.note(
            step,
            format!("abort {job}{}", if complete { "" } else { " (no completionTime)" }),
        );
        let api = self.prowjobs();
        loop {
            let Ok(Some(current)) = retried(|| api.get_opt(job)).await else {
                return;
            };
            if current.status.as_ref().is_some_and(|s| s.completion_time.is_some()) {
                self.note(step, format!("{job} was complete already"));
                return;
            }
            let mut change = json!({"state": "aborted", "description": "Aborted by the scenario."});
            if complete {
                change["completionTime"] = json!(Timestamp::now().to_string());
            }
            let patch = json!({"metadata": {"resourceVersion": current.metadata.resource_version}, "status": change});
            match api.patch(job, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => break,
                Err(kube::Error::Api(status)) if matches!(status.code, 409 | 500) => continue,
                Err(kube::Error::Api(status)) if status.code == 404 => return,
                Err(error) => self.fail(&format!("aborting {job}: {error}"), Some(job)),
            }
        }
        self.expectations.retain(|e| e.job != job);
        self.expect(step, job, Want::Final(Some("aborted")));
        self.expect(step, job, Want::PodStopped);
        self.unsupersede(step, job);
    }

    async fn delete_prowjob(&mut self, step: usize, job: &str) {
        self.note(step, format!("delete ProwJob {job}"));
        let (api, delete) = (self.prowjobs(), DeleteParams::default());
        let _ = retried(|| api.delete(job, &delete)).await;
        self.expectations.retain(|e| e.job != job);
        if let Some(known) = self.jobs.get_mut(job) {
            known.deleted = true;
        }
        self.unsupersede(step, job);
    }

    /// The run `newer` superseded, now that `newer` is aborted or deleted, is superseded only if
    /// the engine saw both unfinished first: upstream's plank, like the engine, compares only
    /// `triggered` and `pending` runs (seed 2925431564: s5-rerun, aborted while the instance was
    /// away, was expected to abort s4-presubmit all the same). Either outcome is right, and the
    /// older run is driven again like any other.
    fn unsupersede(&mut self, step: usize, newer: &str) {
        let older: Vec<(String, usize)> = self
            .jobs
            .iter()
            .filter_map(|(name, job)| match &job.superseded_by {
                Some((by, at)) if by == newer => Some((name.clone(), *at)),
                _ => None,
            })
            .collect();
        for (name, at) in older {
            self.note(step, format!("{name} may run on: its newer run {newer} is gone"));
            self.expectations.retain(|e| e.job != name || e.step != at);
            if let Some(known) = self.jobs.get_mut(&name) {
                known.superseded_by = None;
            }
        }
    }

    async fn edit_instance(&mut self, step: usize) {
        self.revivals = if self.revivals == 3 { 4 } else { 3 };
        self.note(step, format!("edit the instance: plank.max_revivals {}", self.revivals));
        let patch = Patch::Merge(json!({"spec": {"config": {"plank": {"max_revivals": self.revivals}}}}));
        let params = PatchParams::default();
        let api = self.instances();
        retried(|| api.patch("prow", &params, &patch))
            .await
            .unwrap_or_else(|e| self.fail(&format!("editing the instance: {e}"), None));
        self.instance["spec"]["config"]["plank"]["max_revivals"] = json!(self.revivals);
    }

    async fn delete_instance(&mut self, step: usize) {
        self.note(step, "delete the instance".to_string());
        let (api, delete) = (self.instances(), DeleteParams::default());
        retried(|| api.delete("prow", &delete))
            .await
            .unwrap_or_else(|e| self.fail(&format!("deleting the instance: {e}"), None));
        self.engine.instance_present = false;
        self.engine.update(Instant::now());
    }

    async fn create_instance(&mut self, step: usize) {
        let api = self.instances();
        let deadline = Instant::now() + Duration::from_secs(30);
        while retried(|| api.get_opt("prow")).await.ok().flatten().is_some() {
            if Instant::now() > deadline {
                self.fail("the deleted instance stayed for 30 s", None);
            }
            tokio::time::sleep(POLL).await;
        }
        self.note(step, "create the instance again".to_string());
        let instance: ProwInstance = serde_json::from_value(self.instance.clone()).expect("the instance");
        let create = PostParams::default();
        retried(|| api.create(&create, &instance))
            .await
            .unwrap_or_else(|e| self.fail(&format!("creating the instance: {e}"), None));
        self.engine.instance_present = true;
        self.engine.update(Instant::now());
    }

    async fn stop_operator(&mut self, step: usize) {
        self.note(step, "stop the operator (SIGTERM)".to_string());
        let started = Instant::now();
        if !self.world.stop_operator().await {
            self.fail("the operator did not stop cleanly within 20 s of SIGTERM", None);
        }
        let took = started.elapsed();
        self.longest_stop = self.longest_stop.max(took);
        self.note(step, format!("the operator stopped in {took:?}"));
        if took > STOP_WITHIN {
            self.fail(&format!("the operator took {took:?} to stop after SIGTERM"), None);
        }
        self.engine.operator_up = false;
        self.engine.update(Instant::now());
    }

    async fn start_operator(&mut self, step: usize) {
        self.note(step, "start the operator".to_string());
        let asked = Timestamp::now();
        self.world.start_operator();
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(self.world.client.clone(), "prow-operator-system");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lease = leases.get_opt("prow-operator").await.ok().flatten();
            let spec = lease.and_then(|l| l.spec).unwrap_or_default();
            let acquired = spec
                .acquire_time
                .is_some_and(|t| t.0 >= asked - SignedDuration::from_millis(10));
            if acquired && spec.holder_identity.is_some_and(|h| !h.is_empty()) {
                break;
            }
            if Instant::now() > deadline {
                self.fail("the operator did not take the Lease within 30 s", None);
            }
            tokio::time::sleep(POLL).await;
        }
        self.engine.operator_up = true;
        self.engine.update(Instant::now());
    }

    async fn restart_operator(&mut self, step: usize) {
        self.stop_operator(step).await;
        if self.rng.chance(70) {
            self.start_operator(step).await;
        }
    }

    fn drop_watches(&mut self, step: usize) {
        self.note(step, "drop every watch".to_string());
        self.allow_faults(Duration::from_secs(2));
        if let Some(fake) = &self.world.fake {
            fake.faults().drop_watches();
        }
    }

    fn inject_fault(&mut self, step: usize) {
        // No 409 on a ProwJob's status patch: a real API server answers a patch without a
        // resourceVersion 409 only after conflicting writes, whose events wake the job again;
        // testkit's would not.
        let choices: [(u16, Verb, &str); 6] = [
            (500, Verb::Patch, "prowjobs"),
            (409, Verb::Patch, "pods"),
            (500, Verb::Create, "pods"),
            (409, Verb::Create, "pods"),
            (500, Verb::Delete, "pods"),
            (500, Verb::Patch, "pods"),
        ];
        let (code, verb, resource) = choices[self.rng.below(choices.len())];
        let times = 1 + self.rng.below(2);
        self.note(step, format!("the next {times} {verb:?} {resource} answered {code}"));
        // Backoff 1 s, then 2 s, and a second to act.
        self.allow_faults(Duration::from_secs((1 << times) - 1 + 1));
        if let Some(fake) = &self.world.fake {
            fake.faults()
                .inject(Fault::status(code).verb(verb).resource(resource).times(times));
        }
    }

    /// How many injected faults are still to hit.
    fn faults_pending(&self) -> usize {
        self.world.fake.as_ref().map_or(0, |f| f.faults().pending())
    }

    /// Allows `slack` more on every expectation open now or made in the next seconds.
    fn allow_faults(&mut self, slack: Duration) {
        let slack = slack.max(self.slack());
        for expectation in &mut self.expectations {
            expectation.slack = expectation.slack.max(slack);
        }
        self.fault_slack = Some((slack, Instant::now() + Duration::from_secs(5)));
    }

    /// Brings everything back (operator, instance, GitHub, no faults) and checks that every
    /// reported job's current state was posted exactly once and recorded.
    async fn finish(&mut self) {
        let step = self.steps;
        if let Some(fake) = &self.world.fake {
            fake.faults().clear();
        }
        if !self.engine.operator_up {
            self.start_operator(step).await;
        }
        if !self.engine.instance_present {
            self.create_instance(step).await;
        }
        if let Some(back) = self.github_back {
            tokio::time::sleep_until(back.into()).await;
        }
        self.settle().await;
        let deadline = Instant::now() + REPORTS_WITHIN;
        loop {
            self.tick();
            let snapshot = self.snapshot().await;
            self.check(&snapshot);
            let missing = self.missing_reports(&snapshot);
            if missing.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                self.fail(
                    &format!("reports missing {REPORTS_WITHIN:?} after the end: {missing:?}"),
                    missing.first().map(|(job, _)| job.as_str()),
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Nothing more comes: every state once.
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.check_reports_so_far();
        let statuses = self.github.statuses().len();
        eprintln!(
            "scenario: seed {} passed: {} steps, {} ProwJobs, {statuses} statuses, {:?}, longest operator stop {:?}",
            self.seed,
            self.steps,
            self.jobs.len(),
            self.started.elapsed(),
            self.longest_stop
        );
    }

    /// The reported jobs whose current state is not yet posted and recorded, with why.
    fn missing_reports(&self, snapshot: &Snapshot) -> Vec<(String, String)> {
        let statuses = self.github.statuses();
        let mut missing = Vec::new();
        for (name, job) in &self.jobs {
            let Some(object) = snapshot.jobs.get(name).filter(|_| job.kind.reported()) else {
                continue;
            };
            let status = &object["status"];
            let state = status["state"].as_str().unwrap_or_default();
            let posted: Vec<&str> = statuses
                .iter()
                .filter(|(_, context, _)| context == name)
                .map(|(_, _, s)| s.as_str())
                .collect();
            let expected = match state {
                "triggered" | "pending" => "pending",
                "success" => "success",
                "failure" | "aborted" => "failure",
                _ => "error",
            };
            let recorded = status["prev_report_states"]["github-reporter"].as_str() == Some(state);
            let superseded = state == "aborted" && status["description"] == SUPERSEDED;
            let count = posted.iter().filter(|s| **s == expected).count();
            let right = match superseded {
                // The operator records the abort of a superseded run without posting it.
                true => count == 0,
                false => count >= 1 && posted.last() == Some(&expected),
            };
            if !recorded || !right {
                missing.push((
                    name.clone(),
                    format!("{state}, recorded {}, posted {posted:?}", status["prev_report_states"]),
                ));
            }
        }
        missing
    }
}

/// The samples with a fake GitHub and sinker's short ages, the operator running.
async fn world_for_scenario(world: World, server: &MockServer) -> (World, FakeGitHub) {
    let world = installed_in(world).await;
    let sinker = json!({"sinker": {"resync_period": "1s", "max_prowjob_age": "1h", "terminated_pod_ttl": "20s"}});
    installed_with_fake_github_in(world, server, sinker).await
}

#[tokio::test]
async fn randomized_steps_keep_the_job_engines_invariants_on_the_real_control_plane() {
    let world = World::start_with(Setup::default()).await;
    if !world.runs_pods() {
        return; // The scenario plays the kubelet and restarts the operator.
    }
    let server = MockServer::start().await;
    let (world, github) = world_for_scenario(world, &server).await;
    let mut scenario = Scenario::new(world, github, seed(), step_count(250)).await;
    scenario.run().await;
}

#[tokio::test]
async fn randomized_steps_with_dropped_watches_and_api_faults_keep_the_job_engines_invariants() {
    let world = World::start_fake().await;
    let server = MockServer::start().await;
    let (world, github) = world_for_scenario(world, &server).await;
    let mut scenario = Scenario::new(world, github, seed(), step_count(300)).await;
    scenario.run().await;
}
