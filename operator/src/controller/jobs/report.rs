//! crier's GitHub reporter, live: each state of a reported ProwJob becomes one commit status
//! ([`engine::report`](crate::engine::report)), a finished presubmit updates the pull request's
//! failure comment ([`engine::failure_comment`](crate::engine::failure_comment)), and then
//! `status.prev_report_states["github-reporter"]` records the state, so it is reported once.
//!
//! GitHub errors keep the report: the job is tried again with backoff (1 s doubling to 5
//! minutes, or as long as GitHub asks), so an outage delays reports and loses none. A status
//! posted whose record failed is recorded on the retry, not posted again (within one term of
//! leadership: a restart in between posts it again, as upstream's crier does).

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use prow_api::{ProwJob, ProwJobState};
use serde_json::json;
use tracing::{debug, info, warn};

use super::{Function, Jobs, JobsError};
use crate::engine::failure_comment::{self, Change};
use crate::engine::report::{self, REPORTER};
use crate::github::{GitHubClient, GitHubError};
use crate::job_labels::IS_OPTIONAL;

/// How many ProwJobs are reported at once (crier's `--github-workers`).
pub const CONCURRENCY: u16 = 10;

/// Reports `job` when its state has not been reported yet.
#[tracing::instrument(skip_all, fields(prowjob = %job.name_any()))]
pub async fn reconcile(job: Arc<ProwJob>, jobs: Arc<Jobs>) -> Result<Action, JobsError> {
    let namespace = job.namespace().unwrap_or_default();
    let Some((instance, settings)) = jobs.instance_for(&namespace, Function::Report) else {
        return Ok(Action::await_change());
    };
    let Some(status) = &job.status else {
        return Ok(Action::await_change());
    };
    let uid = job.uid().unwrap_or_default();
    let known = jobs
        .reported
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&uid)
        .copied();
    if known == Some(status.state) || !report::should_report(&job, &settings.job_types_to_report) {
        return Ok(Action::await_change());
    }
    let (Some(state), Some(sha), Some(refs)) = (
        report::status_state(status.state),
        report::target_sha(&job),
        job.spec.refs.as_ref(),
    ) else {
        return Ok(Action::await_change());
    };
    let posted = jobs.posted.lock().unwrap_or_else(|p| p.into_inner()).get(&uid).copied();
    if posted == Some(status.state) {
        // Posted (and commented on) already; only the record failed.
        return recorded(&jobs, &job, status.state).await;
    }
    let github = jobs.github(&instance).await?;
    let failed = |source: GitHubError| JobsError::GitHub {
        prowjob: format!("{namespace}/{}", job.name_any()),
        source,
    };
    let description = report::description(
        status.description.as_deref().unwrap_or_default(),
        refs.base_sha.as_deref().unwrap_or_default(),
    );
    let context = job.spec.context.clone().unwrap_or_else(|| job.spec.job.clone());
    let posted = github
        .create_status(
            &refs.org,
            &refs.repo,
            sha,
            state,
            &context,
            &description,
            status.url.as_deref(),
        )
        .await;
    match posted {
        Ok(()) => info!(%context, state = state.as_str(), %sha, "status posted"),
        Err(error) if report::refusal_is_final(&error.to_string(), error.is_not_found()) => {
            warn!(%context, %error, "GitHub refused the status for good; not reporting it")
        }
        Err(error) => return Err(failed(error)),
    }
    if failure_comment::applies(&job, &settings.no_comment_repos) {
        match update_comment(&jobs, &github, &job).await {
            Ok(()) => {}
            Err(error) if error.is_not_found() => {
                warn!(%error, "the pull request is gone; no failure comment")
            }
            Err(error) => return Err(failed(error)),
        }
    }
    jobs.posted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(uid, status.state);
    recorded(&jobs, &job, status.state).await
}

/// Records the report of `state`, posted already, and forgets it was pending.
async fn recorded(jobs: &Jobs, job: &ProwJob, state: ProwJobState) -> Result<Action, JobsError> {
    let uid = job.uid().unwrap_or_default();
    if record(jobs, job, state).await? {
        jobs.reported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uid.clone(), state);
    }
    jobs.posted.lock().unwrap_or_else(|p| p.into_inner()).remove(&uid);
    jobs.succeeded(job);
    Ok(Action::await_change())
}

/// How often a record is tried again on a job that changed since it was read, but not its state.
const RECORD_TRIES: usize = 3;

/// Records in `prev_report_states` that `state` was reported, if the job is still in `state`
/// (a JSON patch that tests it first): a report that went stale while GitHub was retried (the
/// job aborted by a newer run meanwhile, its abort recorded as reported) must not record its
/// state over the newer one. Returns whether it was recorded.
async fn record(jobs: &Jobs, job: &ProwJob, state: ProwJobState) -> Result<bool, JobsError> {
    let namespace = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let api: Api<ProwJob> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
    let failed = |source| JobsError::ProwJob {
        action: "recording the report of",
        namespace: namespace.clone(),
        name: name.clone(),
        source,
    };
    let mut current = job.clone();
    for attempt in 1..=RECORD_TRIES {
        let has_map = current.status.as_ref().is_some_and(|s| s.prev_report_states.is_some());
        let mut ops = vec![json!({"op": "test", "path": "/status/state", "value": state})];
        if has_map {
            ops.push(json!({"op": "add", "path": format!("/status/prev_report_states/{REPORTER}"), "value": state}));
        } else {
            // The whole map is written: only over the version read, so no other reporter's
            // entry written meanwhile is lost.
            let version = current.resource_version().unwrap_or_default();
            ops.insert(
                0,
                json!({"op": "test", "path": "/metadata/resourceVersion", "value": version}),
            );
            ops.push(json!({"op": "add", "path": "/status/prev_report_states", "value": {REPORTER: state}}));
        }
        let patch: json_patch::Patch = match serde_json::from_value(serde_json::Value::Array(ops)) {
            Ok(patch) => patch,
            Err(error) => {
                warn!(%error, prowjob = %name, "could not build the record of a report");
                return Ok(false);
            }
        };
        let error = match api
            .patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
        {
            Ok(_) => return Ok(true),
            Err(error) => error,
        };
        let code = match &error {
            kube::Error::Api(status) => status.code,
            _ => 0,
        };
        match code {
            404 => return Ok(false),
            // Changed since it was read: its state (then the report is stale), or something else.
            422 if attempt < RECORD_TRIES => match api.get_opt(&name).await.map_err(&failed)? {
                Some(fresh) if fresh.status.as_ref().map(|s| s.state) == Some(state) => current = fresh,
                _ => {
                    debug!(prowjob = %name, state = ?state, "the job moved on while its state was reported; not recorded");
                    return Ok(false);
                }
            },
            _ => return Err(failed(error)),
        }
    }
    Ok(false)
}

/// Brings the pull request's failure comment up to date with `job`'s result: one comment by the
/// bot, tagged, written or edited when a row changes, deleted when no failure is left; older
/// tagged comments are removed. One pull request's comment is changed by one job at a time.
async fn update_comment(jobs: &Jobs, github: &GitHubClient, job: &ProwJob) -> Result<(), GitHubError> {
    let Some(refs) = &job.spec.refs else { return Ok(()) };
    let Some(pull) = refs.pulls.as_ref().and_then(|p| p.first()) else {
        return Ok(());
    };
    let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
    let number = u64::try_from(pull.number).unwrap_or_default();
    let key = format!("{org}/{repo}#{number}");
    let lock = jobs
        .comment_locks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key.clone())
        .or_default()
        .clone();
    let result = async {
        let _turn = lock.lock().await;
        let bot = github.bot_login().await?;
        let tagged: Vec<_> = github
            .list_comments(org, repo, number)
            .await?
            .into_iter()
            .filter(|c| c.author == bot && failure_comment::is_tagged(&c.body))
            .collect();
        let (current, older) = match tagged.split_last() {
            Some((current, older)) => (Some(current), older),
            None => (None, &[][..]),
        };
        for stale in older {
            github.delete_comment(org, repo, stale.id).await?;
        }
        let required = job.labels().get(IS_OPTIONAL).map(String::as_str) != Some("true");
        match failure_comment::after(current.map(|c| c.body.as_str()), job, required) {
            Change::Keep => debug!(pull = %key, "failure comment unchanged"),
            Change::Write(body) => match current {
                Some(comment) => {
                    github.edit_comment(org, repo, comment.id, &body).await?;
                    info!(pull = %key, "failure comment updated");
                }
                None => {
                    github.create_comment(org, repo, number, &body).await?;
                    info!(pull = %key, "failure comment posted");
                }
            },
            Change::Delete => {
                if let Some(comment) = current {
                    github.delete_comment(org, repo, comment.id).await?;
                    info!(pull = %key, "failure comment deleted: nothing fails any more");
                }
            }
        }
        Ok(())
    }
    .await;
    let mut locks = jobs.comment_locks.lock().unwrap_or_else(|p| p.into_inner());
    if Arc::strong_count(&lock) == 2 {
        locks.remove(&key);
    }
    result
}

/// Tries a job again after a failed report, with backoff.
pub fn error_policy(job: Arc<ProwJob>, error: &JobsError, jobs: Arc<Jobs>) -> Action {
    let wait = jobs.backoff(&job, error);
    warn!(prowjob = %job.name_any(), %error, retry_in = ?wait, "report failed; trying again");
    Action::requeue(wait)
}
