//! Pods of real configurations, and `mkpod` itself.
//!
//! - Every decorated job (`decorate: true`, or `decorate_all_jobs`) of the four instances of
//!   `../shared/corpus`, imported as the operator imports them, becomes a ProwJob and then a Pod
//!   through [`prowjob_to_pod`] with the instance's [`PodInputs`], without error; all the Pods are
//!   then validated at once by `kubernetes-validate --strict` (which `.ci/run` installs).
//! - `prow-operator mkpod` on the samples of `config/samples`, for a ProwJob that `mkpj` made, is
//!   a snapshot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prow_api::job::{JobBase, Pull, Refs};
use prow_api::{ProwJob, ProwJobStatus};
use prow_operator::engine::prowjob::{self, Creation};
use prow_operator::instance_config::InstanceConfig;
use prow_operator::podspec::prowjob_to_pod;

fn decorated(base: &JobBase, decorate_all_jobs: bool) -> bool {
    base.agent() == prow_api::job::DEFAULT_AGENT && base.decorate.unwrap_or(decorate_all_jobs)
}

fn refs(repo: &str, pull: bool) -> Refs {
    let (org, name) = repo.split_once('/').unwrap_or((repo, ""));
    Refs {
        org: org.into(),
        repo: name.into(),
        base_ref: Some("main".into()),
        base_sha: Some("0123456789abcdef".into()),
        pulls: pull.then(|| {
            vec![Pull {
                number: 42,
                author: "alice".into(),
                sha: "fedcba9876543210".into(),
                title: Some("Fix <everything> & more".into()),
                ..Pull::default()
            }]
        }),
        ..Refs::default()
    }
}

/// Names the run and gives it a build id, as the executor does before building the pod.
fn run(mut job: ProwJob, index: usize) -> ProwJob {
    job.metadata.name = Some(format!("run-{index}"));
    job.metadata.generate_name = None;
    if let Some(status) = job.status.as_mut() {
        *status = ProwJobStatus {
            build_id: Some(format!("{}", 1_000_000 + index)),
            ..status.clone()
        };
    }
    job
}

#[test]
fn every_decorated_corpus_job_becomes_a_valid_pod() {
    let dir = std::env::temp_dir().join(format!("prow-operator-pod-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut summary = Vec::new();
    let mut total = 0;
    for instance in &support::CORPUS {
        let imported = instance.import();
        let config = InstanceConfig::resolve(&imported.instance).unwrap_or_else(|e| panic!("{}: {e}", instance.name));
        let inputs = &config.pods;
        let creation = Creation {
            name: String::new(),
            namespace: "prow".into(),
            start_time: Time("2026-01-01T00:00:00Z".parse().expect("time")),
            extra_labels: BTreeMap::new(),
            decorate_all_jobs: inputs.decorate_all_jobs,
            generate_name: false,
            presets: imported
                .job_configs
                .iter()
                .flat_map(|c| c.spec.jobs.presets.iter().cloned())
                .collect(),
            defaults: std::sync::Arc::new(config.job_defaults.clone()),
            from_event: true,
        };
        let mut jobs = Vec::new();
        for config in &imported.job_configs {
            let set = &config.spec.jobs;
            for (repo, list) in &set.presubmits {
                for job in list.iter().filter(|j| decorated(&j.base, inputs.decorate_all_jobs)) {
                    jobs.push(prowjob::presubmit(job, refs(repo, true), &creation));
                }
            }
            for (repo, list) in &set.postsubmits {
                for job in list.iter().filter(|j| decorated(&j.base, inputs.decorate_all_jobs)) {
                    jobs.push(prowjob::postsubmit(job, refs(repo, false), &creation));
                }
            }
            for job in set
                .periodics
                .iter()
                .filter(|j| decorated(&j.base, inputs.decorate_all_jobs))
            {
                jobs.push(prowjob::periodic(job, &creation));
            }
        }
        let mut text = String::new();
        for (index, job) in jobs.into_iter().enumerate() {
            let job = run(job, total + index);
            let pod =
                prowjob_to_pod(&job, inputs).unwrap_or_else(|e| panic!("{}: job {}: {e}", instance.name, job.spec.job));
            let spec = pod.spec.as_ref().expect("pod spec");
            let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
            assert!(names.contains(&"sidecar"), "{}: {names:?}", job.spec.job);
            text.push_str("---\n");
            text.push_str(&prow_api::yaml::to_string(&pod).expect("pod as YAML"));
            summary.push(job.spec.job.clone());
        }
        let decorated = summary.len() - total;
        eprintln!("{}: {decorated} decorated jobs became pods", instance.name);
        total = summary.len();
        let file = dir.join(format!("{}.yaml", instance.name));
        std::fs::write(&file, text).expect("write pods");
        files.push(file);
    }
    assert!(total > 100, "only {total} decorated jobs in the corpus");
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!("kubernetes-validate could not run ({e}): install it with `python3 -m pip install kubernetes-validate`, as .ci/run does")
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "kubernetes-validate --strict failed:\n{report}"
    );
    eprintln!("{total} pods validated by kubernetes-validate --strict");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mkpod_on_the_samples() {
    let root = support::workspace();
    let binary = env!("CARGO_BIN_EXE_prow-operator");
    let samples = root.join("config/samples");
    let dir = std::env::temp_dir().join(format!("prow-operator-mkpod-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mkpj = Command::new(binary)
        .arg("mkpj")
        .arg("-f")
        .arg(&samples)
        .args(["--job", "pull-api-unit", "--base-ref", "main", "--base-sha", "abc123"])
        .args(["--pull", "7", "--pull-sha", "def456", "--author", "alice"])
        .output()
        .expect("mkpj runs");
    assert!(mkpj.status.success(), "{}", String::from_utf8_lossy(&mkpj.stderr));
    let prowjob = dir.join("prowjob.yaml");
    std::fs::write(&prowjob, &mkpj.stdout).expect("write prowjob");
    let mkpod = Command::new(binary)
        .arg("mkpod")
        .arg("-f")
        .arg(&samples)
        .arg("--prowjob")
        .arg(&prowjob)
        .args(["--build-id", "1000"])
        .output()
        .expect("mkpod runs");
    assert!(mkpod.status.success(), "{}", String::from_utf8_lossy(&mkpod.stderr));
    let pod = String::from_utf8(mkpod.stdout).expect("UTF-8");
    let version = format!("prow-operator-v{}", env!("CARGO_PKG_VERSION"));
    insta::assert_snapshot!("mkpod_sample", pod.replace(&version, "prow-operator-vVERSION"));

    // Upstream's `status.state` is `omitempty`: a ProwJob without one makes the same pod.
    let (mut stateless, _) = prow_api::yaml::load_single(&String::from_utf8_lossy(&mkpj.stdout)).expect("YAML");
    let status = stateless["status"].as_object_mut().expect("mkpj writes a status");
    assert!(status.remove("state").is_some());
    std::fs::write(&prowjob, stateless.to_string()).expect("write prowjob");
    let without_state = Command::new(binary)
        .arg("mkpod")
        .arg("-f")
        .arg(&samples)
        .arg("--prowjob")
        .arg(&prowjob)
        .args(["--build-id", "1000"])
        .output()
        .expect("mkpod runs");
    assert!(
        without_state.status.success(),
        "{}",
        String::from_utf8_lossy(&without_state.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&without_state.stdout), pod);

    std::fs::write(&prowjob, "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nspec: {job: x}\n").expect("write");
    let bad = Command::new(binary)
        .arg("mkpod")
        .arg("-f")
        .arg(&samples)
        .arg("--prowjob")
        .arg(&prowjob)
        .output()
        .expect("mkpod runs");
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("not a ProwJob") && message.contains("type"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
