//! `mkpj` and `mkpod` against upstream Prow's own, built by `tests/oracle/build.sh` (`make
//! oracle`), on every configuration of `tests/oracle/configs.tsv` that is here (the four of
//! `../shared/corpus` always; the extracted ones when `tests/oracle/configs.sh` has run).
//!
//! For every job of each configuration, upstream's `mkpj` (given config.yaml and the job-config
//! tree, and every ref on the command line so that it asks GitHub nothing) and ours (given the
//! imported custom resources, with the same refs) make a ProwJob. The two are compared after
//! normalisation (generated names, times and Go's zero values set aside), and ours is validated
//! against upstream's ProwJob CRD. Then, for every job with a pod, upstream's `mkpod` and ours make
//! the Pod of upstream's ProwJob, and of ours. A table per configuration shows the jobs, the
//! agreements and the disagreements by class (field path); any disagreement fails the test.
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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

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
/// Job names compared per configuration by default (see [`sample_size`]).
const DEFAULT_SAMPLE: usize = 60;

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

fn upstream_mkpj(bin: &Path, config: &Path, jobs: &Path, name: &str) -> Result<Value, String> {
    let unreachable = "http://127.0.0.1:9";
    let output = Command::new(bin.join("mkpj"))
        .arg("--config-path")
        .arg(config)
        .arg("--job-config-path")
        .arg(jobs)
        .args(["--job", name, "--base-ref", BASE_REF, "--base-sha", BASE_SHA])
        .args(["--pull-number", &PULL.to_string(), "--pull-sha", PULL_SHA])
        .args(["--pull-author", AUTHOR])
        .args(["--github-endpoint", unreachable])
        .args(["--github-graphql-endpoint", &format!("{unreachable}/graphql")])
        .output()
        .map_err(|e| format!("cannot run upstream mkpj: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or_default().to_string());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    prow_api::yaml::load_single(&text)
        .map(|(value, _)| value)
        .map_err(|e| format!("upstream mkpj wrote no YAML: {e}"))
}

fn upstream_mkpod(bin: &Path, prowjob: &Value, scratch: &Path) -> Result<Value, String> {
    std::fs::write(scratch, prowjob.to_string()).map_err(|e| e.to_string())?;
    let output = Command::new(bin.join("mkpod"))
        .arg("--prow-job")
        .arg(scratch)
        .args(["--build-id", BUILD_ID])
        .output()
        .map_err(|e| format!("cannot run upstream mkpod: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or_default().to_string());
    }
    prow_api::yaml::load_single(&String::from_utf8_lossy(&output.stdout))
        .map(|(value, _)| value)
        .map_err(|e| format!("upstream mkpod wrote no YAML: {e}"))
}

fn our_mkpod(inputs: &Inputs, prowjob: &Value) -> Result<Value, String> {
    let job: ProwJob = serde_json::from_value(prowjob.clone()).map_err(|e| format!("not a ProwJob: {e}"))?;
    let options = MkpodOptions {
        build_id: Some(BUILD_ID.into()),
        local_output: None,
    };
    let made = mkpod::make(inputs, &job, &options).map_err(|e| e.to_string())?;
    serde_json::to_value(&made.pod).map_err(|e| e.to_string())
}

/// Names the run as the executor would before making its pod, on both sides alike.
fn as_run(prowjob: &Value) -> Value {
    let mut run = prowjob.clone();
    run["metadata"]["name"] = Value::String(RUN_NAME.into());
    if let Some(meta) = run["metadata"].as_object_mut() {
        meta.remove("generateName");
    }
    run
}

/// Whether upstream's ProwJob has a pod to make (kubernetes agent, a pod spec).
fn has_pod(prowjob: &Value) -> bool {
    prowjob["spec"]["agent"] == "kubernetes" && prowjob["spec"]["pod_spec"].is_object()
}

/// Our ProwJob of `name`: `mkpj` itself for a name no other job has. Upstream's `mkpj` takes the
/// first job of that name it meets (in Go's random map order across repositories), so for a
/// name several jobs share, ours is made for each (as `mkpj --base-ref` would pick it) and the
/// one closest to upstream's is compared.
fn our_mkpj(inputs: &Inputs, name: &str, theirs: &Value) -> Result<(Value, usize), String> {
    let args = RefsArgs {
        base_ref: Some(BASE_REF.into()),
        base_sha: Some(BASE_SHA.into()),
        pull: Some(PULL),
        pull_sha: Some(PULL_SHA.into()),
        author: Some(AUTHOR.into()),
    };
    let candidates = mkpj::make_each(inputs, name, &args, "prow").map_err(|e| e.to_string())?;
    let count = candidates.len();
    let theirs = oracle::normalise(theirs.clone(), PROWJOB_IGNORED);
    candidates
        .into_iter()
        .map(|pj| serde_json::to_value(&pj).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .min_by_key(|ours| oracle::differences(&theirs, &oracle::normalise(ours.clone(), PROWJOB_IGNORED)).len())
        .map(|ours| (ours, count))
        .ok_or_else(|| format!("no job named {name:?}"))
}

/// How many job names of each configuration are compared: `ORACLE_SAMPLE` (a number, or `all`),
/// else [`DEFAULT_SAMPLE`]. Upstream's `mkpj` reads the whole configuration for each job (0.2 to
/// 1 s on the corpus), so CI compares a sample, spread evenly over the names in order.
fn sample_size() -> Option<usize> {
    match std::env::var("ORACLE_SAMPLE").as_deref() {
        Ok("all") => None,
        Ok(number) => Some(
            number
                .parse()
                .unwrap_or_else(|_| panic!("ORACLE_SAMPLE={number}: a number or `all`")),
        ),
        Err(_) => Some(DEFAULT_SAMPLE),
    }
}

/// `names`, or `size` of them spread evenly (the same ones every run).
fn sample(names: Vec<String>, size: Option<usize>) -> Vec<String> {
    match size {
        Some(size) if size < names.len() => (0..size).map(|i| names[i * names.len() / size].clone()).collect(),
        _ => names,
    }
}

/// The jobs upstream's (2024) configuration loader refuses for a rule of its version that newer
/// versions dropped: init containers, which upstream accepts as sidecars since 2025-09 (ours
/// refuses them too when checking for such a version: `field-version`).
fn refused_by_the_oracle_version(bin: &Path, instance: &Configuration) -> BTreeSet<String> {
    let root = &instance.root;
    let Err(error) = upstream_mkpj(bin, &root.join(&instance.config), &root.join(&instance.jobs), "-") else {
        return BTreeSet::new();
    };
    let refusal = regex::Regex::new(
        r"invalid (?:presubmit|postsubmit|periodic) job ([^:,\]]+): pod spec may not use init containers",
    )
    .expect("regex");
    refusal
        .captures_iter(&error)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        .collect()
}

/// A scratch copy of the job-config tree without the jobs named in `left_out` (the files that
/// hold none of them copied as they are), for upstream's `mkpj` to read the rest.
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

/// Every job name of the configuration, once.
fn job_names(inputs: &Inputs) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for config in &inputs.job_configs {
        let jobs = &config.object.spec.jobs;
        names.extend(jobs.presubmits.values().flatten().map(|j| j.base.name.clone()));
        names.extend(jobs.postsubmits.values().flatten().map(|j| j.base.name.clone()));
        names.extend(jobs.periodics.iter().map(|j| j.base.name.clone()));
    }
    names.into_iter().collect()
}

/// The files upstream's `mkpj` reads: config.yaml and the job-config tree.
struct UpstreamFiles {
    config: PathBuf,
    jobs: PathBuf,
}

/// The tallies of one configuration.
struct Tallies {
    /// Names several jobs share.
    shared_names: usize,
    mkpj: Tally,
    crd: Tally,
    pod_of_theirs: Tally,
    pod_of_ours: Tally,
}

fn compare_job(
    bin: &Path,
    upstream: &UpstreamFiles,
    inputs: &Inputs,
    name: &str,
    scratch: &Path,
    schema: &Value,
    tallies: &Mutex<Tallies>,
) {
    let theirs = match upstream_mkpj(bin, &upstream.config, &upstream.jobs, name) {
        Ok(theirs) => theirs,
        Err(error) => {
            let mut t = tallies.lock().expect("tallies");
            t.mkpj.record(name, &[("(upstream mkpj failed)".into(), error)]);
            return;
        }
    };
    let ours = our_mkpj(inputs, name, &theirs);
    let mut t = tallies.lock().expect("tallies");
    let ours = match ours {
        Ok((ours, candidates)) => {
            t.shared_names += usize::from(candidates > 1);
            ours
        }
        Err(error) => {
            t.mkpj.record(name, &[("(our mkpj failed)".into(), error)]);
            return;
        }
    };
    let differences = oracle::differences(
        &oracle::normalise(theirs.clone(), PROWJOB_IGNORED),
        &oracle::normalise(ours.clone(), PROWJOB_IGNORED),
    );
    t.mkpj.record(name, &differences);
    let violations: Vec<(String, String)> = oracle::schema_violations(schema, &ours)
        .into_iter()
        .map(|v| {
            let (path, what) = v.split_once(": ").unwrap_or((&v, ""));
            (path.to_string(), what.to_string())
        })
        .collect();
    t.crd.record(name, &violations);
    drop(t);
    if !has_pod(&theirs) {
        return;
    }
    for (prowjob, side) in [(&theirs, "theirs"), (&ours, "ours")] {
        let run = as_run(prowjob);
        let upstream_pod = upstream_mkpod(bin, &run, scratch);
        let our_pod = our_mkpod(inputs, &run);
        let differences = match (upstream_pod, our_pod) {
            (Ok(a), Ok(b)) => {
                oracle::differences(&oracle::normalise(a, POD_IGNORED), &oracle::normalise(b, POD_IGNORED))
            }
            (Err(e), _) => vec![("(upstream mkpod failed)".into(), e)],
            (_, Err(e)) => vec![("(our mkpod failed)".into(), e)],
        };
        let mut t = tallies.lock().expect("tallies");
        let tally = if side == "theirs" {
            &mut t.pod_of_theirs
        } else {
            &mut t.pod_of_ours
        };
        tally.record(name, &differences);
    }
}

#[test]
fn mkpj_and_mkpod_agree_with_upstream_on_the_corpus() {
    let Some(bin) = oracle::binaries(&["mkpj", "mkpod"]) else {
        return;
    };
    let schema = oracle::upstream_prowjob_schema();
    let scratch_dir = std::env::temp_dir().join(format!("prow-operator-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&scratch_dir).expect("scratch dir");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let started = std::time::Instant::now();
    let mut report = String::new();
    let mut failed = false;
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
        let refused = refused_by_the_oracle_version(&bin, instance);
        let jobs = if refused.is_empty() {
            instance.root.join(&instance.jobs)
        } else {
            job_tree_without(
                &instance.root.join(&instance.jobs),
                &refused,
                &scratch_dir.join(&instance.name),
            )
        };
        let upstream = UpstreamFiles {
            config: instance.root.join(&instance.config),
            jobs,
        };
        let all: Vec<String> = job_names(&inputs)
            .into_iter()
            .filter(|n| !refused.contains(n))
            .collect();
        let total = all.len();
        let names = sample(all, sample_size());
        report.push_str(&format!(
            "{}: {} of {total} job names compared\n",
            instance.name,
            names.len()
        ));
        if !refused.is_empty() {
            report.push_str(&format!(
                "  ({} jobs left out: the oracle's version refuses their init containers, as our check for that version does)\n",
                refused.len()
            ));
        }
        let tallies = Mutex::new(Tallies {
            shared_names: 0,
            mkpj: Tally::new(&instance.name),
            crd: Tally::new(&instance.name),
            pod_of_theirs: Tally::new(&instance.name),
            pod_of_ours: Tally::new(&instance.name),
        });
        let next = Mutex::new(names.iter());
        std::thread::scope(|scope| {
            for worker in 0..workers {
                let scratch: PathBuf = scratch_dir.join(format!("prowjob-{worker}.json"));
                let (next, tallies, inputs, bin, schema, upstream) =
                    (&next, &tallies, &inputs, &bin, &schema, &upstream);
                scope.spawn(move || {
                    loop {
                        let Some(name) = next.lock().expect("queue").next() else {
                            break;
                        };
                        compare_job(bin, upstream, inputs, name, &scratch, schema, tallies);
                    }
                });
            }
        });
        let t = tallies.into_inner().expect("tallies");
        report.push_str(&format!(
            "  ({} of them shared by several jobs: upstream's mkpj takes one, ours is the closest of them)\n",
            t.shared_names
        ));
        for (what, tally) in [
            ("mkpj vs upstream mkpj", &t.mkpj),
            ("our ProwJob vs upstream's CRD", &t.crd),
            ("mkpod vs upstream mkpod, of upstream's ProwJob", &t.pod_of_theirs),
            ("mkpod vs upstream mkpod, of our ProwJob", &t.pod_of_ours),
        ] {
            report.push_str(&tally.table(what));
            failed |= tally.disagreements() > 0;
        }
        report.push('\n');
    }
    std::fs::remove_dir_all(&scratch_dir).ok();
    eprintln!(
        "{report}compared in {:.1} s with {workers} workers",
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
