//! Upstream's golden pod-decoration fixtures (`../shared/upstream/pod-fixtures`, see its
//! README): every case through the code path the executor and `mkpod` use.
//!
//! - `TestProwJobToPod_*`: [`prowjob_to_pod`] with [`PodInputs::default`] (no instance defaults:
//!   the ProwJob's `decoration_config` is used as it is, as upstream's `ProwJobToPod` does).
//! - `TestDecorate_*`: [`decorate`] on the separate PodSpec of `test_inputs`, with the ProwJob's
//!   decoration settings resolved as [`prowjob_to_pod`] resolves them.
//! - `TestSidecar_*`: [`sidecar`] with the arguments of `test_inputs`.
//!
//! Objects are compared after parsing, with empty and absent values alike (`resources: {}`,
//! `status: {}`, `creationTimestamp: null`); every env var value — the JSON of `JOB_SPEC` and the
//! `*_OPTIONS` included — must match byte for byte, and is also compared on its own.
//!
//! Deliberate differences in how inputs are read (none in the output):
//! - Our `ProwJobStatus` requires `state`; cases without one get `state: triggered`, which the
//!   pod builder does not read.
//! - Our `ProwJobSpec` requires `type` and `job`; the `TestDecorate_*` ProwJobs have neither and
//!   get `type: presubmit` and `job: ""`, which `decorate` does not read (it takes `JOB_SPEC` from
//!   the raw env, as upstream).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{PodSpec, VolumeMount};
use prow_api::ProwJob;
use prow_api::job::{DecorationConfig, GcsConfiguration};
use prow_operator::podspec::{
    PodInputs, SidecarInputs, UploadOptions, WireGcs, WrapperOptions, decorate, prowjob_to_pod, resolved_decoration,
    sidecar,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/upstream/pod-fixtures")
}

fn load(case: &str, file: &str) -> Value {
    let path = fixtures().join(case).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    prow_api::yaml::load_single(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .0
}

fn read<T: DeserializeOwned>(value: &Value, what: &str) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Drops nulls, empty objects and empty lists, at every level.
fn normalise(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalise(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Every `env` entry below `value`: (container name, variable, value).
fn env_values(value: &Value, out: &mut Vec<(String, String, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::Array(env)), Some(name)) = (map.get("env"), map.get("name")) {
                for var in env {
                    out.push((
                        name.as_str().unwrap_or_default().to_string(),
                        var["name"].as_str().unwrap_or_default().to_string(),
                        var["value"].as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
            map.values().for_each(|v| env_values(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| env_values(v, out)),
        _ => {}
    }
}

/// Compares `actual` with the case's `expected.yaml`; returns how many env values matched.
fn assert_matches(case: &str, actual: Value) -> usize {
    let expected = load(case, "expected.yaml");
    let (mut want, mut got) = (Vec::new(), Vec::new());
    env_values(&expected, &mut want);
    env_values(&actual, &mut got);
    assert_eq!(got.len(), want.len(), "{case}: env count");
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got, want, "{case}: env value of {}/{} differs", want.0, want.1);
    }
    let (expected, actual) = (normalise(expected), normalise(actual));
    if expected != actual {
        panic!(
            "{case}: differs from upstream\n--- expected\n{}\n--- actual\n{}",
            serde_json::to_string_pretty(&expected).unwrap_or_default(),
            serde_json::to_string_pretty(&actual).unwrap_or_default()
        );
    }
    want.len()
}

/// The case's ProwJob (its input without `test_inputs`) and `test_inputs`.
fn prowjob(case: &str) -> (ProwJob, Value) {
    let mut input = load(case, "input.yaml");
    let object = input.as_object_mut().expect("input is a mapping");
    let test_inputs = object.remove("test_inputs").expect("test_inputs");
    let status = object.entry("status").or_insert_with(|| json!({}));
    if status.get("state").is_none() {
        status["state"] = json!("triggered");
    }
    let spec = object.entry("spec").or_insert_with(|| json!({}));
    if spec.get("type").is_none() {
        spec["type"] = json!("presubmit");
        spec["job"] = json!("");
    }
    (read(&input, case), test_inputs)
}

fn cases(prefix: &str) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap_or_else(|e| panic!("{}: {e}", fixtures().display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(prefix))
        .collect();
    cases.sort();
    cases
}

#[test]
fn prowjob_to_pod_cases() {
    let cases = cases("TestProwJobToPod_");
    assert_eq!(cases.len(), 11);
    for case in &cases {
        let (job, _) = prowjob(case);
        let pod = prowjob_to_pod(&job, &PodInputs::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let mut pod = serde_json::to_value(&pod).expect("pod as JSON");
        // Our Pod carries its TypeMeta, ready to apply; upstream's Go object has none.
        assert_eq!(
            (pod["apiVersion"].take(), pod["kind"].take()),
            (json!("v1"), json!("Pod"))
        );
        let envs = assert_matches(case, pod);
        assert!(envs >= 10, "{case}: only {envs} env values compared");
    }
}

#[test]
fn decorate_cases() {
    let cases = cases("TestDecorate_");
    assert_eq!(cases.len(), 5);
    for case in &cases {
        let (job, inputs) = prowjob(case);
        let mut spec: PodSpec = read(&inputs["pod_spec"], case);
        let raw_env: BTreeMap<String, String> = read(&inputs["raw_env"], case);
        let config = resolved_decoration(&job, &PodInputs::default()).expect("a decorated job");
        decorate(&mut spec, &job.spec, &config, &raw_env, None).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_matches(case, serde_json::to_value(&spec).expect("pod spec as JSON"));
    }
}

#[test]
fn sidecar_cases() {
    let cases = cases("TestSidecar_");
    assert_eq!(cases.len(), 2);
    for case in &cases {
        let inputs = load(case, "input.yaml")["test_inputs"].clone();
        let config: DecorationConfig = read(&inputs["decoration_config"], case);
        let gcs: GcsConfiguration = read(&inputs["gcs_options"], case);
        let items: Vec<String> = read(&inputs["gcs_options"]["items"], case);
        let mounts =
            |key: &str| -> Vec<VolumeMount> { serde_json::from_value(inputs[key].clone()).unwrap_or_default() };
        let log_mount: VolumeMount = read(&inputs["log_mount"], case);
        let output_mount: Option<VolumeMount> = read(&inputs["output_mount"], case);
        let wrappers: Vec<WrapperOptions> = read(&inputs["wrappers"], case);
        let container = sidecar(SidecarInputs {
            config: &config,
            upload: UploadOptions {
                items,
                gcs: WireGcs::from(&gcs),
                ..UploadOptions::default()
            },
            blob_mounts: &mounts("blob_storage_mounts"),
            log_mount: &log_mount,
            output_mount: output_mount.as_ref(),
            encoded_job_spec: inputs["encoded_job_spec"].as_str().unwrap_or_default(),
            require_passing_entries: inputs["require_passing_entries"].as_bool().unwrap_or_default(),
            ignore_interrupts: inputs["ignore_interrupts"].as_bool().unwrap_or_default(),
            secret_mounts: &mounts("secret_volume_mounts"),
            wrappers: &wrappers,
        })
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_matches(case, serde_json::to_value(&container).expect("container as JSON"));
    }
}
