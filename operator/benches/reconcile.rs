//! Benchmark of the live controller: the real `prow-operator run` against testkit and against the
//! real control plane (`tests/cluster`), with the sample
//! ProwInstance selecting 100 JobConfigs that hold 4,000 jobs (about 8 MB). Reports the time to
//! the first convergence, the duration of reconciles (from the operator's JSON log), the time
//! from a JobConfig edit to the job-config ConfigMap holding it, the operator's RSS and its CPU
//! while idle. Run with `make bench-reconcile` (`cargo bench -p prow-operator --bench reconcile`).
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

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde_json::{Value, json};

const OPERATOR: &str = "operator.prow.dev/v1alpha1";
const CONFIGS: usize = 100;
const JOBS_PER_CONFIG: usize = 40;
const EDITS: usize = 60;
const IDLE: Duration = Duration::from_secs(10);
const CONVERGE: Duration = Duration::from_secs(90);
/// A reconcile burst is over when the log has had no new reconcile for this long.
const QUIET: Duration = Duration::from_millis(400);

/// JobConfig `jc-NN`: the 40 jobs of `org/repo-NN` ([`synthetic::job_set`], as `offline.rs`).
fn job_config(repo: usize) -> Value {
    json!({
        "apiVersion": OPERATOR, "kind": "JobConfig",
        "metadata": {"name": format!("jc-{repo:02}"), "namespace": "prow"},
        "spec": synthetic::job_set(repo, JOBS_PER_CONFIG)
    })
}

async fn get(client: &Client, kind: &str, name: &str) -> Option<Value> {
    let found = cluster::api_for(client, OPERATOR, kind, Some("prow"))
        .get_opt(name)
        .await
        .ok()??;
    serde_json::to_value(found).ok()
}

/// Whether an object's status is current and Ready=True.
fn ready(object: &Value) -> bool {
    let current = object["status"]["observedGeneration"] == object["metadata"]["generation"];
    let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    current && conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// What the ConfigMap watcher looks for: a needle in one job-config file, and when it was seen.
#[derive(Default)]
struct Wanted {
    key: String,
    needle: String,
    seen: Option<Instant>,
}

/// Watches the job-config ConfigMaps and stamps the moment `wanted` shows up.
fn watch_job_config(client: Client, wanted: Arc<Mutex<Wanted>>) -> tokio::task::JoinHandle<()> {
    let api: Api<ConfigMap> = Api::namespaced(client, "prow");
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let now = Instant::now();
            let (Ok(Event::Apply(map)) | Ok(Event::InitApply(map))) = event else {
                continue;
            };
            if !map
                .metadata
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with("prow-job-config-")
            {
                continue;
            }
            let mut wanted = wanted.lock().unwrap_or_else(|p| p.into_inner());
            if wanted.seen.is_none()
                && !wanted.needle.is_empty()
                && map
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&wanted.key))
                    .is_some_and(|text| text.contains(&wanted.needle))
            {
                wanted.seen = Some(now);
            }
        }
    })
}

/// One `reconciled` log line.
#[derive(Clone, Copy)]
struct Reconcile {
    ms: f64,
    success: bool,
    /// Whether the reconcile applied or pruned objects (an `applied` line preceded it).
    applied: bool,
}

/// Follows the operator's JSON log file.
struct Log {
    path: PathBuf,
    offset: u64,
    partial: String,
    applied_pending: bool,
    reconciles: Vec<Reconcile>,
    last_change: Instant,
}

impl Log {
    fn new(path: PathBuf) -> Log {
        Log {
            path,
            offset: 0,
            partial: String::new(),
            applied_pending: false,
            reconciles: Vec::new(),
            last_change: Instant::now(),
        }
    }

    fn poll(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        let mut chunk = String::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_string(&mut chunk).is_err() {
            return;
        }
        self.offset += chunk.len() as u64;
        self.partial.push_str(&chunk);
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            match entry["message"].as_str() {
                Some("applied") => self.applied_pending = true,
                Some("reconciled") => {
                    self.reconciles.push(Reconcile {
                        ms: entry["duration_ms"].as_f64().unwrap_or(f64::NAN),
                        success: entry["result"] == "success",
                        applied: std::mem::take(&mut self.applied_pending),
                    });
                    self.last_change = Instant::now();
                }
                _ => {}
            }
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Waits until at least `count` reconciles were logged and none for [`QUIET`].
    async fn settle(&mut self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.poll();
            if self.reconciles.len() >= count && self.last_change.elapsed() >= QUIET {
                return;
            }
            assert!(Instant::now() < deadline, "the operator did not settle");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// utime + stime of a process, in clock ticks.
/// Time on CPU of a process, all threads, in nanoseconds (`/proc/<pid>/task/*/schedstat`, finer
/// than clock ticks; threads that exited meanwhile are missed).
fn cpu_nanos(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

/// Counts the API requests of an audit log slice by `verb resource`.
fn request_counts(requests: &[testkit::Request]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.verb != testkit::Verb::Watch) {
        *counts.entry(format!("{} {}", r.verb, r.rbac_resource())).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} x{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() {
    for backend in cluster::backends() {
        run(backend).await;
    }
}

async fn run(backend: &str) {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!(
        "prow-operator-bench-reconcile-{}-{backend}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let backend = cluster::Backend::start(backend, testkit::Options::default(), ::cluster::JobPods::Held).await;
    let kubeconfig = backend.operator_kubeconfig(&dir);
    let client = backend.client().await;

    // Install: CRDs, namespaces, Secrets, the sample instance and the 100 JobConfigs.
    cluster::install_base(&client).await;
    cluster::apply_file(&client, &cluster::repo().join("config/samples/prowinstance.yaml")).await;
    let mut spec_bytes = 0;
    let job_configs: Vec<Value> = (0..CONFIGS).map(job_config).collect();
    for config in &job_configs {
        spec_bytes += serde_json::to_vec(&config["spec"]).expect("JSON").len();
        cluster::apply(&client, config).await;
    }
    println!(
        "installed {CONFIGS} JobConfigs, {} jobs, {:.1} MB of spec JSON, in {:.1}s",
        CONFIGS * JOBS_PER_CONFIG,
        spec_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // Start the operator and wait for the first convergence.
    // On testkit the bench plays the Deployment controller; on the real control plane the
    // controller manager and kwok make the Deployments available.
    let deployments = backend
        .testkit()
        .map(|_| testkit::play_deployment_controller(client.clone(), "prow"));
    let wanted = Arc::new(Mutex::new(Wanted::default()));
    let config_map_watch = watch_job_config(client.clone(), wanted.clone());
    let log_path = dir.join("operator.log");
    let spawned = Instant::now();
    let child = cluster::spawn_operator(&kubeconfig, &log_path, "bench-reconcile", &[]);
    let pid = child.id();
    let mut log = Log::new(log_path);
    let mut instance_ready = None;
    let converged = loop {
        if instance_ready.is_none() && get(&client, "ProwInstance", "prow").await.is_some_and(|i| ready(&i)) {
            instance_ready = Some(spawned.elapsed());
        }
        if instance_ready.is_some() {
            let configs = cluster::list(&client, OPERATOR, "JobConfig", "prow").await;
            if configs.len() == CONFIGS && configs.iter().all(ready) {
                break spawned.elapsed();
            }
        }
        if spawned.elapsed() > CONVERGE {
            let _ = cluster::stop(child);
            panic!("no convergence in {CONVERGE:?}\n--- operator log ---\n{}", log.text());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let instance_ready = instance_ready.unwrap_or_default();
    log.settle(1).await;
    let startup_reconciles = log.reconciles.clone();
    let maps: Vec<Value> = cluster::list(&client, "v1", "ConfigMap", "prow")
        .await
        .into_iter()
        .filter(|m| {
            m["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("prow-job-config-"))
        })
        .collect();
    let files: usize = maps.iter().map(|m| m["data"].as_object().map_or(0, |d| d.len())).sum();
    let map_bytes: usize = maps
        .iter()
        .filter_map(|m| m["data"].as_object())
        .flat_map(|d| d.values())
        .filter_map(Value::as_str)
        .map(str::len)
        .sum();
    let rss_converged = cluster::proc_status(pid);
    println!(
        "converged in {:.2}s (instance Ready after {:.2}s) with {} reconciles; job config: {} ConfigMaps, {files} files, {:.1} MB",
        converged.as_secs_f64(),
        instance_ready.as_secs_f64(),
        startup_reconciles.len(),
        maps.len(),
        map_bytes as f64 / 1e6,
    );

    // Idle CPU: nothing changes for IDLE.
    let idle_before = cluster::cpu_seconds(Some(pid));
    let idle_nanos_before = cpu_nanos(pid);
    let idle_reconciles_before = log.reconciles.len();
    let idle_started = Instant::now();
    tokio::time::sleep(IDLE).await;
    let idle_used = cluster::cpu_seconds(Some(pid)) - idle_before;
    let idle_cpu_ms = (cpu_nanos(pid) - idle_nanos_before) as f64 / 1e6;
    let idle_seconds = idle_started.elapsed().as_secs_f64();
    log.poll();
    let idle_reconciles = log.reconciles.len() - idle_reconciles_before;
    let idle_cpu = idle_used / idle_seconds * 100.0;
    println!(
        "idle {idle_seconds:.1}s: {idle_used:.2} s on CPU ({idle_cpu:.2}% of one core), {idle_reconciles} reconciles"
    );

    // Edits: one annotation inside one job per edit, waiting for each to land.
    let edits_reconciles_from = log.reconciles.len();
    let mut latencies = Vec::new();
    let mut patch_ms = Vec::new();
    let mut reconciles_per_edit = Vec::new();
    let mut requests_first_edit = String::new();
    let edit_cpu_before = cluster::cpu_seconds(Some(pid));
    let mut rss_trend = Vec::new();
    let edits_started = Instant::now();
    for edit in 0..EDITS {
        let config = (edit * 37) % CONFIGS;
        let name = format!("jc-{config:02}");
        let needle = format!("bench-rev-{edit:04}");
        *wanted.lock().unwrap_or_else(|p| p.into_inner()) = Wanted {
            key: format!("prow_{name}.yaml"),
            needle: needle.clone(),
            seen: None,
        };
        let reconciles_before = log.reconciles.len();
        if let Some(tk) = backend.testkit() {
            tk.clear_audit();
        }
        let mut object = job_configs[config].clone();
        object["spec"]["presubmits"][format!("org/repo-{config}")][0]["annotations"]["bench-revision"] = json!(needle);
        let patch_started = Instant::now();
        let patched = cluster::apply(&client, &object).await;
        let returned = Instant::now();
        patch_ms.push(returned.duration_since(patch_started).as_secs_f64() * 1000.0);
        let generation = patched["metadata"]["generation"].as_i64();
        let deadline = returned + Duration::from_secs(20);
        let seen = loop {
            if let Some(seen) = wanted.lock().unwrap_or_else(|p| p.into_inner()).seen {
                break seen;
            }
            if Instant::now() > deadline {
                let _ = cluster::stop(child);
                panic!(
                    "edit {edit} of {name} never reached the job config\n--- operator log ---\n{}",
                    log.text()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        latencies.push(seen.saturating_duration_since(returned).as_secs_f64() * 1000.0);
        // Landed: the JobConfig's status is current and the operator is quiet again.
        loop {
            let current = get(&client, "JobConfig", &name).await;
            if current.is_some_and(|c| c["status"]["observedGeneration"].as_i64() == generation && ready(&c)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "edit {edit}: {name}'s status never caught up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        log.settle(reconciles_before + 1).await;
        reconciles_per_edit.push(log.reconciles.len() - reconciles_before);
        if (edit + 1) % 15 == 0 {
            rss_trend.push(format!("{}: {:.0}", edit + 1, cluster::proc_status(pid).0));
        }
        if edit == 0 {
            requests_first_edit = backend.testkit().map_or_else(
                || "(no audit log on the real control plane)".to_string(),
                |tk| request_counts(&tk.audit()),
            );
        }
    }
    let edits_elapsed = edits_started.elapsed().as_secs_f64();
    let edit_cpu = cluster::cpu_seconds(Some(pid)) - edit_cpu_before;
    let instance = get(&client, "ProwInstance", "prow").await.unwrap_or_default();
    let rss_end = cluster::proc_status(pid);
    let total_reconciles = log.reconciles.len();

    config_map_watch.abort();
    if let Some(deployments) = deployments {
        deployments.abort();
    }
    let exit = cluster::stop(child);
    log.poll();

    // Figures.
    let after: Vec<Reconcile> = log.reconciles[startup_reconciles.len()..].to_vec();
    let during_edits = &log.reconciles[edits_reconciles_from..total_reconciles];
    let all = cluster::sorted(after.iter().map(|r| r.ms));
    let applying = cluster::sorted(during_edits.iter().filter(|r| r.applied).map(|r| r.ms));
    let quiet = cluster::sorted(during_edits.iter().filter(|r| !r.applied).map(|r| r.ms));
    let startup = cluster::sorted(startup_reconciles.iter().map(|r| r.ms));
    let errors = log.reconciles.iter().filter(|r| !r.success).count();
    let latency = cluster::sorted(latencies.iter().copied());
    let patches = cluster::sorted(patch_ms.iter().copied());
    let per_edit = cluster::sorted(reconciles_per_edit.iter().map(|&n| n as f64));
    let fmt = |v: &[f64]| {
        format!(
            "p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  (n={})",
            cluster::percentile(v, 50.0),
            cluster::percentile(v, 90.0),
            cluster::percentile(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
            v.len()
        )
    };
    println!();
    println!(
        "==== prow-operator live reconcile benchmark ({CONFIGS} JobConfigs, {} jobs) on {} ====",
        CONFIGS * JOBS_PER_CONFIG,
        backend.label()
    );
    println!(
        "first convergence           {:.2} s (instance Ready {:.2} s); startup reconciles: {} (max {:.1} ms)",
        converged.as_secs_f64(),
        instance_ready.as_secs_f64(),
        startup.len(),
        startup.last().copied().unwrap_or(f64::NAN)
    );
    println!("reconcile, after startup    {}   [target p99 < 200 ms]", fmt(&all));
    println!("  that applied objects      {}", fmt(&applying));
    println!("  that applied nothing      {}", fmt(&quiet));
    println!(
        "  reconciles per edit       p50 {} max {}; failed reconciles: {errors}",
        cluster::percentile(&per_edit, 50.0),
        per_edit.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "edit -> job-config CM       p50 {:>7.1} ms  max {:>7.1} ms  (n={}, from the PATCH returning)   [target < 1 s]",
        cluster::percentile(&latency, 50.0),
        latency.last().copied().unwrap_or(f64::NAN),
        latency.len()
    );
    println!(
        "  PATCH itself              p50 {:>7.1} ms  max {:>7.1} ms",
        cluster::percentile(&patches, 50.0),
        patches.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "RSS after convergence       VmRSS {:.1} MiB  VmHWM {:.1} MiB   [target < 100 MiB]",
        rss_converged.0, rss_converged.1
    );
    println!(
        "RSS at the end              VmRSS {:.1} MiB  VmHWM {:.1} MiB  (VmRSS MiB after edit {})",
        rss_end.0,
        rss_end.1,
        rss_trend.join(", ")
    );
    println!(
        "idle CPU                    {idle_cpu:.2}% of one core ({idle_used:.2} s by /proc/stat, {idle_cpu_ms:.1} ms on CPU by schedstat, in {idle_seconds:.1} s; {idle_reconciles} reconciles)   [target ~0]"
    );
    println!(
        "CPU during edits            {edit_cpu:.2} s over {edits_elapsed:.1} s ({EDITS} edits, {:.1}% of one core; {:.0} ms per reconcile)",
        edit_cpu / edits_elapsed * 100.0,
        edit_cpu * 1000.0 / during_edits.len().max(1) as f64
    );
    println!(
        "API requests of one edit    {requests_first_edit} (the bench itself does the patch jobconfigs, get jobconfigs and patch deployments/status)"
    );
    println!(
        "instance at the end         Ready={} ; operator exit after SIGTERM: {}",
        ready(&instance),
        exit.map_or("killed (no exit in 20 s)".to_string(), |s| s.to_string())
    );
    println!("total bench time            {:.1} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
}
