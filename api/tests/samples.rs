//! The samples under `config/samples/` are accepted: they deserialise into our types and pass the
//! CRD schemas and CEL rules. Every file under `config/samples/invalid/` is rejected with the
//! message its `# expect-error:` line names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::path::Path;

use kube::CustomResourceExt;
use kube::core::cel::Validator;
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use serde_json::Value;

/// Deserialises an object into its Rust type, for the error only.
type Parse = fn(&Value) -> Result<(), serde_json::Error>;

/// Every reason the API server (schema and CEL) or our types would refuse `object`.
fn rejections(object: &Value) -> Vec<String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (crd, parse): (_, Parse) = match kind {
        "ProwInstance" => (ProwInstance::crd(), |v| {
            serde_json::from_value::<ProwInstance>(v.clone()).map(drop)
        }),
        "JobConfig" => (JobConfig::crd(), |v| {
            serde_json::from_value::<JobConfig>(v.clone()).map(drop)
        }),
        "PluginConfig" => (PluginConfig::crd(), |v| {
            serde_json::from_value::<PluginConfig>(v.clone()).map(drop)
        }),
        "LabelSet" => (LabelSet::crd(), |v| {
            serde_json::from_value::<LabelSet>(v.clone()).map(drop)
        }),
        other => return vec![format!("unexpected kind {other:?}")],
    };
    let mut problems = Vec::new();
    if let Err(error) = parse(object) {
        problems.push(error.to_string());
    }
    let mut schema = support::crd_schema(&crd);
    problems.extend(
        prow_api::schema::validate(&schema, object, "")
            .iter()
            .map(ToString::to_string),
    );
    support::with_kube_cel_field_spelling(&mut schema);
    if let Err(errors) = Validator::new().validate(&schema, object, None) {
        problems.extend(
            errors
                .as_slice()
                .iter()
                .map(|e| format!("{}: {}", e.field_path, e.message)),
        );
    }
    problems
}

fn objects(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let documents = prow_api::yaml::load_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    documents.values.into_iter().filter(|v| !v.is_null()).collect()
}

fn is_object_file(file: &Path) -> bool {
    file.file_name().is_some_and(|n| n != "kustomization.yaml")
}

#[test]
fn valid_samples_are_accepted() {
    let dir = support::workspace().join("config/samples");
    let mut kinds = Vec::new();
    for file in support::yaml_files(&dir)
        .into_iter()
        .filter(|f| is_object_file(f) && !f.starts_with(dir.join("invalid")))
    {
        for object in objects(&file) {
            let problems = rejections(&object);
            assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
            kinds.push(object["kind"].as_str().unwrap_or_default().to_string());
        }
    }
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["JobConfig", "LabelSet", "PluginConfig", "ProwInstance"]);
}

#[test]
fn samples_cover_every_job_type_and_schedule() {
    let dir = support::workspace().join("config/samples");
    let (mut presubmits, mut postsubmits, mut cron, mut interval) = (0, 0, 0, 0);
    for file in support::yaml_files(&dir)
        .into_iter()
        .filter(|f| is_object_file(f) && !f.starts_with(dir.join("invalid")))
    {
        for object in objects(&file).into_iter().filter(|o| o["kind"] == "JobConfig") {
            let config: JobConfig = serde_json::from_value(object).unwrap();
            let counts = config.spec.jobs.counts();
            presubmits += counts.presubmits;
            postsubmits += counts.postsubmits;
            cron += config.spec.jobs.periodics.iter().filter(|p| p.cron.is_some()).count();
            interval += config
                .spec
                .jobs
                .periodics
                .iter()
                .filter(|p| p.interval.is_some())
                .count();
        }
    }
    assert!(
        presubmits > 0 && postsubmits > 0 && cron > 0 && interval > 0,
        "{presubmits} {postsubmits} {cron} {interval}"
    );
}

#[test]
fn invalid_samples_are_rejected_with_their_message() {
    let dir = support::workspace().join("config/samples/invalid");
    let files = support::yaml_files(&dir);
    assert!(files.len() >= 15, "only {} invalid samples", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect-error:"))
            .map(str::trim)
            .collect();
        assert_eq!(
            expected.len(),
            1,
            "{}: needs exactly one `# expect-error:` line",
            file.display()
        );
        let why: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        assert!(
            why.len() >= 2,
            "{}: explain in comments why the object is invalid",
            file.display()
        );
        let objects = objects(&file);
        assert_eq!(objects.len(), 1, "{}: one object per file", file.display());
        let problems = rejections(&objects[0]);
        assert!(
            problems.iter().any(|p| p.contains(expected[0])),
            "{}: expected an error containing {:?}, got {problems:#?}",
            file.display(),
            expected[0]
        );
    }
}
