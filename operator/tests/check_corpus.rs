//! The checker on the real Prow configurations of `/work/shared/corpus`: they all run in
//! production, so no rule may report an error on them. Warnings are printed (run with
//! `--nocapture` to see them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prow_api::job::JobSet;
use prow_api::status::{Finding, Severity};
use prow_api::upstream::config::JOB_KEYS;
use prow_api::{LabelSetSpec, PluginConfigSpec};
use prow_operator::check::{JobContext, KnownClusters, check_across_at, check_jobs, check_labels, check_plugins};
use serde_json::{Map, Value};

/// One instance of the corpus: its files, relative to the instance's folder.
struct Instance {
    dir: &'static str,
    config: &'static str,
    plugins: &'static str,
    labels: Option<&'static str>,
    jobs: &'static str,
}

const INSTANCES: [Instance; 4] = [
    Instance {
        dir: "gardener__ci-infra",
        config: "config/prow/config.yaml",
        plugins: "config/prow/plugins.yaml",
        labels: Some("config/prow/labels.yaml"),
        jobs: "config/jobs",
    },
    Instance {
        dir: "knative__infra",
        config: "prow/config.yaml",
        plugins: "prow/plugins.yaml",
        labels: None,
        jobs: "prow/jobs",
    },
    Instance {
        dir: "metal3-io__project-infra",
        config: "prow/config/config.yaml",
        plugins: "prow/config/plugins.yaml",
        labels: Some("prow/config/labels.yaml"),
        jobs: "prow/config/jobs",
    },
    Instance {
        dir: "kubernetes-sigs__prow",
        config: "test/integration/config/prow/config.yaml",
        plugins: "test/integration/config/prow/plugins.yaml",
        labels: None,
        jobs: "test/integration/config/prow/jobs",
    },
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
            out.push(path);
        }
    }
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    prow_api::yaml::load_documents(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .values
}

/// The jobs of one document: only the four job keys.
fn job_set(document: &Value, origin: &str) -> Option<JobSet> {
    let object = document.as_object()?;
    let jobs: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| JOB_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if jobs.is_empty() {
        return None;
    }
    Some(serde_json::from_value(Value::Object(jobs)).unwrap_or_else(|e| panic!("{origin}: not a JobSet: {e}")))
}

#[derive(Default)]
struct Tally {
    errors: Vec<String>,
    warnings: usize,
}

impl Tally {
    fn add(&mut self, origin: &str, findings: &[Finding]) {
        for finding in findings {
            let line = format!(
                "{origin}: {} [{}] {}",
                finding.path,
                finding.rule.as_deref().unwrap_or("-"),
                finding.message
            );
            match finding.severity {
                Severity::Error => self.errors.push(line),
                Severity::Warning => {
                    self.warnings += 1;
                    eprintln!("warning: {line}");
                }
            }
        }
    }
}

#[test]
fn the_corpus_has_no_errors() {
    let root = corpus();
    let mut all_errors = Vec::new();
    let mut summary = Vec::new();
    for instance in &INSTANCES {
        let base = root.join(instance.dir);
        let mut tally = Tally::default();

        // config.yaml: the context of the jobs, and jobs of its own (presets, for some).
        let config_path = base.join(instance.config);
        let config = documents(&config_path).into_iter().next().unwrap_or(Value::Null);
        let decorate_all_jobs = config
            .get("decorate_all_jobs")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let job_queues: BTreeSet<String> = config
            .pointer("/plank/job_queue_capacities")
            .and_then(Value::as_object)
            .map(|queues| queues.keys().cloned().collect())
            .unwrap_or_default();
        let ctx = JobContext {
            decorate_all_jobs,
            job_queues: &job_queues,
            // Upstream's checkconfig does not know the build clusters either.
            clusters: KnownClusters::Unknown,
            // The newest rules, as the corpus' expectations were written for them.
            version: None,
        };

        let mut sets: Vec<(String, JobSet)> = Vec::new();
        if let Some(set) = job_set(&config, instance.config) {
            sets.push((instance.config.to_string(), set));
        }
        let mut files = Vec::new();
        yaml_files(&base.join(instance.jobs), &mut files);
        for file in &files {
            let name = file.strip_prefix(&base).unwrap_or(file).display().to_string();
            for (index, document) in documents(file).iter().enumerate() {
                if let Some(set) = job_set(document, &format!("{name} (document {index})")) {
                    sets.push((format!("{name}#{index}"), set));
                }
            }
        }
        let mut jobs = 0;
        for (origin, set) in &sets {
            let counts = set.counts();
            jobs += counts.presubmits + counts.postsubmits + counts.periodics;
            tally.add(origin, &check_jobs(set, &ctx, ""));
        }
        let refs: Vec<&JobSet> = sets.iter().map(|(_, set)| set).collect();
        let repeated = repeated_presubmit_names(&refs);
        for (owner, finding) in check_across_at(&refs, "") {
            tally.add(&format!("{} (across)", sets[owner].0), std::slice::from_ref(&finding));
        }

        let plugins_value = documents(&base.join(instance.plugins))
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let plugins: PluginConfigSpec =
            serde_json::from_value(plugins_value).unwrap_or_else(|e| panic!("{}: {e}", instance.plugins));
        tally.add(instance.plugins, &check_plugins(&plugins, false, None));

        if let Some(labels_file) = instance.labels {
            let labels_value = documents(&base.join(labels_file))
                .into_iter()
                .next()
                .unwrap_or(Value::Null);
            let labels: LabelSetSpec =
                serde_json::from_value(labels_value).unwrap_or_else(|e| panic!("{labels_file}: {e}"));
            tally.add(labels_file, &check_labels(&labels));
        }

        summary.push(format!(
            "{}: {} job sets, {jobs} jobs, {repeated} presubmit names repeated in a repository, {} errors, {} warnings",
            instance.dir,
            sets.len(),
            tally.errors.len(),
            tally.warnings
        ));
        all_errors.extend(tally.errors.into_iter().map(|e| format!("{}/{e}", instance.dir)));
    }
    for line in &summary {
        eprintln!("{line}");
    }
    assert!(
        all_errors.is_empty(),
        "errors on production configs:\n{}",
        all_errors.join("\n")
    );
}

/// How many (repository, presubmit name) pairs occur more than once: jobs told apart by branches.
fn repeated_presubmit_names(sets: &[&JobSet]) -> usize {
    let mut seen: std::collections::BTreeMap<(&str, &str), usize> = std::collections::BTreeMap::new();
    for set in sets {
        for (repo, jobs) in &set.presubmits {
            for job in jobs {
                *seen.entry((repo.as_str(), job.base.name.as_str())).or_default() += 1;
            }
        }
    }
    seen.values().filter(|count| **count > 1).count()
}

/// The metal3 jobs repeat names across release branches; making two of them overlap must be
/// caught, in one object and across objects.
#[test]
fn overlapping_copies_of_a_corpus_job_are_caught() {
    let base = corpus().join("metal3-io__project-infra/prow/config/jobs/metal3-io");
    let load = |file: &str| -> JobSet {
        let path = base.join(file);
        job_set(&documents(&path)[0], file).expect("jobs")
    };
    let main = load("ironic-image.yaml");
    let mut release = load("ironic-image-release-37.0.yaml");
    let refs = [&main, &release];
    assert!(
        check_across_at(&refs, "").is_empty(),
        "release branches keep the jobs apart"
    );
    let repo = "metal3-io/ironic-image";
    let index = release.presubmits[repo]
        .iter()
        .position(|job| job.base.name == "shellcheck")
        .expect("shellcheck job");
    release
        .presubmits
        .get_mut(repo)
        .expect("repo")
        .get_mut(index)
        .expect("job")
        .brancher
        .branches = Some(vec!["main".to_string()]);
    let refs = [&main, &release];
    let across = check_across_at(&refs, "");
    let expected = format!("presubmits[\"{repo}\"][{index}].name");
    assert!(
        across
            .iter()
            .any(|(owner, f)| *owner == 1 && f.path == expected && f.rule.as_deref() == Some("duplicate-job")),
        "{across:#?}"
    );
    let mut merged = main.clone();
    merged
        .presubmits
        .get_mut(repo)
        .expect("repo")
        .push(release.presubmits[repo][index].clone());
    let queues = BTreeSet::new();
    let findings = check_jobs(
        &merged,
        &JobContext {
            decorate_all_jobs: false,
            job_queues: &queues,
            clusters: KnownClusters::Unknown,
            version: None,
        },
        "spec",
    );
    assert!(
        findings
            .iter()
            .any(|f| f.rule.as_deref() == Some("duplicate-job") && f.severity == Severity::Error),
        "{findings:#?}"
    );
}
