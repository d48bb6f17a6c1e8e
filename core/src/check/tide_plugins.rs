//! checkconfig's `mismatched-tide` warning: tide merges by labels that plugins add, so a tide
//! query that requires `lgtm` where the lgtm plugin is off never merges, and one that forbids
//! `do-not-merge/hold` where the hold plugin is off never sees the label. As upstream: for each
//! (plugin, label) pair, every org or repository whose tide queries require or forbid the label
//! must have the plugin; and, for the pairs upstream checks both ways, every org or repository
//! with the plugin that tide merges must have a query honouring the label. A warning: upstream
//! fails on it only under `--strict`. Orgs and repositories are compared by name (an org's
//! excluded repositories count as covered), which is coarser than upstream's set algebra.

use std::collections::BTreeSet;

use prow_api::PluginConfigSpec;
use serde_json::Value;

use super::{Findings, field, key, rule};

/// Whether tide's queries must require the label, or forbid it.
#[derive(Clone, Copy, PartialEq)]
enum Honour {
    Require,
    Forbid,
}

/// (plugin, label, how tide honours it, external plugin, checked both ways).
const PAIRS: &[(&str, &str, Honour, bool, bool)] = &[
    ("lgtm", "lgtm", Honour::Require, false, true),
    ("approve", "approved", Honour::Require, false, true),
    ("hold", "do-not-merge/hold", Honour::Forbid, false, true),
    ("wip", "do-not-merge/work-in-progress", Honour::Forbid, false, true),
    ("bugzilla", "bugzilla/invalid-bug", Honour::Forbid, false, true),
    (
        "verify-owners",
        "do-not-merge/invalid-owners-file",
        Honour::Forbid,
        false,
        true,
    ),
    (
        "release-note",
        "do-not-merge/release-note-label-needed",
        Honour::Forbid,
        false,
        true,
    ),
    (
        "cherry-pick-unapproved",
        "do-not-merge/cherry-pick-not-approved",
        Honour::Forbid,
        false,
        true,
    ),
    ("blockade", "do-not-merge/blocked-paths", Honour::Forbid, false, true),
    ("needs-rebase", "needs-rebase", Honour::Forbid, true, false),
];

/// The orgs and repositories one or more tide queries cover.
#[derive(Default)]
struct Scopes {
    orgs: BTreeSet<String>,
    repos: BTreeSet<String>,
}

impl Scopes {
    fn add(&mut self, query: &Value) {
        let names = |k: &str| -> Vec<String> {
            query[k]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        self.orgs.extend(names("orgs"));
        self.repos.extend(names("repos"));
    }

    fn covers(&self, scope: &str) -> bool {
        self.orgs.contains(scope)
            || self.repos.contains(scope)
            || scope.split_once('/').is_some_and(|(org, _)| self.orgs.contains(org))
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.orgs.iter().chain(&self.repos)
    }
}

fn has_label(query: &Value, list: &str, label: &str) -> bool {
    query[list]
        .as_array()
        .is_some_and(|labels| labels.iter().any(|l| l.as_str() == Some(label)))
}

/// Whether `plugin` is on for `scope` (an org, or `org/repo`).
fn enabled(spec: &PluginConfigSpec, plugin: &str, external: bool, scope: &str) -> bool {
    let on = |at: &str| {
        if external {
            spec.external_plugins
                .get(at)
                .is_some_and(|list| list.iter().any(|p| p.name == plugin))
        } else {
            spec.plugins
                .get(at)
                .is_some_and(|p| p.plugins.iter().any(|n| n == plugin))
        }
    };
    on(scope) || scope.split_once('/').is_some_and(|(org, _)| on(org))
}

/// Adds the `mismatched-tide` warnings of `config` (the instance's config.yaml overlay) and
/// `spec` (a PluginConfig), at paths below `root` in the PluginConfig.
pub(crate) fn check(config: Option<&Value>, spec: &PluginConfigSpec, root: &str, findings: &mut Findings) {
    let Some(queries) = config
        .and_then(|c| c.pointer("/tide/queries"))
        .and_then(Value::as_array)
    else {
        return;
    };
    let mut merged = Scopes::default();
    queries.iter().for_each(|q| merged.add(q));
    for &(plugin, label, honour, external, both_ways) in PAIRS {
        let (list, verb) = match honour {
            Honour::Require => ("labels", "require"),
            Honour::Forbid => ("missingLabels", "forbid"),
        };
        let mut honouring = Scopes::default();
        queries
            .iter()
            .filter(|q| has_label(q, list, label))
            .for_each(|q| honouring.add(q));
        let missing: Vec<&String> = honouring
            .all()
            .filter(|scope| !enabled(spec, plugin, external, scope))
            .collect();
        if !missing.is_empty() {
            findings.warning(
                field(root, if external { "external_plugins" } else { "plugins" }),
                rule::MISMATCHED_TIDE,
                format!(
                    "tide's queries {verb} the {label} label for {} but the {plugin} plugin is not enabled there: enable it, or change the queries",
                    join(&missing)
                ),
            );
        }
        if !both_ways {
            continue;
        }
        for (scope, org) in &spec.plugins {
            if org.plugins.iter().any(|p| p == plugin) && merged.covers(scope) && !honouring.covers(scope) {
                findings.warning(
                    key(&field(root, "plugins"), scope),
                    rule::MISMATCHED_TIDE,
                    format!(
                        "{scope} enables the {plugin} plugin but tide's queries there do not {verb} the {label} label: tide merges without it"
                    ),
                );
            }
        }
    }
}

fn join(scopes: &[&String]) -> String {
    const SHOWN: usize = 5;
    let mut text = scopes
        .iter()
        .take(SHOWN)
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if scopes.len() > SHOWN {
        text.push_str(&format!(" and {} more", scopes.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(config: Value, plugins: Value) -> Vec<(String, String)> {
        let spec: PluginConfigSpec = serde_json::from_value(plugins).expect("plugin config");
        let mut findings = Findings::default();
        check(Some(&config), &spec, "spec", &mut findings);
        findings.into_vec().into_iter().map(|f| (f.path, f.message)).collect()
    }

    /// Found on gardener's, oss-test-infra's and kubesphere's configurations by the checkconfig
    /// oracle: upstream's `--strict` refuses them; ours said nothing.
    #[test]
    fn labels_tide_honours_need_their_plugins_and_back() {
        let config = json!({"tide": {"queries": [
            {"orgs": ["o"], "labels": ["lgtm", "approved"], "missingLabels": ["do-not-merge/hold"]},
            {"repos": ["p/r"], "labels": ["lgtm"]}
        ]}});
        let plugins = json!({"plugins": {
            "o": {"plugins": ["lgtm", "approve", "hold"]},
            "p/r": {"plugins": ["approve"]}
        }});
        let found = run(config.clone(), plugins);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "spec.plugins");
        assert!(
            found[0]
                .1
                .contains("require the lgtm label for p/r but the lgtm plugin"),
            "{}",
            found[0].1
        );
        assert_eq!(found[1].0, "spec.plugins[\"p/r\"]");
        assert!(found[1].1.contains("enables the approve plugin"), "{}", found[1].1);
        let fixed = json!({"plugins": {"o": {"plugins": ["lgtm", "approve", "hold"]}, "p/r": {"plugins": ["lgtm"]}}});
        assert_eq!(run(config, fixed), []);
    }
}
