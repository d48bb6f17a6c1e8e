//! Benchmark of the offline path: `import`, then `check` and `render` of the result, through the
//! real binary, on the largest corpus instance and on synthetic configurations of 4,000 and
//! 10,000 jobs. Reports the best wall time of a few runs and the peak RSS of each command
//! (`/usr/bin/time`). Run with `make bench` (`cargo bench -p prow-operator --bench offline`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

#[path = "../tests/support/plugins.rs"]
mod plugins;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::Command;

use prow_api::yaml;
use serde_json::json;

const RUNS: usize = 3;

/// Writes an upstream configuration of `jobs` jobs over 100 repositories, one job-config file per
/// repository ([`synthetic::job_set`]).
fn synthetic(dir: &Path, jobs: usize) {
    let jobs_dir = dir.join("jobs");
    std::fs::create_dir_all(&jobs_dir).expect("temp dir");
    let config = json!({
        "prowjob_namespace": "prow",
        "pod_namespace": "test-pods",
        "plank": {"job_url_prefix_config": {"*": "https://prow.example.com/view/"}},
        "tide": {"queries": [{"repos": ["org/repo-0"], "labels": ["lgtm", "approved"]}]}
    });
    std::fs::write(dir.join("config.yaml"), yaml::to_string(&config).expect("yaml")).expect("write config");
    let repos = 100;
    let per_repo = jobs.div_ceil(repos);
    let mut written = 0;
    for repo in 0..repos {
        let count = per_repo.min(jobs - written);
        written += count;
        std::fs::write(
            jobs_dir.join(format!("repo-{repo}.yaml")),
            yaml::to_string(&synthetic::job_set(repo, count)).expect("yaml"),
        )
        .expect("write jobs");
    }
}

/// Runs the binary under `/usr/bin/time`; returns (seconds, peak RSS in MiB).
fn measure(args: &[&str]) -> (f64, f64) {
    let mut best = (f64::MAX, 0.0_f64);
    for _ in 0..RUNS {
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(env!("CARGO_BIN_EXE_prow-operator"))
            .args(args)
            .output()
            .expect("/usr/bin/time runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        let mut fields = last.split_whitespace();
        let seconds: f64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        let kib: f64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        assert!(
            output.status.code().is_some_and(|c| c <= 1),
            "{args:?} failed: {}",
            stderr.lines().take(5).collect::<Vec<_>>().join("\n")
        );
        best = (best.0.min(seconds), best.1.max(kib / 1024.0));
    }
    best
}

/// Runs `binary` with `args` under `/usr/bin/time` [`RUNS`] times; returns the best wall time and
/// the peak RSS in MiB, and whether it exited 0.
fn measure_binary(binary: &Path, args: &[&str]) -> (f64, f64, bool) {
    let mut best = (f64::MAX, 0.0_f64, true);
    for _ in 0..RUNS {
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(binary)
            .args(args)
            .output()
            .expect("/usr/bin/time runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut fields = stderr.lines().last().unwrap_or_default().split_whitespace();
        let seconds: f64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        let kib: f64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        best = (
            best.0.min(seconds),
            best.1.max(kib / 1024.0),
            best.2 && output.status.success(),
        );
    }
    best
}

/// Our `check` (of the imported configuration) beside upstream's `checkconfig` (of the original
/// files), on the largest configuration at hand: kubernetes/test-infra's when `make
/// oracle-configs` extracted it, else the knative corpus. Skipped when the oracle is not built.
fn beside_checkconfig(root: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let checkconfig = repo.join("target/oracle/bin/checkconfig");
    if !checkconfig.exists() {
        println!("check vs checkconfig: skipped (build the oracle with `make oracle-binaries`)");
        return;
    }
    let kubernetes = repo.join("tests/oracle/configs/kubernetes__test-infra");
    let (label, prow, jobs) = if kubernetes.join("config/prow/config.yaml").exists() {
        (
            "kubernetes (3,849 jobs)",
            kubernetes.join("config/prow"),
            kubernetes.join("config/jobs"),
        )
    } else {
        let knative = repo.join("../shared/corpus/knative__infra/prow");
        ("corpus knative (549 jobs)", knative.clone(), knative.join("jobs"))
    };
    let config = prow.join("config.yaml");
    let plugins = prow.join("plugins.yaml");
    let out = root.join("beside-checkconfig");
    let path = |p: &Path| p.to_str().unwrap_or_default().to_string();
    let (config, plugins, jobs, out) = (path(&config), path(&plugins), path(&jobs), path(&out));
    let mut import = vec!["import", "--config", &config, "--job-config", &jobs, "-o", &out];
    if Path::new(&plugins).exists() {
        import.extend(["--plugins", &plugins]);
    }
    measure(&import);
    let ours = measure(&["check", "-f", &out]);
    // The oracle is upstream's 2024 version: plugins it does not know yet (kubernetes'
    // `issue-management`) are left out of its plugins.yaml, so that it checks the rest.
    let mut upstream_plugins = plugins.clone();
    let mut theirs = (f64::NAN, f64::NAN, false);
    for _ in 0..5 {
        let config_flag = format!("--config-path={config}");
        let jobs_flag = format!("--job-config-path={jobs}");
        let plugins_flag = format!("--plugin-config={upstream_plugins}");
        let mut upstream_args = vec![config_flag.as_str(), jobs_flag.as_str()];
        if Path::new(&plugins).exists() {
            upstream_args.push(plugins_flag.as_str());
        }
        let output = Command::new(&checkconfig)
            .args(&upstream_args)
            .output()
            .expect("checkconfig runs");
        let text = String::from_utf8_lossy(&output.stderr).to_string();
        match text
            .split("unknown plugin: ")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            Some(unknown) if !output.status.success() => {
                let stripped = root.join(format!("plugins-without-{unknown}.json"));
                plugins::write_without_plugins(Path::new(&upstream_plugins), &[unknown], &stripped);
                upstream_plugins = path(&stripped);
            }
            _ => {
                theirs = measure_binary(&checkconfig, &upstream_args);
                break;
            }
        }
    }
    println!(
        "check vs checkconfig on {label}: ours {:.3}s {:.1} MiB, upstream {:.3}s {:.1} MiB{}: {:.2}x the time, {:.2}x the memory",
        ours.0,
        ours.1,
        theirs.0,
        theirs.1,
        if theirs.2 {
            ""
        } else {
            " (it refused the configuration)"
        },
        ours.0 / theirs.0,
        ours.1 / theirs.1
    );
}

fn bench(label: &str, config: &Path, jobs: &Path, out: &Path) {
    let (config, jobs, out) = (
        config.to_str().unwrap_or_default(),
        jobs.to_str().unwrap_or_default(),
        out.to_str().unwrap_or_default(),
    );
    let import = measure(&["import", "--config", config, "--job-config", jobs, "-o", out]);
    let check = measure(&["check", "-f", out]);
    let render = measure(&["render", "-f", out]);
    println!(
        "{label:<28} import {:>6.3}s {:>6.1} MiB | check {:>6.3}s {:>6.1} MiB | render {:>6.3}s {:>6.1} MiB | import+render {:>6.3}s",
        import.0,
        import.1,
        check.0,
        check.1,
        render.0,
        render.1,
        import.0 + render.0
    );
}

fn main() {
    // PROW_BENCH_DIR keeps the generated files there, for profiling.
    let keep = std::env::var_os("PROW_BENCH_DIR").map(PathBuf::from);
    let root = keep
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("prow-operator-bench-{}", std::process::id())));
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knative__infra/prow");
    bench(
        "corpus knative (549 jobs)",
        &corpus.join("config.yaml"),
        &corpus.join("jobs"),
        &root.join("knative-out"),
    );
    for jobs in [4_000, 10_000] {
        let dir = root.join(format!("synthetic-{jobs}"));
        synthetic(&dir, jobs);
        let bytes: u64 = std::fs::read_dir(dir.join("jobs"))
            .expect("jobs")
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        bench(
            &format!("synthetic {jobs} jobs ({:.1} MB)", bytes as f64 / 1e6),
            &dir.join("config.yaml"),
            &dir.join("jobs"),
            &dir.join("out"),
        );
    }
    beside_checkconfig(&root);
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}
