//! The offline GitOps path: `render`, `check` and `import`, on the samples and on every corpus
//! instance.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use prow_api::job::JobSet;
use prow_api::status::Severity;
use prow_operator::input;
use prow_operator::pipeline;
use prow_operator::render::object::Object;
use prow_operator::render::{OperatorWebhook, Rendered};
use serde_json::Value;

fn webhook() -> OperatorWebhook {
    OperatorWebhook::in_namespace("prow-operator-system")
}

fn render_inputs(inputs: &input::Inputs) -> Vec<Rendered> {
    inputs
        .instances
        .iter()
        .map(|instance| {
            let selected = pipeline::select(inputs, instance);
            let reports = pipeline::validate(&selected);
            if let Some(report) = reports.iter().find(|r| r.has_errors()) {
                panic!("{report}");
            }
            pipeline::build(&selected, &reports, &webhook()).unwrap()
        })
        .collect()
}

fn samples() -> input::Inputs {
    let inputs = input::load(&[support::workspace().join("config/samples")]).unwrap();
    assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
    inputs
}

#[test]
fn rendered_samples_snapshot() {
    let rendered = render_inputs(&samples());
    assert_eq!(rendered.len(), 1);
    insta::assert_snapshot!("rendered_samples", rendered[0].to_yaml().unwrap());
}

#[test]
fn rendering_is_deterministic() {
    let first = render_inputs(&samples())[0].to_yaml().unwrap();
    let second = render_inputs(&samples())[0].to_yaml().unwrap();
    assert!(first == second);
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(args)
        .current_dir(support::workspace())
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn binary_renders_and_checks_the_samples() {
    let (code, stdout, stderr) = run(&["render", "-f", "config/samples"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("kind: Deployment") && stdout.contains("kind: ConfigMap"));
    let (code, stdout, stderr) = run(&["check", "-f", "config/samples"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains(" 0 errors"), "{stdout}");
}

#[test]
fn binary_check_reports_invalid_objects_with_paths_and_fails() {
    let (code, stdout, _) = run(&[
        "check",
        "-f",
        "config/samples/invalid/jobconfig-periodic-two-schedules.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("spec.periodics[0]"), "{stdout}");
    assert!(stdout.contains("JobConfig prow/periodic-two-schedules"), "{stdout}");
}

#[test]
fn binary_names_missing_files_and_bad_yaml() {
    let (code, _, stderr) = run(&["render", "-f", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/dir"), "{stderr}");
    let dir = std::env::temp_dir().join(format!("prow-operator-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.yaml"),
        "apiVersion: operator.prow.dev/v1alpha1\nkind: JobConfig\nspec: [\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["check", "-f", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("bad.yaml: line "), "{stdout}{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Upstream's checkconfig only warns about a key it does not know (an error under `--strict`):
/// ours too, naming the key, and `check --strict` fails on it as upstream's does.
#[test]
fn binary_check_warns_about_an_unknown_key_and_fails_on_it_only_with_strict() {
    let dir = std::env::temp_dir().join(format!("prow-operator-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        support::workspace().join("config/samples/prowinstance.yaml"),
        dir.join("prowinstance.yaml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(support::workspace().join("config/samples/jobconfig-api.yaml")).unwrap();
    let misspelt = text.replacen(
        "        always_run: true\n",
        "        always_run: true\n        alwyas_run: true\n",
        1,
    );
    assert_ne!(text, misspelt, "the sample has always_run");
    std::fs::write(dir.join("jobconfig-api.yaml"), misspelt).unwrap();
    let (code, stdout, stderr) = run(&["check", "-f", dir.to_str().unwrap()]);
    let (strict_code, _, _) = run(&["check", "--strict", "-f", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.contains("alwyas_run"))
        .unwrap_or_else(|| panic!("no finding names the key:\n{stdout}{stderr}"));
    assert!(
        line.starts_with("warning: ") && line.contains("[unknown-fields]"),
        "{line}"
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(strict_code, 1);
}

#[test]
fn binary_check_refuses_a_job_too_large_for_a_config_map_and_names_its_size() {
    // One job of 1.2 MB: no job-config ConfigMap (1 MiB) can hold it, however its JobConfig is
    // split; `check` says so, and the other JobConfig stays clean.
    let dir = std::env::temp_dir().join(format!("prow-operator-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["prowinstance.yaml", "jobconfig-api.yaml"] {
        std::fs::copy(support::workspace().join("config/samples").join(name), dir.join(name)).unwrap();
    }
    // YAML is a superset of JSON.
    let large = serde_json::json!({
        "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig",
        "metadata": {"name": "large", "namespace": "prow"},
        "spec": {"periodics": [{"name": "huge", "interval": "1h",
                 "spec": {"containers": [{"image": "busybox", "args": ["x".repeat(1_200_000)]}]}}]}
    });
    std::fs::write(dir.join("large.yaml"), large.to_string()).unwrap();
    let (code, stdout, stderr) = run(&["check", "-f", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 1, "{stdout}{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("spec.periodics[0]") && l.contains("too-large"))
        .unwrap_or_else(|| panic!("no finding for the large job:\n{stdout}"));
    assert!(line.contains("\"huge\"") && line.contains("1,200,"), "{line}");
    assert!(line.contains("1,032,192 bytes") && line.contains("too-large"), "{line}");
    assert!(!stdout.contains("JobConfig prow/api: error"), "{stdout}");
}

/// Drops `null`s, which upstream reads as absent.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Every job and preset of a set of job files, normalised for comparison: each job as JSON
/// without nulls, grouped by kind and repository, sorted.
fn job_inventory(sets: &[JobSet]) -> BTreeMap<String, Vec<String>> {
    let mut inventory: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for set in sets {
        for (repo, jobs) in &set.presubmits {
            for job in jobs {
                inventory
                    .entry(format!("presubmits {repo}"))
                    .or_default()
                    .push(without_nulls(&serde_json::to_value(job).unwrap()).to_string());
            }
        }
        for (repo, jobs) in &set.postsubmits {
            for job in jobs {
                inventory
                    .entry(format!("postsubmits {repo}"))
                    .or_default()
                    .push(without_nulls(&serde_json::to_value(job).unwrap()).to_string());
            }
        }
        for job in &set.periodics {
            inventory
                .entry("periodics".into())
                .or_default()
                .push(without_nulls(&serde_json::to_value(job).unwrap()).to_string());
        }
        for preset in &set.presets {
            inventory
                .entry("presets".into())
                .or_default()
                .push(without_nulls(&serde_json::to_value(preset).unwrap()).to_string());
        }
    }
    for list in inventory.values_mut() {
        list.sort();
    }
    inventory
}

fn config_map_data(rendered: &Rendered, name_suffix: &str) -> Vec<BTreeMap<String, String>> {
    rendered
        .objects
        .iter()
        .filter_map(|object| match object {
            Object::ConfigMap(map) if map.metadata.name.as_deref().is_some_and(|n| n.contains(name_suffix)) => {
                map.data.clone()
            }
            _ => None,
        })
        .collect()
}

fn parse_jobs(text: &str) -> JobSet {
    let (value, _) = prow_api::yaml::load_single(text).unwrap();
    serde_json::from_value(value).unwrap()
}

#[test]
fn import_then_render_round_trips_every_corpus_instance() {
    for instance in support::CORPUS {
        let imported = instance.import();
        let rendered = render_inputs(&support::inputs(&imported));
        let rendered = &rendered[0];

        // config.yaml: the input's non-job keys, with upstream's namespace defaults stated.
        let (mut original, _) =
            prow_api::yaml::load_single(&std::fs::read_to_string(instance.root().join(instance.config)).unwrap())
                .unwrap();
        let object = original.as_object_mut().unwrap();
        for key in prow_api::upstream::config::JOB_KEYS {
            object.remove(key);
        }
        for key in ["prowjob_namespace", "pod_namespace"] {
            object.entry(key).or_insert(Value::String("default".into()));
        }
        let config_text = &config_map_data(rendered, "-config")[0]["config.yaml"];
        let (rendered_config, _) = prow_api::yaml::load_single(config_text).unwrap();
        assert_eq!(
            without_nulls(&rendered_config),
            without_nulls(&original),
            "{}: config.yaml",
            instance.name
        );

        // The jobs and presets: every input file (and config.yaml's own jobs) against every rendered file.
        let files = instance.files();
        let mut inputs: Vec<JobSet> = Vec::new();
        for file in std::iter::once(&files.config).chain(&files.job_configs) {
            for document in prow_api::yaml::load_documents(&file.text).unwrap().values {
                let mut document = document;
                if let Some(object) = document.as_object_mut() {
                    object.retain(|k, _| prow_api::upstream::config::JOB_KEYS.contains(&k.as_str()));
                    inputs.push(serde_json::from_value(document).unwrap());
                }
            }
        }
        let outputs: Vec<JobSet> = config_map_data(rendered, "-job-config-")
            .iter()
            .flat_map(|data| data.values().map(|t| parse_jobs(t)))
            .collect();
        let (expected, actual) = (job_inventory(&inputs), job_inventory(&outputs));
        assert_eq!(
            expected.keys().collect::<Vec<_>>(),
            actual.keys().collect::<Vec<_>>(),
            "{}",
            instance.name
        );
        for (group, jobs) in &expected {
            assert!(
                jobs == &actual[group],
                "{}: {group} differs after import and render",
                instance.name
            );
        }
    }
}

#[test]
fn check_reports_no_error_on_any_corpus_instance() {
    for instance in support::CORPUS {
        let imported = instance.import();
        let inputs = support::inputs(&imported);
        let selected = pipeline::select(&inputs, &inputs.instances[0]);
        let reports = pipeline::validate(&selected);
        let mut warnings = BTreeMap::<String, usize>::new();
        for report in &reports {
            for finding in &report.findings {
                assert_ne!(finding.severity, Severity::Error, "{}: {report}", instance.name);
                *warnings.entry(finding.rule.clone().unwrap_or_default()).or_default() += 1;
            }
        }
        eprintln!("{}: warnings by rule: {warnings:?}", instance.name);
    }
}

/// Every key of every rendered config.yaml and plugins.yaml is one upstream documents, or one of
/// the undocumented keys upstream accepts (`prow_api::upstream::documented::UNDOCUMENTED_KEYS`).
#[test]
fn rendered_config_and_plugin_keys_are_known_upstream() {
    use prow_api::upstream::documented::{KeyTree, UpstreamFile};
    let mut rendered = render_inputs(&samples());
    for instance in support::CORPUS {
        rendered.extend(render_inputs(&support::inputs(&instance.import())));
    }
    assert_eq!(rendered.len(), 5);
    for output in &rendered {
        for (suffix, key, file) in [
            ("-config", "config.yaml", UpstreamFile::ProwConfig),
            ("-plugins", "plugins.yaml", UpstreamFile::PluginConfig),
        ] {
            let data = &config_map_data(output, suffix)[0];
            let (value, _) = prow_api::yaml::load_single(&data[key]).unwrap();
            let unknown = KeyTree::of(file).unknown_keys(&value, &prow_api::upstream::config::JOB_KEYS);
            assert!(
                unknown.is_empty(),
                "{key}: {:?}",
                unknown.iter().map(|u| u.path()).collect::<Vec<_>>()
            );
        }
    }
}
