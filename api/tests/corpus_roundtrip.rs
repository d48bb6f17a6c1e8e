//! Every job of every real configuration in `../shared/corpus/` deserialises into our job types
//! and serialises back without losing a field; so do the presets, label files and plugin files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::path::Path;

use prow_api::job::{JobSet, Periodic, Postsubmit, Preset, Presubmit};
use prow_api::labelset::LabelSetSpec;
use prow_api::pluginconfig::PluginConfigSpec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Drops `null`s, which upstream's loader reads the same as absent keys.
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

/// Deserialises `original` as `T`, serialises it back, and reports any difference.
fn round_trip<T: DeserializeOwned + Serialize>(original: &Value, what: &str) -> Result<(), String> {
    let typed: T =
        serde_json::from_value(original.clone()).map_err(|e| format!("{what}: does not deserialise: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("{what}: does not serialise: {e}"))?;
    let (expected, actual) = (without_nulls(original), without_nulls(&back));
    if expected != actual {
        return Err(format!(
            "{what}: changed on a round trip\nbefore: {expected}\nafter:  {actual}"
        ));
    }
    Ok(())
}

/// Keys a real job uses that our types do not model (they would be kept, but not typed).
fn untyped_keys(base: &prow_api::job::JobBase, unknown: &prow_api::job::UnknownFields) -> Vec<String> {
    let mut keys: Vec<String> = unknown.keys().cloned().collect();
    if let Some(decoration) = &base.decoration_config {
        keys.extend(decoration.unknown.keys().map(|k| format!("decoration_config.{k}")));
    }
    for refs in base.extra_refs.iter().flatten() {
        keys.extend(refs.unknown.keys().map(|k| format!("extra_refs[].{k}")));
    }
    if let Some(reporter) = &base.reporter_config {
        keys.extend(reporter.unknown.keys().map(|k| format!("reporter_config.{k}")));
    }
    keys
}

fn typed<T: DeserializeOwned>(job: &Value) -> Option<T> {
    serde_json::from_value(job.clone()).ok()
}

#[derive(Default, Debug, PartialEq)]
struct Totals {
    presubmits: usize,
    postsubmits: usize,
    periodics: usize,
    presets: usize,
}

fn check_jobs(file: &Path, document: &Value, totals: &mut Totals, problems: &mut Vec<String>) {
    let name = file.display();
    let mut push = |result: Result<(), String>| {
        if let Err(problem) = result {
            problems.push(problem);
        }
    };
    for (kind, count) in [
        ("presubmits", &mut totals.presubmits),
        ("postsubmits", &mut totals.postsubmits),
    ] {
        for (repo, jobs) in document.get(kind).and_then(Value::as_object).into_iter().flatten() {
            for (index, job) in jobs.as_array().into_iter().flatten().enumerate() {
                *count += 1;
                let what = format!("{name}: {kind}[{repo:?}][{index}]");
                push(if kind == "presubmits" {
                    round_trip::<Presubmit>(job, &what)
                } else {
                    round_trip::<Postsubmit>(job, &what)
                });
                let untyped = match kind {
                    "presubmits" => typed::<Presubmit>(job).map(|j| untyped_keys(&j.base, &j.unknown)),
                    _ => typed::<Postsubmit>(job).map(|j| untyped_keys(&j.base, &j.unknown)),
                };
                push(match untyped {
                    Some(keys) if !keys.is_empty() => Err(format!("{what}: keys not typed: {keys:?}")),
                    _ => Ok(()),
                });
            }
        }
    }
    for (index, job) in document
        .get("periodics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        totals.periodics += 1;
        push(round_trip::<Periodic>(job, &format!("{name}: periodics[{index}]")));
        if let Some(keys) = typed::<Periodic>(job)
            .map(|j| untyped_keys(&j.base, &j.unknown))
            .filter(|k| !k.is_empty())
        {
            push(Err(format!("{name}: periodics[{index}]: keys not typed: {keys:?}")));
        }
    }
    for (index, preset) in document
        .get("presets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        totals.presets += 1;
        push(round_trip::<Preset>(preset, &format!("{name}: presets[{index}]")));
    }
    // The whole file reads as one job set too.
    let jobs_only: serde_json::Map<String, Value> = document
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| matches!(k.as_str(), "presubmits" | "postsubmits" | "periodics" | "presets"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Err(e) = serde_json::from_value::<JobSet>(Value::Object(jobs_only)) {
        problems.push(format!("{name}: does not read as a job set: {e}"));
    }
}

#[test]
fn every_corpus_job_survives_a_round_trip() {
    let corpus = support::shared().join("corpus");
    let mut totals = Totals::default();
    let mut problems = Vec::new();
    let mut repeated_keys = Vec::new();
    for file in support::yaml_files(&corpus) {
        let text = std::fs::read_to_string(&file).unwrap();
        let documents = prow_api::yaml::load_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if !documents.warnings.is_empty() {
            repeated_keys.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
        for document in &documents.values {
            check_jobs(&file, document, &mut totals, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    // The corpus README's counts: every job was seen, none skipped.
    assert_eq!(
        totals,
        Totals {
            presubmits: 323 + 246 + 628 + 6,
            postsubmits: 6 + 4 + 2,
            periodics: 220 + 153 + 4 + 2,
            presets: 18
        }
    );
    // knative's peribolos.yaml sets a key twice; upstream accepts it (last wins), so do we, with a warning.
    assert!(
        repeated_keys.contains(&"peribolos.yaml".to_string()),
        "{repeated_keys:?}"
    );
}

#[test]
fn corpus_label_files_survive_a_round_trip() {
    let corpus = support::shared().join("corpus");
    let files: Vec<_> = support::yaml_files(&corpus)
        .into_iter()
        .filter(|f| f.ends_with("labels.yaml"))
        .collect();
    assert_eq!(files.len(), 2);
    for file in files {
        let (value, _) = prow_api::yaml::load_single(&std::fs::read_to_string(&file).unwrap()).unwrap();
        // label_sync reads `default` and `repos`; other top-level keys only hold YAML anchors.
        let known: serde_json::Map<String, Value> = value
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == "default" || *k == "repos")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        round_trip::<LabelSetSpec>(&Value::Object(known), &file.display().to_string()).unwrap();
    }
}

#[test]
fn corpus_plugin_files_survive_a_round_trip() {
    let corpus = support::shared().join("corpus");
    let files: Vec<_> = support::yaml_files(&corpus)
        .into_iter()
        .filter(|f| f.ends_with("plugins.yaml"))
        .collect();
    assert_eq!(files.len(), 4);
    for file in files {
        let (mut value, _) = prow_api::yaml::load_single(&std::fs::read_to_string(&file).unwrap()).unwrap();
        // A repository listed with no value has no plugins of its own; upstream reads `null` as `{}`.
        for entry in value
            .get_mut("plugins")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flatten()
        {
            if entry.1.is_null() {
                *entry.1 = serde_json::json!({});
            }
        }
        round_trip::<PluginConfigSpec>(&value, &file.display().to_string()).unwrap();
    }
}
