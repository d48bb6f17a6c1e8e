//! `cluster up` / `cluster down`: the e2e suite's control plane for a developer's shell
//! (`make cluster-up`, `make cluster-down`).
//!
//! `cluster up [--dir DIR] [--complete-job-pods-after-ms N]` starts it detached in DIR (default
//! `target/cluster/run`), prints the admin kubeconfig's path and exits; `cluster down [--dir DIR]`
//! stops every process it started and removes DIR.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cluster::{Binaries, Cluster, JobPods, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cluster: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut dir = cluster::repository().join("target/cluster/run");
    let mut job_pods = JobPods::Held;
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--dir" => dir = PathBuf::from(rest.next().ok_or("--dir needs a directory")?),
            "--complete-job-pods-after-ms" => {
                let ms: u64 = rest
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--complete-job-pods-after-ms needs a number of milliseconds")?;
                job_pods = JobPods::CompleteAfter(Duration::from_millis(ms));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match args.first().map(String::as_str) {
        Some("up") => up(dir, job_pods),
        Some("down") => down(&dir),
        _ => Err("usage: cluster up|down [--dir DIR] [--complete-job-pods-after-ms N]".into()),
    }
}

fn up(dir: PathBuf, job_pods: JobPods) -> Result<(), String> {
    if dir.join("pids").exists() {
        return Err(format!(
            "a cluster already runs in {}; run `make cluster-down` first",
            dir.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let binaries = Binaries::locate().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let options = Options {
        binaries,
        job_pods,
        dir: Some(dir.clone()),
        detached: true,
    };
    let cluster = runtime.block_on(Cluster::start(options)).map_err(|e| e.to_string())?;
    let pids: Vec<String> = cluster.pids().iter().map(u32::to_string).collect();
    std::fs::write(dir.join("pids"), pids.join("\n") + "\n").map_err(|e| e.to_string())?;
    eprintln!(
        "cluster: up in {:.1} s at {} (operator identity: {}); logs in {}",
        started.elapsed().as_secs_f64(),
        cluster.server(),
        cluster.operator_kubeconfig().display(),
        dir.display()
    );
    println!("{}", cluster.admin_kubeconfig().display());
    Ok(())
}

fn down(dir: &std::path::Path) -> Result<(), String> {
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap_or_default();
    let pids: Vec<u32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    // Reverse order: kwok and the controllers, then the API server, then etcd.
    for pid in pids.iter().rev() {
        cluster::process::kill(*pid);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| cluster::process::exists(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<&u32> = pids.iter().filter(|p| cluster::process::exists(**p)).collect();
    if !left.is_empty() {
        return Err(format!("processes {left:?} did not stop"));
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    }
    eprintln!(
        "cluster: down ({} processes stopped, {} removed)",
        pids.len(),
        dir.display()
    );
    Ok(())
}
