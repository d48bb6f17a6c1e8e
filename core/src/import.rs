//! `import`: an upstream Prow configuration (config.yaml, a job-config tree, plugins.yaml,
//! labels.yaml) to custom resources.
//!
//! - A ProwInstance: `prowjob_namespace` and `pod_namespace` go to `spec.namespaces`; every other
//!   non-job key of config.yaml goes to the `config` overlay, unchanged.
//! - One JobConfig per job-config file, named after the file; jobs written in config.yaml itself
//!   become the JobConfig `config`.
//! - A PluginConfig from plugins.yaml and a LabelSet from labels.yaml.
//!
//! Anchors and merge keys are resolved, and a key repeated in one mapping is accepted as upstream
//! accepts it (the last one wins) with a warning. Rendering the result gives back a config.yaml
//! and job config semantically equal to the input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prow_api::instance::{BuildClusterSecret, GitHubAppAuth, GitHubAuth, GitHubSpec, NamespacesSpec, SecretKeyRef};
use prow_api::job::JobSet;
use prow_api::labelset::LabelSetSpec;
use prow_api::schema::ProblemKind;
use prow_api::upstream::config::{DEFAULT_NAMESPACE, JOB_KEYS};
use prow_api::yaml::{self, YamlError};
use prow_api::{JobConfig, JobConfigSpec, LabelSet, PluginConfig, PluginConfigSpec, ProwInstance, ProwInstanceSpec};
use serde::Serialize;
use serde_json::Value;

/// The default upstream image tag of an imported instance: the newest upstream image that real
/// configurations run (gardener's, August 2026; upstream's starter manifests still name
/// `v20240802-66b115076`).
pub const DEFAULT_VERSION: &str = "v20260819-7593870dc";

/// One upstream file: where it was read from, and its text.
#[derive(Clone, Debug)]
pub struct UpstreamFile {
    /// Its path (for messages, and for naming JobConfigs).
    pub path: PathBuf,
    /// Its content.
    pub text: String,
}

/// The upstream files to import.
#[derive(Clone, Debug)]
pub struct UpstreamFiles {
    /// config.yaml.
    pub config: UpstreamFile,
    /// The job-config files.
    pub job_configs: Vec<UpstreamFile>,
    /// plugins.yaml.
    pub plugins: Option<UpstreamFile>,
    /// labels.yaml.
    pub labels: Option<UpstreamFile>,
}

/// How the imported objects are named and placed.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The namespace of every object.
    pub namespace: String,
    /// The ProwInstance's name.
    pub name: String,
    /// The upstream image tag; when unset, the newest upstream Prow image tag the files name
    /// (what the installation runs today), else [`DEFAULT_VERSION`].
    pub version: Option<String>,
    /// The GitHub org; the org of the first job's repository when unset.
    pub org: Option<String>,
}

/// An upstream file that could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not valid YAML.
    #[error("{file}: {source}")]
    Yaml {
        /// The file.
        file: String,
        /// Why.
        source: YamlError,
    },
    /// Valid YAML, but not what upstream accepts there.
    #[error("{file}: {message}")]
    Content {
        /// The file.
        file: String,
        /// The field path and what is wrong.
        message: String,
    },
}

/// The imported custom resources.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The installation.
    pub instance: ProwInstance,
    /// One per job-config file (and one for jobs in config.yaml).
    pub job_configs: Vec<JobConfig>,
    /// From plugins.yaml.
    pub plugin_config: Option<PluginConfig>,
    /// From labels.yaml.
    pub label_set: Option<LabelSet>,
    /// Things accepted with a warning, such as repeated keys.
    pub warnings: Vec<String>,
}

impl Imported {
    /// The files of the import's output directory: relative path and YAML text, with a
    /// `kustomization.yaml` listing them.
    pub fn files(&self) -> Result<Vec<(PathBuf, String)>, YamlError> {
        let mut files = vec![(PathBuf::from("prowinstance.yaml"), document(&self.instance)?)];
        for written in crate::parallel::map(&self.job_configs, |config| {
            let name = config.metadata.name.clone().unwrap_or_default();
            document(config).map(|text| (Path::new("jobconfigs").join(format!("{name}.yaml")), text))
        }) {
            files.push(written?);
        }
        if let Some(plugins) = &self.plugin_config {
            files.push((PathBuf::from("pluginconfig.yaml"), document(plugins)?));
        }
        if let Some(labels) = &self.label_set {
            files.push((PathBuf::from("labelset.yaml"), document(labels)?));
        }
        let mut kustomization = String::from(
            "# Written by `prow-operator import`.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
        );
        for (path, _) in &files {
            kustomization.push_str(&format!("- {}\n", path.display()));
        }
        files.push((PathBuf::from("kustomization.yaml"), kustomization));
        Ok(files)
    }
}

fn document<T: Serialize>(object: &T) -> Result<String, YamlError> {
    Ok(format!("---\n{}", yaml::to_string(object)?))
}

/// The Secret an imported instance reads its build clusters' kubeconfig files from.
const KUBECONFIG_SECRET: &str = "kubeconfig";

/// Imports upstream files.
pub fn import(files: &UpstreamFiles, options: &ImportOptions) -> Result<Imported, ImportError> {
    let mut warnings = Vec::new();
    let config = load(&files.config, &mut warnings)?;
    let Value::Object(mut config) = config else {
        return Err(ImportError::Content {
            file: display(&files.config),
            message: "config.yaml must be a mapping".into(),
        });
    };

    let mut job_configs = Vec::new();
    let mut names = BTreeSet::new();
    let inline_jobs: serde_json::Map<String, Value> = JOB_KEYS
        .iter()
        .filter_map(|key| config.remove(*key).map(|v| (key.to_string(), v)))
        .collect();
    if !inline_jobs.is_empty() {
        let jobs = parse_jobs(&files.config, Value::Object(inline_jobs))?;
        job_configs.push(job_config(unique_name("config", &mut names), options, jobs));
    }
    // Files are read in parallel; names are given in file order.
    let read = crate::parallel::map(&files.job_configs, read_job_file);
    for (file, read) in files.job_configs.iter().zip(read) {
        let (jobs, file_warnings) = read?;
        warnings.extend(file_warnings);
        let stem = file.path.file_stem().and_then(|s| s.to_str()).unwrap_or("jobs");
        let parts = jobs.split_within_bounds();
        if parts.len() > 1 {
            warnings.push(format!(
                "{}: split into {} JobConfigs, each within the API server's bounds ({} repositories, {} jobs \
                 of one repository, {} periodics)",
                display(file),
                parts.len(),
                prow_api::job::MAX_REPOSITORIES,
                prow_api::job::MAX_JOBS_PER_REPOSITORY,
                prow_api::job::MAX_PERIODICS
            ));
        }
        for jobs in parts {
            job_configs.push(job_config(unique_name(&dns_name(stem), &mut names), options, jobs));
        }
    }

    let namespaces = NamespacesSpec {
        prow_jobs: Some(take_string(&mut config, "prowjob_namespace").unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())),
        pods: Some(take_string(&mut config, "pod_namespace").unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())),
    };
    let org = options
        .org
        .clone()
        .or_else(|| first_org(&job_configs))
        .unwrap_or_else(|| "my-org".to_string());
    let mut spec: ProwInstanceSpec = serde_json::from_value(serde_json::json!({
        "version": options.version.clone().unwrap_or_else(|| version_in_use(files)),
        "github": {
            "org": org,
            "auth": {"app": {"appIdSecretRef": {"name": "github-token", "key": "appid"}, "privateKeySecretRef": {"name": "github-token", "key": "cert"}}},
            "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
        }
    }))
    .map_err(|e| ImportError::Content { file: display(&files.config), message: e.to_string() })?;
    spec.github = GitHubSpec {
        auth: GitHubAuth {
            app: Some(GitHubAppAuth {
                app_id: None,
                app_id_secret_ref: Some(secret("github-token", "appid")),
                private_key_secret_ref: secret("github-token", "cert"),
            }),
            token: None,
        },
        hmac_secret_ref: secret("hmac-token", "hmac"),
        ..spec.github
    };
    spec.namespaces = namespaces;
    spec.config = (!config.is_empty()).then_some(Value::Object(config));
    // Jobs on build clusters: their kubeconfigs are read as upstream reads `--kubeconfig-dir`.
    let mut build_clusters = crate::cluster_aliases::used_aliases(job_configs.iter().map(|c| &c.spec.jobs));
    build_clusters.remove(prow_api::job::DEFAULT_CLUSTER);
    if !build_clusters.is_empty() {
        spec.build_cluster_secrets = vec![BuildClusterSecret {
            name: KUBECONFIG_SECRET.to_string(),
            key_suffix: None,
        }];
        warnings.push(format!(
            "jobs run on build clusters {}: the ProwInstance reads their kubeconfigs from Secret {KUBECONFIG_SECRET:?} \
             (spec.buildClusterSecrets), every context of every key a cluster, as upstream's --kubeconfig-dir; \
             create it from the kubeconfig files upstream's prow-controller-manager mounts",
            build_clusters
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut instance = ProwInstance::new(&options.name, spec);
    instance.metadata.namespace = Some(options.namespace.clone());

    let plugin_config = match &files.plugins {
        Some(file) => {
            let mut value = load(file, &mut warnings)?;
            // The older format lists an org's plugins directly: `org: [lgtm, hold]`.
            for (_, entry) in value
                .get_mut("plugins")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flatten()
            {
                if entry.is_array() {
                    *entry = serde_json::json!({ "plugins": entry.take() });
                }
            }
            let spec: PluginConfigSpec = parse(file, "PluginConfig", value)?;
            let mut config = PluginConfig::new("plugins", spec);
            config.metadata.namespace = Some(options.namespace.clone());
            Some(config)
        }
        None => None,
    };
    // An installation whose plugins.yaml runs hook's `trigger` keeps it: hook runs, and the
    // native trigger stays off until the plugin is removed.
    let hook_triggers = plugin_config.as_ref().is_some_and(|c| {
        c.spec
            .plugins
            .values()
            .any(|p| p.plugins.iter().any(|n| n == "trigger"))
    });
    if plugin_config.is_some() {
        instance.spec.components.hook.enabled = true;
    }
    if hook_triggers {
        instance.spec.native.trigger = false;
        warnings.push(
            "plugins.yaml enables hook's `trigger` plugin, so the ProwInstance keeps it (native.trigger: false); \
             remove `trigger` from the PluginConfig and set native.trigger: true to use the native trigger"
                .to_string(),
        );
    }
    let label_set = match &files.labels {
        Some(file) => {
            let value = load(file, &mut warnings)?;
            let mut known = serde_json::Map::new();
            for (key, value) in value.as_object().into_iter().flatten() {
                if key == "default" || key == "repos" {
                    known.insert(key.clone(), value.clone());
                } else if key == "labels" && value.is_array() {
                    // Older label_sync files list the labels of every repository at the top.
                    let default = known
                        .entry("default")
                        .or_insert_with(|| serde_json::json!({"labels": []}));
                    if let Some(labels) = default.get_mut("labels").and_then(Value::as_array_mut) {
                        labels.extend(value.as_array().into_iter().flatten().cloned());
                    }
                } else {
                    warnings.push(format!(
                        "{}: key {key:?} is not read by label_sync and was left out",
                        display(file)
                    ));
                }
            }
            let spec: LabelSetSpec = parse(file, "LabelSet", Value::Object(known))?;
            let mut set = LabelSet::new("labels", spec);
            set.metadata.namespace = Some(options.namespace.clone());
            Some(set)
        }
        None => None,
    };
    Ok(Imported {
        instance,
        job_configs,
        plugin_config,
        label_set,
        warnings,
    })
}

/// Reads the jobs of one job-config file, with its warnings.
fn read_job_file(file: &UpstreamFile) -> Result<(JobSet, Vec<String>), ImportError> {
    let mut warnings = Vec::new();
    let mut jobs = JobSet::default();
    for document in load_documents(file, &mut warnings)? {
        if document.is_null() {
            continue;
        }
        let Value::Object(mut document) = document else {
            return Err(ImportError::Content {
                file: display(file),
                message: "a job-config document must be a mapping".into(),
            });
        };
        for key in document.keys().filter(|key| !JOB_KEYS.contains(&key.as_str())) {
            warnings.push(format!(
                "{}: key {key:?} is not part of a job config and was left out",
                display(file)
            ));
        }
        document.retain(|key, _| JOB_KEYS.contains(&key.as_str()));
        jobs.append(parse_jobs(file, Value::Object(document))?);
    }
    Ok((jobs, warnings))
}

/// The newest upstream Prow image tag named in the files (`…/k8s-infra-prow/images/NAME:vYYYYMMDD-commit`,
/// the older `gcr.io/k8s-prow/NAME:…`, or a pod utility's image from any registry, as those who
/// mirror upstream's images name them: `…/clonerefs:vYYYYMMDD-commit`), else [`DEFAULT_VERSION`].
fn version_in_use(files: &UpstreamFiles) -> String {
    let regex = regex::Regex::new(
        r"(?:(?:k8s-infra-prow/images|k8s-prow)/[a-z0-9-]+|/(?:clonerefs|initupload|entrypoint|sidecar)):(v[0-9]{8}-[0-9a-f]+)",
    );
    let Ok(regex) = regex else {
        return DEFAULT_VERSION.to_string();
    };
    std::iter::once(&files.config)
        .chain(&files.job_configs)
        .flat_map(|file| {
            regex
                .captures_iter(&file.text)
                .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        })
        .max()
        .unwrap_or_else(|| DEFAULT_VERSION.to_string())
}

fn secret(name: &str, key: &str) -> SecretKeyRef {
    SecretKeyRef {
        name: name.to_string(),
        key: key.to_string(),
    }
}

fn display(file: &UpstreamFile) -> String {
    file.path.display().to_string()
}

fn load(file: &UpstreamFile, warnings: &mut Vec<String>) -> Result<Value, ImportError> {
    let mut documents = load_documents(file, warnings)?;
    match documents.len() {
        0 => Ok(Value::Object(Default::default())),
        1 => Ok(documents.remove(0)),
        n => Err(ImportError::Content {
            file: display(file),
            message: format!("expected one YAML document, found {n}"),
        }),
    }
}

fn load_documents(file: &UpstreamFile, warnings: &mut Vec<String>) -> Result<Vec<Value>, ImportError> {
    let documents = yaml::load_documents(&file.text).map_err(|source| ImportError::Yaml {
        file: display(file),
        source,
    })?;
    warnings.extend(documents.warnings.iter().map(|w| format!("{}: {w}", display(file))));
    Ok(documents.values)
}

/// Reads an upstream file's content as the spec of one of our kinds: first against the spec's
/// schema, which names the field path of a problem, then into its type. As upstream's loader,
/// it reads a boolean or number in a string field as a string, and a `null` as the zero value.
/// Too many jobs for one object is no problem here: [`JobSet::split_within_bounds`] splits them.
fn parse<T: serde::de::DeserializeOwned>(file: &UpstreamFile, kind: &str, mut value: Value) -> Result<T, ImportError> {
    let spec = prow_api::schema::of_kind(kind).and_then(|s| s.pointer("/properties/spec"));
    if let Some(spec) = spec {
        prow_api::schema::coerce_scalars_to_strings(spec, &mut value);
    }
    if let Some(spec) = spec
        && let Some(problem) = prow_api::schema::validate(spec, &value, "")
            .into_iter()
            .find(|p| p.kind != ProblemKind::Null && p.kind != ProblemKind::Size)
    {
        return Err(ImportError::Content {
            file: display(file),
            message: problem.to_string(),
        });
    }
    crate::input::parse(value).map_err(|message| ImportError::Content {
        file: display(file),
        message,
    })
}

fn parse_jobs(file: &UpstreamFile, value: Value) -> Result<JobSet, ImportError> {
    parse(file, "JobConfig", value)
}

fn job_config(name: String, options: &ImportOptions, jobs: JobSet) -> JobConfig {
    let mut config = JobConfig::new(&name, JobConfigSpec { jobs });
    config.metadata.namespace = Some(options.namespace.clone());
    config
}

fn take_string(config: &mut serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match config.remove(key) {
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            config.insert(key.to_string(), other);
            None
        }
        None => None,
    }
}

fn first_org(job_configs: &[JobConfig]) -> Option<String> {
    job_configs.iter().find_map(|config| {
        let jobs = &config.spec.jobs;
        let repo = jobs.presubmits.keys().chain(jobs.postsubmits.keys()).next().cloned();
        repo.and_then(|r| r.split('/').next().map(str::to_string)).or_else(|| {
            jobs.periodics
                .iter()
                .find_map(|p| p.base.extra_refs.as_ref()?.first().map(|r| r.org.clone()))
        })
    })
}

/// A Kubernetes object name from a file name: lowercase, with anything but letters and digits
/// turned into `-`.
pub fn dns_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    name.truncate(240);
    if name.is_empty() { "jobs".to_string() } else { name }
}

fn unique_name(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = base.to_string();
    let mut suffix = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{suffix}");
        suffix += 1;
    }
    name
}

/// Reads the files `import` needs from disk. A job-config directory is read recursively, taking
/// `.yaml` and `.yml` files, in name order.
pub fn read_files(
    config: &Path,
    job_config: Option<&Path>,
    plugins: Option<&Path>,
    labels: Option<&Path>,
) -> Result<UpstreamFiles, crate::input::InputError> {
    let read = |path: &Path| -> Result<UpstreamFile, crate::input::InputError> {
        let text = std::fs::read_to_string(path).map_err(|source| crate::input::InputError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(UpstreamFile {
            path: path.to_path_buf(),
            text,
        })
    };
    let job_configs = match job_config {
        Some(path) => crate::input::yaml_files(&[path.to_path_buf()])?
            .iter()
            .map(|p| read(p))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(UpstreamFiles {
        config: read(config)?,
        job_configs,
        plugins: plugins.map(read).transpose()?,
        labels: labels.map(read).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> UpstreamFile {
        UpstreamFile {
            path: PathBuf::from(path),
            text: text.to_string(),
        }
    }

    fn options() -> ImportOptions {
        ImportOptions {
            namespace: "prow".into(),
            name: "prow".into(),
            version: Some(DEFAULT_VERSION.into()),
            org: None,
        }
    }

    #[test]
    fn splits_config_into_typed_fields_overlay_and_job_configs() {
        let files = UpstreamFiles {
            config: file(
                "config.yaml",
                "prowjob_namespace: prow\ntide:\n  sync_period: 2m\nperiodics:\n- {name: p, interval: 1h}\n",
            ),
            job_configs: vec![
                file(
                    "jobs/org/Repo_Jobs.yaml",
                    "presubmits:\n  org/repo:\n  - {name: unit, always_run: true}\n",
                ),
                file(
                    "jobs/other/Repo_Jobs.yaml",
                    "presubmits:\n  org/other:\n  - {name: unit}\n",
                ),
            ],
            plugins: Some(file("plugins.yaml", "plugins:\n  org:\n    plugins: [lgtm]\n")),
            labels: Some(file(
                "labels.yaml",
                "x-anchor: &a {name: lgtm}\ndefault:\n  labels:\n  - *a\n",
            )),
        };
        let imported = import(&files, &options()).unwrap();
        let spec = &imported.instance.spec;
        assert_eq!(spec.namespaces.prow_jobs.as_deref(), Some("prow"));
        assert_eq!(
            spec.namespaces.pods.as_deref(),
            Some("default"),
            "upstream's default, stated"
        );
        assert_eq!(spec.config, Some(serde_json::json!({"tide": {"sync_period": "2m"}})));
        assert_eq!(spec.github.org, "org");
        let names: Vec<_> = imported
            .job_configs
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["config", "repo-jobs", "repo-jobs-2"]);
        assert_eq!(imported.job_configs[0].spec.jobs.periodics.len(), 1);
        assert_eq!(imported.plugin_config.unwrap().spec.plugins["org"].plugins, ["lgtm"]);
        assert!(imported.instance.spec.components.hook.enabled, "plugins need hook");
        assert!(
            imported.instance.spec.native.trigger,
            "no trigger plugin: the native trigger runs"
        );
        assert_eq!(imported.label_set.unwrap().spec.default.unwrap().labels[0].name, "lgtm");
        assert!(imported.warnings.iter().any(|w| w.contains("x-anchor")));
        let files = import(&files_with_config("a: 1\n"), &options())
            .unwrap()
            .files()
            .unwrap();
        assert_eq!(files.last().unwrap().0, PathBuf::from("kustomization.yaml"));
    }

    fn files_with_config(text: &str) -> UpstreamFiles {
        UpstreamFiles {
            config: file("config.yaml", text),
            job_configs: vec![],
            plugins: None,
            labels: None,
        }
    }

    #[test]
    fn older_plugin_and_label_formats_are_read() {
        let mut files = files_with_config("{}");
        files.plugins = Some(file("plugins.yaml", "plugins:\n  org: [lgtm, hold]\n"));
        files.labels = Some(file("labels.yaml", "labels:\n- name: lgtm\n  color: '15dd18'\n"));
        let imported = import(&files, &options()).unwrap();
        assert_eq!(
            imported.plugin_config.unwrap().spec.plugins["org"].plugins,
            ["lgtm", "hold"]
        );
        let labels = imported.label_set.unwrap().spec.default.unwrap().labels;
        assert_eq!(labels[0].name, "lgtm");
        assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    }

    /// Found on kubevirt's and cert-manager's labels.yaml by the checkconfig oracle (`target: pr`,
    /// `target: pts`): label_sync reads any target (it only groups its documentation by it).
    #[test]
    fn a_label_target_label_sync_does_not_know_is_imported() {
        let mut files = files_with_config("{}");
        files.labels = Some(file(
            "labels.yaml",
            "default:\n  labels:\n  - {name: a, target: pr, previously: [{name: b, target: pts}]}\n",
        ));
        let imported = import(&files, &options()).expect("label_sync accepts any target");
        let labels = imported.label_set.unwrap().spec.default.unwrap().labels;
        assert_eq!(labels[0].target.as_deref(), Some("pr"));
        assert_eq!(labels[0].previously[0].target.as_deref(), Some("pts"));
    }

    #[test]
    fn bad_input_names_file_and_field() {
        let error = import(&files_with_config("a: [1\n"), &options())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("config.yaml: line "), "{error}");
        let mut files = files_with_config("{}");
        files.job_configs.push(file(
            "jobs.yaml",
            "periodics:\n- {name: p, interval: 1h, max_concurrency: many}\n",
        ));
        let error = import(&files, &options()).unwrap_err().to_string();
        assert!(
            error.contains("jobs.yaml") && error.contains("periodics[0].max_concurrency"),
            "{error}"
        );
    }

    #[test]
    fn names_are_dns_safe() {
        assert_eq!(
            dns_name("Kubernetes_Test-Infra.presubmits"),
            "kubernetes-test-infra-presubmits"
        );
        assert_eq!(dns_name("___"), "jobs");
    }

    #[test]
    fn the_version_is_the_newest_upstream_image_the_configuration_runs() {
        let mut files = files_with_config(
            "plank:\n  default_decoration_config_entries:\n  - config:\n      utility_images:\n        \
             clonerefs: us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20260729-7f8580d8d\n        \
             initupload: gcr.io/k8s-prow/initupload:v20240415-7013691e3\n",
        );
        assert_eq!(version_in_use(&files), "v20260729-7f8580d8d");
        // GoogleCloudPlatform/oss-test-infra runs upstream's images from a mirror of its own.
        files.config.text =
            "plank:\n  default_decoration_config_entries:\n  - config:\n      utility_images:\n        \
             clonerefs: us-central1-docker.pkg.dev/gob-prow/prow-images/clonerefs:v20260706-bc2f39d87\n"
                .to_string();
        assert_eq!(version_in_use(&files), "v20260706-bc2f39d87");
        files.config.text = "plank: {}\n".to_string();
        assert_eq!(version_in_use(&files), DEFAULT_VERSION);
    }
}
