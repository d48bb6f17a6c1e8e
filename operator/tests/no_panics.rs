//! No input makes `check`, `render` or `import` panic: arbitrary YAML, and arbitrary values in
//! the shape of our kinds and of upstream files, go through the same code the CLI runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use prow_operator::import::{self, ImportOptions, UpstreamFile, UpstreamFiles};
use prow_operator::input::Inputs;
use prow_operator::pipeline;
use prow_operator::render::OperatorWebhook;
use serde_json::{Value, json};

/// Random JSON values, biased towards the keys and scalars real configs use.
fn value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("name".to_string()),
        Just("spec".to_string()),
        Just("presubmits".to_string()),
        Just("periodics".to_string()),
        Just("org/repo".to_string()),
        Just("cron".to_string()),
        Just("interval".to_string()),
        Just("branches".to_string()),
        Just("containers".to_string()),
        Just("decorate".to_string()),
        Just("plugins".to_string()),
        Just("labels".to_string()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(json!("(unclosed")),
        Just(json!("@every 1x")),
        Just(json!("* * * * * * *")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "operator.prow.dev/v1alpha1", "kind": kind, "metadata": {"name": "x", "namespace": "prow"}, "spec": spec})
}

fn run_pipeline(text: &str) {
    let mut inputs = Inputs::default();
    inputs.read_text(Path::new("fuzz.yaml"), text);
    for instance in &inputs.instances {
        let selected = pipeline::select(&inputs, instance);
        let reports = pipeline::validate(&selected);
        let _ = pipeline::build(&selected, &reports, &OperatorWebhook::in_namespace("ops"));
    }
    // Objects no instance selected are checked too.
    let configs: Vec<_> = inputs.job_configs.iter().collect();
    let queues = Default::default();
    let _ = pipeline::check_job_configs(
        &configs,
        &prow_operator::check::JobContext {
            decorate_all_jobs: true,
            job_queues: &queues,
            clusters: prow_operator::check::KnownClusters::NoInstance,
            version: Some("v20240619-cfb8754e0"),
        },
    );
    let plugins: Vec<_> = inputs.plugin_configs.iter().collect();
    let _ = pipeline::check_plugin_configs(&plugins, true, None);
    let labels: Vec<_> = inputs.label_sets.iter().collect();
    let _ = pipeline::check_label_sets(&labels);
}

fn run_import(config: &str, jobs: &str, plugins: &str, labels: &str) {
    let file = |name: &str, text: &str| UpstreamFile {
        path: PathBuf::from(name),
        text: text.to_string(),
    };
    let files = UpstreamFiles {
        config: file("config.yaml", config),
        job_configs: vec![file("jobs.yaml", jobs)],
        plugins: Some(file("plugins.yaml", plugins)),
        labels: Some(file("labels.yaml", labels)),
    };
    let options = ImportOptions {
        namespace: "prow".into(),
        name: "prow".into(),
        version: Some("v1".into()),
        org: None,
    };
    if let Ok(imported) = import::import(&files, &options) {
        let _ = imported.files();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t]{0,300}") {
        run_pipeline(&text);
        run_import(&text, &text, &text, &text);
    }

    #[test]
    fn arbitrary_values_in_our_kinds_never_panic(spec in value(), kind in prop::sample::select(vec!["ProwInstance", "JobConfig", "PluginConfig", "LabelSet"])) {
        let text = prow_api::yaml::to_string(&object(kind, spec)).unwrap();
        run_pipeline(&text);
    }

    #[test]
    fn arbitrary_jobs_next_to_a_valid_instance_never_panic(jobs in value()) {
        let instance = object("ProwInstance", json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "k"}},
            "components": {"deck": {"enabled": true}, "hook": {"enabled": true}}
        }));
        let text = format!("{}---\n{}", prow_api::yaml::to_string(&instance).unwrap(), prow_api::yaml::to_string(&object("JobConfig", jobs)).unwrap());
        run_pipeline(&text);
    }

    #[test]
    fn arbitrary_upstream_files_never_panic(config in value(), jobs in value(), plugins in value(), labels in value()) {
        let yaml = |v: &Value| prow_api::yaml::to_string(v).unwrap();
        run_import(&yaml(&config), &yaml(&jobs), &yaml(&plugins), &yaml(&labels));
    }
}
