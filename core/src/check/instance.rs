//! A ProwInstance: the rules its CRD states in CEL (checked here too, for offline use), and the
//! keys of its `config` overlay.

use serde_json::Value;

use prow_api::ProwInstanceSpec;
use prow_api::upstream::config::JOB_KEYS;
use prow_api::upstream::documented::{KeyTree, UpstreamFile};

use super::{Findings, field, rule};

/// Checks an instance at `root`.
pub(crate) fn check(spec: &ProwInstanceSpec, root: &str, findings: &mut Findings) {
    check_native_conflicts(spec, root, findings);
    check_auth(spec, root, findings);
    if let Some(storage) = &spec.storage
        && storage.s3.is_some() == storage.gcs.is_some()
    {
        findings.error(
            field(root, "storage"),
            rule::INSTANCE,
            "set exactly one of storage.s3 or storage.gcs",
        );
    }
    if let Some(config) = &spec.config {
        check_config(config, &field(root, "config"), findings);
    }
}

fn check_native_conflicts(spec: &ProwInstanceSpec, root: &str, findings: &mut Findings) {
    let components = &spec.components;
    let native = &spec.native;
    if !native.trigger && !components.hook.enabled {
        findings.warning(
            field(&field(root, "native"), "trigger"),
            rule::NATIVE_CONFLICT,
            "nothing starts presubmits and postsubmits: the native trigger is off and hook is not enabled; \
             set native.trigger: true, or enable hook with its trigger plugin",
        );
    }
    for (native_on, function, component_on, component, key) in [
        (
            native.schedule,
            "schedule",
            components.horologium.enabled,
            "horologium",
            "horologium",
        ),
        (
            native.execute,
            "execute",
            components.prow_controller_manager.enabled,
            "prow-controller-manager",
            "prowControllerManager",
        ),
        (native.clean, "clean", components.sinker.enabled, "sinker", "sinker"),
    ] {
        if native_on && component_on {
            findings.error(
                field(&field(&field(root, "components"), key), "enabled"),
                rule::NATIVE_CONFLICT,
                format!("native {function} and {component} cannot both run (they would do the same work twice): set native.{function}: false, or disable {key}"),
            );
        }
    }
}

fn check_auth(spec: &ProwInstanceSpec, root: &str, findings: &mut Findings) {
    let auth = &spec.github.auth;
    let auth_path = field(&field(root, "github"), "auth");
    if auth.app.is_some() == auth.token.is_some() {
        findings.error(
            &auth_path,
            rule::INSTANCE,
            "set exactly one of github.auth.app (a GitHub App, preferred) or github.auth.token",
        );
    }
    if let Some(app) = &auth.app
        && app.app_id.is_some() == app.app_id_secret_ref.is_some()
    {
        findings.error(
            field(&auth_path, "app"),
            rule::INSTANCE,
            "set exactly one of appId or appIdSecretRef",
        );
    }
}

fn check_config(config: &Value, path: &str, findings: &mut Findings) {
    let Some(object) = config.as_object() else {
        findings.error(
            path,
            rule::INVALID_VALUE,
            "config must be an object of config.yaml keys (tide, deck, plank, …)",
        );
        return;
    };
    for key in JOB_KEYS {
        if object.contains_key(key) {
            findings.error(
                field(path, key),
                rule::JOBS_IN_CONFIG,
                format!("{key} cannot be set in the instance's config: jobs and presets belong in JobConfigs, which the instance selects"),
            );
        }
    }
    for unknown in KeyTree::of(UpstreamFile::ProwConfig).unknown_keys(config, &JOB_KEYS) {
        let message = if unknown.parent.is_empty() {
            format!(
                "config.yaml has no key {:?}: check its spelling (keys use snake_case, e.g. pod_namespace, branch-protection), or remove it",
                unknown.key
            )
        } else {
            format!(
                "upstream Prow does not accept key {:?} in {}: check its spelling and level, or remove it",
                unknown.key, unknown.parent
            )
        };
        // Upstream's loader ignores the key and checkconfig warns (unknown-fields): a warning.
        findings.warning(format!("{path}.{}", unknown.path()), rule::UNKNOWN_FIELDS, message);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(extra: Value) -> ProwInstanceSpec {
        let mut value = json!({
            "version": "v20240802-66b115076",
            "github": {
                "org": "org",
                "auth": {"app": {"appId": "1", "privateKeySecretRef": {"name": "gh", "key": "cert"}}},
                "hmacSecretRef": {"name": "hmac", "key": "hmac"}
            }
        });
        if let (Value::Object(target), Value::Object(extra)) = (&mut value, extra) {
            target.extend(extra);
        }
        serde_json::from_value(value).expect("instance spec")
    }

    fn paths(extra: Value) -> Vec<String> {
        let mut findings = Findings::default();
        check(&spec(extra), "spec", &mut findings);
        findings.into_vec().into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn a_valid_instance() {
        assert!(paths(json!({"config": {"tide": {"sync_period": "1m"}, "decorate_all_jobs": true, "plank": {"job_queue_capacities": {"gpu": 1}}}})).is_empty());
        assert!(
            paths(json!({"native": {"schedule": false}, "components": {"horologium": {"enabled": true}}})).is_empty()
        );
    }

    #[test]
    fn native_and_upstream_conflicts() {
        assert_eq!(
            paths(
                json!({"components": {"horologium": {"enabled": true}, "prowControllerManager": {"enabled": true}, "sinker": {"enabled": true}}})
            ),
            [
                "spec.components.horologium.enabled",
                "spec.components.prowControllerManager.enabled",
                "spec.components.sinker.enabled"
            ]
        );
    }

    #[test]
    fn nothing_triggering_is_a_warning() {
        let mut findings = Findings::default();
        check(&spec(json!({"native": {"trigger": false}})), "spec", &mut findings);
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "spec.native.trigger");
        assert_eq!(findings[0].severity, prow_api::status::Severity::Warning);
        assert!(paths(json!({"native": {"trigger": false}, "components": {"hook": {"enabled": true}}})).is_empty());
    }

    #[test]
    fn auth_and_storage_one_way() {
        assert_eq!(
            paths(json!({
                "github": {"org": "o", "auth": {}, "hmacSecretRef": {"name": "h", "key": "k"}},
                "storage": {"s3": {"bucket": "b", "credentialsSecretRef": {"name": "s", "key": "k"}},
                            "gcs": {"bucket": "b", "credentialsSecretRef": {"name": "s", "key": "k"}}}
            })),
            ["spec.github.auth", "spec.storage"]
        );
        assert_eq!(
            paths(
                json!({"github": {"org": "o", "hmacSecretRef": {"name": "h", "key": "k"},
                "auth": {"app": {"privateKeySecretRef": {"name": "gh", "key": "cert"}}}}})
            ),
            ["spec.github.auth.app"]
        );
    }

    /// Upstream's config.yaml loader ignores unknown keys; its checkconfig warns about them (an
    /// error only under --strict): so do we, naming the key.
    #[test]
    fn unknown_config_keys_only_warn() {
        let mut findings = Findings::default();
        check(
            &spec(json!({"config": {"tide": {"sync_perod": "1m"}, "tidee": {}}})),
            "spec",
            &mut findings,
        );
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 2, "{findings:?}");
        for finding in &findings {
            assert_eq!(finding.severity, prow_api::status::Severity::Warning, "{finding:?}");
            assert_eq!(finding.rule.as_deref(), Some("unknown-fields"));
        }
        assert!(findings.iter().any(|f| f.message.contains("\"sync_perod\"")));
    }

    #[test]
    fn config_overlay_keys() {
        assert_eq!(
            paths(json!({"config": {
                "presubmits": {"o/r": []},
                "tide": {"sync_period": "1m", "sync_perod": "1m"},
                "plank": {"job_url_prefix_config": {"*": "https://x/view/"}},
                "tidee": {}
            }})),
            [
                "spec.config.presubmits",
                "spec.config.tide.sync_perod",
                "spec.config.tidee"
            ]
        );
        assert_eq!(paths(json!({"config": ["tide"]})), ["spec.config"]);
    }
}
