//! `import` then `render` against the original configuration, with upstream Prow as the judge, on
//! every configuration of `tests/oracle/configs.tsv` that is here (the four of `../shared/corpus`
//! always; the extracted ones when `tests/oracle/configs.sh` has run).
//!
//! Each configuration is imported as `prow-operator import` does (for the upstream version the
//! configuration's own images name) and rendered as `prow-operator render` does; the files the rendered ConfigMaps carry (config.yaml, plugins.yaml, the job-config
//! files) are written to a scratch directory. Then:
//! - upstream's `checkconfig` runs on the original and on the rendered files, without flags and with
//!   the project's own flags: it must refuse nothing in the render that it accepts in the original
//!   (plugins the oracle's version does not know yet are taken out of both plugins.yaml first);
//! - upstream's `config.Load` (`config-dump`, built beside the oracle) reads both, and every job it
//!   reads from the original (names, branches, triggers, `run_if_changed`, decoration, pod specs
//!   with presets applied: the whole job as upstream holds it) must be the same job read from the
//!   render; likewise the rest of config.yaml (`prow_config`) and plugins.yaml as upstream's plugin
//!   agent loads it, each compared as one more item.
//!
//! A table per configuration shows the jobs, the agreements and the disagreements by class (field
//! path); any disagreement fails the test. Skipped, with a loud warning, when the oracle is not
//! built; failed then when `ORACLE_REQUIRED=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use prow_operator::pipeline;
use prow_operator::render::plugins_yaml::OPERATOR_PLUGIN;
use prow_operator::render::{OperatorWebhook, Rendered, object::Object};
use serde_json::Value;
use support::configs::{self, Configuration};
use support::oracle::{self, ORACLE_VERSION, Tally};
use support::plugins::write_without_plugins;

/// Where one configuration's files are: the original's or the render's (canonical paths: upstream
/// names files by their cleaned paths).
struct Files {
    config: PathBuf,
    plugins: PathBuf,
    jobs: PathBuf,
}

impl Files {
    fn original(configuration: &Configuration) -> Self {
        let root = std::fs::canonicalize(&configuration.root).expect("the configuration's folder");
        Self {
            config: root.join(&configuration.config),
            plugins: root.join(&configuration.plugins),
            jobs: root.join(&configuration.jobs),
        }
    }
}

/// Imports (for the upstream version the configuration's images name, as `prow-operator import`
/// does) and renders `configuration`, writing what the ConfigMaps carry under `dir`.
fn import_and_render(configuration: &Configuration, dir: &Path) -> Result<Files, String> {
    let imported = configuration.import(None)?;
    let inputs = support::inputs(&imported);
    let instance = inputs.instances.first().ok_or("the import made no ProwInstance")?;
    let selected = pipeline::select(&inputs, instance);
    let reports = pipeline::validate(&selected);
    let errors: Vec<String> = reports
        .iter()
        .filter(|r| r.has_errors())
        .map(|r| r.to_string().lines().take(3).collect::<Vec<_>>().join(" / "))
        .collect();
    if !errors.is_empty() {
        return Err(format!("render refuses: {}", errors.join("; ")));
    }
    let rendered = pipeline::build(&selected, &reports, &OperatorWebhook::in_namespace("prow-operator"))
        .map_err(|e| format!("render failed: {e}"))?;
    write_config_maps(&rendered, dir)
}

/// The files of the rendered ConfigMaps: config.yaml and plugins.yaml at `dir`, the job-config
/// files (every other key) under `dir/jobs`.
fn write_config_maps(rendered: &Rendered, dir: &Path) -> Result<Files, String> {
    let files = Files {
        config: dir.join("config.yaml"),
        plugins: dir.join("plugins.yaml"),
        jobs: dir.join("jobs"),
    };
    std::fs::create_dir_all(&files.jobs).map_err(|e| e.to_string())?;
    for object in &rendered.objects {
        let Object::ConfigMap(map) = object else {
            continue;
        };
        for (key, text) in map.data.iter().flatten() {
            let path = match key.as_str() {
                "config.yaml" | "plugins.yaml" | "labels.yaml" => dir.join(key),
                _ => files.jobs.join(key),
            };
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(files)
}

/// What upstream's checkconfig refuses (its fatal errors and its warnings), each line with the
/// files named by their role (`<config.yaml>`, `<plugins.yaml>`, `<job file>`), once each.
fn checkconfig(bin: &Path, files: &Files, flags: &[String]) -> BTreeSet<String> {
    let output = Command::new(bin.join("checkconfig"))
        .arg(format!("--config-path={}", files.config.display()))
        .arg(format!("--job-config-path={}", files.jobs.display()))
        .arg(format!("--plugin-config={}", files.plugins.display()))
        .args(flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run upstream checkconfig: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut refusals = BTreeSet::new();
    // The build-cluster status file is read from GCS, which this machine cannot reach: that
    // warning is no refusal, nor the `--strict` failure it alone causes.
    let mut unreachable_status_file = false;
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let said = entry["error"].as_str().or(entry["msg"].as_str()).unwrap_or_default();
        let level = entry["level"].as_str().unwrap_or_default();
        let fatal = level == "fatal" && said != "Strict is set and there were warnings";
        let warning = level == "warning" && entry["func"] == "main.reportWarning";
        if !(fatal || warning) {
            continue;
        }
        if said.contains("error opening build cluster status file") {
            unreachable_status_file = true;
        } else {
            refusals.insert(format!("{level}: {}", by_role(said, files)));
        }
    }
    if !output.status.success() && refusals.is_empty() && !unreachable_status_file {
        refusals.insert(format!("checkconfig failed: {}", text.trim()));
    }
    refusals
}

/// Whether the render's refusal `ours` is one of the original's `theirs`: the same first words,
/// and no word `theirs` lacks. Upstream lists jobs, repositories and files in Go's map order, which
/// differs from run to run, and one line may list what the original has in several files (an
/// unknown field met in five files of the original, in one of the render's) or more than the
/// render has (a stray file of the original's job-config tree the import leaves out).
fn is_among(ours: &str, theirs: &str) -> bool {
    fn head(text: &str) -> Vec<&str> {
        text.split_whitespace().take(4).collect()
    }
    let words = |text: &str| -> BTreeSet<String> {
        text.split_whitespace()
            .map(|w| w.trim_matches(['\'', '"', ',', ':', '[', ']']).to_string())
            .filter(|w| !w.is_empty())
            .collect()
    };
    head(ours) == head(theirs) && words(ours).is_subset(&words(theirs))
}

/// `said` with the files named by their role.
fn by_role(said: &str, files: &Files) -> String {
    let said = said
        .replace(&files.config.display().to_string(), "<config.yaml>")
        .replace(&files.plugins.display().to_string(), "<plugins.yaml>");
    let jobs = format!("{}/", files.jobs.display());
    let mut out = String::with_capacity(said.len());
    let mut rest = said.as_str();
    while let Some(start) = rest.find(&jobs) {
        out.push_str(&rest[..start]);
        out.push_str("<job file>");
        let after = &rest[start + jobs.len()..];
        let end = after.find(".yaml").map_or(after.len(), |i| i + ".yaml".len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The plugins of upstream's "unknown plugin" refusals (what its 2024 version does not know yet).
fn unknown_plugins(refusals: &BTreeSet<String>) -> Vec<String> {
    refusals
        .iter()
        .filter_map(|said| said.split("unknown plugin: ").nth(1))
        .map(|plugin| plugin.trim().to_string())
        .collect()
}

/// What upstream's `config.Load` reads from `files`, or why it cannot.
fn dump(bin: &Path, files: &Files) -> Result<Value, String> {
    let output = Command::new(bin.join("config-dump"))
        .arg(format!("--config-path={}", files.config.display()))
        .arg(format!("--job-config-path={}", files.jobs.display()))
        .arg(format!("--plugin-config={}", files.plugins.display()))
        .output()
        .map_err(|e| format!("cannot run config-dump: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("config-dump wrote no JSON: {e}"))
}

/// The jobs of a dump, each by a key that names it (`presubmit org/repo name`; a name met again in
/// the same place gets `#2`), in a stable order, the rest of config.yaml as `config.yaml`, and
/// plugins.yaml as `plugins.yaml`.
fn items(dump: &Value) -> BTreeMap<String, Value> {
    let mut found: Vec<(String, Value)> = Vec::new();
    for (kind, field) in [("presubmit", "presubmits"), ("postsubmit", "postsubmits")] {
        for (repo, jobs) in dump[field].as_object().into_iter().flatten() {
            for job in jobs.as_array().into_iter().flatten() {
                found.push((
                    format!("{kind} {repo} {}", job["name"].as_str().unwrap_or_default()),
                    job.clone(),
                ));
            }
        }
    }
    for job in dump["periodics"].as_array().into_iter().flatten() {
        found.push((
            format!("periodic {}", job["name"].as_str().unwrap_or_default()),
            job.clone(),
        ));
    }
    // Jobs sharing a key (one name on several branches) are ordered by their text, so that the
    // same job has the same key on both sides whatever the file order.
    found.sort_by_cached_key(|(key, job)| (key.clone(), job.to_string()));
    let mut items = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (key, job) in found {
        let count = seen.entry(key.clone()).or_default();
        *count += 1;
        let key = if *count == 1 { key } else { format!("{key}#{count}") };
        items.insert(key, oracle::normalise(job, &[]));
    }
    items.insert(
        "config.yaml".into(),
        oracle::normalise(dump["prow_config"].clone(), &[]),
    );
    if !dump["plugins"].is_null() {
        items.insert("plugins.yaml".into(), oracle::normalise(dump["plugins"].clone(), &[]));
    }
    items
}

/// The render's items without the operator's own registration in plugins.yaml's
/// `external_plugins` (hook forwarding the native trigger's events to the operator: a deliberate
/// difference, in the README's list).
fn without_operator_registration(mut items: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    if let Some(plugins) = items.get_mut("plugins.yaml") {
        if let Some(scopes) = plugins.get_mut("external_plugins").and_then(Value::as_object_mut) {
            for registered in scopes.values_mut().filter_map(Value::as_object_mut) {
                registered.remove(OPERATOR_PLUGIN);
            }
        }
        *plugins = oracle::normalise(plugins.take(), &[]);
    }
    items
}

/// The comparison of one configuration: the checkconfig runs and the items read.
struct Comparison {
    checkconfig: Vec<String>,
    refused: bool,
    items: Tally,
}

fn compare(bin: &Path, configuration: &Configuration, scratch: &Path) -> Comparison {
    let mut comparison = Comparison {
        checkconfig: Vec::new(),
        refused: false,
        items: Tally::new(&configuration.name),
    };
    let dir = scratch.join(&configuration.name);
    let mut original = Files::original(configuration);
    let mut rendered = match import_and_render(configuration, &dir) {
        Ok(rendered) => rendered,
        Err(error) => {
            // A configuration upstream refuses too (a rule of the deployed version, such as init
            // containers before 2025-09) cannot be read back; that both refuse is the agreement.
            let theirs = checkconfig(bin, &original, &[]);
            let fatal: Vec<&String> = theirs.iter().filter(|r| r.starts_with("fatal")).collect();
            if error.starts_with("render refuses") && !fatal.is_empty() {
                comparison.checkconfig.push(format!(
                    "import then render: {}; upstream refuses the original too: {}",
                    error.chars().take(300).collect::<String>(),
                    fatal[0].chars().take(300).collect::<String>()
                ));
            } else {
                comparison.checkconfig.push(format!("import then render: {error}"));
                comparison.refused = true;
            }
            return comparison;
        }
    };
    let mut modes: Vec<Vec<String>> = vec![vec![]];
    if !configuration.checkconfig_flags.is_empty() {
        modes.push(configuration.checkconfig_flags.clone());
    }
    for flags in &modes {
        let mode = format!("checkconfig {}", flags.join(" "));
        let mut theirs = checkconfig(bin, &original, flags);
        let newer = unknown_plugins(&theirs);
        if !newer.is_empty() {
            comparison.checkconfig.push(format!(
                "{mode}: {} unknown to {ORACLE_VERSION}, taken out of both plugins.yaml",
                newer.join(", ")
            ));
            original.plugins = dir.join("original-plugins.yaml");
            write_without_plugins(&Files::original(configuration).plugins, &newer, &original.plugins);
            let cut = dir.join("rendered-plugins.yaml");
            write_without_plugins(&dir.join("plugins.yaml"), &newer, &cut);
            rendered.plugins = cut;
            theirs = checkconfig(bin, &original, flags);
        }
        let ours = checkconfig(bin, &rendered, flags);
        let new: Vec<&String> = ours
            .iter()
            .filter(|said| !theirs.iter().any(|original| is_among(said, original)))
            .collect();
        comparison.checkconfig.push(format!(
            "{mode}: original {} refusals, rendered {} ({} new)",
            theirs.len(),
            ours.len(),
            new.len()
        ));
        for said in new {
            comparison.refused = true;
            comparison.checkconfig.push(format!(
                "  refused in the render only: {}",
                said.chars().take(300).collect::<String>()
            ));
        }
    }
    let (theirs, ours) = match (dump(bin, &original), dump(bin, &rendered)) {
        (Ok(theirs), Ok(ours)) => (items(&theirs), without_operator_registration(items(&ours))),
        (Err(error), _) => {
            comparison
                .checkconfig
                .push(format!("config-dump of the original: {error}"));
            comparison.refused = true;
            return comparison;
        }
        (_, Err(error)) => {
            comparison
                .checkconfig
                .push(format!("config-dump of the render: {error}"));
            comparison.refused = true;
            return comparison;
        }
    };
    for (key, job) in &theirs {
        match ours.get(key) {
            Some(rendered) => comparison.items.record(key, &oracle::differences(job, rendered)),
            None => comparison
                .items
                .record(key, &[("(missing from the render)".into(), String::new())]),
        }
    }
    for key in ours.keys().filter(|key| !theirs.contains_key(*key)) {
        comparison
            .items
            .record(key, &[("(only in the render)".into(), String::new())]);
    }
    comparison
}

#[test]
fn import_then_render_reads_as_the_original_to_upstream() {
    let Some(bin) = oracle::binaries(&["checkconfig", "config-dump"]) else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("prow-operator-oracle-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let started = std::time::Instant::now();
    let mut report = String::new();
    let mut failed = false;
    for configuration in configs::configurations() {
        let comparison = compare(&bin, &configuration, &scratch);
        for line in &comparison.checkconfig {
            report.push_str(&format!("{}: {line}\n", configuration.name));
        }
        report.push_str(
            &comparison
                .items
                .table("import → render vs original, as upstream reads them"),
        );
        report.push('\n');
        failed |= comparison.refused || comparison.items.disagreements() > 0;
    }
    std::fs::remove_dir_all(&scratch).ok();
    eprintln!("{report}compared in {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        !failed,
        "upstream reads the render differently from the original (table above):\n{report}"
    );
}

/// The comparison itself: upstream reads presets into the job it holds, and a job that reads
/// differently (one branch more) is a disagreement naming the field.
#[test]
fn a_job_upstream_reads_differently_is_a_disagreement_naming_the_field() {
    let Some(bin) = oracle::binaries(&["config-dump"]) else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("prow-operator-oracle-roundtrip-unit-{}", std::process::id()));
    let write = |side: &str, branches: &str| {
        let files = Files {
            config: scratch.join(side).join("config.yaml"),
            plugins: scratch.join(side).join("plugins.yaml"),
            jobs: scratch.join(side).join("jobs"),
        };
        std::fs::create_dir_all(&files.jobs).expect("scratch dir");
        std::fs::write(&files.config, "prowjob_namespace: prow\npod_namespace: test-pods\n").expect("config.yaml");
        std::fs::write(&files.plugins, "plugins:\n  org: [trigger]\n").expect("plugins.yaml");
        let jobs = format!(
            "presets:\n- labels: {{preset-x: \"true\"}}\n  env: [{{name: FROM_PRESET, value: yes}}]\n\
             presubmits:\n  org/repo:\n  - name: pull-unit\n    branches: {branches}\n    \
             labels: {{preset-x: \"true\"}}\n    spec:\n      containers:\n      - image: golang\n"
        );
        std::fs::write(files.jobs.join("jobs.yaml"), jobs).expect("jobs.yaml");
        files
    };
    let original = items(&dump(&bin, &write("original", "[main]")).expect("dump"));
    let altered = items(&dump(&bin, &write("altered", "[main, release]")).expect("dump"));
    std::fs::remove_dir_all(&scratch).ok();
    let job = &original["presubmit org/repo pull-unit"];
    assert_eq!(
        job["spec"]["containers"][0]["env"]["FROM_PRESET"]["value"], "true",
        "upstream holds the job with its preset applied (and `yes`, a YAML 1.1 boolean, as \"true\"): {job}"
    );
    let mut tally = Tally::new("unit");
    tally.record(
        "same",
        &oracle::differences(job, &original["presubmit org/repo pull-unit"]),
    );
    tally.record(
        "altered",
        &oracle::differences(job, &altered["presubmit org/repo pull-unit"]),
    );
    assert_eq!((tally.agreements, tally.disagreements()), (1, 1));
    assert!(tally.classes.contains_key("branches"), "{:?}", tally.classes.keys());
}

/// The matching of refusals: the same jobs in another order, files by role, or fewer of them is
/// the original's refusal; a job more, or another refusal, is new.
#[test]
fn a_refusal_of_the_render_is_the_originals_whatever_the_order_and_file_names() {
    let files = Files {
        config: PathBuf::from("/o/prow/config.yaml"),
        plugins: PathBuf::from("/o/prow/plugins.yaml"),
        jobs: PathBuf::from("/o/jobs"),
    };
    let original = "warning: the following jobs use the kubernetes provider but do not use the pod utilities: [a b c]";
    assert!(is_among(
        "warning: the following jobs use the kubernetes provider but do not use the pod utilities: [c a]",
        original
    ));
    assert!(!is_among(
        "warning: the following jobs use the kubernetes provider but do not use the pod utilities: [a d]",
        original
    ));
    assert!(!is_among("warning: name of Presubmit job \"a\" too long", original));
    assert_eq!(
        by_role(
            "error unmarshalling /o/jobs/sig-node/dra.yaml: unknown field \"auxiliary\" in /o/prow/config.yaml",
            &files
        ),
        "error unmarshalling <job file>: unknown field \"auxiliary\" in <config.yaml>"
    );
}
