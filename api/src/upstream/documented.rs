//! The keys upstream Prow accepts in `config.yaml` and `plugins.yaml`.
//!
//! Upstream publishes `prow-config-documented.yaml` and `plugin-config-documented.yaml`: every
//! key of its config types, with a placeholder value. From them we derive one key path per line
//! (`a.b`, `a.*` for a map key, `a[]` for a list item), kept beside this file and checked against
//! the upstream files by a test. A key outside the tree is what upstream's strict loader
//! (`checkconfig`'s `unknown-fields`) refuses.
//!
//! The documented files miss keys that upstream's types accept and production configs use; those
//! are in [`UNDOCUMENTED_KEYS`], each with the reason.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

/// Key paths of `config.yaml`, derived from upstream's `prow-config-documented.yaml`.
const PROW_CONFIG_KEYS: &str = include_str!("prow-config-keys.txt");
/// Key paths of `plugins.yaml`, derived from upstream's `plugin-config-documented.yaml`.
const PLUGIN_CONFIG_KEYS: &str = include_str!("plugin-config-keys.txt");

/// Which upstream file a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFile {
    /// `config.yaml`.
    ProwConfig,
    /// `plugins.yaml`.
    PluginConfig,
}

/// Keys upstream accepts that its documented files leave out: (file, key path, why it is accepted).
/// A path ending in a key with nothing below it accepts any value there.
pub const UNDOCUMENTED_KEYS: &[(UpstreamFile, &str, &str)] = &[
    (
        UpstreamFile::ProwConfig,
        "decorate_all_jobs",
        "a field of upstream's JobConfig, which config.yaml embeds; the documented file covers only ProwConfig",
    ),
    (
        UpstreamFile::ProwConfig,
        "deck.spyglass.size_limit",
        "Spyglass's file size limit (default 100e6); in upstream's Spyglass type, missing from the documented file",
    ),
    (
        UpstreamFile::ProwConfig,
        "deck.spyglass.lenses[].lens.config",
        "each lens's own free-form settings (a raw JSON message upstream), so its keys are not listed",
    ),
    (
        UpstreamFile::ProwConfig,
        "plank.max_concurrency",
        "a field of upstream's Controller type, embedded in plank; the documented file omits embedded Controller fields",
    ),
    (
        UpstreamFile::ProwConfig,
        "plank.max_goroutines",
        "a field of upstream's Controller type, embedded in plank (inert: plank always runs 10 workers)",
    ),
    (
        UpstreamFile::ProwConfig,
        "jenkins_operators[].max_concurrency",
        "a field of upstream's Controller type, embedded in each jenkins operator",
    ),
    (
        UpstreamFile::ProwConfig,
        "jenkins_operators[].max_goroutines",
        "a field of upstream's Controller type, embedded in each jenkins operator",
    ),
    (
        UpstreamFile::PluginConfig,
        "repo_milestone.*.maintainers_id",
        "the milestone plugin's maintainers team id (RepoMilestone.MaintainersID), missing from the documented file",
    ),
    (
        UpstreamFile::PluginConfig,
        "size",
        "the size plugin's thresholds (s, m, l, xl, xxl); in upstream's plugin Configuration, missing from the documented file",
    ),
    (
        UpstreamFile::PluginConfig,
        "blunderbuss.max_request_count",
        "the cap on requested reviewers; in upstream's Blunderbuss type, missing from the documented file",
    ),
    (
        UpstreamFile::PluginConfig,
        "project_config.project_org_configs.*.org_maintainers_team_id",
        "the org maintainers team of the project plugin; in upstream's ProjectOrgConfig, missing from the documented file",
    ),
    (
        UpstreamFile::PluginConfig,
        "project_config.project_org_configs.*.project_repo_configs.*.repo_maintainers_team_id",
        "the repo maintainers team of the project plugin; in upstream's ProjectRepoConfig, missing from the documented file",
    ),
];

/// A tree of accepted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTree {
    /// Anything is accepted here (a scalar, or a free-form value).
    Any,
    /// An object with these keys.
    Object(BTreeMap<String, KeyTree>),
    /// An object whose keys are free (names, `org/repo`, …), each holding this.
    Map(Box<KeyTree>),
    /// A list of these.
    List(Box<KeyTree>),
}

/// A key that upstream does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The path of the object holding it, such as `tide.queries[2]`; empty at the top level.
    pub parent: String,
    /// The key.
    pub key: String,
}

impl UnknownKey {
    /// The full path of the key.
    pub fn path(&self) -> String {
        join(&self.parent, &self.key)
    }
}

impl KeyTree {
    /// The accepted keys of an upstream file.
    pub fn of(file: UpstreamFile) -> &'static KeyTree {
        static PROW: OnceLock<KeyTree> = OnceLock::new();
        static PLUGINS: OnceLock<KeyTree> = OnceLock::new();
        let (cell, text) = match file {
            UpstreamFile::ProwConfig => (&PROW, PROW_CONFIG_KEYS),
            UpstreamFile::PluginConfig => (&PLUGINS, PLUGIN_CONFIG_KEYS),
        };
        cell.get_or_init(|| {
            let extra = UNDOCUMENTED_KEYS
                .iter()
                .filter(|(f, _, _)| *f == file)
                .map(|(_, path, _)| *path);
            KeyTree::from_paths(text.lines().chain(extra))
        })
    }

    /// Builds a tree from key paths (`a.b`, `a.*.c`, `a[].b`). Blank lines and `#` comments are
    /// skipped.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> KeyTree {
        let mut root = KeyTree::Any;
        for path in paths
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.starts_with('#'))
        {
            let mut node = &mut root;
            for segment in segments(path) {
                node = node.child(segment);
            }
        }
        root
    }

    fn child(&mut self, segment: Segment<'_>) -> &mut KeyTree {
        match segment {
            Segment::Item => {
                if !matches!(self, KeyTree::List(_)) {
                    *self = KeyTree::List(Box::new(KeyTree::Any));
                }
                match self {
                    KeyTree::List(item) => item,
                    _ => unreachable!("just made a list"),
                }
            }
            Segment::AnyKey => {
                if !matches!(self, KeyTree::Map(_)) {
                    *self = KeyTree::Map(Box::new(KeyTree::Any));
                }
                match self {
                    KeyTree::Map(value) => value,
                    _ => unreachable!("just made a map"),
                }
            }
            Segment::Key(key) => {
                if !matches!(self, KeyTree::Object(_)) {
                    *self = KeyTree::Object(BTreeMap::new());
                }
                match self {
                    KeyTree::Object(fields) => fields.entry(key.to_string()).or_insert(KeyTree::Any),
                    _ => unreachable!("just made an object"),
                }
            }
        }
    }

    /// Every key of `value` that this tree does not accept, in document order. Keys named in
    /// `skip` at the top level are left alone (they are checked elsewhere).
    pub fn unknown_keys(&self, value: &Value, skip: &[&str]) -> Vec<UnknownKey> {
        let mut unknown = Vec::new();
        match (self, value) {
            (KeyTree::Object(fields), Value::Object(object)) => {
                for (key, child) in object {
                    if skip.contains(&key.as_str()) {
                        continue;
                    }
                    match fields.get(key) {
                        Some(tree) => tree.walk(child, key, &mut unknown),
                        None => unknown.push(UnknownKey {
                            parent: String::new(),
                            key: key.clone(),
                        }),
                    }
                }
            }
            _ => self.walk(value, "", &mut unknown),
        }
        unknown
    }

    fn walk(&self, value: &Value, path: &str, unknown: &mut Vec<UnknownKey>) {
        match (self, value) {
            (KeyTree::Object(fields), Value::Object(object)) => {
                for (key, child) in object {
                    match fields.get(key) {
                        Some(tree) => tree.walk(child, &join(path, key), unknown),
                        None => unknown.push(UnknownKey {
                            parent: path.to_string(),
                            key: key.clone(),
                        }),
                    }
                }
            }
            (KeyTree::Map(tree), Value::Object(object)) => {
                for (key, child) in object {
                    tree.walk(child, &format!("{path}[{key:?}]"), unknown);
                }
            }
            (KeyTree::List(tree), Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    tree.walk(item, &format!("{path}[{index}]"), unknown);
                }
            }
            // Anything, or a value of another shape than documented: a type problem for the
            // typed loader, not an unknown key.
            _ => {}
        }
    }
}

/// Derives the key paths of an upstream documented file (parsed to JSON), in the format this
/// module reads.
pub fn derive_paths(documented: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    derive(documented, "", &mut paths);
    paths
}

fn derive(value: &Value, prefix: &str, paths: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("") => {
            let path = format!("{prefix}.*");
            paths.push(path.clone());
            derive(&map[""], &path, paths);
        }
        Value::Object(map) => {
            for (key, child) in map {
                let path = join(prefix, key);
                paths.push(path.clone());
                derive(child, &path, paths);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            paths.push(path.clone());
            if let Some(first) = items.first() {
                derive(first, &path, paths);
            }
        }
        _ => {}
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

enum Segment<'a> {
    Key(&'a str),
    AnyKey,
    Item,
}

/// Splits `a.b[].*.c` into `a`, `b`, item, any key, `c`.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, items) = match part.find("[]") {
            Some(at) => (&part[..at], part[at..].matches("[]").count()),
            None => (part, 0),
        };
        match name {
            "" => {}
            "*" => out.push(Segment::AnyKey),
            key => out.push(Segment::Key(key)),
        }
        out.extend(std::iter::repeat_with(|| Segment::Item).take(items));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derives_and_reads_back_paths() {
        let documented = json!({
            "plank": {"job_url_prefix_config": {"": ""}, "max_revivals": 0},
            "tide": {"queries": [{"labels": [""], "repos": [""]}]}
        });
        let paths = derive_paths(&documented);
        assert!(paths.contains(&"plank.job_url_prefix_config.*".to_string()));
        assert!(paths.contains(&"tide.queries[].labels[]".to_string()));
        let tree = KeyTree::from_paths(paths.iter().map(String::as_str));
        let config = json!({
            "plank": {"job_url_prefix_config": {"*": "https://x/view/"}, "max_revival": 3},
            "tide": {"queries": [{"repos": ["a/b"], "label": ["lgtm"]}]},
            "typo": 1
        });
        let unknown: Vec<String> = tree.unknown_keys(&config, &[]).iter().map(UnknownKey::path).collect();
        assert_eq!(unknown, ["plank.max_revival", "tide.queries[0].label", "typo"]);
    }

    #[test]
    fn skipped_top_level_keys_are_not_reported() {
        let tree = KeyTree::from_paths(["a"]);
        assert!(
            tree.unknown_keys(&json!({"a": 1, "presubmits": {}}), &["presubmits"])
                .is_empty()
        );
    }

    #[test]
    fn undocumented_keys_are_accepted() {
        let config = json!({"decorate_all_jobs": true, "deck": {"spyglass": {"size_limit": 1, "lenses": [{"lens": {"config": {"anything": 1}}}]}}});
        assert!(
            KeyTree::of(UpstreamFile::ProwConfig)
                .unknown_keys(&config, &[])
                .is_empty()
        );
        let plugins = json!({"size": {"s": 10}, "blunderbuss": {"max_request_count": 2}});
        assert!(
            KeyTree::of(UpstreamFile::PluginConfig)
                .unknown_keys(&plugins, &[])
                .is_empty()
        );
    }
}
