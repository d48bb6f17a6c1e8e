//! Reporting ProwJob states to GitHub, as crier's GitHub reporter does (reference §7.6): which
//! jobs are reported, the commit status for a state, and its description.

use prow_api::upstream::config::GitHubReporter;
use prow_api::{ProwJob, ProwJobState, ProwJobType};

/// The reporter's name in `status.prev_report_states`.
pub const REPORTER: &str = "github-reporter";
/// The longest status description GitHub accepts.
pub const MAX_DESCRIPTION: usize = 140;

/// A GitHub commit status state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusState {
    /// Running or waiting.
    Pending,
    /// Passed.
    Success,
    /// Failed (or aborted).
    Failure,
    /// Could not run.
    Error,
}

impl StatusState {
    /// GitHub's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
        }
    }
}

/// The commit status of a ProwJob state; `aborted` shows as `failure`, and `scheduling` and an
/// unknown state have no status.
pub fn status_state(state: ProwJobState) -> Option<StatusState> {
    match state {
        ProwJobState::Triggered | ProwJobState::Pending => Some(StatusState::Pending),
        ProwJobState::Success => Some(StatusState::Success),
        ProwJobState::Failure | ProwJobState::Aborted => Some(StatusState::Failure),
        ProwJobState::Error => Some(StatusState::Error),
        ProwJobState::Scheduling | ProwJobState::Unknown => None,
    }
}

/// Whether the GitHub reporter reports `job` now: its state differs from the last one reported,
/// `report` is set, the type is one of `job_types_to_report` (presubmit and postsubmit by
/// default), it has no Gerrit label, and at most one pull request.
pub fn should_report(job: &ProwJob, job_types_to_report: &[ProwJobType]) -> bool {
    let Some(status) = &job.status else { return false };
    let already = status.prev_report_states.as_ref().and_then(|s| s.get(REPORTER)) == Some(&status.state);
    let gerrit = job
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.keys().any(|k| k.starts_with("prow.k8s.io/gerrit-")));
    let pulls = job
        .spec
        .refs
        .as_ref()
        .and_then(|r| r.pulls.as_ref())
        .map_or(0, Vec::len);
    !already
        && job.spec.report.unwrap_or(false)
        && job_types_to_report.contains(&job.spec.job_type)
        && !gerrit
        && pulls <= 1
        && status_state(status.state).is_some()
}

/// `github_reporter.job_types_to_report`: presubmits and postsubmits unless set (unknown names
/// are left out; the instance's check reports them).
pub fn job_types_to_report(config: Option<&GitHubReporter>) -> Vec<ProwJobType> {
    match config.and_then(|c| c.job_types_to_report.as_ref()) {
        None => vec![ProwJobType::Presubmit, ProwJobType::Postsubmit],
        Some(names) => names
            .iter()
            .filter_map(|name| serde_json::from_value(serde_json::Value::String(name.clone())).ok())
            .collect(),
    }
}

/// Whether GitHub's refusal of a status is final and counts as reported, as crier treats it:
/// the commit has reached GitHub's maximum number of statuses, or it (or the repository) is not
/// found.
pub fn refusal_is_final(message: &str, not_found: bool) -> bool {
    not_found || message.contains("maximum number of statuses")
}

/// The commit a job reports on: the pull request's head, or the base for postsubmits.
pub fn target_sha(job: &ProwJob) -> Option<&str> {
    let refs = job.spec.refs.as_ref()?;
    match job.spec.job_type {
        ProwJobType::Postsubmit => refs.base_sha.as_deref(),
        _ => refs.pulls.as_ref()?.first().map(|p| p.sha.as_str()),
    }
}

/// The status description: the ProwJob's description and ` BaseSHA:<sha>` (which tide reads
/// back), left-padded with U+2001 up to 140 characters, and shortened in the middle with
/// ` ... ` when longer.
pub fn description(text: &str, base_sha: &str) -> String {
    let full = format!("{text} BaseSHA:{base_sha}");
    let length = full.chars().count();
    if length > MAX_DESCRIPTION {
        let keep = MAX_DESCRIPTION - " ... ".len();
        let head = keep / 2;
        let tail = keep - head;
        let start: String = full.chars().take(head).collect();
        let end: String = full.chars().skip(length - tail).collect();
        return format!("{start} ... {end}");
    }
    let padding: String = std::iter::repeat_n('\u{2001}', MAX_DESCRIPTION - length).collect();
    format!("{padding}{full}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(state: &str, job_type: &str, prev: Option<&str>) -> ProwJob {
        let mut value = json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": "a"},
            "spec": {"type": job_type, "job": "unit", "report": true,
                     "refs": {"org": "o", "repo": "r", "base_sha": "base", "pulls": [{"number": 1, "author": "a", "sha": "head"}]}},
            "status": {"state": state}
        });
        if let Some(prev) = prev {
            value["status"]["prev_report_states"] = json!({REPORTER: prev});
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn state_mapping() {
        use ProwJobState::*;
        let expected = [
            (Triggered, Some("pending")),
            (Pending, Some("pending")),
            (Success, Some("success")),
            (Failure, Some("failure")),
            (Aborted, Some("failure")),
            (Error, Some("error")),
            (Scheduling, None),
        ];
        for (state, status) in expected {
            assert_eq!(status_state(state).map(StatusState::as_str), status, "{state:?}");
        }
    }

    #[test]
    fn reports_each_state_once_and_only_for_chosen_types() {
        let types = [ProwJobType::Presubmit, ProwJobType::Postsubmit];
        assert!(should_report(&job("pending", "presubmit", None), &types));
        assert!(!should_report(&job("pending", "presubmit", Some("pending")), &types));
        assert!(should_report(&job("success", "presubmit", Some("pending")), &types));
        assert!(!should_report(&job("success", "periodic", None), &types));
        assert!(!should_report(
            &job("success", "presubmit", None),
            &[ProwJobType::Postsubmit]
        ));
        let mut skipped = job("success", "presubmit", None);
        skipped.spec.report = Some(false);
        assert!(!should_report(&skipped, &types));
    }

    #[test]
    fn job_types_default_to_presubmits_and_postsubmits() {
        assert_eq!(
            job_types_to_report(None),
            [ProwJobType::Presubmit, ProwJobType::Postsubmit]
        );
        let only: GitHubReporter = serde_json::from_value(json!({"job_types_to_report": ["postsubmit"]})).unwrap();
        assert_eq!(job_types_to_report(Some(&only)), [ProwJobType::Postsubmit]);
        assert!(refusal_is_final("", true));
        assert!(refusal_is_final(
            "This SHA and context has reached the maximum number of statuses.",
            false
        ));
        assert!(!refusal_is_final("Server Error", false));
    }

    #[test]
    fn reports_on_the_head_or_the_base() {
        assert_eq!(target_sha(&job("success", "presubmit", None)), Some("head"));
        assert_eq!(target_sha(&job("success", "postsubmit", None)), Some("base"));
    }

    #[test]
    fn descriptions_are_padded_or_shortened_to_140() {
        let short = description("Job succeeded.", "abc");
        assert_eq!(short.chars().count(), 140);
        assert!(short.ends_with("Job succeeded. BaseSHA:abc") && short.starts_with('\u{2001}'));
        let long = description(&"x".repeat(300), "abc");
        assert_eq!(long.chars().count(), 140);
        assert!(long.contains(" ... ") && long.ends_with("BaseSHA:abc"));
    }
}
