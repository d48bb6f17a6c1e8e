//! Checks over every JobSet of an instance together: what no single object can see.
//!
//! A clash between two objects is reported against the later one (by index), so that, with the
//! sets ordered oldest first, the object that introduced the clash is the one refused and the
//! other keeps working. Clashes within one object are left to `check_jobs`.

use std::collections::BTreeMap;

use prow_api::job::JobSet;
use prow_api::status::Finding;

use super::branches::Entry;
use super::job_type::JobType;
use super::jobs;
use super::presets::{self, MergeTarget, MergeablePreset};
use super::{Findings, field, item, key, rule};

/// Checks `sets` together; paths start with `root`.
pub(crate) fn check(sets: &[&JobSet], root: &str) -> Vec<(usize, Finding)> {
    let mut out: Vec<(usize, Finding)> = Vec::new();
    let mut report = |owner: usize, findings: Findings| {
        out.extend(findings.into_vec().into_iter().map(|f| (owner, f)));
    };

    // The same job, or the same context, in two objects.
    for (job_type, section) in [(JobType::Presubmit, "presubmits"), (JobType::Postsubmit, "postsubmits")] {
        let mut by_repo: BTreeMap<&str, Vec<Entry<'_>>> = BTreeMap::new();
        for (owner, set) in sets.iter().enumerate() {
            let section_path = field(root, section);
            match job_type {
                JobType::Presubmit => {
                    for (repo, list) in &set.presubmits {
                        let entries = jobs::presubmit_entries(list, owner, &key(&section_path, repo));
                        by_repo.entry(repo.as_str()).or_default().extend(entries);
                    }
                }
                _ => {
                    for (repo, list) in &set.postsubmits {
                        let entries = jobs::postsubmit_entries(list, owner, &key(&section_path, repo));
                        by_repo.entry(repo.as_str()).or_default().extend(entries);
                    }
                }
            }
        }
        for (repo, entries) in &by_repo {
            jobs::report_clashes(job_type, repo, entries, true, |owner, path, rule, message| {
                let mut findings = Findings::default();
                findings.error(path, rule, message);
                report(owner, findings);
            });
        }
    }

    // Periodic names, unique across the instance.
    let mut periodics: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for (owner, set) in sets.iter().enumerate() {
        for (index, job) in set.periodics.iter().enumerate() {
            let path = item(&field(root, "periodics"), index);
            match periodics.get(job.base.name.as_str()) {
                Some((first_owner, first_path)) if *first_owner != owner => {
                    let mut findings = Findings::default();
                    findings.error(
                        field(&path, "name"),
                        rule::DUPLICATE_JOB,
                        format!(
                            "periodic {:?} is also defined by another selected object (job set #{first_owner}) at {first_path}: periodic names must be unique across the instance; rename or remove one",
                            job.base.name
                        ),
                    );
                    report(owner, findings);
                }
                Some(_) => {}
                None => {
                    periodics.insert(job.base.name.as_str(), (owner, path));
                }
            }
        }
    }

    // Presets with the same labels in two objects (a warning, as within one object).
    let mut selectors: Vec<(BTreeMap<String, String>, usize, String)> = Vec::new();
    for (owner, set) in sets.iter().enumerate() {
        for (index, preset) in set.presets.iter().enumerate() {
            let path = item(&field(root, "presets"), index);
            let labels = preset.labels.clone().unwrap_or_default();
            match selectors.iter().find(|(other, _, _)| *other == labels) {
                Some((_, first_owner, first_path)) if *first_owner != owner => {
                    let mut findings = Findings::default();
                    // Upstream accepts it and applies both presets.
                    findings.warning(
                        field(&path, "labels"),
                        rule::PRESET,
                        format!(
                            "another selected object (job set #{first_owner}) has a preset with the same labels {} at {first_path}: consider merging the two presets into one",
                            presets::describe(&labels)
                        ),
                    );
                    report(owner, findings);
                }
                Some(_) => {}
                None => selectors.push((labels, owner, path)),
            }
        }
    }

    // Presets merged into the jobs they select.
    let mergeable: Vec<MergeablePreset> = sets
        .iter()
        .enumerate()
        .flat_map(|(owner, set)| {
            set.presets
                .iter()
                .enumerate()
                .map(move |(index, preset)| (owner, index, preset))
        })
        .map(|(owner, index, preset)| MergeablePreset::new(preset, owner, item(&field(root, "presets"), index)))
        .collect();
    for (owner, set) in sets.iter().enumerate() {
        let mut merge = |path: String, base: &prow_api::job::JobBase| {
            presets::merge_into(
                &MergeTarget {
                    owner,
                    path: &path,
                    base,
                },
                &mergeable,
                &mut out,
            );
        };
        for (repo, list) in &set.presubmits {
            let repo_path = key(&field(root, "presubmits"), repo);
            for (index, job) in list.iter().enumerate() {
                merge(item(&repo_path, index), &job.base);
            }
        }
        for (repo, list) in &set.postsubmits {
            let repo_path = key(&field(root, "postsubmits"), repo);
            for (index, job) in list.iter().enumerate() {
                merge(item(&repo_path, index), &job.base);
            }
        }
        for (index, job) in set.periodics.iter().enumerate() {
            merge(item(&field(root, "periodics"), index), &job.base);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(value: serde_json::Value) -> JobSet {
        serde_json::from_value(value).expect("job set")
    }

    fn pod() -> serde_json::Value {
        json!({"containers": [{"image": "x", "command": ["a"]}]})
    }

    fn run(values: Vec<serde_json::Value>) -> Vec<(usize, String, String)> {
        let sets: Vec<JobSet> = values.into_iter().map(set).collect();
        let refs: Vec<&JobSet> = sets.iter().collect();
        check(&refs, "spec")
            .into_iter()
            .map(|(owner, f)| (owner, f.path, f.rule.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn the_same_job_in_two_objects() {
        let a = json!({"presubmits": {"o/r": [{"name": "unit", "spec": pod(), "branches": ["^main$"]}]}});
        let b = json!({"presubmits": {"o/r": [
            {"name": "unit", "spec": pod(), "branches": ["^release-1$"]},
            {"name": "unit2", "context": "unit", "spec": pod(), "branches": ["^main$"]}
        ]}});
        let c = json!({"presubmits": {"o/r": [{"name": "unit", "spec": pod()}]}});
        assert_eq!(
            run(vec![a.clone(), b.clone()]),
            [(
                1,
                "spec.presubmits[\"o/r\"][1].context".to_string(),
                "duplicate-context".to_string()
            )]
        );
        let found = run(vec![a, b, c]);
        assert_eq!(
            found,
            [
                (
                    1,
                    "spec.presubmits[\"o/r\"][1].context".to_string(),
                    "duplicate-context".to_string()
                ),
                (
                    2,
                    "spec.presubmits[\"o/r\"][0].name".to_string(),
                    "duplicate-job".to_string()
                ),
                (
                    2,
                    "spec.presubmits[\"o/r\"][0].name".to_string(),
                    "duplicate-job".to_string()
                ),
                (
                    2,
                    "spec.presubmits[\"o/r\"][0].name".to_string(),
                    "duplicate-context".to_string()
                ),
            ]
        );
    }

    #[test]
    fn duplicates_within_one_object_are_left_to_check_jobs() {
        let a = json!({"presubmits": {"o/r": [{"name": "unit", "spec": pod()}, {"name": "unit", "spec": pod()}]},
                        "periodics": [{"name": "p", "interval": "1h", "spec": pod()}, {"name": "p", "interval": "1h", "spec": pod()}]});
        assert!(run(vec![a]).is_empty());
    }

    #[test]
    fn postsubmits_periodics_and_presets_across_objects() {
        let a = json!({
            "postsubmits": {"o/r": [{"name": "push", "spec": pod()}]},
            "periodics": [{"name": "nightly", "cron": "@daily", "spec": pod()}],
            "presets": [{"labels": {"preset-x": "true"}, "env": [{"name": "X"}]}]
        });
        let b = json!({
            "postsubmits": {"o/r": [{"name": "push", "spec": pod()}], "o/other": [{"name": "push", "spec": pod()}]},
            "periodics": [{"name": "nightly", "cron": "@daily", "spec": pod()}],
            "presets": [{"labels": {"preset-x": "true"}, "env": [{"name": "Y"}]}]
        });
        assert_eq!(
            run(vec![a, b]),
            [
                (
                    1,
                    "spec.postsubmits[\"o/r\"][0].name".to_string(),
                    "duplicate-job".to_string()
                ),
                (1, "spec.periodics[0].name".to_string(), "duplicate-job".to_string()),
                (1, "spec.presets[0].labels".to_string(), "presets".to_string()),
            ]
        );
    }

    /// Found on kubernetes' configuration by the checkconfig oracle: two files each with a preset
    /// without labels; upstream accepts them and applies both.
    #[test]
    fn presets_with_the_same_labels_in_two_objects_only_warn() {
        let a = json!({"presets": [{"env": [{"name": "X"}]}]});
        let b = json!({"presets": [{"env": [{"name": "Y"}]}]});
        let sets: Vec<JobSet> = vec![set(a), set(b)];
        let refs: Vec<&JobSet> = sets.iter().collect();
        let found = check(&refs, "spec");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1.path, "spec.presets[0].labels");
        assert_eq!(found[0].1.severity, prow_api::status::Severity::Warning);
    }

    #[test]
    fn presets_from_other_objects_apply() {
        let presets = json!({"presets": [{"labels": {"preset-cache": "true"}, "volumes": [{"name": "cache", "emptyDir": {}}], "env": [{"name": "CACHE"}]}]});
        let job = |labels: serde_json::Value, env: &str| {
            json!({"periodics": [{"name": "p", "interval": "1h", "labels": labels, "spec": {"containers": [
                {"image": "x", "command": ["a"], "env": [{"name": env}], "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}
            ]}}]})
        };
        // The preset in object 0 provides the volume of the job in object 1.
        assert!(run(vec![presets.clone(), job(json!({"preset-cache": "true"}), "OTHER")]).is_empty());
        // Without the label, the mount names nothing: the job's object is blamed.
        assert_eq!(
            run(vec![presets.clone(), job(json!({}), "OTHER")]),
            [(
                1,
                "spec.periodics[0].spec.containers[0].volumeMounts[0].name".to_string(),
                "pod-spec".to_string()
            )]
        );
        // The job's env clashes with the preset's: the later object (the job's) is blamed.
        assert_eq!(
            run(vec![presets.clone(), job(json!({"preset-cache": "true"}), "CACHE")]),
            [(
                1,
                "spec.periodics[0].spec.containers[0].env[0].name".to_string(),
                "presets".to_string()
            )]
        );
        // With the preset newer than the job, the preset's object is blamed.
        assert_eq!(
            run(vec![job(json!({"preset-cache": "true"}), "CACHE"), presets]),
            [(1, "spec.presets[0].env[0].name".to_string(), "presets".to_string())]
        );
    }
}
