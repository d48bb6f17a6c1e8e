//! `plugins.yaml`: the selected PluginConfigs merged, plus the operator's own registration as an
//! external plugin when hook runs beside the native trigger.

use prow_api::pluginconfig::ExternalPlugin;
use prow_api::{PluginConfig, PluginConfigSpec, ProwInstanceSpec};
use serde_json::Value;

use super::error::RenderError;
use super::merge::combine;

/// The name the operator registers under in `external_plugins`.
pub const OPERATOR_PLUGIN: &str = "prow-operator";
/// The events the native trigger acts on.
pub const TRIGGER_EVENTS: [&str; 5] = [
    "pull_request",
    "push",
    "issue_comment",
    "pull_request_review",
    "pull_request_review_comment",
];

/// Merges the PluginConfigs, in the order given: plugin lists and excluded repositories are
/// unioned, external plugins and triggers concatenated, and the other sections combined key by
/// key; two PluginConfigs that set one key to different values are an error naming both.
///
/// When hook runs and the native trigger is on, GitHub sends webhooks to hook, so hook must
/// forward the trigger's events to the operator: `operator_hook_url` is registered for the
/// instance's org.
pub fn build(
    spec: &ProwInstanceSpec,
    plugin_configs: &[&PluginConfig],
    operator_hook_url: &str,
) -> Result<PluginConfigSpec, RenderError> {
    let mut merged = PluginConfigSpec::default();
    let mut owners: Vec<String> = Vec::new();
    for config in plugin_configs {
        let owner = format!(
            "PluginConfig {}/{}",
            config.metadata.namespace.as_deref().unwrap_or("default"),
            config.metadata.name.as_deref().unwrap_or_default()
        );
        for (scope, plugins) in &config.spec.plugins {
            let entry = merged.plugins.entry(scope.clone()).or_default();
            for plugin in &plugins.plugins {
                if !entry.plugins.contains(plugin) {
                    entry.plugins.push(plugin.clone());
                }
            }
            for repo in &plugins.excluded_repos {
                if !entry.excluded_repos.contains(repo) {
                    entry.excluded_repos.push(repo.clone());
                }
            }
        }
        for (scope, plugins) in &config.spec.external_plugins {
            merged
                .external_plugins
                .entry(scope.clone())
                .or_default()
                .extend(plugins.iter().cloned());
        }
        merged.triggers.extend(config.spec.triggers.iter().cloned());
        for (section, value) in &config.spec.sections {
            let into = merged.sections.entry(section.clone()).or_insert(Value::Null);
            combine(into, value, section).map_err(|conflict| RenderError::PluginConflict {
                objects: format!("{} and {owner}", owners.join(", ")),
                message: conflict,
            })?;
        }
        owners.push(owner);
    }
    if spec.components.hook.enabled && spec.native.trigger {
        merged
            .external_plugins
            .entry(spec.github.org.clone())
            .or_default()
            .push(ExternalPlugin {
                name: OPERATOR_PLUGIN.to_string(),
                endpoint: Some(operator_hook_url.to_string()),
                events: TRIGGER_EVENTS.iter().map(|e| e.to_string()).collect(),
            });
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin_config(name: &str, spec: Value) -> PluginConfig {
        let mut config = PluginConfig::new(name, serde_json::from_value(spec).unwrap());
        config.metadata.namespace = Some("prow".into());
        config
    }

    fn instance(hook: bool, trigger: bool) -> ProwInstanceSpec {
        serde_json::from_value(json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}}, "hmacSecretRef": {"name": "h", "key": "hmac"}},
            "components": {"hook": {"enabled": hook}},
            "native": {"trigger": trigger}
        }))
        .unwrap()
    }

    #[test]
    fn merges_plugin_configs() {
        let a = plugin_config(
            "a",
            json!({"plugins": {"o": {"plugins": ["lgtm", "hold"]}}, "lgtm": [{"repos": ["o/a"]}]}),
        );
        let b = plugin_config(
            "b",
            json!({"plugins": {"o": {"plugins": ["hold", "wip"]}}, "lgtm": [{"repos": ["o/b"]}], "triggers": [{"repos": ["o"]}]}),
        );
        let merged = build(&instance(false, true), &[&a, &b], "http://op/hook").unwrap();
        assert_eq!(merged.plugins["o"].plugins, ["lgtm", "hold", "wip"]);
        assert_eq!(merged.sections["lgtm"].as_array().unwrap().len(), 2);
        assert_eq!(merged.triggers.len(), 1);
        assert!(merged.external_plugins.is_empty(), "no hook, no forwarding");
    }

    #[test]
    fn conflicting_sections_name_both_objects() {
        let a = plugin_config("a", json!({"owners": {"mdyamlrepos": true}}));
        let b = plugin_config("b", json!({"owners": {"mdyamlrepos": false}}));
        let error = build(&instance(false, true), &[&a, &b], "http://op/hook")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("prow/a") && error.contains("prow/b") && error.contains("owners.mdyamlrepos"),
            "{error}"
        );
    }

    #[test]
    fn hook_forwards_to_the_native_trigger() {
        let merged = build(&instance(true, true), &[], "http://op/hook").unwrap();
        let registered = &merged.external_plugins["o"][0];
        assert_eq!(registered.name, OPERATOR_PLUGIN);
        assert_eq!(registered.endpoint.as_deref(), Some("http://op/hook"));
        assert!(
            build(&instance(true, false), &[], "http://op/hook")
                .unwrap()
                .external_plugins
                .is_empty()
        );
    }
}
