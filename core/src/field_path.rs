//! Field paths as findings and errors name them: `spec.jobs[0].name`, `plugins["org/repo"]`.

/// `parent.name` (or `name` at the root). Names that are not plain identifiers are written as
/// `parent["name"]`.
pub fn field(parent: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (_, false) => key(parent, name),
        (true, true) => name.to_string(),
        (false, true) => format!("{parent}.{name}"),
    }
}

/// `parent[index]`.
pub fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `parent["key"]`, for map keys such as `org/repo`.
pub fn key(parent: &str, key: &str) -> String {
    let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("{key:?}"));
    format!("{parent}[{quoted}]")
}
