//! Presets: each one on its own (strict env, volumes, mounts and tolerations, no value twice),
//! presets with the same label selector, and what a preset adds to the jobs it selects.
//!
//! Upstream merges the presets that select a job into its PodSpec at load time and refuses an env
//! variable, volume or volume mount that is already there (from the job or from another preset).
//! Presets apply to every job of the instance, so that part is checked by `check_across`, with
//! every preset and every job in view.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, PodSpec, Toleration, Volume, VolumeMount};
use serde::de::DeserializeOwned;

use prow_api::embedded::Embedded;
use prow_api::job::{JobBase, Preset};

use super::pod_spec::{DECORATION_VOLUMES, clone_secret_names};
use super::{Findings, field, item, rule, strict};

/// Checks the presets of one set.
pub(crate) fn check_set(presets: &[Preset], path: &str, findings: &mut Findings) {
    let mut selectors: Vec<(BTreeMap<String, String>, String)> = Vec::new();
    for (index, preset) in presets.iter().enumerate() {
        let preset_path = item(path, index);
        check_one(preset, &preset_path, findings);
        let labels = preset.labels.clone().unwrap_or_default();
        if let Some((_, first)) = selectors.iter().find(|(other, _)| *other == labels) {
            // Upstream accepts it and applies both presets.
            findings.warning(
                field(&preset_path, "labels"),
                rule::PRESET,
                format!(
                    "another preset ({first}) has the same labels {}: consider merging the two presets into one",
                    describe(&labels)
                ),
            );
        } else {
            selectors.push((labels, preset_path));
        }
    }
}

/// `{a: b, …}` or "(none: it applies to every job)".
pub(crate) fn describe(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "(none, so it applies to every job)".to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn check_one(preset: &Preset, path: &str, findings: &mut Findings) {
    findings.unknown(&preset.unknown, path);
    let env: Vec<Option<EnvVar>> = read_all(preset.env.as_deref(), path, "env", "EnvVar", findings);
    let volumes: Vec<Option<Volume>> = read_all(preset.volumes.as_deref(), path, "volumes", "Volume", findings);
    let mounts: Vec<Option<VolumeMount>> = read_all(
        preset.volume_mounts.as_deref(),
        path,
        "volumeMounts",
        "VolumeMount",
        findings,
    );
    let _: Vec<Option<Toleration>> = read_all(
        preset.tolerations.as_deref(),
        path,
        "tolerations",
        "Toleration",
        findings,
    );
    unique(
        env.iter().map(|e| e.as_ref().map(|e| e.name.as_str())),
        &field(path, "env"),
        "env variable",
        findings,
    );
    unique(
        volumes.iter().map(|v| v.as_ref().map(|v| v.name.as_str())),
        &field(path, "volumes"),
        "volume",
        findings,
    );
    unique(
        mounts.iter().map(|m| m.as_ref().map(|m| m.name.as_str())),
        &field(path, "volumeMounts"),
        "volume mount",
        findings,
    );
}

fn read_all<T: DeserializeOwned>(
    list: Option<&[Embedded<T>]>,
    path: &str,
    key: &str,
    kind: &str,
    findings: &mut Findings,
) -> Vec<Option<T>> {
    let list_path = field(path, key);
    list.unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, value)| strict::read(&value.raw(), &item(&list_path, index), kind, findings))
        .collect()
}

fn unique<'a>(names: impl Iterator<Item = Option<&'a str>>, path: &str, what: &str, findings: &mut Findings) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, name) in names.enumerate() {
        let Some(name) = name else { continue };
        let at = field(&item(path, index), "name");
        if name.is_empty() {
            findings.error(&at, rule::PRESET, format!("every {what} of a preset needs a name"));
            continue;
        }
        if let Some(first) = seen.get(name) {
            findings.error(
                &at,
                rule::PRESET,
                format!("{what} {name:?} is listed twice in this preset (also at index {first}): keep one"),
            );
        } else {
            seen.insert(name, index);
        }
    }
}

/// Names (of env variables, volumes or mounts) and where each comes from.
type Named = Vec<(String, Origin)>;

/// Where an env variable, volume or mount comes from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The object holding it.
    pub owner: usize,
    /// Its path there (`….env[2]`).
    pub path: String,
    /// The preset it comes from (its path), or none for the job's own.
    pub preset: Option<String>,
}

impl Origin {
    fn describe(&self, other_object: bool) -> String {
        let place = if other_object {
            format!("{} (in job set #{})", self.path, self.owner)
        } else {
            self.path.clone()
        };
        match &self.preset {
            Some(_) => format!("the preset entry at {place}"),
            None => format!("the job, at {place}"),
        }
    }
}

/// A preset read leniently for merging (entries that do not read are skipped; they are
/// reported by the per-object check).
#[derive(Debug, Clone)]
pub(crate) struct MergeablePreset {
    owner: usize,
    path: String,
    labels: BTreeMap<String, String>,
    env: Vec<(String, String)>,
    volumes: Vec<(String, String)>,
    mounts: Vec<(String, String)>,
}

impl MergeablePreset {
    /// Reads preset `preset` at `path` of object `owner`.
    pub(crate) fn new(preset: &Preset, owner: usize, path: String) -> Self {
        fn names<T: DeserializeOwned>(
            list: Option<&[Embedded<T>]>,
            path: &str,
            key: &str,
            name: impl Fn(&T) -> &str,
        ) -> Vec<(String, String)> {
            list.unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(index, value)| {
                    let parsed: T = strict::parse(&value.raw())?;
                    Some((name(&parsed).to_string(), item(&field(path, key), index)))
                })
                .collect()
        }
        Self {
            owner,
            labels: preset.labels.clone().unwrap_or_default(),
            env: names(preset.env.as_deref(), &path, "env", |e: &EnvVar| &e.name),
            volumes: names(preset.volumes.as_deref(), &path, "volumes", |v: &Volume| &v.name),
            mounts: names(
                preset.volume_mounts.as_deref(),
                &path,
                "volumeMounts",
                |m: &VolumeMount| &m.name,
            ),
            path,
        }
    }

    fn selects(&self, job_labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| job_labels.get(k) == Some(v))
    }

    fn origin(&self, path: &str) -> Origin {
        Origin {
            owner: self.owner,
            path: path.to_string(),
            preset: Some(self.path.clone()),
        }
    }
}

/// A job, for merging presets into it.
pub(crate) struct MergeTarget<'a> {
    /// The object holding the job.
    pub owner: usize,
    /// The job's path.
    pub path: &'a str,
    /// The job.
    pub base: &'a JobBase,
}

/// Merges every preset that selects the job into its pod, as upstream does at load time, and
/// reports (against the later object of the two involved, so an older object keeps working):
/// - an env variable, volume or volume mount a preset adds that is already there;
/// - a volume mount naming a volume that neither the job nor its presets define.
pub(crate) fn merge_into(
    job: &MergeTarget<'_>,
    presets: &[MergeablePreset],
    findings: &mut Vec<(usize, super::Finding)>,
) {
    let Some(spec) = job.base.spec.as_ref() else { return };
    let Some(pod) = strict::parse::<PodSpec>(&spec.raw()) else {
        return;
    };
    let labels = job.base.labels.clone().unwrap_or_default();
    let spec_path = field(job.path, "spec");
    let own = |path: String| Origin {
        owner: job.owner,
        path,
        preset: None,
    };
    let mut containers: Vec<(Named, Named)> = pod
        .containers
        .iter()
        .enumerate()
        .map(|(index, container)| {
            let container_path = item(&field(&spec_path, "containers"), index);
            let env = container
                .env
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, e)| (e.name.clone(), own(item(&field(&container_path, "env"), i))))
                .collect();
            let mounts = container
                .volume_mounts
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, m)| (m.name.clone(), own(item(&field(&container_path, "volumeMounts"), i))))
                .collect();
            (env, mounts)
        })
        .collect();
    let mut volumes: Named = pod
        .volumes
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, v)| (v.name.clone(), own(item(&field(&spec_path, "volumes"), i))))
        .collect();
    let mut report = |existing: &Origin, added: &Origin, what: &str, name: &str| {
        let blamed = existing.owner.max(added.owner);
        let (at, other) = if added.owner == blamed {
            (added, existing)
        } else {
            (existing, added)
        };
        let other_object = other.owner != at.owner;
        findings.push((
            blamed,
            super::Finding {
                severity: prow_api::status::Severity::Error,
                path: field(&at.path, "name"),
                message: format!(
                    "{what} {name:?} is set twice in the pod of job {:?} ({}): by {} and by {}; upstream refuses the job when a preset adds a value that is already there: remove one of them, or change the job's labels so that the preset does not select it",
                    job.base.name,
                    job.path,
                    at_describe(at),
                    other.describe(other_object),
                ),
                rule: Some(rule::PRESET.to_string()),
            },
        ));
    };
    for preset in presets.iter().filter(|p| p.selects(&labels)) {
        for (name, path) in &preset.env {
            let added = preset.origin(path);
            let mut reported = false;
            for (env, _) in &mut containers {
                if let Some((_, existing)) = env.iter().find(|(n, _)| n == name) {
                    if !reported {
                        report(existing, &added, "env variable", name);
                        reported = true;
                    }
                } else {
                    env.push((name.clone(), added.clone()));
                }
            }
        }
        for (name, path) in &preset.volumes {
            let added = preset.origin(path);
            if let Some((_, existing)) = volumes.iter().find(|(n, _)| n == name) {
                report(existing, &added, "volume", name);
            } else {
                volumes.push((name.clone(), added));
            }
        }
        for (name, path) in &preset.mounts {
            let added = preset.origin(path);
            let mut reported = false;
            for (_, mounts) in &mut containers {
                if let Some((_, existing)) = mounts.iter().find(|(n, _)| n == name) {
                    if !reported {
                        report(existing, &added, "volume mount", name);
                        reported = true;
                    }
                } else {
                    mounts.push((name.clone(), added.clone()));
                }
            }
        }
    }
    // Mounts that name no volume, each reported once. Decoration's volumes count as defined.
    let secrets = clone_secret_names(job.base.decoration_config.as_ref());
    let mut reported: Vec<String> = Vec::new();
    for (_, mounts) in &containers {
        for (name, origin) in mounts {
            if volumes.iter().any(|(v, _)| v == name)
                || DECORATION_VOLUMES.contains(&name.as_str())
                || secrets.contains(name)
            {
                continue;
            }
            if reported.contains(&origin.path) {
                continue;
            }
            reported.push(origin.path.clone());
            let blamed = job.owner.max(origin.owner);
            let (path, source) = match &origin.preset {
                None => (field(&origin.path, "name"), "".to_string()),
                Some(preset) if origin.owner == blamed => (
                    field(&origin.path, "name"),
                    format!(
                        ", added by the preset at {preset} to job {:?} ({})",
                        job.base.name, job.path
                    ),
                ),
                Some(_) => (
                    field(&spec_path, "volumes"),
                    format!(
                        ", added by the preset at {} (in job set #{})",
                        origin.path, origin.owner
                    ),
                ),
            };
            findings.push((
                blamed,
                super::Finding {
                    severity: prow_api::status::Severity::Error,
                    path,
                    message: format!(
                        "volume mount {name:?}{source} names a volume that neither the job nor the presets it selects define: add volume {name:?} to the job's spec.volumes or to a preset it selects, or fix the name"
                    ),
                    rule: Some(rule::POD_SPEC.to_string()),
                },
            ));
        }
    }
}

fn at_describe(origin: &Origin) -> String {
    match &origin.preset {
        Some(_) => "this preset entry".to_string(),
        None => "this entry of the job".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn presets(value: serde_json::Value) -> Vec<Preset> {
        serde_json::from_value(value).expect("presets")
    }

    fn paths(value: serde_json::Value) -> Vec<String> {
        let mut findings = Findings::default();
        check_set(&presets(value), "spec.presets", &mut findings);
        findings.into_vec().into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn valid_presets() {
        assert!(
            paths(json!([
                {"labels": {"preset-a": "true"}, "env": [{"name": "A", "value": "1"}], "volumes": [{"name": "v", "emptyDir": {}}],
                 "volumeMounts": [{"name": "v", "mountPath": "/v"}], "tolerations": [{"key": "k", "operator": "Exists"}]},
                {"labels": {"preset-b": "true"}, "env": [{"name": "A", "value": "2"}]},
                {"env": [{"name": "GLOBAL", "value": "x"}]}
            ]))
            .is_empty()
        );
    }

    #[test]
    fn duplicates_within_a_preset() {
        assert_eq!(
            paths(
                json!([{"env": [{"name": "A"}, {"name": "A"}], "volumes": [{"name": "v"}, {"name": "v"}],
                          "volumeMounts": [{"name": "m", "mountPath": "/a"}, {"name": "m", "mountPath": "/b"}]}])
            ),
            [
                "spec.presets[0].env[1].name",
                "spec.presets[0].volumes[1].name",
                "spec.presets[0].volumeMounts[1].name"
            ]
        );
    }

    #[test]
    fn same_labels_twice() {
        assert_eq!(
            paths(
                json!([{"labels": {"a": "1"}, "env": [{"name": "A"}]}, {"labels": {"a": "1"}, "env": [{"name": "B"}]}, {"labels": {}}, {}])
            ),
            ["spec.presets[1].labels", "spec.presets[3].labels"]
        );
    }

    #[test]
    fn strict_entries_and_unknown_keys() {
        assert_eq!(
            paths(
                json!([{"labels": {"a": "1"}, "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}, "x": 1}}],
                          "volumeMounts": [{"name": "m", "mountpath": "/a"}], "volume_mounts": []}])
            ),
            // `mountpath` sets `mountPath`: upstream matches field names ignoring case.
            ["spec.presets[0].volume_mounts", "spec.presets[0].env[0].valueFrom.x"]
        );
    }

    fn merge(job: serde_json::Value, preset_list: serde_json::Value) -> Vec<(usize, String)> {
        let base: JobBase = serde_json::from_value(job).expect("job");
        let mergeable: Vec<MergeablePreset> = presets(preset_list)
            .iter()
            .enumerate()
            .map(|(i, p)| MergeablePreset::new(p, 0, format!("spec.presets[{i}]")))
            .collect();
        let mut findings = Vec::new();
        merge_into(
            &MergeTarget {
                owner: 0,
                path: "spec.periodics[0]",
                base: &base,
            },
            &mergeable,
            &mut findings,
        );
        findings.into_iter().map(|(owner, f)| (owner, f.path)).collect()
    }

    #[test]
    fn presets_merge_into_selected_jobs() {
        let job = json!({"name": "j", "labels": {"preset-a": "true"}, "spec": {"containers": [
            {"image": "x", "env": [{"name": "A"}], "volumeMounts": [{"name": "v", "mountPath": "/v"}, {"name": "w", "mountPath": "/w"}, {"name": "logs", "mountPath": "/l"}]}
        ], "volumes": [{"name": "w"}]}});
        // The preset provides the volume the job mounts.
        assert!(
            merge(
                job.clone(),
                json!([{"labels": {"preset-a": "true"}, "volumes": [{"name": "v"}]}])
            )
            .is_empty()
        );
        // Without it, the mount names nothing.
        assert_eq!(
            merge(job.clone(), json!([])),
            [(
                0,
                "spec.periodics[0].spec.containers[0].volumeMounts[0].name".to_string()
            )]
        );
        // A preset that does not select the job adds nothing.
        assert_eq!(
            merge(
                job.clone(),
                json!([{"labels": {"preset-b": "true"}, "volumes": [{"name": "v"}]}])
            )
            .len(),
            1
        );
        // Clashes with the job's own values.
        assert_eq!(
            merge(
                job,
                json!([{"env": [{"name": "A"}], "volumes": [{"name": "v"}, {"name": "w"}], "volumeMounts": [{"name": "w", "mountPath": "/x"}, {"name": "u", "mountPath": "/u"}]}])
            ),
            [
                (0, "spec.presets[0].env[0].name".to_string()),
                (0, "spec.presets[0].volumes[1].name".to_string()),
                (0, "spec.presets[0].volumeMounts[0].name".to_string()),
                (0, "spec.presets[0].volumeMounts[1].name".to_string()),
            ]
        );
    }

    #[test]
    fn presets_with_the_same_labels_only_warn_as_upstream_applies_both() {
        let mut findings = Findings::default();
        check_set(
            &presets(json!([{"env": [{"name": "A"}]}, {"env": [{"name": "B"}]}])),
            "spec.presets",
            &mut findings,
        );
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, prow_api::status::Severity::Warning);
        assert_eq!(findings[0].rule.as_deref(), Some(rule::PRESET));
    }
}
