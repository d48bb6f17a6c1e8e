//! A plugins.yaml with some plugins taken out, for upstream's 2024 `checkconfig` (the oracle),
//! which refuses plugins newer than itself. `benches/offline.rs` includes this file by `#[path]`,
//! so it uses nothing else of the support module.

use std::path::Path;

use serde_json::Value;

/// Writes the plugins.yaml at `plugins` to `out` as JSON (which YAML reads), without the plugins
/// `names` in any org's or repository's list (`org: [..]` or `org: {plugins: [..]}`).
pub fn write_without_plugins(plugins: &Path, names: &[impl AsRef<str>], out: &Path) {
    let text = std::fs::read_to_string(plugins).unwrap_or_else(|e| panic!("{}: {e}", plugins.display()));
    let (mut value, _) = prow_api::yaml::load_single(&text).unwrap_or_else(|e| panic!("{}: {e}", plugins.display()));
    if let Some(map) = value.get_mut("plugins").and_then(Value::as_object_mut) {
        for entry in map.values_mut() {
            let list = match entry {
                Value::Array(list) => Some(list),
                Value::Object(o) => o.get_mut("plugins").and_then(Value::as_array_mut),
                _ => None,
            };
            if let Some(list) = list {
                list.retain(|p| !p.as_str().is_some_and(|p| names.iter().any(|name| name.as_ref() == p)));
            }
        }
    }
    std::fs::write(out, value.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
