//! The status of JobConfigs, PluginConfigs and LabelSets: what an instance made of them, as
//! kstatus conditions, counts and findings. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prow_api::job::JobCounts;
use prow_api::status::{Finding, Severity};
use prow_api::{JobConfig, JobConfigStatus, LabelSet, LabelSetStatus, PluginConfig, PluginConfigStatus};

use super::status::{Health, Summary, conditions};
use crate::check::rule;
use crate::labelsync::schedule::SyncView;

/// What became of one object in a reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Selected by the named instances (`namespace/name`) and checked with these findings.
    Selected {
        /// The instances that select it.
        instances: Vec<String>,
        /// What the checks found.
        findings: Vec<Finding>,
    },
    /// No instance selects it.
    NotSelected,
}

/// A JobConfig's version that stays in effect while the current one is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InEffect {
    /// Its generation, when known.
    pub generation: Option<i64>,
    /// Its jobs.
    pub jobs: JobCounts,
}

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.severity == Severity::Error).collect()
}

fn warnings(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| f.severity == Severity::Warning).count()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn rejection(kind: &str, generation: Option<i64>, errors: &[&Finding]) -> String {
    let generation = generation
        .map(|g| format!("generation {g}"))
        .unwrap_or_else(|| "this version".into());
    let first = errors
        .first()
        .map(|f| format!(" (first: {}: {})", f.path, f.message))
        .unwrap_or_default();
    format!(
        "{kind} {generation} is rejected with {}{first}",
        plural(errors.len(), "error")
    )
}

const NOT_SELECTED: &str = "no ProwInstance selects it (check the instance's selectors and this object's labels)";

/// The status of `config` after `outcome`. `fallback` is the version left in effect when the
/// current one is rejected.
pub fn job_config_status(
    config: &JobConfig,
    outcome: &Outcome,
    fallback: Option<InEffect>,
    now: &Time,
) -> JobConfigStatus {
    let previous = config.status.clone().unwrap_or_default();
    let generation = config.metadata.generation;
    let (summary, accepted_generation, jobs, findings) = match outcome {
        Outcome::NotSelected => (
            Summary::new(
                Health::Stalled,
                "NotSelected",
                format!("{NOT_SELECTED}; its jobs are not in effect"),
            ),
            None,
            None,
            Vec::new(),
        ),
        Outcome::Selected { instances, findings } => {
            let errors = errors(findings);
            if errors.is_empty() {
                let counts = config.spec.jobs.counts();
                let mut message = format!(
                    "in effect in ProwInstance {}: {}, {}, {}",
                    instances.join(", "),
                    plural(counts.presubmits as usize, "presubmit"),
                    plural(counts.postsubmits as usize, "postsubmit"),
                    plural(counts.periodics as usize, "periodic"),
                );
                let warnings = warnings(findings);
                if warnings > 0 {
                    message.push_str(&format!("; {} (see status.findings)", plural(warnings, "warning")));
                }
                (
                    Summary::new(Health::Ready, "Accepted", message),
                    generation,
                    Some(counts),
                    findings.clone(),
                )
            } else {
                let mut message = rejection("JobConfig", generation, &errors);
                match fallback {
                    Some(InEffect {
                        generation: Some(g), ..
                    }) => message.push_str(&format!("; generation {g} stays in effect")),
                    Some(InEffect { generation: None, .. }) => {
                        message.push_str("; the jobs last in effect stay in effect")
                    }
                    None => message.push_str("; none of its jobs are in effect"),
                }
                // A JobConfig refused only for its size says so in its reason.
                let too_large = errors.iter().all(|f| f.rule.as_deref() == Some(rule::TOO_LARGE));
                let reason = if too_large { "TooLarge" } else { "Rejected" };
                (
                    Summary::new(Health::Stalled, reason, message),
                    fallback.and_then(|f| f.generation),
                    fallback.map(|f| f.jobs),
                    findings.clone(),
                )
            }
        }
    };
    JobConfigStatus {
        observed_generation: generation,
        conditions: conditions(&previous.conditions, &summary, generation, now),
        accepted_generation,
        jobs,
        findings,
    }
}

fn simple_summary(kind: &str, outcome: &Outcome, generation: Option<i64>, what: &str) -> (Summary, Vec<Finding>) {
    match outcome {
        Outcome::NotSelected => (
            Summary::new(
                Health::Stalled,
                "NotSelected",
                format!("{NOT_SELECTED}; it is not in effect"),
            ),
            Vec::new(),
        ),
        Outcome::Selected { instances, findings } => {
            let errors = errors(findings);
            if errors.is_empty() {
                let mut message = format!("in effect in ProwInstance {}: {what}", instances.join(", "));
                let warnings = warnings(findings);
                if warnings > 0 {
                    message.push_str(&format!("; {} (see status.findings)", plural(warnings, "warning")));
                }
                (Summary::new(Health::Ready, "Accepted", message), findings.clone())
            } else {
                let message = format!("{}; it is left out until fixed", rejection(kind, generation, &errors));
                (Summary::new(Health::Stalled, "Rejected", message), findings.clone())
            }
        }
    }
}

/// The status of a PluginConfig after `outcome`.
pub fn plugin_config_status(config: &PluginConfig, outcome: &Outcome, now: &Time) -> PluginConfigStatus {
    let previous = config.status.clone().unwrap_or_default();
    let generation = config.metadata.generation;
    let scopes = config.spec.plugins.len();
    let (summary, findings) = simple_summary(
        "PluginConfig",
        outcome,
        generation,
        &format!("plugins for {}", plural(scopes, "org or repository")),
    );
    PluginConfigStatus {
        observed_generation: generation,
        conditions: conditions(&previous.conditions, &summary, generation, now),
        plugin_scopes: Some(i64::try_from(scopes).unwrap_or(i64::MAX)),
        findings,
    }
}

/// The status of a LabelSet after `outcome`, with what the label sync made of its repositories
/// (`None`: nothing new, the previous status's repositories stay). An accepted LabelSet whose
/// sync failed for good in some repository is `Stalled` (reason `SyncFailed`); failures that
/// pass by themselves are retried and only counted in the message.
pub fn label_set_status(set: &LabelSet, outcome: &Outcome, sync: Option<&SyncView>, now: &Time) -> LabelSetStatus {
    let previous = set.status.clone().unwrap_or_default();
    let generation = set.metadata.generation;
    let labels = set.spec.default.iter().map(|d| d.labels.len()).sum::<usize>()
        + set.spec.repos.values().map(|r| r.labels.len()).sum::<usize>();
    let (mut summary, findings) = simple_summary("LabelSet", outcome, generation, &plural(labels, "label"));
    // A LabelSet that is not in effect (unselected, or rejected) is synced nowhere.
    let in_effect = summary.health == Health::Ready;
    let (repositories_synced, repos) = match sync {
        _ if !in_effect => (None, Vec::new()),
        None => (previous.repositories_synced, previous.repos),
        Some(view) => {
            if let Some(first) = view.stalled.first() {
                summary = Summary::new(
                    Health::Stalled,
                    "SyncFailed",
                    format!(
                        "the labels of {} of {} could not be synced (first: {first}); the others are",
                        plural(view.stalled.len(), "repository"),
                        view.total
                    ),
                );
            } else if view.retrying > 0 {
                summary.message.push_str(&format!(
                    "; {} wait for a retry (see status.repos)",
                    plural(view.retrying, "repository")
                ));
            }
            (Some(format!("{}/{}", view.synced, view.total)), view.repos.clone())
        }
    };
    LabelSetStatus {
        observed_generation: generation,
        conditions: conditions(&previous.conditions, &summary, generation, now),
        labels: Some(i64::try_from(labels).unwrap_or(i64::MAX)),
        findings,
        repositories_synced,
        repos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::status::is_true;
    use k8s_openapi::jiff::Timestamp;
    use prow_api::LabelSet;
    use prow_api::status::condition_type::{READY, STALLED};

    fn now() -> Time {
        Time(Timestamp::from_second(1_700_000_000).unwrap())
    }

    fn config(generation: i64) -> JobConfig {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig",
            "metadata": {"name": "unit", "namespace": "prow", "generation": generation},
            "spec": {"periodics": [{"name": "nightly", "interval": "24h", "spec": {"containers": [{"image": "x"}]}}]}
        }))
        .unwrap()
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            severity,
            path: "spec.periodics[0].interval".into(),
            message: "not a duration".into(),
            rule: None,
        }
    }

    fn message(status: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
        status.iter().find(|c| c.type_ == READY).unwrap().message.clone()
    }

    #[test]
    fn an_accepted_config_is_ready_with_counts() {
        let outcome = Outcome::Selected {
            instances: vec!["prow/prow".into()],
            findings: vec![finding(Severity::Warning)],
        };
        let status = job_config_status(&config(2), &outcome, None, &now());
        assert!(is_true(&status.conditions, READY));
        assert_eq!(status.accepted_generation, Some(2));
        assert_eq!(status.jobs.unwrap().periodics, 1);
        assert_eq!(
            message(&status.conditions),
            "in effect in ProwInstance prow/prow: 0 presubmits, 0 postsubmits, 1 periodic; 1 warning (see status.findings)"
        );
    }

    #[test]
    fn a_rejected_config_is_stalled_and_names_what_stays_in_effect() {
        let outcome = Outcome::Selected {
            instances: vec!["prow/prow".into()],
            findings: vec![finding(Severity::Error)],
        };
        let fallback = InEffect {
            generation: Some(2),
            jobs: JobCounts {
                presubmits: 3,
                ..JobCounts::default()
            },
        };
        let status = job_config_status(&config(3), &outcome, Some(fallback), &now());
        assert!(is_true(&status.conditions, STALLED));
        assert_eq!(status.accepted_generation, Some(2));
        assert_eq!(status.jobs.unwrap().presubmits, 3);
        assert_eq!(status.findings.len(), 1);
        assert_eq!(
            message(&status.conditions),
            "JobConfig generation 3 is rejected with 1 error (first: spec.periodics[0].interval: not a duration); generation 2 stays in effect"
        );
        let alone = job_config_status(&config(1), &outcome, None, &now());
        assert!(message(&alone.conditions).ends_with("none of its jobs are in effect"));
        assert_eq!(alone.jobs, None);
    }

    #[test]
    fn a_config_refused_only_for_its_size_says_too_large() {
        let too_large = Finding {
            severity: Severity::Error,
            path: "spec.periodics[0]".into(),
            message: "job \"nightly\" renders to 1,200,000 bytes".into(),
            rule: Some(rule::TOO_LARGE.into()),
        };
        let fallback = InEffect {
            generation: Some(1),
            jobs: JobCounts::default(),
        };
        let outcome = |findings: Vec<Finding>| Outcome::Selected {
            instances: vec!["prow/prow".into()],
            findings,
        };
        let status = job_config_status(&config(2), &outcome(vec![too_large.clone()]), Some(fallback), &now());
        assert!(!is_true(&status.conditions, READY));
        let ready = status.conditions.iter().find(|c| c.type_ == READY).unwrap();
        assert_eq!(ready.reason, "TooLarge");
        assert!(ready.message.contains("1,200,000 bytes") && ready.message.ends_with("generation 1 stays in effect"));
        assert_eq!(status.accepted_generation, Some(1));
        let both = job_config_status(
            &config(2),
            &outcome(vec![too_large, finding(Severity::Error)]),
            None,
            &now(),
        );
        assert_eq!(both.conditions[0].reason, "Rejected");
    }

    fn label_set(status: Option<LabelSetStatus>) -> LabelSet {
        let mut set: LabelSet = serde_json::from_value(serde_json::json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "LabelSet",
            "metadata": {"name": "labels", "namespace": "prow", "generation": 1},
            "spec": {"default": {"labels": [{"name": "lgtm"}]}}
        }))
        .unwrap();
        set.status = status;
        set
    }

    fn repo(name: &str, state: prow_api::labelset::RepoSyncState) -> prow_api::labelset::RepoSyncStatus {
        prow_api::labelset::RepoSyncStatus {
            repo: name.into(),
            state,
            ..Default::default()
        }
    }

    #[test]
    fn label_sync_failures_stall_a_label_set_and_passing_ones_are_only_counted() {
        use prow_api::labelset::RepoSyncState::{Failed, Synced};
        let accepted = Outcome::Selected {
            instances: vec!["prow/prow".into()],
            findings: vec![],
        };
        let view = SyncView {
            repos: vec![repo("o/a", Synced), repo("o/b", Failed), repo("o/c", Failed)],
            synced: 1,
            total: 4,
            stalled: vec!["o/b: GitHub repo_labels (o/b): HTTP 404: Not Found".into()],
            retrying: 1,
        };
        let status = label_set_status(&label_set(None), &accepted, Some(&view), &now());
        assert!(is_true(&status.conditions, STALLED));
        assert_eq!(status.conditions[0].reason, "SyncFailed");
        assert_eq!(
            message(&status.conditions),
            "the labels of 1 repository of 4 could not be synced (first: o/b: GitHub repo_labels (o/b): HTTP 404: Not Found); the others are"
        );
        assert_eq!(status.repositories_synced.as_deref(), Some("1/4"));
        assert_eq!(status.repos.len(), 3);

        let passing = SyncView {
            stalled: vec![],
            ..view
        };
        let status = label_set_status(&label_set(None), &accepted, Some(&passing), &now());
        assert!(is_true(&status.conditions, READY));
        assert!(message(&status.conditions).ends_with("; 1 repository wait for a retry (see status.repos)"));

        // Without news from the sync, the repositories last reported stay; unselected, they go.
        let kept = label_set_status(&label_set(Some(status.clone())), &accepted, None, &now());
        assert_eq!(
            (kept.repos.len(), kept.repositories_synced.as_deref()),
            (3, Some("1/4"))
        );
        let dropped = label_set_status(&label_set(Some(status.clone())), &Outcome::NotSelected, None, &now());
        assert_eq!((dropped.repos.len(), dropped.repositories_synced), (0, None));
        let rejected = Outcome::Selected {
            instances: vec!["prow/prow".into()],
            findings: vec![finding(Severity::Error)],
        };
        let dropped = label_set_status(&label_set(Some(status)), &rejected, Some(&passing), &now());
        assert_eq!((dropped.repos.len(), dropped.repositories_synced), (0, None));
    }

    #[test]
    fn an_unselected_config_says_so() {
        let status = job_config_status(&config(1), &Outcome::NotSelected, None, &now());
        assert!(is_true(&status.conditions, STALLED));
        assert_eq!(status.conditions[0].reason, "NotSelected");
        assert_eq!(status.observed_generation, Some(1));
    }
}
