//! A PluginConfig (`plugins.yaml`): plugin names, plugins enabled twice for one repository,
//! external plugins, hook's `trigger` beside the native trigger, and keys upstream does not
//! accept.

use std::collections::BTreeMap;

use prow_api::PluginConfigSpec;
use prow_api::upstream::documented::{KeyTree, UpstreamFile};

use super::plugin_versions::{Availability, availability};
use super::{Findings, field, item, key, rule};

/// The plugins hook has built in (external plugins are configured under `external_plugins`),
/// including names that older upstream versions still register.
pub const REGISTERED_PLUGINS: &[&str] = &[
    "approve",
    "assign",
    "blockade",
    "blunderbuss",
    "branchcleaner",
    "bugzilla",
    "buildifier",
    "cat",
    "cherry-pick-approved",
    "cherry-pick-unapproved",
    "cla",
    "config-updater",
    "dco",
    "dog",
    "golint",
    "goose",
    "heart",
    "help",
    "hold",
    "invalidcommitmsg",
    "issue-management",
    "jira",
    "label",
    "lgtm",
    "lifecycle",
    "merge-method-comment",
    "mergecommitblocker",
    "milestone",
    "milestoneapplier",
    "milestonestatus",
    "override",
    "owners-label",
    "pony",
    "project",
    "project-manager",
    "release-note",
    "require-matching-label",
    "retitle",
    "reward-owners",
    "rifle",
    "shrug",
    "sigmention",
    "size",
    "skip",
    "slackevents",
    "stage",
    "testfreeze",
    // Merged into issue-management in 2026; upstream versions before that have it on its own.
    "transfer-issue",
    "trick-or-treat",
    "trigger",
    "verify-owners",
    "welcome",
    "wip",
    "yuks",
];

/// Checks a PluginConfig at `root`.
pub(crate) fn check(
    spec: &PluginConfigSpec,
    native_trigger: bool,
    version: Option<&str>,
    root: &str,
    findings: &mut Findings,
) {
    check_plugins(spec, native_trigger, version, root, findings);
    check_external_plugins(spec, root, findings);
    check_unknown_keys(spec, root, findings);
}

/// A registered plugin that the deployed version does not have is an error (hook refuses to
/// start), with a warning's worth of help: the version that has it.
fn check_version(name: &str, version: &str, at: &str, findings: &mut Findings) {
    match availability(name, version) {
        Availability::Present => {}
        Availability::AddedLater(date) => findings.error(
            at,
            rule::PLUGIN_VERSION,
            format!("{name:?} is not in upstream {version}: only versions from {date} on have it; set spec.version to one of them or remove it"),
        ),
        Availability::Removed(date) => findings.error(
            at,
            rule::PLUGIN_VERSION,
            format!("{name:?} is not in upstream {version}: versions from {date} on no longer have it (transfer-issue is part of issue-management); use its replacement or an older spec.version"),
        ),
    }
}

/// The org of an `org/repo` scope, and the repo; `None` for an org scope.
fn split_scope(scope: &str) -> Option<(&str, &str)> {
    scope.split_once('/')
}

fn check_plugins(
    spec: &PluginConfigSpec,
    native_trigger: bool,
    version: Option<&str>,
    root: &str,
    findings: &mut Findings,
) {
    let plugins_path = field(root, "plugins");
    for (scope, entry) in &spec.plugins {
        let list_path = field(&key(&plugins_path, scope), "plugins");
        let org_entry = split_scope(scope).and_then(|(org, repo)| {
            let org_entry = spec.plugins.get(org)?;
            let excluded = org_entry.excluded_repos.iter().any(|r| r == repo || r == scope);
            (!excluded).then_some((org, org_entry))
        });
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, name) in entry.plugins.iter().enumerate() {
            let at = item(&list_path, index);
            if !REGISTERED_PLUGINS.contains(&name.as_str()) {
                let external = spec.external_plugins.values().flatten().any(|p| &p.name == name);
                let hint = if external {
                    "; it is configured as an external plugin, which belongs only under external_plugins"
                } else {
                    ""
                };
                findings.error(
                    &at,
                    rule::UNKNOWN_PLUGIN,
                    format!("{name:?} is not a plugin hook knows{hint}: check the spelling (e.g. cherry-pick-unapproved, verify-owners)"),
                );
            }
            if let Some(version) = version {
                check_version(name, version, &at, findings);
            }
            if let Some(first) = seen.get(name.as_str()) {
                findings.warning(
                    &at,
                    rule::DUPLICATE_PLUGIN,
                    format!("{name:?} is listed twice for {scope} (also at index {first}): keep one"),
                );
            } else {
                seen.insert(name, index);
            }
            if let Some((org, org_entry)) = org_entry
                && org_entry.plugins.contains(name)
            {
                findings.error(
                    &at,
                    rule::DUPLICATE_PLUGIN,
                    format!("{name:?} is enabled for {scope} and for its org {org}, so it would run twice: remove it here (the repository gets its org's plugins), or add the repository to the org's excluded_repos"),
                );
            }
            if native_trigger && name == "trigger" {
                findings.error(
                    &at,
                    rule::NATIVE_TRIGGER,
                    "the operator's native trigger replaces hook's trigger plugin (and both would start every job): remove it or set native.trigger: false",
                );
            }
        }
    }
}

fn check_external_plugins(spec: &PluginConfigSpec, root: &str, findings: &mut Findings) {
    let external_path = field(root, "external_plugins");
    for (scope, list) in &spec.external_plugins {
        let scope_path = key(&external_path, scope);
        let org_names: Vec<&str> = split_scope(scope)
            .and_then(|(org, _)| spec.external_plugins.get(org))
            .map(|org_list| org_list.iter().map(|p| p.name.as_str()).collect())
            .unwrap_or_default();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, plugin) in list.iter().enumerate() {
            let at = field(&item(&scope_path, index), "name");
            if plugin.name.is_empty() {
                findings.error(&at, rule::UNKNOWN_PLUGIN, "every external plugin needs a name");
                continue;
            }
            if let Some(first) = seen.get(plugin.name.as_str()) {
                findings.error(
                    &at,
                    rule::DUPLICATE_PLUGIN,
                    format!(
                        "external plugin {:?} is listed twice for {scope} (also at index {first}): keep one",
                        plugin.name
                    ),
                );
            } else {
                seen.insert(&plugin.name, index);
            }
            if org_names.contains(&plugin.name.as_str()) {
                findings.error(
                    &at,
                    rule::DUPLICATE_PLUGIN,
                    format!(
                        "external plugin {:?} is configured for {scope} and for its org, so it would get every event twice: remove it here",
                        plugin.name
                    ),
                );
            }
        }
    }
}

fn check_unknown_keys(spec: &PluginConfigSpec, root: &str, findings: &mut Findings) {
    let value = match serde_json::to_value(spec) {
        Ok(value) => value,
        Err(error) => {
            findings.error(
                root,
                rule::UNKNOWN_FIELDS,
                format!("the plugin configuration cannot be read: {error}"),
            );
            return;
        }
    };
    for unknown in KeyTree::of(UpstreamFile::PluginConfig).unknown_keys(&value, &[]) {
        let at = if root.is_empty() {
            unknown.path()
        } else {
            format!("{root}.{}", unknown.path())
        };
        let message = if unknown.parent.is_empty() {
            format!(
                "plugins.yaml has no section {:?}: check its spelling (sections use snake_case, e.g. config_updater, require_matching_label), or remove it",
                unknown.key
            )
        } else {
            format!(
                "upstream Prow does not accept key {:?} in {}: check its spelling and level, or remove it",
                unknown.key, unknown.parent
            )
        };
        // Upstream's loader ignores the key and checkconfig warns (unknown-fields): a warning.
        findings.warning(at, rule::UNKNOWN_FIELDS, message);
    }
}

#[cfg(test)]
mod tests {
    use prow_api::status::{Finding, Severity};
    use serde_json::json;

    use super::*;

    fn run(value: serde_json::Value, native_trigger: bool) -> Vec<Finding> {
        let spec: PluginConfigSpec = serde_json::from_value(value).expect("plugin config");
        let mut findings = Findings::default();
        check(&spec, native_trigger, None, "spec", &mut findings);
        findings.into_vec()
    }

    fn paths(value: serde_json::Value, native_trigger: bool) -> Vec<String> {
        run(value, native_trigger).into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn a_valid_config() {
        let findings = run(
            json!({
                "plugins": {"org": {"plugins": ["approve", "lgtm", "trigger"], "excluded_repos": ["skipped"]},
                            "org/repo": {"plugins": ["hold"]}, "org/skipped": {"plugins": ["lgtm"]}, "other": null},
                "external_plugins": {"org": [{"name": "needs-rebase", "events": ["pull_request"]}], "org/repo": [{"name": "cherrypicker"}]},
                "triggers": [{"repos": ["org"], "only_org_members": true}],
                "approve": [{"repos": ["org"], "require_self_approval": false}],
                "size": {"s": 10},
                "config_updater": {"maps": {"config.yaml": {"name": "config"}}}
            }),
            false,
        );
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn unknown_plugins() {
        assert_eq!(
            paths(
                json!({"plugins": {"org": {"plugins": ["lgtm", "lgmt", "needs-rebase"]}}, "external_plugins": {"org": [{"name": "needs-rebase"}]}}),
                false
            ),
            ["spec.plugins[\"org\"].plugins[1]", "spec.plugins[\"org\"].plugins[2]"]
        );
    }

    #[test]
    fn plugins_at_org_and_repo_level() {
        let findings = run(
            json!({"plugins": {"org": {"plugins": ["lgtm", "hold"]}, "org/repo": {"plugins": ["approve", "hold", "approve"]}}}),
            false,
        );
        let found: Vec<(&str, Severity)> = findings.iter().map(|f| (f.path.as_str(), f.severity)).collect();
        assert_eq!(
            found,
            [
                ("spec.plugins[\"org/repo\"].plugins[1]", Severity::Error),
                ("spec.plugins[\"org/repo\"].plugins[2]", Severity::Warning)
            ]
        );
    }

    #[test]
    fn native_trigger_refuses_hooks_trigger() {
        let config = json!({"plugins": {"org": {"plugins": ["lgtm", "trigger"]}}});
        let findings = run(config.clone(), true);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "spec.plugins[\"org\"].plugins[1]");
        assert!(findings[0].message.contains("native.trigger: false"));
        assert!(run(config, false).is_empty());
    }

    #[test]
    fn external_plugins() {
        assert_eq!(
            paths(
                json!({"external_plugins": {
                    "org": [{"name": "refresh"}],
                    "org/repo": [{"name": "needs-rebase"}, {"name": "needs-rebase"}, {"name": "refresh"}, {"name": ""}]
                }}),
                false
            ),
            [
                "spec.external_plugins[\"org/repo\"][1].name",
                "spec.external_plugins[\"org/repo\"][2].name",
                "spec.external_plugins[\"org/repo\"][3].name"
            ]
        );
    }

    #[test]
    fn unknown_sections_and_keys() {
        assert_eq!(
            paths(
                json!({"lgtm": [{"repos": ["org"], "review_acts_as_lgtm": true, "review_act_as_lgtm": true}], "config-updater": {}}),
                false
            ),
            ["spec.config-updater", "spec.lgtm[0].review_act_as_lgtm"]
        );
    }

    /// Upstream's plugins.yaml loader ignores unknown keys; its checkconfig warns about them
    /// (an error only under --strict): so do we, naming the key.
    #[test]
    fn unknown_sections_and_keys_only_warn() {
        let findings = run(
            json!({"config-updater": {}, "lgtm": [{"repos": ["org"], "review_act_as_lgtm": true}]}),
            false,
        );
        assert_eq!(findings.len(), 2, "{findings:?}");
        for finding in &findings {
            assert_eq!(finding.severity, Severity::Warning, "{finding:?}");
            assert_eq!(finding.rule.as_deref(), Some("unknown-fields"));
        }
        assert!(
            findings[0].message.contains("\"config-updater\""),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_plugin_of_another_version_is_an_error_naming_when_it_came_or_went() {
        let spec: PluginConfigSpec =
            serde_json::from_value(json!({"plugins": {"o/r": {"plugins": ["transfer-issue", "issue-management"]}}}))
                .expect("plugin config");
        let found = |version: &str| {
            let mut findings = Findings::default();
            check(&spec, false, Some(version), "spec", &mut findings);
            findings
                .into_vec()
                .into_iter()
                .map(|f| (f.path, f.severity, f.rule))
                .collect::<Vec<_>>()
        };
        let rule = Some(rule::PLUGIN_VERSION.to_string());
        assert_eq!(
            found("v20260819-7593870dc"),
            [(
                "spec.plugins[\"o/r\"].plugins[0]".to_string(),
                Severity::Error,
                rule.clone()
            )]
        );
        assert_eq!(
            found("v20240802-66b115076"),
            [("spec.plugins[\"o/r\"].plugins[1]".to_string(), Severity::Error, rule)]
        );
    }
}
