//! Reading custom resources from files and directories (`-f PATH...`).
//!
//! Directories are read recursively, in name order, taking `.yaml` and `.yml` files; a directory
//! with a kustomization (`kustomization.yaml`, `.yml` or `Kustomization`) is read as kustomize
//! reads it, through its `resources`. Every
//! document is read on its own: a bad document is reported with its file, position and field path,
//! and the others are still read. A `v1` `List` (what `kubectl get -o yaml` prints) is read item
//! by item, each as a document of its own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prow_api::yaml::{self, YamlError};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::prowjob::Creation;
use crate::instance_config::InstanceConfig;

/// Where an object came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A YAML document in a file.
    File {
        /// The file.
        file: PathBuf,
        /// The 0-based index of the document in the file.
        document: usize,
    },
    /// An object read from the cluster, by its `metadata.uid`.
    Cluster {
        /// The object's uid.
        uid: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File { file, document: 0 } => write!(f, "{}", file.display()),
            Source::File { file, document } => write!(f, "{} (document {})", file.display(), document + 1),
            Source::Cluster { .. } => write!(f, "cluster"),
        }
    }
}

/// An object read from a file.
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    /// Where it came from.
    pub source: Source,
    /// The object.
    pub object: T,
}

/// Something in the input that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    /// The file (and document).
    pub source: Source,
    /// `Kind/name` of the object, when it got that far.
    pub object: Option<String>,
    /// What is wrong, with the field path or line and column.
    pub message: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(object) => write!(f, "{}: {object}: {}", self.source, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// A path that could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `kustomization.yaml` that cannot be followed.
    #[error("{path}: {message}")]
    Kustomization {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Every object read from the inputs.
#[derive(Debug, Default)]
pub struct Inputs {
    /// ProwInstances.
    pub instances: Vec<Sourced<ProwInstance>>,
    /// JobConfigs.
    pub job_configs: Vec<Sourced<JobConfig>>,
    /// PluginConfigs.
    pub plugin_configs: Vec<Sourced<PluginConfig>>,
    /// LabelSets.
    pub label_sets: Vec<Sourced<LabelSet>>,
    /// Labels of the Namespaces given, for namespace selectors.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Documents that could not be read.
    pub problems: Vec<InputProblem>,
    /// Things accepted with a warning (repeated keys, kinds that are not ours).
    pub warnings: Vec<InputProblem>,
}

/// Reads every YAML file below `paths`.
pub fn load(paths: &[PathBuf]) -> Result<Inputs, InputError> {
    let mut files = Vec::new();
    for file in yaml_files(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|source| InputError::Read {
            path: file.clone(),
            source,
        })?;
        files.push((file, text));
    }
    let mut inputs = Inputs::default();
    for part in crate::parallel::map(&files, |(file, text)| {
        let mut part = Inputs::default();
        part.read_text(file, text);
        part
    }) {
        inputs.append(part);
    }
    Ok(inputs)
}

/// The YAML files below `paths`: files as given, directories recursively in name order.
pub fn yaml_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| InputError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            collect_dir(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// The file names kustomize reads a directory's kustomization from, in its order.
const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let read = |source| InputError::Read {
        path: dir.to_path_buf(),
        source,
    };
    if let Some(kustomization) = KUSTOMIZATION_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
    {
        return collect_kustomization(&kustomization, files);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("..") {
            continue; // ConfigMap mount bookkeeping, as upstream skips it
        }
        if path.is_dir() {
            collect_dir(&path, files)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            files.push(path);
        }
    }
    Ok(())
}

/// A directory with a `kustomization.yaml` is read as kustomize reads it: its `resources`, files
/// or directories, in order.
fn collect_kustomization(kustomization: &Path, files: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let dir = kustomization.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(kustomization).map_err(|source| InputError::Read {
        path: kustomization.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| InputError::Kustomization {
        path: kustomization.to_path_buf(),
        message,
    };
    let (value, _) = yaml::load_single(&text).map_err(|e| invalid(e.to_string()))?;
    for resource in value.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let Some(relative) = resource.as_str() else {
            return Err(invalid(format!("resources entry {resource} is not a path")));
        };
        let path = dir.join(relative);
        let metadata = std::fs::metadata(&path).map_err(|source| InputError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            collect_dir(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

impl Inputs {
    /// What a ProwJob made from these inputs without applying anything (`trigger`, `mkpj`)
    /// needs: `generateName`d, dated now, with every JobConfig's presets and the first
    /// instance's `decorate_all_jobs` and job defaults (upstream's defaults when it has none, or
    /// when its configuration does not resolve, which `check` reports).
    pub fn preview_creation(&self, namespace: &str) -> Creation {
        let config = self
            .instances
            .first()
            .and_then(|i| InstanceConfig::resolve(&i.object).ok());
        Creation {
            name: String::new(),
            namespace: namespace.to_string(),
            start_time: Time(k8s_openapi::jiff::Timestamp::now()),
            extra_labels: BTreeMap::new(),
            decorate_all_jobs: config.as_ref().is_some_and(|c| c.decorate_all_jobs),
            generate_name: true,
            presets: self
                .job_configs
                .iter()
                .flat_map(|c| c.object.spec.jobs.presets.iter().cloned())
                .collect(),
            defaults: Arc::new(config.map(|c| c.job_defaults).unwrap_or_default()),
            from_event: false,
        }
    }

    /// Adds what another read found, after what this one holds.
    pub fn append(&mut self, other: Inputs) {
        self.instances.extend(other.instances);
        self.job_configs.extend(other.job_configs);
        self.plugin_configs.extend(other.plugin_configs);
        self.label_sets.extend(other.label_sets);
        self.namespace_labels.extend(other.namespace_labels);
        self.problems.extend(other.problems);
        self.warnings.extend(other.warnings);
    }

    /// Reads the documents of one file's text.
    pub fn read_text(&mut self, file: &Path, text: &str) {
        let documents = match yaml::load_documents(text) {
            Ok(documents) => documents,
            Err(error) => {
                let source = Source::File {
                    file: file.to_path_buf(),
                    document: 0,
                };
                self.problems.push(InputProblem {
                    source,
                    object: None,
                    message: yaml_message(&error),
                });
                return;
            }
        };
        for warning in documents.warnings {
            let source = Source::File {
                file: file.to_path_buf(),
                document: warning.document,
            };
            self.warnings.push(InputProblem {
                source,
                object: None,
                message: format!("{}: {}", warning.path, warning.message),
            });
        }
        for (index, value) in documents.values.into_iter().enumerate() {
            if !value.is_null() {
                self.read_document(
                    Source::File {
                        file: file.to_path_buf(),
                        document: index,
                    },
                    value,
                    "",
                );
            }
        }
    }

    /// Reads one object; `place` says where it sits when it is an item of a `List`
    /// (`items[3] `), for the messages.
    fn read_document(&mut self, source: Source, value: Value, place: &str) {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
            .to_string();
        let object = Some(format!("{place}{kind}/{name}"));
        match (api_version.as_str(), kind.as_str()) {
            // What `kubectl get -o yaml` prints: read its items as if they were documents.
            ("v1", "List") => match value.get("items").and_then(Value::as_array) {
                Some(items) if items.iter().all(Value::is_object) => {
                    for (index, item) in items.iter().enumerate() {
                        self.read_document(source.clone(), item.clone(), &format!("items[{index}] "));
                    }
                }
                _ => self.problems.push(InputProblem {
                    source,
                    object,
                    message: "items must be a list of objects".to_string(),
                }),
            },
            ("operator.prow.dev/v1alpha1", "ProwInstance") => {
                push(&mut self.instances, &mut self.problems, source, object, value)
            }
            ("operator.prow.dev/v1alpha1", "JobConfig") => {
                push(&mut self.job_configs, &mut self.problems, source, object, value)
            }
            ("operator.prow.dev/v1alpha1", "PluginConfig") => {
                push(&mut self.plugin_configs, &mut self.problems, source, object, value)
            }
            ("operator.prow.dev/v1alpha1", "LabelSet") => {
                push(&mut self.label_sets, &mut self.problems, source, object, value)
            }
            ("v1", "Namespace") => match serde_json::from_value::<Namespace>(value) {
                Ok(namespace) => {
                    let labels = namespace.metadata.labels.unwrap_or_default();
                    self.namespace_labels
                        .insert(namespace.metadata.name.unwrap_or_default(), labels);
                }
                Err(error) => self.problems.push(InputProblem {
                    source,
                    object,
                    message: error.to_string(),
                }),
            },
            (_, "Kustomization") => {}
            ("", _) | (_, "") => self.problems.push(InputProblem {
                source,
                object: None,
                message: "not a Kubernetes object: apiVersion and kind are required".to_string(),
            }),
            _ => self.warnings.push(InputProblem {
                source,
                object,
                message: format!("ignored: {api_version} {kind} is not a prow-operator kind"),
            }),
        }
    }
}

/// Deserialises `value` as `T`, naming the field path of any error.
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            error.inner().to_string()
        } else {
            format!("{path}: {}", error.inner())
        }
    })
}

/// Reads an object of one of our kinds: first against its CRD's schema, as the API server
/// would, which names the field path of every problem; then into its type, with its mappings'
/// keys in the order the API server stores them (see [`sort_keys`]).
fn push<T: DeserializeOwned>(
    list: &mut Vec<Sourced<T>>,
    problems: &mut Vec<InputProblem>,
    source: Source,
    object: Option<String>,
    mut value: Value,
) {
    sort_keys(&mut value);
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default();
    if let Some(schema) = prow_api::schema::of_kind(kind) {
        let found = prow_api::schema::validate(schema, &value, "");
        if !found.is_empty() {
            for problem in found {
                problems.push(InputProblem {
                    source: source.clone(),
                    object: object.clone(),
                    message: problem.to_string(),
                });
            }
            return;
        }
    }
    match parse::<T>(value) {
        Ok(parsed) => list.push(Sourced { source, object: parsed }),
        Err(message) => problems.push(InputProblem {
            source,
            object,
            message,
        }),
    }
}

/// Orders every mapping's keys as the API server returns a stored object: sorted (it keeps
/// schemaless fields, such as the `config` overlay or a PluginConfig's plugins, as Go maps). So
/// the offline tools read a file as the operator reads the object applied from it, and `render`
/// prints exactly what the operator applies.
/// (In place: each mapping's entries are sorted where they are, nothing is rebuilt.)
pub fn sort_keys(value: &mut Value) {
    value.sort_all_objects();
}

fn yaml_message(error: &YamlError) -> String {
    match error {
        YamlError::Syntax { line, column, message } => format!("line {line}, column {column}: invalid YAML: {message}"),
        other => format!("invalid YAML: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Inputs {
        let mut inputs = Inputs::default();
        inputs.read_text(Path::new("x.yaml"), text);
        inputs
    }

    #[test]
    fn mappings_are_read_with_sorted_keys_as_the_api_server_returns_them() {
        let mut value = serde_json::json!({"b": {"z": 1, "a": [{"y": 2, "x": 3}]}, "a": 0});
        sort_keys(&mut value);
        assert_eq!(value.to_string(), r#"{"a":0,"b":{"a":[{"x":3,"y":2}],"z":1}}"#);
    }

    #[test]
    fn reads_every_kind_and_keeps_going_past_a_bad_document() {
        let inputs = read(
            "apiVersion: operator.prow.dev/v1alpha1\nkind: JobConfig\nmetadata: {name: a, namespace: p}\nspec:\n  periodics:\n  - {name: nightly, interval: 1h}\n\
             ---\napiVersion: operator.prow.dev/v1alpha1\nkind: JobConfig\nmetadata: {name: b}\nspec:\n  periodics:\n  - {name: 3, interval: 1h}\n\
             ---\napiVersion: v1\nkind: Namespace\nmetadata: {name: p, labels: {team: ci}}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
        );
        assert_eq!(inputs.job_configs.len(), 1);
        assert_eq!(inputs.problems.len(), 1);
        let problem = inputs.problems[0].to_string();
        assert_eq!(
            problem,
            "x.yaml (document 2): JobConfig/b: spec.periodics[0].name: must be of type string, not a number"
        );
        assert_eq!(inputs.namespace_labels["p"]["team"], "ci");
        assert_eq!(inputs.warnings.len(), 1);
        assert!(inputs.warnings[0].message.contains("not a prow-operator kind"));
    }

    #[test]
    fn a_list_as_kubectl_get_prints_it_is_read_item_by_item() {
        let inputs = read(
            "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n\
             - apiVersion: operator.prow.dev/v1alpha1\n  kind: JobConfig\n  metadata: {name: a, namespace: p}\n  spec:\n    periodics:\n    - {name: nightly, interval: 1h}\n\
             - apiVersion: operator.prow.dev/v1alpha1\n  kind: JobConfig\n  metadata: {name: b}\n  spec:\n    periodics:\n    - {name: 3, interval: 1h}\n\
             - apiVersion: v1\n  kind: Namespace\n  metadata: {name: p, labels: {team: ci}}\n",
        );
        assert_eq!(inputs.job_configs.len(), 1);
        assert_eq!(inputs.job_configs[0].object.metadata.name.as_deref(), Some("a"));
        assert_eq!(inputs.namespace_labels["p"]["team"], "ci");
        assert_eq!(inputs.problems.len(), 1, "{:?}", inputs.problems);
        assert_eq!(
            inputs.problems[0].to_string(),
            "x.yaml: items[1] JobConfig/b: spec.periodics[0].name: must be of type string, not a number"
        );
        assert!(inputs.warnings.is_empty(), "{:?}", inputs.warnings);
    }

    #[test]
    fn a_list_without_items_is_named() {
        let inputs = read("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
        assert_eq!(
            inputs.problems[0].to_string(),
            "x.yaml: List/<unnamed>: items must be a list of objects"
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let inputs = read("kind: JobConfig\nspec: [1, 2\n");
        assert!(
            inputs.problems[0].message.starts_with("line "),
            "{}",
            inputs.problems[0]
        );
        assert!(inputs.problems[0].message.contains("column"));
    }

    #[test]
    fn missing_files_are_named() {
        let error = load(&[PathBuf::from("/no/such/file.yaml")]).unwrap_err();
        assert!(error.to_string().contains("/no/such/file.yaml"), "{error}");
    }
}
