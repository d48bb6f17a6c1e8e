//! Upstream Prow as the oracle of the differential tests: where its binaries are
//! (`tests/oracle/build.sh` builds them into `target/oracle/bin`), how two answers are compared
//! after normalisation, how a ProwJob is validated against upstream's CRD, and the per-configuration
//! table of agreements and disagreements.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// The directory of the upstream binaries named in `needed`: `$ORACLE_BIN`, else
/// `target/oracle/bin` of the workspace. `None`, with a loud warning, when one is missing; a
/// panic instead when `ORACLE_REQUIRED=1` (CI sets it once the oracle is built).
pub fn binaries(needed: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os("ORACLE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::workspace().join("target/oracle/bin"));
    let missing: Vec<&str> = needed.iter().copied().filter(|b| !dir.join(b).is_file()).collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let message = format!(
        "the upstream oracle ({}) is not built in {}: run `make oracle-binaries` (tests/oracle/build.sh)",
        missing.join(", "),
        dir.display()
    );
    if std::env::var("ORACLE_REQUIRED").as_deref() == Ok("1") {
        panic!("ORACLE_REQUIRED=1 but {message}");
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED: {message}");
    eprintln!("!!! nothing was compared with upstream Prow.");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    None
}

/// Makes two answers comparable: removes each of `ignored` (paths of keys from the root), and
/// what Go's encoding writes for zero values or leaves out (`null`s, `false`, `""`, empty objects
/// such as `creationTimestamp: null` and `resources: {}`, empty lists, which `omitempty` drops;
/// a `name: ""` the CRD requires is checked by [`schema_violations`], not here); decodes
/// strings that hold a JSON object (`JOB_SPEC`, the utilities' options) so that a difference
/// inside names its field; and keys lists of named items (containers, env, volumes) by name (a
/// name met again as `NAME#2`), so that a difference names the item (their order is then not
/// compared).
pub fn normalise(mut value: Value, ignored: &[&[&str]]) -> Value {
    for path in ignored {
        remove_path(&mut value, path);
    }
    prune(&mut value);
    value
}

fn remove_path(value: &mut Value, path: &[&str]) {
    let mut node = value;
    let mut keys = path.iter().copied().peekable();
    while let Some(key) = keys.next() {
        let Some(object) = node.as_object_mut() else {
            return;
        };
        if keys.peek().is_none() {
            object.remove(key);
            return;
        }
        match object.get_mut(key) {
            Some(child) => node = child,
            None => return,
        }
    }
}

fn prune(value: &mut Value) {
    if let Value::String(text) = value
        && text.starts_with('{')
        && let Ok(decoded @ Value::Object(_)) = serde_json::from_str::<Value>(text)
    {
        *value = decoded;
    }
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|_, child| match child {
                // Go's zero values, which `omitempty` fields never carry: upstream writes
                // `workdir: false` or `value: ""` as absent, and reads absent as them.
                Value::Null | Value::Bool(false) => false,
                Value::String(text) if text.is_empty() => false,
                Value::Object(o) => !o.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            });
        }
        Value::Array(items) => {
            items.iter_mut().for_each(prune);
            let names: Vec<Option<&str>> = items.iter().map(|i| i.get("name").and_then(Value::as_str)).collect();
            if !items.is_empty() && names.iter().all(Option::is_some) {
                // A name met again (an env set by the job and by decoration) is keyed `NAME#2`.
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                let keyed = items
                    .iter()
                    .map(|i| {
                        let name = i["name"].as_str().unwrap_or_default().to_string();
                        let count = seen.entry(name.clone()).or_default();
                        *count += 1;
                        let key = if *count == 1 { name } else { format!("{name}#{count}") };
                        (key, i.clone())
                    })
                    .collect();
                *value = Value::Object(keyed);
            }
        }
        _ => {}
    }
}

/// The paths where `ours` and `theirs` differ, each with both values (`-` when absent).
pub fn differences(theirs: &Value, ours: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(theirs, ours, String::new(), &mut found);
    found
}

fn walk(theirs: &Value, ours: &Value, path: String, found: &mut Vec<(String, String)>) {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (theirs, ours) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(x, y, child(key), found),
                    (x, y) => found.push((child(key), shown(x, y))),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, format!("{path}[{i}]"), found);
            }
        }
        (x, y) if x == y => {}
        (x, y) => found.push((path, shown(Some(x), Some(y)))),
    }
}

fn shown(theirs: Option<&Value>, ours: Option<&Value>) -> String {
    let show = |v: Option<&Value>| {
        let text = v.map_or("-".to_string(), Value::to_string);
        if text.len() > 120 {
            format!("{}…", text.chars().take(120).collect::<String>())
        } else {
            text
        }
    };
    format!("upstream {} / ours {}", show(theirs), show(ours))
}

/// A disagreement's class: its path with list indices dropped.
pub fn class(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// A documented difference (README, "Deliberate differences from upstream"): how to recognise its
/// class, and why.
pub struct Documented {
    /// Whether a class is this difference.
    pub matches: fn(&str) -> bool,
    /// Why we differ.
    pub reason: &'static str,
}

/// The differences from the 2024 oracle that are deliberate, each listed with its reason in the
/// README: what upstream added after the one version the Go module proxy serves, which we follow.
pub const DOCUMENTED: &[Documented] = &[
    Documented {
        matches: |class| class.contains("scheduling_options") || class == "spec.affinity",
        reason: "decoration_config.scheduling_options (and the pod affinity it gives) is newer than the 2024 oracle, which drops it",
    },
    Documented {
        matches: |class| class.contains("appArmorProfile"),
        reason: "securityContext.appArmorProfile (Kubernetes 1.30) is newer than the 2024 oracle's API types, which drop it",
    },
    Documented {
        matches: |class| class.ends_with("refs[].auxiliary"),
        reason: "refs' auxiliary (a repository that only provides files) is newer than the 2024 oracle, which drops it",
    },
    Documented {
        matches: |class| class.ends_with(".env.SRC_BASE") || class.ends_with(".env.SRC_HOST"),
        reason: "upstream added SRC_BASE and SRC_HOST to decorated containers in 2026-02, after the 2024 oracle",
    },
];

fn documented(class: &str) -> Option<&'static str> {
    DOCUMENTED.iter().find(|d| (d.matches)(class)).map(|d| d.reason)
}

/// The tally of one configuration: how many compared, how many equal, and for each class of
/// disagreement the jobs in it and one example.
#[derive(Default)]
pub struct Tally {
    /// The configuration.
    pub name: String,
    /// Jobs compared.
    pub jobs: usize,
    /// Jobs whose answers are equal.
    pub agreements: usize,
    /// Class → (jobs, an example: job, path, values).
    pub classes: BTreeMap<String, (usize, String)>,
    /// Jobs that agree once the documented differences are set aside.
    pub documented_only: usize,
}

impl Tally {
    /// A tally for `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Self::default()
        }
    }

    /// Records one job's comparison: equal when `differences` is empty or all documented (counted
    /// apart), else a disagreement; each class once.
    pub fn record(&mut self, job: &str, differences: &[(String, String)]) {
        self.jobs += 1;
        if differences.iter().all(|(path, _)| documented(&class(path)).is_some()) {
            self.agreements += 1;
            if !differences.is_empty() {
                self.documented_only += 1;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (path, values) in differences {
            let class = class(path);
            if seen.insert(class.clone()) {
                let entry = self
                    .classes
                    .entry(class)
                    .or_insert_with(|| (0, format!("{job}: {path}: {values}")));
                entry.0 += 1;
            }
        }
    }

    /// Disagreements.
    pub fn disagreements(&self) -> usize {
        self.jobs - self.agreements
    }

    /// The table, one line per class.
    pub fn table(&self, what: &str) -> String {
        let mut out = format!(
            "{what} · {}: {} jobs, {} agree ({} of them only by documented differences), {} disagree\n",
            self.name,
            self.jobs,
            self.agreements,
            self.documented_only,
            self.disagreements()
        );
        for (class, (count, example)) in &self.classes {
            match documented(class) {
                Some(reason) => out.push_str(&format!("    {count:>5}  {class}  [documented: {reason}]\n")),
                None => out.push_str(&format!("    {count:>5}  {class}\n           e.g. {example}\n")),
            }
        }
        out
    }
}

/// Upstream's ProwJob CRD (`../shared/upstream/prowjob_customresourcedefinition.yaml`): the
/// schema of its served version.
pub fn upstream_prowjob_schema() -> Value {
    let path = super::workspace().join("../shared/upstream/prowjob_customresourcedefinition.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (crd, _) = prow_api::yaml::load_single(&text).expect("upstream CRD parses");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Where `value` breaks the structural `schema` as an API server checks it on create: types
/// (with `x-kubernetes-int-or-string`), `required`, `enum`, items and maps. Unknown fields are
/// pruned by the API server, not refused, so they are not reported.
pub fn schema_violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(schema, value, "", &mut found);
    found
}

fn check(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && schema.get("type").is_some() {
            found.push(format!("{path}: null"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            found.push(format!("{path}: {value} is not an integer or a string"));
        }
        return;
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        found.push(format!("{path}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!(
            "{path}: {value} is not one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Value::Object(map) = value {
        for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(key) = key.as_str()
                && !map.contains_key(key)
            {
                found.push(format!("{path}.{key}: required, absent"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, child) in map {
            let child_path = format!("{path}.{key}");
            if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
                check(child_schema, child, &child_path, found);
            } else if let Some(child_schema) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                check(child_schema, child, &child_path, found);
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), found);
        }
    }
}

/// The upstream version the oracle is built from (`tests/oracle/go.mod`'s pin of
/// sigs.k8s.io/prow, `v0.0.0-20240619181241-cfb8754e0459`), as an image tag: what our checks are
/// told the instance runs when their answers are compared with the oracle's.
pub const ORACLE_VERSION: &str = "v20240619-cfb8754e0";
