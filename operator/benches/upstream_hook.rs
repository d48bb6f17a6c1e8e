//! Our webhooks beside upstream's `hook` on the real control plane (issue 17, "performance beside
//! upstream"): the same configuration (4,000 synthetic jobs, 100 repositories) and the same signed
//! `pull_request` `synchronize` events (2,000 by default), GitHub played by wiremock, the ProwJobs
//! written to a real kube-apiserver. Each side gets a fresh control plane, upstream first:
//! - upstream: the oracle's `hook` (`target/oracle/bin/hook`, `make oracle-binaries`) with its
//!   `trigger` plugin on the org, `--dry-run=false`, reading the config.yaml, plugins.yaml and job
//!   config files `prow-operator render` makes of the same custom resources (the trigger left to
//!   upstream, so plugins.yaml enables it);
//! - ours: the release `prow-operator run` with its native trigger.
//!
//! Measured on each: the time from the first event sent until the API server lists every ProwJob
//! the events ask for (hook answers before it writes; we answer once written, but the clock is the
//! same for both), and the process's VmHWM. Printed with the ratio of throughputs (goal: ours at
//! least 2x upstream's).
//!
//! Runs on the real control plane only (`PROW_CLUSTER_BIN`, as `BENCH_CLUSTER=real`) and only
//! when the oracle's hook is built; says why on stderr otherwise. Run with
//! `make bench-upstream-hook`; `UPSTREAM_HOOK_EVENTS` (2,000) and `UPSTREAM_HOOK_RUNS` (1) change
//! the counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]
#[path = "support/cluster.rs"]
#[allow(dead_code, reason = "the module serves every live bench; this one uses part of it")]
mod cluster;
#[path = "support/events.rs"]
mod events;
#[path = "support/hook_client.rs"]
mod hook_client;
#[path = "support/synthetic.rs"]
mod synthetic;
#[path = "support/webhook_setup.rs"]
mod webhook_setup;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hook_client::{Connection, HMAC, drive, prepare, signed};
use kube::api::ListParams;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use webhook_setup::{CONFIGS, JOBS_PER_CONFIG, OPERATOR, count, instance, job_configs};

/// Which webhook receiver is measured.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Upstream,
    Ours,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Upstream => "upstream hook",
            Side::Ours => "prow-operator",
        }
    }
}

/// What one side took.
struct Measured {
    /// From the first event sent until every ProwJob is listed.
    until_listed: Duration,
    /// From the first event sent until the last answer.
    until_answered: Duration,
    prowjobs: usize,
    /// VmHWM of the receiver, MiB.
    hwm: f64,
}

/// The event `index` of the run: `(repository, pull request, body)`.
fn event(index: usize) -> (usize, usize, Vec<u8>) {
    let repo = index % CONFIGS;
    let number = 1 + (index / CONFIGS) % events::PULLS_PER_REPO;
    let sha = format!("{index:040x}");
    let body = serde_json::to_vec(&events::synchronize(repo, number, &sha)).expect("JSON");
    (repo, number, body)
}

/// How many ProwJobs `total` events ask for: the presubmits of the event's repository on `main`
/// whose `run_if_changed` matches a file the fake GitHub lists for the pull request.
fn expected_prowjobs(total: usize) -> usize {
    let mut by_pull = std::collections::HashMap::new();
    let mut expected = 0;
    for index in 0..total {
        let (repo, number) = (index % CONFIGS, 1 + (index / CONFIGS) % events::PULLS_PER_REPO);
        expected += *by_pull.entry((repo, number)).or_insert_with(|| {
            let set = synthetic::job_set(repo, JOBS_PER_CONFIG);
            let files = events::changed_files(number, JOBS_PER_CONFIG);
            set["presubmits"][format!("org/repo-{repo}")]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|job| {
                    let pattern = regex::Regex::new(job["run_if_changed"].as_str().unwrap_or("$^")).expect("regex");
                    files.iter().any(|f| pattern.is_match(f))
                })
                .count()
        });
    }
    expected
}

/// How many ProwJobs the API server lists in `prow`.
async fn listed(client: &kube::Client) -> usize {
    cluster::api_for(client, "prow.k8s.io/v1", "ProwJob", Some("prow"))
        .list_metadata(&ListParams::default())
        .await
        .map_or(0, |l| l.items.len())
}

/// Upstream's files for the same custom resources, as `prow-operator render` writes them into
/// its ConfigMaps, with upstream's trigger enabled on the org: `(config.yaml, plugins.yaml, job
/// config directory)` under `dir`, and in config.yaml the decoration defaults our executor
/// applies.
fn render_for_upstream(github: &str, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let plugins = json!({"apiVersion": OPERATOR, "kind": "PluginConfig",
                         "metadata": {"name": "plugins", "namespace": "prow"},
                         "spec": {"plugins": {"org": {"plugins": ["trigger"]}}, "triggers": [{"repos": ["org"]}]}});
    let mut input = vec![instance(github, false), plugins];
    input.extend(job_configs());
    let text: String = input.iter().map(|o| format!("---\n{o}\n")).collect();
    let source = dir.join("resources.yaml");
    std::fs::write(&source, text).expect("write resources");
    let output = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(["render", "-f"])
        .arg(&source)
        .output()
        .expect("prow-operator render");
    assert!(
        output.status.success(),
        "render: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (config, plugins, jobs) = (dir.join("config.yaml"), dir.join("plugins.yaml"), dir.join("jobs"));
    std::fs::create_dir_all(&jobs).expect("jobs dir");
    let rendered = prow_api::yaml::load_documents(&String::from_utf8_lossy(&output.stdout)).expect("rendered YAML");
    for object in rendered.values.iter().filter(|o| o["kind"] == "ConfigMap") {
        for (key, text) in object["data"].as_object().into_iter().flatten() {
            let path = match key.as_str() {
                "config.yaml" | "plugins.yaml" | "labels.yaml" => dir.join(key),
                _ => jobs.join(key),
            };
            std::fs::write(&path, text.as_str().unwrap_or_default()).expect("write rendered file");
        }
    }
    // Our executor derives the decoration defaults (utility images, storage) from the instance;
    // upstream reads them from config.yaml, and hook refuses decorated jobs without them.
    let instance: prow_api::ProwInstance = serde_json::from_value(instance(github, false)).expect("a ProwInstance");
    let defaults = prow_operator::instance_config::InstanceConfig::resolve(&instance)
        .expect("the instance's configuration")
        .pods
        .decoration_defaults;
    let (mut upstream_config, _) =
        prow_api::yaml::load_single(&std::fs::read_to_string(&config).expect("config.yaml")).expect("config.yaml");
    upstream_config["plank"]["default_decoration_config_entries"] = serde_json::to_value(defaults).expect("JSON");
    std::fs::write(&config, prow_api::yaml::to_string(&upstream_config).expect("YAML")).expect("write config.yaml");
    (config, plugins, jobs)
}

/// A port free now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts upstream's hook on the rendered files; returns it and its `/hook` address.
fn spawn_hook(hook: &Path, github: &str, kubeconfig: &Path, dir: &Path) -> (cluster::Operator, String) {
    let (config, plugins, jobs) = render_for_upstream(github, dir);
    std::fs::write(dir.join("token"), "bench-token").expect("token");
    std::fs::write(dir.join("hmac"), HMAC).expect("hmac");
    std::fs::create_dir_all(dir.join("cache")).expect("the git cache folder");
    let port = free_port();
    let log = std::fs::File::create(dir.join("hook.log")).expect("hook log");
    let child = Command::new(hook)
        .arg(format!("--config-path={}", config.display()))
        .arg(format!("--job-config-path={}", jobs.display()))
        .arg(format!("--plugin-config={}", plugins.display()))
        .arg(format!("--github-token-path={}", dir.join("token").display()))
        .arg(format!("--github-endpoint={github}"))
        .arg(format!("--github-graphql-endpoint={github}/graphql"))
        .arg(format!("--hmac-secret-file={}", dir.join("hmac").display()))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--cache-dir-base={}", dir.join("cache").display()))
        .arg("--dry-run=false")
        .arg(format!("--port={port}"))
        .arg(format!("--health-port={}", free_port()))
        .arg(format!("--metrics-port={}", free_port()))
        .arg(format!("--pprof-port={}", free_port()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start upstream hook");
    (cluster::Operator::from_child(child), format!("127.0.0.1:{port}"))
}

/// The hook address our operator logs.
async fn our_address(log: &Path) -> String {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|l| l["hook_address"].as_str().map(str::to_string));
        if let Some(address) = found {
            return address;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no hook address:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether process `pid` has exited (gone, or a zombie not yet reaped).
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Waits until the receiver (process `pid`) answers a signed push (to a branch nothing runs on)
/// with 200.
async fn wait_ready(address: &str, pid: u32, log: &Path) {
    let started = Instant::now();
    loop {
        assert!(
            !exited(pid),
            "the receiver exited; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        let body = serde_json::to_vec(&events::push_elsewhere(0, "warmup")).expect("JSON");
        if let Ok(stream) = TcpStream::connect(address).await {
            drop(stream);
            let request = signed("push", &format!("warmup-{}", started.elapsed().as_nanos()), &body);
            let status = Connection::open(address).await.deliver(&request).await;
            if status == 200 {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{address} is not ready:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn measure(side: Side, hook: &Path, total: usize, expected: usize) -> Measured {
    let dir = std::env::temp_dir().join(format!(
        "prow-operator-bench-upstream-hook-{}-{}",
        std::process::id(),
        if side == Side::Upstream { "upstream" } else { "ours" }
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let backend = cluster::Backend::start("real", testkit::Options::default(), ::cluster::JobPods::Held).await;
    let client = backend.client().await;
    let github = events::fake_github(JOBS_PER_CONFIG).await;
    webhook_setup::install(&client, &github.uri(), side == Side::Ours).await;

    let (receiver, address, log) = match side {
        Side::Upstream => {
            let kubeconfig = backend.admin_kubeconfig().expect("the real control plane");
            let (hook, address) = spawn_hook(hook, &github.uri(), &kubeconfig, &dir);
            (hook, address, dir.join("hook.log"))
        }
        Side::Ours => {
            let log = dir.join("operator.log");
            let kubeconfig = backend.operator_kubeconfig(&dir);
            let operator = cluster::spawn_operator(
                &kubeconfig,
                &log,
                "bench-upstream-hook",
                &["--hook-address", "127.0.0.1:0"],
            );
            let address = our_address(&log).await;
            (operator, address, log)
        }
    };
    wait_ready(&address, receiver.id(), &log).await;
    // The operator's first reconciles (checking 4,000 jobs) are not what is measured.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = receiver.id();
    let before = listed(&client).await;

    let requests = prepare(total, |index| ("pull_request", format!("sync-{index}"), event(index).2));
    let started = Instant::now();
    drive(&address, requests).await;
    let until_answered = started.elapsed();
    let deadline = Duration::from_secs(count("UPSTREAM_HOOK_DEADLINE_SECONDS", 1800) as u64);
    let mut prowjobs = listed(&client).await - before;
    while prowjobs < expected {
        assert!(
            started.elapsed() < deadline,
            "{}: {prowjobs} of {expected} ProwJobs after {deadline:?}; its log ends:\n{}",
            side.label(),
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        prowjobs = listed(&client).await - before;
    }
    let until_listed = started.elapsed();
    let hwm = cluster::proc_status(pid).1;
    drop(receiver);
    drop(backend);
    let _ = std::fs::remove_dir_all(&dir);
    Measured {
        until_listed,
        until_answered,
        prowjobs,
        hwm,
    }
}

#[tokio::main]
async fn main() {
    if !cluster::backends().contains(&"real") {
        eprintln!("SKIPPED bench upstream_hook: it runs on the real control plane only (PROW_CLUSTER_BIN)");
        return;
    }
    let hook = std::env::var_os("ORACLE_BIN")
        .map_or_else(|| cluster::repo().join("target/oracle/bin"), PathBuf::from)
        .join("hook");
    if !hook.is_file() {
        eprintln!(
            "SKIPPED bench upstream_hook: no upstream hook at {} (`make oracle-binaries`)",
            hook.display()
        );
        return;
    }
    let total = count("UPSTREAM_HOOK_EVENTS", 2_000);
    let expected = expected_prowjobs(total);
    for run in 1..=count("UPSTREAM_HOOK_RUNS", 1) {
        let upstream = measure(Side::Upstream, &hook, total, expected).await;
        let ours = measure(Side::Ours, &hook, total, expected).await;
        println!(
            "\n==== webhooks → ProwJobs, run {run}: {total} synchronize events, {} jobs, real control plane ====",
            CONFIGS * JOBS_PER_CONFIG
        );
        for (side, m) in [(Side::Upstream, &upstream), (Side::Ours, &ours)] {
            println!(
                "{:<14} {} ProwJobs listed in {:.1}s ({:.1} events/s; answered in {:.1}s); VmHWM {:.1} MiB",
                side.label(),
                m.prowjobs,
                m.until_listed.as_secs_f64(),
                total as f64 / m.until_listed.as_secs_f64(),
                m.until_answered.as_secs_f64(),
                m.hwm
            );
        }
        println!(
            "ours / upstream: {:.1}x the throughput, {:.2}x the memory   [goal: >= 2x the throughput]",
            upstream.until_listed.as_secs_f64() / ours.until_listed.as_secs_f64(),
            ours.hwm / upstream.hwm
        );
    }
}
