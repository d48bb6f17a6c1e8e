//! Benchmark of the native job engine: the release `prow-operator run` against testkit and
//! against the real control plane (kwok runs the Pods; the bench ends them as a kubelet would,
//! so the lag is measured alike on both) with 10,000 ProwJobs in flight (presubmits of 7 synthetic, decorated jobs on 1,429 pull requests;
//! GitHub reporting off, so only the executor works). Reports:
//!
//! - throughput: triggered ProwJobs to pods created per second, twice: for a backlog of 10,000
//!   created before the operator starts, and for 10,000 created as fast as the bench can while
//!   it runs;
//! - lag: a pod's phase flipped to `Failed` (at 500 pods a second) until the bench's watch sees
//!   its ProwJob `failure`, p50/p90/p99;
//! - the operator's RSS with 10,000 live ProwJobs and 10,000 pods cached, and at the end.
//!
//! Each is measured with every pod in the operator's own cluster, then with the jobs spread over
//! three build clusters (three more clusters of the same kind; on the real control plane only
//! when asked for; `BENCH_BUILD_CLUSTERS=0` or `3` runs one layout only).
//!
//! Run with `make bench-jobs` (`cargo bench -p prow-operator --bench jobs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use prow_api::job::{Presubmit, Pull, Refs};
use prow_api::{ProwJob, ProwJobState};
use prow_operator::engine::prowjob::{self, Creation};
use serde_json::{Value, json};

const JOBS: usize = 10_000;
/// Concurrent creates from the bench.
const CREATORS: usize = 32;
/// Pods flipped per second when measuring the lag.
const FLIP_RATE: u32 = 500;
const DEADLINE: Duration = Duration::from_secs(300);

/// When the bench's watches first saw things, by object name.
#[derive(Default)]
struct Seen {
    pods: HashMap<String, Instant>,
    pending: HashMap<String, Instant>,
    failed: HashMap<String, Instant>,
}

/// How many build clusters each layout spreads the jobs over (`0`: all in the operator's own).
/// Four real control planes do not fit two cores, so on the real one the build clusters come only
/// when asked for (`BENCH_BUILD_CLUSTERS=3`).
fn layouts(backend: &str) -> Vec<usize> {
    match std::env::var("BENCH_BUILD_CLUSTERS").ok().and_then(|v| v.parse().ok()) {
        Some(count) => vec![count],
        None if backend == "real" => vec![0],
        None => vec![0, 3],
    }
}

/// The alias of build cluster `index`.
fn alias(index: usize) -> String {
    format!("build-{index}")
}

/// What a build cluster needs for the synthetic jobs' pods: the pod namespace and their
/// ServiceAccount.
async fn install_build_cluster(client: &Client) {
    cluster::apply(
        client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test-pods"}}),
    )
    .await;
    cluster::apply(
        client,
        &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "prowjob-default-sa", "namespace": "test-pods"}}),
    )
    .await;
}

/// A kubeconfig with inline credentials for an administrator of `backend`, as a build cluster's
/// Secret holds it.
fn inline_kubeconfig(backend: &cluster::Backend) -> String {
    match backend {
        cluster::Backend::Testkit(tk) => tk.kubeconfig_yaml(),
        cluster::Backend::Real(real) => std::fs::read_to_string(real.admin_kubeconfig()).expect("the admin kubeconfig"),
    }
}

fn watch_pods(client: Client, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client, "test-pods");
    tokio::spawn(async move {
        let config = watcher::Config::default().labels("created-by-prow=true");
        let mut stream = std::pin::pin!(watcher::watcher(api, config));
        while let Some(event) = stream.next().await {
            let now = Instant::now();
            if let Ok(Event::Apply(pod) | Event::InitApply(pod)) = event {
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.pods.entry(pod.name_any()).or_insert(now);
            }
        }
    })
}

fn watch_prowjobs(client: Client, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    let api: Api<ProwJob> = Api::namespaced(client, "prow");
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let now = Instant::now();
            if let Ok(Event::Apply(job) | Event::InitApply(job)) = event {
                let state = job.status.as_ref().map(|s| s.state);
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                match state {
                    Some(ProwJobState::Pending) => {
                        seen.pending.entry(job.name_any()).or_insert(now);
                    }
                    Some(ProwJobState::Failure) => {
                        seen.failed.entry(job.name_any()).or_insert(now);
                    }
                    _ => {}
                }
            }
        }
    })
}

/// The 7 presubmits of the synthetic repository.
fn presubmits() -> Vec<Presubmit> {
    let set = synthetic::job_set(0, 10);
    let jobs = set["presubmits"]["org/repo-0"].as_array().cloned().unwrap_or_default();
    jobs.into_iter()
        .map(|job| serde_json::from_value(job).expect("a presubmit"))
        .collect()
}

/// ProwJob `index`: presubmit `index % 7` on pull request `index / 7`, on build cluster
/// `index % builds` (when there are build clusters).
fn prowjob(index: usize, jobs: &[Presubmit], builds: usize) -> ProwJob {
    let pull = (index / jobs.len()) as i64 + 1;
    let refs = Refs {
        org: "org".into(),
        repo: "repo-0".into(),
        base_ref: Some("main".into()),
        base_sha: Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c".into()),
        pulls: Some(vec![Pull {
            number: pull,
            author: format!("author-{}", pull % 50),
            sha: format!("{:040x}", pull),
            title: Some(format!("Change number {pull}")),
            ..Pull::default()
        }]),
        ..Refs::default()
    };
    let creation = Creation {
        name: format!("bench-{index:05}"),
        namespace: "prow".into(),
        start_time: Time(k8s_openapi::jiff::Timestamp::now()),
        extra_labels: BTreeMap::new(),
        decorate_all_jobs: false,
        generate_name: false,
        presets: Arc::default(),
        defaults: Default::default(),
        from_event: true,
    };
    let mut job = prowjob::presubmit(&jobs[index % jobs.len()], refs, &creation);
    if builds > 0 {
        job.spec.cluster = Some(alias(index % builds));
    }
    job
}

fn fmt_percentiles(values: &[f64]) -> String {
    format!(
        "p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  (n={})",
        cluster::percentile(values, 50.0),
        cluster::percentile(values, 90.0),
        cluster::percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN),
        values.len()
    )
}

/// Waits until `done` holds, polling every 20 ms; panics with the operator's log after
/// [`DEADLINE`].
async fn until(what: &str, log: &std::path::Path, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        if Instant::now() > deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            panic!(
                "timed out waiting for {what}\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// When the bench creates the ProwJobs.
#[derive(Clone, Copy, Debug)]
enum Arrival {
    /// Before the operator starts: a backlog of triggered jobs for the leader to drain (as after
    /// an outage or a failover), so the operator's own pace is measured.
    Backlog,
    /// While the operator runs, as fast as the bench can ([`CREATORS`] at a time), so the bench,
    /// testkit and the operator share the machine's cores.
    Live,
}

async fn create_prowjobs(api: &Api<ProwJob>, builds: usize) -> Duration {
    let jobs = presubmits();
    let started = Instant::now();
    futures::stream::iter(0..JOBS)
        .map(|index| {
            let api = api.clone();
            let job = prowjob(index, &jobs, builds);
            async move {
                api.create(&PostParams::default(), &job)
                    .await
                    .unwrap_or_else(|e| panic!("creating ProwJob {index}: {e}"));
            }
        })
        .buffer_unordered(CREATORS)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    for backend in cluster::backends() {
        for builds in layouts(backend) {
            for arrival in [Arrival::Backlog, Arrival::Live] {
                run(backend, arrival, builds).await;
            }
        }
    }
    println!(
        "total bench time               {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn run(backend: &str, arrival: Arrival, builds: usize) {
    let dir = std::env::temp_dir().join(format!(
        "prow-operator-bench-jobs-{}-{backend}-{arrival:?}-{builds}",
        std::process::id()
    ));
    let name = backend;
    std::fs::create_dir_all(&dir).expect("temp dir");
    let options = testkit::Options {
        history_cap: 500_000,
        ..testkit::Options::default()
    };
    let backend = cluster::Backend::start(name, options.clone(), ::cluster::JobPods::Held).await;
    let kubeconfig = backend.operator_kubeconfig(&dir);
    let client = backend.client().await;
    cluster::install_base(&client).await;
    let text = std::fs::read_to_string(cluster::repo().join("config/samples/prowinstance.yaml")).expect("sample");
    let mut instance: Value = prow_api::yaml::load_documents(&text).expect("YAML").values.remove(0);
    // Only the executor is measured: nothing reports to GitHub.
    instance["spec"]["native"] = json!({"report": false});
    // The build clusters, each reached with an administrator's kubeconfig in a Secret.
    let mut build_backends = Vec::new();
    let mut declared = Vec::new();
    for index in 0..builds {
        let build = cluster::Backend::start(name, options.clone(), ::cluster::JobPods::Held).await;
        install_build_cluster(&build.client().await).await;
        let secret = format!("{}-kubeconfig", alias(index));
        cluster::apply(
            &client,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": "prow"},
                    "stringData": {"kubeconfig": inline_kubeconfig(&build)}}),
        )
        .await;
        declared.push(json!({"name": alias(index), "kubeconfigSecretRef": {"name": secret, "key": "kubeconfig"}}));
        build_backends.push(build);
    }
    if builds > 0 {
        instance["spec"]["buildClusters"] = json!(declared);
    }
    cluster::apply(&client, &instance).await;
    // Where the pods are: the build clusters, else the operator's own.
    let mut pod_clients = Vec::new();
    for build in &build_backends {
        pod_clients.push(build.client().await);
    }
    if pod_clients.is_empty() {
        pod_clients.push(client.clone());
    }

    let seen = Arc::new(Mutex::new(Seen::default()));
    let pod_watches: Vec<_> = pod_clients
        .iter()
        .map(|c| watch_pods(c.clone(), seen.clone()))
        .collect();
    let job_watch = watch_prowjobs(client.clone(), seen.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let api: Api<ProwJob> = Api::namespaced(client.clone(), "prow");
    let backlog_created_in = match arrival {
        Arrival::Backlog => Some(create_prowjobs(&api, builds).await),
        Arrival::Live => None,
    };

    let log = dir.join("operator.log");
    let child = cluster::spawn_operator(&kubeconfig, &log, "bench-jobs", &[]);
    let pid = child.id();
    until("the job caches of the leader", &log, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("job caches filled"))
    })
    .await;
    let rss_idle = cluster::proc_status(pid);
    let cpu_before = cluster::cpu_seconds(Some(pid));

    // Throughput: 10,000 triggered ProwJobs become pods.
    let window_start = Instant::now();
    let live_created_in = match arrival {
        Arrival::Backlog => None,
        Arrival::Live => Some(create_prowjobs(&api, builds).await),
    };
    let count = |pick: fn(&Seen) -> usize| pick(&seen.lock().unwrap_or_else(|p| p.into_inner()));
    until("every pod", &log, || count(|s| s.pods.len()) >= JOBS).await;
    until("every ProwJob pending", &log, || count(|s| s.pending.len()) >= JOBS).await;
    let (first_pod, last_pod, pending_last) = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        let pods: Vec<Instant> = seen.pods.values().copied().collect();
        (
            pods.iter().min().copied().unwrap_or(window_start),
            pods.iter().max().copied().unwrap_or(window_start),
            seen.pending.values().max().copied().unwrap_or(window_start),
        )
    };
    // The leader may start before the bench reads its log line.
    let window_start = window_start.min(first_pod);
    let pods_window = last_pod.duration_since(window_start).as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_in_flight = cluster::proc_status(pid);

    // Lag: each pod fails, 500 a second; until the ProwJob's failure is seen.
    let pod_apis: Vec<Api<Pod>> = pod_clients
        .iter()
        .map(|c| Api::namespaced(c.clone(), "test-pods"))
        .collect();
    let status = json!({"status": {"phase": "Failed", "reason": "Error"}});
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(JOBS);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / FLIP_RATE);
    let flips_started = Instant::now();
    let mut patch_ms = Vec::with_capacity(JOBS);
    for index in 0..JOBS {
        ticker.tick().await;
        let name = format!("bench-{index:05}");
        let at = Instant::now();
        pod_apis[index % pod_apis.len()]
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap_or_else(|e| panic!("flipping pod {name}: {e}"));
        patch_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        sent.insert(name, at);
    }
    let flips_took = flips_started.elapsed().as_secs_f64();
    until("every ProwJob failed", &log, || count(|s| s.failed.len()) >= JOBS).await;
    let lags = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        cluster::sorted(sent.iter().filter_map(|(name, at)| {
            seen.failed
                .get(name)
                .map(|done| done.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        }))
    };
    let rss_end = cluster::proc_status(pid);
    let cpu_per_job = (cluster::cpu_seconds(Some(pid)) - cpu_before) / JOBS as f64;
    let requests = backend.testkit().filter(|_| builds == 0).map_or_else(
        || "(counted on testkit with every pod in the operator's own cluster only)".to_string(),
        |tk| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for r in tk
                .audit()
                .iter()
                .filter(|r| r.user_agent.as_deref().is_some_and(|a| a.starts_with("prow-operator/")))
                .filter(|r| r.verb != testkit::Verb::Watch && ["pods", "prowjobs"].contains(&r.resource.as_str()))
            {
                *counts
                    .entry(format!("{} {} {}", r.verb, r.rbac_resource(), r.code))
                    .or_default() += 1;
            }
            counts
                .iter()
                .map(|(k, v)| format!("{k} x{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    for watch in pod_watches {
        watch.abort();
    }
    job_watch.abort();
    let exit = cluster::stop(child);

    println!();
    match builds {
        0 => println!("cluster: {}; every pod in the operator's own cluster", backend.label()),
        _ => println!(
            "cluster: {}; the pods spread over {builds} build clusters of the same kind",
            backend.label()
        ),
    }
    match arrival {
        Arrival::Backlog => println!(
            "==== native job engine: a backlog of {JOBS} triggered ProwJobs (created before the operator starts) ===="
        ),
        Arrival::Live => println!(
            "==== native job engine: {JOBS} ProwJobs created while the operator runs ({CREATORS} at a time) ===="
        ),
    }
    if let Some(took) = backlog_created_in.or(live_created_in) {
        println!(
            "ProwJobs created by the bench  {JOBS} in {:.2} s ({:.0}/s)",
            took.as_secs_f64(),
            JOBS as f64 / took.as_secs_f64()
        );
    }
    let from = match arrival {
        Arrival::Backlog => "from the leader's caches filled",
        Arrival::Live => "from the first ProwJob create",
    };
    println!(
        "pods created                   {JOBS} in {pods_window:.2} s {from}: {:.0} pods/s (first pod after {:.1} ms)   [target >= 500/s]",
        JOBS as f64 / pods_window,
        first_pod.saturating_duration_since(window_start).as_secs_f64() * 1000.0
    );
    println!(
        "operator CPU per job           {:.0} µs (pod created, pending, failure seen)",
        cpu_per_job * 1e6
    );
    println!(
        "  every ProwJob pending after  {:.2} s",
        pending_last.saturating_duration_since(window_start).as_secs_f64()
    );
    println!(
        "pod Failed -> ProwJob failure  {}   [target p99 < 100 ms]",
        fmt_percentiles(&lags)
    );
    println!(
        "  flips sent                   {JOBS} in {flips_took:.1} s ({:.0}/s); the PATCH itself {}",
        JOBS as f64 / flips_took,
        fmt_percentiles(&cluster::sorted(patch_ms))
    );
    println!(
        "RSS                            idle leader {:.1} MiB; {JOBS} ProwJobs + {JOBS} pods in flight {:.1} MiB; at the end {:.1} MiB (VmHWM {:.1} MiB)   [target < {} MiB]",
        rss_idle.0,
        rss_in_flight.0,
        rss_end.0,
        rss_end.1,
        if builds > 0 { 200 } else { 150 }
    );
    println!("operator requests (pods, prowjobs) {requests}");
    println!(
        "operator exit after SIGTERM    {}",
        exit.map_or("killed (no exit in 20 s)".to_string(), |s| s.to_string())
    );
    drop(build_backends);
    drop(backend);
    let _ = std::fs::remove_dir_all(&dir);
}
