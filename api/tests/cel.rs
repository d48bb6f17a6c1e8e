//! The CEL `x-kubernetes-validations` of every CRD compile, and each rule accepts a valid object
//! and rejects an invalid one with its message, evaluated as the API server would (kube's `cel`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use prow_api::{JobConfig, ProwInstance, crd};
use serde_json::{Value, json};

fn compilation_errors(node: &CompiledSchema, path: &str, out: &mut Vec<String>) {
    for error in node.compilation_errors() {
        out.push(format!("{path}: {error:?}"));
    }
    for (key, child) in &node.properties {
        compilation_errors(child, &format!("{path}.{key}"), out);
    }
    if let Some(items) = &node.items {
        compilation_errors(items, &format!("{path}[]"), out);
    }
    if let Some(additional) = &node.additional_properties {
        compilation_errors(additional, &format!("{path}{{}}"), out);
    }
}

fn count_rules(node: &Value) -> usize {
    let here = node
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let children: usize = match node {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| *k != "x-kubernetes-validations")
            .map(|(_, v)| count_rules(v))
            .sum(),
        Value::Array(list) => list.iter().map(count_rules).sum(),
        _ => 0,
    };
    here + children
}

#[test]
fn every_rule_compiles() {
    let mut total = 0;
    for definition in crd::all() {
        let schema = support::crd_schema(&definition);
        total += count_rules(&schema);
        let mut errors = Vec::new();
        compilation_errors(&compile_schema(&schema), "", &mut errors);
        assert!(errors.is_empty(), "{}: {errors:#?}", crd::file_name(&definition));
    }
    assert!(
        total >= 20,
        "expected the job, decoration and instance rules, found {total}"
    );
}

fn job_config(spec: Value) -> Value {
    json!({"apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig", "metadata": {"name": "jobs"}, "spec": spec})
}

/// Validates a JobConfig holding `job` as a presubmit, a postsubmit or a periodic.
fn validate_job(kind: &str, job: Value) -> Result<(), String> {
    let spec = match kind {
        "periodics" => json!({"periodics": [job]}),
        _ => json!({kind: {"org/repo": [job]}}),
    };
    let mut schema = support::crd_schema(&JobConfig::crd());
    support::with_kube_cel_field_spelling(&mut schema);
    Validator::new()
        .validate(&schema, &job_config(spec), None)
        .map_err(|errors| {
            errors
                .as_slice()
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
}

fn assert_rejected(result: Result<(), String>, message: &str) {
    match result {
        Ok(()) => panic!("accepted, but should fail with {message:?}"),
        Err(errors) => assert!(errors.contains(message), "expected {message:?} in {errors:?}"),
    }
}

fn presubmit(extra: Value) -> Value {
    let mut job = json!({"name": "unit", "always_run": false, "spec": {"containers": [{"image": "golang"}]}});
    job.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    job
}

#[test]
fn kube_cel_escapes_single_underscores() {
    // The reason for `with_kube_cel_field_spelling`: if kube-cel ever follows the API server here,
    // this test fails and the adapter can go.
    let schema = json!({
        "type": "object",
        "properties": {"run_if_changed": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "has(self.run_if_changed)"}]
    });
    let object = json!({"run_if_changed": "x"});
    assert!(Validator::new().validate(&schema, &object, None).is_err());
    let mut adapted = schema.clone();
    support::with_kube_cel_field_spelling(&mut adapted);
    assert_eq!(
        adapted["x-kubernetes-validations"][0]["rule"],
        "has(self.run__if__changed)"
    );
    assert!(Validator::new().validate(&adapted, &object, None).is_ok());
}

#[test]
fn job_names() {
    for kind in ["presubmits", "postsubmits", "periodics"] {
        let schedule = if kind == "periodics" {
            json!({"interval": "1h"})
        } else {
            json!({})
        };
        let mut ok = presubmit(json!({"name": "pull-test_infra.verify"}));
        ok.as_object_mut()
            .unwrap()
            .extend(schedule.as_object().unwrap().clone());
        if kind == "periodics" {
            ok.as_object_mut().unwrap().remove("always_run");
        }
        assert_eq!(validate_job(kind, ok.clone()), Ok(()), "{kind}");
        let mut slash = ok.clone();
        slash["name"] = json!("team/unit");
        assert_rejected(validate_job(kind, slash.clone()), "only jenkins jobs may contain '/'");
        slash["agent"] = json!("jenkins");
        assert_eq!(validate_job(kind, slash), Ok(()), "{kind}: jenkins jobs may use '/'");
    }
}

#[test]
fn max_concurrency_is_not_negative() {
    assert_eq!(
        validate_job("presubmits", presubmit(json!({"max_concurrency": 0}))),
        Ok(())
    );
    assert_rejected(
        validate_job("presubmits", presubmit(json!({"max_concurrency": -1}))),
        "max_concurrency must be 0",
    );
    assert_rejected(
        validate_job(
            "periodics",
            json!({"name": "p", "interval": "1h", "max_concurrency": -3}),
        ),
        "max_concurrency must be 0",
    );
}

#[test]
fn change_matchers_are_exclusive() {
    for kind in ["presubmits", "postsubmits"] {
        assert_eq!(
            validate_job(kind, presubmit(json!({"run_if_changed": "^docs/"}))),
            Ok(())
        );
        assert_eq!(
            validate_job(
                kind,
                presubmit(json!({"run_if_changed": "", "skip_if_only_changed": "^docs/"}))
            ),
            Ok(())
        );
        assert_rejected(
            validate_job(
                kind,
                presubmit(json!({"run_if_changed": "^src/", "skip_if_only_changed": "^docs/"})),
            ),
            "run_if_changed and skip_if_only_changed cannot both be set",
        );
        assert_rejected(
            validate_job(kind, presubmit(json!({"always_run": true, "run_if_changed": "^src/"}))),
            "always_run: true cannot be combined",
        );
    }
}

#[test]
fn trigger_and_rerun_command_come_together() {
    let both = presubmit(json!({"trigger": "(?m)^/test unit", "rerun_command": "/test unit"}));
    assert_eq!(validate_job("presubmits", both), Ok(()));
    assert_rejected(
        validate_job("presubmits", presubmit(json!({"trigger": "(?m)^/test unit"}))),
        "trigger and rerun_command must be set together",
    );
}

#[test]
fn periodics_have_exactly_one_schedule() {
    for schedule in [
        json!({"cron": "0 * * * *"}),
        json!({"interval": "1h"}),
        json!({"minimum_interval": "2h"}),
    ] {
        let mut job = json!({"name": "p"});
        job.as_object_mut()
            .unwrap()
            .extend(schedule.as_object().unwrap().clone());
        assert_eq!(validate_job("periodics", job), Ok(()));
    }
    let message = "exactly one of cron, interval or minimum_interval must be set";
    assert_rejected(validate_job("periodics", json!({"name": "p"})), message);
    assert_rejected(
        validate_job("periodics", json!({"name": "p", "cron": "@daily", "interval": "1h"})),
        message,
    );
}

#[test]
fn decoration_clone_credentials_are_exclusive() {
    let ssh = presubmit(json!({"decoration_config": {"ssh_key_secrets": ["ssh"]}}));
    assert_eq!(validate_job("presubmits", ssh), Ok(()));
    let both = presubmit(
        json!({"decoration_config": {"ssh_key_secrets": ["ssh"], "oauth_token_secret": {"name": "o", "key": "k"}}}),
    );
    assert_rejected(
        validate_job("presubmits", both),
        "ssh_key_secrets and oauth_token_secret cannot be combined",
    );
}

#[test]
fn rerun_auth_allow_anyone_stands_alone() {
    let anyone = presubmit(json!({"rerun_auth_config": {"allow_anyone": true}}));
    assert_eq!(validate_job("presubmits", anyone), Ok(()));
    let mixed = presubmit(json!({"rerun_auth_config": {"allow_anyone": true, "github_users": ["alice"]}}));
    assert_rejected(validate_job("presubmits", mixed), "allow_anyone cannot be combined");
}

fn instance(spec_overrides: Value) -> Value {
    let mut spec = json!({
        "version": "v20240802-66b115076",
        "github": {
            "org": "example",
            "auth": {"app": {"appId": "1", "privateKeySecretRef": {"name": "github-token", "key": "cert"}}},
            "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
        }
    });
    spec.as_object_mut()
        .unwrap()
        .extend(spec_overrides.as_object().unwrap().clone());
    json!({"apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance", "metadata": {"name": "prow"}, "spec": spec})
}

fn validate_instance(object: Value) -> Result<(), String> {
    let mut schema = support::crd_schema(&ProwInstance::crd());
    support::with_kube_cel_field_spelling(&mut schema);
    Validator::new().validate(&schema, &object, None).map_err(|errors| {
        errors
            .as_slice()
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[test]
fn instance_native_and_upstream_functions_are_exclusive() {
    assert_eq!(validate_instance(instance(json!({}))), Ok(()));
    // hook runs beside the native trigger; only its `trigger` plugin conflicts (a PluginConfig check).
    let hook = json!({"components": {"hook": {"enabled": true}}});
    assert_eq!(validate_instance(instance(hook)), Ok(()));
    for (component, function, message) in [
        ("horologium", "schedule", "native schedule and horologium"),
        (
            "prowControllerManager",
            "execute",
            "native execute and prow-controller-manager",
        ),
        ("sinker", "clean", "native clean and sinker"),
    ] {
        let both = json!({"components": {component: {"enabled": true}}});
        assert_rejected(validate_instance(instance(both)), message);
        let switched = json!({"components": {component: {"enabled": true}}, "native": {function: false}});
        assert_eq!(validate_instance(instance(switched)), Ok(()), "{component}");
    }
}

#[test]
fn instance_auth_and_storage_pick_one() {
    let both_auth = json!({"github": {
        "org": "example",
        "auth": {
            "app": {"appId": "1", "privateKeySecretRef": {"name": "g", "key": "cert"}},
            "token": {"secretRef": {"name": "t", "key": "oauth"}}
        },
        "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
    }});
    assert_rejected(
        validate_instance(instance(both_auth)),
        "set exactly one of app or token",
    );
    let no_app_id = json!({"github": {
        "org": "example",
        "auth": {"app": {"privateKeySecretRef": {"name": "g", "key": "cert"}}},
        "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
    }});
    assert_rejected(
        validate_instance(instance(no_app_id)),
        "set exactly one of appId or appIdSecretRef",
    );
    let secret = json!({"name": "s3", "key": "service-account.json"});
    let s3 = json!({"storage": {"s3": {"bucket": "logs", "credentialsSecretRef": secret}}});
    assert_eq!(validate_instance(instance(s3)), Ok(()));
    let both = json!({"storage": {
        "s3": {"bucket": "logs", "credentialsSecretRef": secret},
        "gcs": {"bucket": "logs", "credentialsSecretRef": secret}
    }});
    assert_rejected(validate_instance(instance(both)), "set exactly one of s3 or gcs");
}
