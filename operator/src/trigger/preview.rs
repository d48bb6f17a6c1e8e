//! `prow-operator trigger`: which ProwJobs a GitHub event would create, applying nothing, with
//! the same decision as the live trigger. The debugging tool for "why didn't my job run?".

use prow_api::ProwJob;
use prow_api::job::{Postsubmit, Presubmit};

use crate::engine::prowjob::{self, Creation};
use crate::input::Inputs;
use prow_core::trigger::events::{PullRequestEvent, PushEvent};
use prow_core::trigger::{self, Explanation, Trust};

/// What an event would do.
#[derive(Debug, Default)]
pub struct Preview {
    /// The ProwJobs it would create (named by `generateName`, as nothing is applied).
    pub create: Vec<ProwJob>,
    /// What it would abort, as sentences.
    pub abort: Vec<String>,
    /// Why each job was or was not selected.
    pub explanations: Vec<Explanation>,
}

/// Why an event could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The payload does not parse as the event type.
    #[error("the payload is not a valid {event} event: {message}")]
    Payload {
        /// The event type.
        event: String,
        /// Why.
        message: String,
    },
    /// The event type is not one the trigger acts on.
    #[error("the trigger acts on pull_request and push events, not {0:?}")]
    Unsupported(String),
}

/// The jobs of every JobConfig in the input, for one `org/repo`.
fn jobs_of(inputs: &Inputs, repo: &str) -> (Vec<Presubmit>, Vec<Postsubmit>) {
    trigger::repo_jobs(inputs.job_configs.iter().map(|c| &c.object.spec.jobs), repo)
}

/// Evaluates an event against the jobs in `inputs`.
pub fn evaluate(
    inputs: &Inputs,
    event_type: &str,
    payload: &serde_json::Value,
    changed_files: &[String],
    trusted: bool,
    namespace: &str,
) -> Result<Preview, PreviewError> {
    let invalid = |e: serde_json::Error| PreviewError::Payload {
        event: event_type.to_string(),
        message: e.to_string(),
    };
    let template = Creation {
        from_event: true,
        ..inputs.preview_creation(namespace)
    };
    let creation = |job: &str| template.clone().named(job);
    let mut preview = Preview::default();
    match event_type {
        "pull_request" => {
            let event: PullRequestEvent = serde_json::from_value(payload.clone()).map_err(invalid)?;
            let pr = &event.pull_request;
            let repo = format!("{}/{}", pr.base.repo.owner.login, pr.base.repo.name);
            let (presubmits, _) = jobs_of(inputs, &repo);
            let trust = Trust {
                author_trusted: trusted,
                ignore_ok_to_test: false,
                bot: String::new(),
                org: pr.base.repo.owner.login.clone(),
                join_org_url: None,
            };
            let decision = trigger::on_pull_request(&event, &presubmits, &trust, Some(changed_files));
            if decision.effects().abort_unfinished {
                preview
                    .abort
                    .push(format!("every unfinished presubmit of {repo}#{}", pr.number));
            }
            let refs = trigger::pull_request_refs(pr);
            preview.create = decision
                .create()
                .iter()
                .map(|job| prowjob::presubmit(job, refs.clone(), &creation(&job.base.name)))
                .collect();
            preview.explanations = decision.explanations();
            for explanation in &mut preview.explanations {
                let optional = presubmits
                    .iter()
                    .any(|job| job.base.name == explanation.job && job.optional.unwrap_or(false));
                if optional {
                    explanation.reason.push_str(" [optional: not required to merge]");
                }
            }
        }
        "push" => {
            let event: PushEvent = serde_json::from_value(payload.clone()).map_err(invalid)?;
            let owner = &event.repository.owner.login;
            let repo = format!("{owner}/{}", event.repository.name);
            let (_, postsubmits) = jobs_of(inputs, &repo);
            let decision = trigger::on_push(&event, &postsubmits);
            let refs = trigger::push_refs(&event);
            preview.create = decision
                .create()
                .iter()
                .map(|job| prowjob::postsubmit(job, refs.clone(), &creation(&job.base.name)))
                .collect();
            preview.explanations = decision.explanations();
        }
        other => return Err(PreviewError::Unsupported(other.to_string())),
    }
    Ok(preview)
}
