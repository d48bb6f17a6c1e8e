//! Benchmark of the native trigger: signed `pull_request` `synchronize` webhooks through
//! `POST /hook` of the real `prow-operator run` (release build), with 4,000 jobs configured
//! (100 JobConfigs, one repository each), GitHub played by wiremock and the ProwJob writes going to
//! testkit. Every event is answered only once its ProwJobs are written, so the response latency
//! is the whole trigger: HMAC, parsing, trust, changed files, aborting the PR's unfinished
//! presubmits and creating the new ones.
//!
//! Then 1,000,000 distinct deliveries (pushes to a branch no postsubmit runs on, so nothing is
//! written) go through the same endpoint while the operator's RSS is sampled: the dedupe memory is
//! bounded, so RSS must level off.
//!
//! Then the synchronize events again while `WEBHOOK_ATTACKERS` clients (50 by default; 0 skips
//! the phase) send unsigned 25 MiB bodies without pause: the operator's peak RSS must stay under
//! the Deployment's memory limit (256 Mi) and signed events must still be answered.
//!
//! Run with `make bench-webhooks` (`cargo bench -p prow-operator --bench webhooks`);
//! `WEBHOOK_EVENTS` and `WEBHOOK_DELIVERIES` change the counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]
#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/events.rs"]
mod events;
#[path = "support/hook_client.rs"]
mod hook_client;
#[path = "support/synthetic.rs"]
mod synthetic;
#[path = "support/webhook_setup.rs"]
mod webhook_setup;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hook_client::{CONNECTIONS, Connection, drive, prepare, signed};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_setup::{CONFIGS, JOBS_PER_CONFIG, count};

/// GitHub's largest body, which each attacker declares and sends.
const ATTACK_BODY: usize = 25 * 1024 * 1024;
/// The Deployment's memory limit (`config/manager/deployment.yaml`).
const MEMORY_LIMIT_MIB: f64 = 256.0;

/// What the attackers got: bodies read and refused `401`, requests refused `503` before their
/// body was read, and other answers or broken connections.
#[derive(Default)]
struct AttackAnswers {
    unauthorized: AtomicUsize,
    busy: AtomicUsize,
    other: AtomicUsize,
}

/// One attacker: unsigned 25 MiB bodies, one after the other, until `stop` is set.
async fn attack(address: String, stop: Arc<std::sync::atomic::AtomicBool>, answers: Arc<AttackAnswers>) {
    let chunk = vec![b'x'; 256 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(&address).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let head = format!(
            "POST /hook HTTP/1.1\r\nHost: bench\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: attack\r\n\
             X-Hub-Signature-256: sha256=00\r\nContent-Length: {ATTACK_BODY}\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            answers.other.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (mut reader, mut writer) = stream.into_split();
        // The answer may come before the body is sent (503), so read and write at once.
        let send = async {
            let mut sent = 0;
            while sent < ATTACK_BODY && !stop.load(Ordering::Relaxed) {
                let n = chunk.len().min(ATTACK_BODY - sent);
                if writer.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
            std::future::pending::<()>().await;
        };
        let answer = async {
            let mut head = [0u8; 12];
            reader.read_exact(&mut head).await.ok().map(|_| head)
        };
        let answered = tokio::select! {
            answered = answer => answered,
            _ = send => None,
        };
        let counter = match answered.as_ref().map(|h| &h[9..12]) {
            Some(b"401") => &answers.unauthorized,
            Some(b"503") => &answers.busy,
            _ => &answers.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits until the operator is idle (under 10% of a core over half a second, at most a minute):
/// the first delivery is answered while the instance's first reconciles (checking 4,000 jobs,
/// writing 100 JobConfig statuses) still run, and the events measure the webhook path, not them.
async fn settle(pid: u32) -> Duration {
    let started = Instant::now();
    let mut before = cluster::cpu_seconds(Some(pid));
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = cluster::cpu_seconds(Some(pid));
        if now - before < 0.05 {
            break;
        }
        before = now;
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    for backend in cluster::backends() {
        run(backend).await;
    }
}

async fn run(backend: &str) {
    let events = count("WEBHOOK_EVENTS", 20_000);
    // The million deliveries of phase 2 make no API request; they run on testkit only.
    let deliveries = if backend == "real" {
        0
    } else {
        count("WEBHOOK_DELIVERIES", 1_000_000)
    };
    let dir = std::env::temp_dir().join(format!("prow-operator-bench-webhooks-{}-{backend}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let backend = cluster::Backend::start(backend, testkit::Options::default(), ::cluster::JobPods::Held).await;
    let kubeconfig = backend.operator_kubeconfig(&dir);
    let client = backend.client().await;
    let github = events::fake_github(JOBS_PER_CONFIG).await;

    webhook_setup::install(&client, &github.uri(), true).await;
    let deployments = backend
        .testkit()
        .map(|_| testkit::play_deployment_controller(client.clone(), "prow"));
    let log = dir.join("operator.log");
    let child = cluster::spawn_operator(&kubeconfig, &log, "bench-webhooks", &["--hook-address", "127.0.0.1:0"]);
    let pid = child.id();

    // The hook address from the log, then a first delivery answered 200 (tokens read).
    let started = Instant::now();
    let address = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|l| l["hook_address"].as_str().map(str::to_string));
        if let Some(address) = found {
            break address;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no hook address:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    loop {
        let body = serde_json::to_vec(&events::push_elsewhere(0, "warmup")).expect("JSON");
        let request = signed("push", &format!("warmup-{}", started.elapsed().as_nanos()), &body);
        let status = Connection::open(&address).await.deliver(&request).await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the hook answers {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_ready = cluster::proc_status(pid);
    println!(
        "ready in {:.1}s: {} JobConfigs, {} jobs; RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        CONFIGS,
        CONFIGS * JOBS_PER_CONFIG,
        rss_ready.0
    );
    let settled = settle(pid).await;
    println!(
        "settled in {:.1}s more (the instance's first reconciles done)",
        settled.as_secs_f64()
    );

    // Phase 1: synchronize events that create and abort ProwJobs.
    let before = cluster::list(&client, "prow.k8s.io/v1", "ProwJob", "prow").await.len();
    let requests = prepare(events, |index| {
        let repo = index % CONFIGS;
        let number = 1 + (index / CONFIGS) % events::PULLS_PER_REPO;
        let sha = format!("{index:040x}");
        let body = serde_json::to_vec(&events::synchronize(repo, number, &sha)).expect("JSON");
        ("pull_request", format!("sync-{index}"), body)
    });
    let cpu_before = (cluster::cpu_seconds(Some(pid)), cluster::cpu_seconds(None));
    let (wall, latencies) = drive(&address, requests).await;
    let cpu = (
        cluster::cpu_seconds(Some(pid)) - cpu_before.0,
        cluster::cpu_seconds(None) - cpu_before.1,
    );
    let prowjobs = cluster::list(&client, "prow.k8s.io/v1", "ProwJob", "prow").await;
    let aborted = prowjobs.iter().filter(|p| p["status"]["state"] == "aborted").count();
    let latencies = cluster::sorted(latencies);
    let rss_events = cluster::proc_status(pid);

    // Phase 2: a million distinct deliveries; RSS sampled as they go.
    let mut samples = Vec::new();
    let step = (deliveries / 10).max(1);
    let mut sent = 0;
    let phase2 = Instant::now();
    while sent < deliveries {
        let batch = step.min(deliveries - sent);
        let offset = sent;
        let requests = prepare(batch, |index| {
            let n = offset + index;
            let body = serde_json::to_vec(&events::push_elsewhere(n % CONFIGS, &format!("{n:040x}"))).expect("JSON");
            ("push", format!("delivery-{n}"), body)
        });
        drive(&address, requests).await;
        sent += batch;
        samples.push((sent, cluster::proc_status(pid).0));
    }
    let phase2 = phase2.elapsed();
    let rss_end = cluster::proc_status(pid);

    // Phase 3: synchronize events while attackers send unsigned 25 MiB bodies.
    let attackers = count("WEBHOOK_ATTACKERS", 50);
    let attacked = if attackers > 0 {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let answers = Arc::new(AttackAnswers::default());
        let tasks: Vec<_> = (0..attackers)
            .map(|_| tokio::spawn(attack(address.clone(), stop.clone(), answers.clone())))
            .collect();
        let peak = Arc::new(Mutex::new(0.0f64));
        let sampler = {
            let (stop, peak) = (stop.clone(), peak.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let rss = cluster::proc_status(pid).0;
                    {
                        let mut peak = peak.lock().unwrap_or_else(|p| p.into_inner());
                        *peak = peak.max(rss);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        // Let the attack take the body budget before the signed events start.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let attacked_events = (events / 4).max(1);
        let requests = prepare(attacked_events, |index| {
            let repo = index % CONFIGS;
            let number = 1 + (index / CONFIGS) % events::PULLS_PER_REPO;
            let sha = format!("{:040x}", index + 1_000_000_000);
            let body = serde_json::to_vec(&events::synchronize(repo, number, &sha)).expect("JSON");
            ("pull_request", format!("attacked-{index}"), body)
        });
        let (wall, latencies) = drive(&address, requests).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.abort();
        }
        let _ = sampler.await;
        let peak = *peak.lock().unwrap_or_else(|p| p.into_inner());
        // The kernel's own high-water mark: peaks between two samples count too.
        let hwm = cluster::proc_status(pid).1;
        Some((attacked_events, wall, cluster::sorted(latencies), answers, peak, hwm))
    } else {
        None
    };
    let exit = cluster::stop(child);

    println!("\n==== webhooks on {} ====", backend.label());
    println!(
        "synchronize events          {events} over {CONNECTIONS} connections in {:.1}s: {:.0} events/s   [target >= 2000]",
        wall.as_secs_f64(),
        events as f64 / wall.as_secs_f64()
    );
    println!(
        "latency (answered once written)  p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms   [target p99 < 25 ms]",
        cluster::percentile(&latencies, 50.0),
        cluster::percentile(&latencies, 90.0),
        cluster::percentile(&latencies, 99.0),
        cluster::percentile(&latencies, 100.0)
    );
    println!(
        "CPU per event               operator {:.0} µs; this process (clients, fake GitHub{}) {:.0} µs",
        cpu.0 / events as f64 * 1e6,
        if backend.testkit().is_some() { ", testkit" } else { "" },
        cpu.1 / events as f64 * 1e6
    );
    println!(
        "ProwJobs                    {} created, {aborted} aborted by later pushes",
        prowjobs.len() - before
    );
    println!(
        "RSS                         ready {:.1} MiB, after the events {:.1} MiB",
        rss_ready.0, rss_events.0
    );
    println!(
        "{deliveries} deliveries in {:.1}s ({:.0}/s); VmRSS MiB by deliveries: {}",
        phase2.as_secs_f64(),
        deliveries as f64 / phase2.as_secs_f64(),
        samples
            .iter()
            .map(|(n, rss)| format!("{n}: {rss:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "RSS at the end              VmRSS {:.1} MiB  VmHWM {:.1} MiB",
        rss_end.0, rss_end.1
    );
    if let Some((attacked_events, wall, latencies, answers, peak, hwm)) = attacked {
        println!(
            "under attack ({attackers} clients sending unsigned 25 MiB bodies): {attacked_events} synchronize events at {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms",
            attacked_events as f64 / wall.as_secs_f64(),
            cluster::percentile(&latencies, 50.0),
            cluster::percentile(&latencies, 99.0)
        );
        println!(
            "  attack bodies: {} read and refused 401, {} refused 503 before reading, {} other; operator peak VmRSS {peak:.1} MiB (VmHWM of the whole run {:.1} MiB)   [limit {MEMORY_LIMIT_MIB} MiB]",
            answers.unauthorized.load(Ordering::Relaxed),
            answers.busy.load(Ordering::Relaxed),
            answers.other.load(Ordering::Relaxed),
            hwm
        );
    }
    println!("operator exit               {exit:?}");
    // The played Deployment controller would outlive its testkit, spinning on a dead address.
    if let Some(deployments) = deployments {
        deployments.abort();
    }
    drop(backend);
    let _ = std::fs::remove_dir_all(&dir);
}
