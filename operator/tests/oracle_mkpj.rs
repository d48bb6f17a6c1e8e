//! `mkpj` and `mkpod` against upstream Prow's own, built by `tests/oracle/build.sh` (`make
//! oracle`), for every job of every configuration of `tests/oracle/configs.tsv` that is here (the
//! four of `../shared/corpus` always; the extracted ones when `tests/oracle/configs.sh` has run).
//!
//! Upstream's side is `mkpj-all` (`tests/oracle/cmd/mkpj-all`): upstream's own library, driven
//! as its `mkpj` and `mkpod` drive it, with the configuration loaded once, so that every job is
//! compared (the binaries read the whole configuration for each job, 0.2 to 1 s). That it answers
//! as the binaries do is checked here too, on a few jobs of each configuration.
//!
//! For every job (each presubmit and postsubmit of each repository, each periodic), upstream
//! makes the ProwJob `mkpj` writes for the refs below, and ours is made by our `mkpj` with the
//! same refs (of the jobs of that name, the one of the same type and repository). The two are
//! compared after normalisation (generated names, times and Go's zero values set aside), and ours
//! is validated against upstream's ProwJob CRD. Then, for every job with a pod, upstream's
//! `mkpod` and ours make the Pod of upstream's ProwJob, and of ours. A table per configuration
//! shows the jobs, the agreements and the disagreements by class (field path); any disagreement
//! outside the documented list fails the test.
//!
//! Skipped, with a loud warning, when the oracle is not built; failed then when
//! `ORACLE_REQUIRED=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prow_api::ProwJob;
use prow_operator::input::Inputs;
use prow_operator::mkpj::{self, RefsArgs};
use prow_operator::mkpod::{self, MkpodOptions};
use serde_json::Value;
use support::configs::{self, Configuration};
use support::oracle::{self, Tally};

const BASE_REF: &str = "main";
const BASE_SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const PULL: i64 = 42;
const PULL_SHA: &str = "fedcba9876543210fedcba9876543210fedcba98";
const AUTHOR: &str = "alice";
const BUILD_ID: &str = "1000";
const RUN_NAME: &str = "oracle-run";
/// Jobs per configuration on which `mkpj-all` is compared with upstream's `mkpj` and `mkpod`
/// binaries themselves.
const BINARY_CHECKS: usize = 3;

/// What is never compared in Pods: what upstream's `mkpod` leaves out and the executor writes,
/// as upstream's plank does (its namespace, `created-by-prow` and the version label), and the
/// status.
const POD_IGNORED: &[&[&str]] = &[
    &["metadata", "namespace"],
    &["metadata", "labels", "created-by-prow"],
    &["metadata", "labels", "prow.k8s.io/plank-version"],
    &["metadata", "creationTimestamp"],
    &["status"],
];

/// What is never compared in ProwJobs: generated names, times, and the namespace our `mkpj`
/// writes (a documented difference: upstream's leaves it to `kubectl create`).
const PROWJOB_IGNORED: &[&[&str]] = &[
    &["metadata", "name"],
    &["metadata", "generateName"],
    &["metadata", "namespace"],
    &["metadata", "creationTimestamp"],
    &["status", "startTime"],
];

/// The refs on every command line, upstream's and ours.
fn refs_flags() -> Vec<String> {
    [
        ("--base-ref", BASE_REF),
        ("--base-sha", BASE_SHA),
        ("--pull-number", &PULL.to_string()),
        ("--pull-sha", PULL_SHA),
        ("--pull-author", AUTHOR),
    ]
    .iter()
    .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
    .collect()
}

/// One job as upstream makes it: its ProwJob and, when it has one, its Pod.
struct UpstreamJob {
    kind: String,
    repo: String,
    name: String,
    prowjob: Value,
    pod: Option<Result<Value, String>>,
}

/// A Pod line of `mkpj-all`: the Pod, or why there is none.
fn pod_of_line(line: &Value) -> Option<Result<Value, String>> {
    match (&line["pod"], &line["pod_error"]) {
        (Value::Object(_), _) => Some(Ok(line["pod"].clone())),
        (_, Value::String(error)) => Some(Err(error.clone())),
        _ => None,
    }
}

/// Runs `mkpj-all` with `args`, `stdin` fed to it; its lines, or its last words on failure.
fn mkpj_all(bin: &Path, args: &[String], stdin: &[u8]) -> Result<Vec<Value>, String> {
    let mut child = Command::new(bin.join("mkpj-all"))
        .args(args)
        .args(["--build-id", BUILD_ID, "--run-name", RUN_NAME])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run mkpj-all: {e}"))?;
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    feeder.join().expect("feeder").map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("mkpj-all wrote no JSON: {e}")))
        .collect()
}

/// Every job of the configuration as upstream makes it.
fn upstream_jobs(bin: &Path, config: &Path, jobs: &Path) -> Result<Vec<UpstreamJob>, String> {
    let mut args = vec![
        "--config-path".to_string(),
        config.display().to_string(),
        "--job-config-path".to_string(),
        jobs.display().to_string(),
    ];
    args.extend(refs_flags());
    Ok(mkpj_all(bin, &args, &[])?
        .into_iter()
        .map(|line| UpstreamJob {
            kind: line["type"].as_str().unwrap_or_default().to_string(),
            repo: line["repo"].as_str().unwrap_or_default().to_string(),
            name: line["name"].as_str().unwrap_or_default().to_string(),
            pod: pod_of_line(&line),
            prowjob: line["prowjob"].clone(),
        })
        .collect())
}

/// The Pods upstream's `mkpod` makes of `prowjobs`, in order.
fn upstream_pods(bin: &Path, prowjobs: &[Value]) -> Result<Vec<Result<Value, String>>, String> {
    let mut input = Vec::new();
    for prowjob in prowjobs {
        serde_json::to_writer(&mut input, prowjob).map_err(|e| e.to_string())?;
        input.push(b'\n');
    }
    let lines = mkpj_all(bin, &["--pods-of".into(), "-".into()], &input)?;
    if lines.len() != prowjobs.len() {
        return Err(format!(
            "mkpj-all made {} Pods of {} ProwJobs",
            lines.len(),
            prowjobs.len()
        ));
    }
    Ok(lines
        .iter()
        .map(|l| pod_of_line(l).unwrap_or_else(|| Err("mkpj-all wrote neither a Pod nor why".into())))
        .collect())
}

/// The YAML object `command` prints, or the last line it wrote to stderr when it fails.
fn yaml_of(mut command: Command, what: &str) -> Result<Value, String> {
    let output = command.output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or_default().to_string());
    }
    prow_api::yaml::load_single(&String::from_utf8_lossy(&output.stdout))
        .map(|(value, _)| value)
        .map_err(|e| format!("{what} wrote no YAML: {e}"))
}

/// Upstream's `mkpj` binary for the job `name` (the check of `mkpj-all`).
fn upstream_mkpj_binary(bin: &Path, config: &Path, jobs: &Path, name: &str) -> Result<Value, String> {
    let unreachable = "http://127.0.0.1:9";
    let mut command = Command::new(bin.join("mkpj"));
    command
        .arg("--config-path")
        .arg(config)
        .arg("--job-config-path")
        .arg(jobs)
        .args(["--job", name])
        .args(refs_flags())
        .args(["--github-endpoint", unreachable])
        .args(["--github-graphql-endpoint", &format!("{unreachable}/graphql")]);
    yaml_of(command, "upstream mkpj")
}

/// Upstream's `mkpod` binary for `prowjob` (the check of `mkpj-all`).
fn upstream_mkpod_binary(bin: &Path, prowjob: &Value, scratch: &Path) -> Result<Value, String> {
    std::fs::write(scratch, as_run(prowjob).to_string()).map_err(|e| e.to_string())?;
    let mut command = Command::new(bin.join("mkpod"));
    command.arg("--prow-job").arg(scratch).args(["--build-id", BUILD_ID]);
    yaml_of(command, "upstream mkpod")
}

fn our_mkpod(inputs: &Inputs, prowjob: &Value) -> Result<Value, String> {
    let job: ProwJob = serde_json::from_value(as_run(prowjob)).map_err(|e| format!("not a ProwJob: {e}"))?;
    let options = MkpodOptions {
        build_id: Some(BUILD_ID.into()),
        local_output: None,
    };
    let made = mkpod::make(inputs, &job, &options).map_err(|e| e.to_string())?;
    serde_json::to_value(&made.pod).map_err(|e| e.to_string())
}

/// Names the run as the executor would before making its pod.
fn as_run(prowjob: &Value) -> Value {
    let mut run = prowjob.clone();
    run["metadata"]["name"] = Value::String(RUN_NAME.into());
    if let Some(meta) = run["metadata"].as_object_mut() {
        meta.remove("generateName");
    }
    run
}

/// Our ProwJob of upstream's `job`: of the jobs of its name our `mkpj` finds, those of its type
/// and repository (a name may repeat within a repository, for other branches), the closest to
/// upstream's. Also how many there were to choose from.
fn our_mkpj(inputs: &Inputs, job: &UpstreamJob) -> Result<(Value, usize), String> {
    let args = RefsArgs {
        base_ref: Some(BASE_REF.into()),
        base_sha: Some(BASE_SHA.into()),
        pull: Some(PULL),
        pull_sha: Some(PULL_SHA.into()),
        author: Some(AUTHOR.into()),
    };
    let same_place = |pj: &Value| {
        let refs = &pj["spec"]["refs"];
        let repo = format!(
            "{}/{}",
            refs["org"].as_str().unwrap_or_default(),
            refs["repo"].as_str().unwrap_or_default()
        );
        pj["spec"]["type"] == job.kind.as_str() && (job.kind == "periodic" || repo == job.repo)
    };
    let candidates: Vec<Value> = mkpj::make_each(inputs, &job.name, &args, "prow")
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|pj| serde_json::to_value(&pj).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(same_place)
        .collect();
    let count = candidates.len();
    let theirs = oracle::normalise(job.prowjob.clone(), PROWJOB_IGNORED);
    candidates
        .into_iter()
        .min_by_key(|ours| oracle::differences(&theirs, &oracle::normalise(ours.clone(), PROWJOB_IGNORED)).len())
        .map(|ours| (ours, count))
        .ok_or_else(|| format!("no {} job named {:?} in {:?}", job.kind, job.name, job.repo))
}

/// The jobs upstream's (2024) configuration loader refuses for a rule of its version that newer
/// versions dropped: init containers, which upstream accepts as sidecars since 2025-09 (ours
/// refuses them too when checking for such a version: `field-version`).
fn refused_by_the_oracle_version(load_error: &str) -> BTreeSet<String> {
    let refusal = regex::Regex::new(
        r"invalid (?:presubmit|postsubmit|periodic) job ([^:,\]]+): pod spec may not use init containers",
    )
    .expect("regex");
    refusal
        .captures_iter(load_error)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        .collect()
}

/// A scratch copy of the job-config tree without the jobs named in `left_out` (the files that
/// hold none of them copied as they are), for upstream to read the rest.
fn job_tree_without(jobs: &Path, left_out: &BTreeSet<String>, scratch: &Path) -> PathBuf {
    let out = scratch.join("jobs");
    let mut pending = vec![jobs.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("job tree").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let target = out.join(path.strip_prefix(jobs).expect("under the tree"));
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("scratch tree");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if !left_out.iter().any(|name| text.contains(name.as_str())) {
                std::fs::write(&target, text).expect("copy");
                continue;
            }
            let mut value = prow_api::yaml::load_single(&text).expect("a job file").0;
            let kept = |job: &Value| !left_out.contains(job["name"].as_str().unwrap_or_default());
            for kind in ["presubmits", "postsubmits"] {
                for list in value[kind].as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
                    if let Some(jobs) = list.as_array_mut() {
                        jobs.retain(kept);
                    }
                }
            }
            if let Some(jobs) = value["periodics"].as_array_mut() {
                jobs.retain(kept);
            }
            std::fs::write(&target, prow_api::yaml::to_string(&value).expect("YAML")).expect("write");
        }
    }
    out
}

/// The tallies of one configuration.
struct Tallies {
    /// Jobs whose name several jobs of one type and repository share.
    shared_names: usize,
    mkpj: Tally,
    crd: Tally,
    pod_of_theirs: Tally,
    pod_of_ours: Tally,
    binaries: Tally,
}

/// Both answers compared, normalised.
fn compare(theirs: &Value, ours: &Value, ignored: &[&[&str]]) -> Vec<(String, String)> {
    oracle::differences(
        &oracle::normalise(theirs.clone(), ignored),
        &oracle::normalise(ours.clone(), ignored),
    )
}

/// A comparison of two Pods that may not have been made.
fn compare_pods(theirs: Result<Value, String>, ours: Result<Value, String>) -> Vec<(String, String)> {
    match (theirs, ours) {
        (Ok(a), Ok(b)) => compare(&a, &b, POD_IGNORED),
        (Err(e), _) => vec![("(upstream mkpod failed)".into(), e)],
        (_, Err(e)) => vec![("(our mkpod failed)".into(), e)],
    }
}

/// Compares every job of one configuration; when upstream cannot read it at all, that is its one
/// recorded disagreement.
fn compare_configuration(
    bin: &Path,
    instance: &Configuration,
    inputs: &Inputs,
    schema: &Value,
    scratch: &Path,
    report: &mut String,
) -> Tallies {
    let config = instance.root.join(&instance.config);
    let mut jobs = instance.root.join(&instance.jobs);
    let mut refused = BTreeSet::new();
    let upstream = match upstream_jobs(bin, &config, &jobs) {
        Ok(all) => Ok(all),
        Err(error) => {
            refused = refused_by_the_oracle_version(&error);
            if refused.is_empty() {
                Err(error)
            } else {
                jobs = job_tree_without(&jobs, &refused, &scratch.join(&instance.name));
                upstream_jobs(bin, &config, &jobs)
            }
        }
    };
    let mut t = Tallies {
        shared_names: 0,
        mkpj: Tally::new(&instance.name),
        crd: Tally::new(&instance.name),
        pod_of_theirs: Tally::new(&instance.name),
        pod_of_ours: Tally::new(&instance.name),
        binaries: Tally::new(&instance.name),
    };
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(error) => {
            t.mkpj.record(
                "(every job)",
                &[("(upstream cannot read the configuration)".into(), error)],
            );
            return t;
        }
    };
    report.push_str(&format!("{}: {} jobs compared\n", instance.name, upstream.len()));
    if !refused.is_empty() {
        report.push_str(&format!(
            "  ({} jobs left out: the oracle's version refuses their init containers, as our check for that version does)\n",
            refused.len()
        ));
    }
    // Ours of upstream's ProwJob, and our ProwJobs for upstream's mkpod.
    let mut ours_with_pods: Vec<(usize, Value)> = Vec::new();
    for (index, job) in upstream.iter().enumerate() {
        let ours = match our_mkpj(inputs, job) {
            Ok((ours, candidates)) => {
                t.shared_names += usize::from(candidates > 1);
                ours
            }
            Err(error) => {
                t.mkpj.record(&job.name, &[("(our mkpj failed)".into(), error)]);
                continue;
            }
        };
        t.mkpj.record(&job.name, &compare(&job.prowjob, &ours, PROWJOB_IGNORED));
        let violations: Vec<(String, String)> = oracle::schema_violations(schema, &ours)
            .into_iter()
            .map(|v| {
                let (path, what) = v.split_once(": ").unwrap_or((&v, ""));
                (path.to_string(), what.to_string())
            })
            .collect();
        t.crd.record(&job.name, &violations);
        if let Some(theirs) = &job.pod {
            t.pod_of_theirs.record(
                &job.name,
                &compare_pods(theirs.clone(), our_mkpod(inputs, &job.prowjob)),
            );
            ours_with_pods.push((index, ours));
        }
    }
    let prowjobs: Vec<Value> = ours_with_pods.iter().map(|(_, pj)| pj.clone()).collect();
    match upstream_pods(bin, &prowjobs) {
        Ok(pods) => {
            for ((index, ours), theirs) in ours_with_pods.iter().zip(pods) {
                t.pod_of_ours
                    .record(&upstream[*index].name, &compare_pods(theirs, our_mkpod(inputs, ours)));
            }
        }
        Err(error) => t
            .pod_of_ours
            .record("(every job)", &[("(upstream mkpod failed)".into(), error)]),
    }
    check_against_the_binaries(bin, &config, &jobs, &upstream, scratch, &mut t.binaries);
    t
}

/// `mkpj-all` against upstream's `mkpj` and `mkpod` binaries on [`BINARY_CHECKS`] jobs whose
/// name no other job has (spread over the configuration): the same ProwJob, the same Pod.
fn check_against_the_binaries(
    bin: &Path,
    config: &Path,
    jobs: &Path,
    upstream: &[UpstreamJob],
    scratch: &Path,
    tally: &mut Tally,
) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for job in upstream {
        *counts.entry(&job.name).or_default() += 1;
    }
    let unique: Vec<&UpstreamJob> = upstream.iter().filter(|j| counts[j.name.as_str()] == 1).collect();
    let picked = (0..BINARY_CHECKS.min(unique.len())).map(|i| unique[i * unique.len() / BINARY_CHECKS]);
    for job in picked {
        let mut differences = match upstream_mkpj_binary(bin, config, jobs, &job.name) {
            Ok(theirs) => compare(&theirs, &job.prowjob, PROWJOB_IGNORED),
            Err(error) => vec![("(upstream mkpj failed)".into(), error)],
        };
        if let Some(pod) = &job.pod {
            let binary = upstream_mkpod_binary(bin, &job.prowjob, &scratch.join("prowjob.json"));
            differences.extend(compare_pods(binary, pod.clone()));
        }
        tally.record(&job.name, &differences);
    }
}

#[test]
fn mkpj_and_mkpod_agree_with_upstream_for_every_job() {
    let Some(bin) = oracle::binaries(&["mkpj", "mkpod", "mkpj-all"]) else {
        return;
    };
    let schema = oracle::upstream_prowjob_schema();
    let scratch = std::env::temp_dir().join(format!("prow-operator-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let started = std::time::Instant::now();
    let mut report = String::new();
    let mut failed = false;
    let mut total = 0;
    for instance in &configs::configurations() {
        let imported = match instance.import(None) {
            Ok(imported) => imported,
            Err(error) => {
                report.push_str(&format!("{}: our import failed: {error}\n\n", instance.name));
                failed = true;
                continue;
            }
        };
        let inputs = support::inputs(&imported);
        let t = compare_configuration(&bin, instance, &inputs, &schema, &scratch, &mut report);
        total += t.mkpj.jobs;
        report.push_str(&format!(
            "  ({} of them share their name with another job of their type and repository: ours is the closest of those)\n",
            t.shared_names
        ));
        for (what, tally) in [
            ("mkpj vs upstream mkpj", &t.mkpj),
            ("our ProwJob vs upstream's CRD", &t.crd),
            ("mkpod vs upstream mkpod, of upstream's ProwJob", &t.pod_of_theirs),
            ("mkpod vs upstream mkpod, of our ProwJob", &t.pod_of_ours),
            ("mkpj-all vs upstream's mkpj and mkpod binaries", &t.binaries),
        ] {
            report.push_str(&tally.table(what));
            failed |= tally.disagreements() > 0;
        }
        report.push('\n');
    }
    std::fs::remove_dir_all(&scratch).ok();
    eprintln!(
        "{report}{total} jobs compared in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(!failed, "upstream Prow disagrees (table above):\n{report}");
}

/// The CRD check itself: upstream's schema refuses what the issue found in real ProwJobs.
#[test]
fn upstreams_crd_refuses_a_fractional_cpu_and_a_container_without_a_name() {
    let schema = oracle::upstream_prowjob_schema();
    let prowjob = serde_json::json!({
        "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": "x"},
        "spec": {"type": "periodic", "job": "x", "pod_spec": {"containers": [
            {"image": "golang", "resources": {"requests": {"cpu": 0.5}}}
        ]}}
    });
    let violations = oracle::schema_violations(&schema, &prowjob);
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with(".spec.pod_spec.containers[0].name: required")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with(".spec.pod_spec.containers[0].resources.requests.cpu: 0.5")),
        "{violations:?}"
    );
    let mut fixed = prowjob.clone();
    fixed["spec"]["pod_spec"]["containers"][0]["name"] = "".into();
    fixed["spec"]["pod_spec"]["containers"][0]["resources"]["requests"]["cpu"] = "500m".into();
    assert_eq!(oracle::schema_violations(&schema, &fixed), Vec::<String>::new());
}
