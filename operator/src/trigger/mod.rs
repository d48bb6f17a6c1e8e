//! The native trigger, live: accepted webhook events in, ProwJobs out, with the pure decisions of
//! [`prow_core::trigger`]. This module is the shell: membership and pull request lookups on
//! GitHub, ProwJobs created and aborted, labels and replies; [`preview`] is the same decision for
//! `prow-operator trigger`, applying nothing. `POST /hook` ([`crate::http`], [`crate::webhook`])
//! is the front door that hands it the accepted events.
//!
//! It handles `push` (postsubmits), `pull_request` (presubmits: trust and changed files from
//! GitHub, the `needs-ok-to-test` label, aborting the pull request's unfinished presubmits) and
//! `issue_comment` (`/test`, `/retest`, `/ok-to-test` and the replies). `POST /hook` of every
//! replica ([`crate::http`]) hands it the deliveries it accepted, and answers once it acted.
//!
//! ProwJobs are named by [`prowjob::uuid_name`] of the delivery and the job, so a redelivered
//! event, or a retry after a failure, creates nothing twice: the API server answers 409.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use prow_api::job::Presubmit;
use prow_api::{ProwInstance, ProwJob, ProwJobState};
use serde_json::json;
use tracing::{debug, info, warn};

use crate::controller::Context;
use crate::controller::github_clients::CredentialsError;
use crate::controller::jobs::LeadingJobs;
use crate::controller::live_jobs::{LiveJobs, RepoJobs};
use crate::engine::prowjob::{self, Creation};
use crate::github::{GitHubClient, GitHubError};
use crate::http::{Event, NotHandled};
use crate::job_labels as labels;
use crate::render::config_yaml::Namespaces;
use crate::render::meta::Owner;
use crate::webhook::payload::{RepoName, Typed};
use prow_core::trigger::commands::{self, Comment};
use prow_core::trigger::events::{
    Branch, IssueCommentEvent, Label, PullRequest, PullRequestEvent, PushEvent, Repository, User,
};
use prow_core::trigger::trust::{self, Policy, Question, Verdict};
use prow_core::trigger::{self, Outcome, Trust};

pub mod preview;

/// The label upstream puts on ProwJobs with the delivery that started them.
const EVENT_GUID_LABEL: &str = "event-GUID";

/// Why an event could not be handled (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The instance's GitHub credentials are unusable.
    #[error("delivery {delivery}: GitHub credentials of ProwInstance {instance}: {source}")]
    Credentials {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The instance, `namespace/name`.
        instance: String,
        /// Why.
        source: CredentialsError,
    },
    /// GitHub did not answer (trust, changed files or labels); the event is retried later.
    #[error("delivery {delivery}: {source}")]
    GitHub {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The GitHub error.
        source: GitHubError,
    },
    /// The pull request's ProwJobs could not be listed or aborted.
    #[error("delivery {delivery}: aborting the unfinished presubmits of {pull}: {}", crate::controller::api_error::cause(.source))]
    Abort {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// `org/repo#number`.
        pull: String,
        /// The API error.
        source: kube::Error,
    },
    /// A ProwJob could not be created.
    #[error("delivery {delivery}: creating ProwJob {name} for {job}: {}", crate::controller::api_error::cause(.source))]
    Create {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The ProwJob's name.
        name: String,
        /// The job.
        job: String,
        /// The API error.
        source: kube::Error,
    },
}

/// What handling an event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// The ProwJobs created (`namespace/name`), or found already created by an earlier attempt.
    pub created: Vec<String>,
    /// The ProwJobs aborted (`namespace/name`).
    pub aborted: Vec<String>,
    /// Labels added to the pull request.
    pub labeled: Vec<String>,
    /// Labels removed from the pull request.
    pub unlabeled: Vec<String>,
    /// Comments posted in reply.
    pub replies: Vec<String>,
}

/// The trigger as the webhook endpoint's consumer: each accepted event is handled before the
/// webhook is answered.
pub struct Consumer {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// The job loops while this replica leads.
    pub jobs: LeadingJobs,
}

impl crate::http::Consumer for Consumer {
    fn consume(&self, event: Event) -> futures::future::BoxFuture<'static, Result<(), NotHandled>> {
        let ctx = self.ctx.clone();
        let jobs = self.jobs.clone();
        Box::pin(async move {
            match handle(&event, &ctx, &jobs).await {
                Ok(handled) => {
                    info!(
                        event = event.kind.label(),
                        delivery = %event.delivery,
                        created = handled.created.len(),
                        aborted = handled.aborted.len(),
                        replies = handled.replies.len(),
                        "webhook handled"
                    );
                    Ok(())
                }
                Err(error) => {
                    warn!(event = event.kind.label(), delivery = %event.delivery, %error, "webhook not handled");
                    Err(NotHandled::Unavailable(error.to_string()))
                }
            }
        })
    }
}

/// Whether `instance` serves `org/repo` with the native trigger.
pub fn serves(instance: &ProwInstance, org: &str, repo: &str) -> bool {
    let github = &instance.spec.github;
    instance.spec.native.trigger
        && instance.metadata.deletion_timestamp.is_none()
        && github.org.eq_ignore_ascii_case(org)
        && (github.repos.is_empty() || github.repos.iter().any(|r| r.eq_ignore_ascii_case(repo)))
}

/// Each instance that serves `name` with the native trigger, with what it has in effect and
/// the jobs it has for the repository.
async fn serving(ctx: &Context, name: &RepoName) -> Vec<(Arc<ProwInstance>, Arc<LiveJobs>, Arc<RepoJobs>)> {
    let mut serving = Vec::new();
    for instance in ctx.stores.instances.state() {
        if !serves(&instance, &name.org, &name.repo) {
            continue;
        }
        let jobs = ctx.live_jobs.get(&instance, ctx).await;
        let repo_jobs = jobs.repo(&name.full_name());
        serving.push((instance, jobs, repo_jobs));
    }
    serving
}

/// Handles one accepted event. Its payload was read by [`crate::webhook::payload::read`], the
/// same reading that chose the tokens that verified its signature: the one repository it names
/// is the one every instance is selected by and every decision, GitHub call and ProwJob uses.
#[tracing::instrument(skip_all, fields(event = event.kind.label(), delivery = %event.delivery))]
pub async fn handle(event: &Event, ctx: &Context, jobs: &LeadingJobs) -> Result<Handled, TriggerError> {
    let repo = &event.parsed.repo;
    match &event.parsed.event {
        Typed::Push(push) => on_push(push, repo, &event.delivery, ctx).await,
        Typed::PullRequest(pr) => on_pull_request(pr, repo, &event.delivery, (ctx, jobs)).await,
        Typed::IssueComment(comment) => on_comment(comment, repo, &event.delivery, (ctx, jobs)).await,
        Typed::Review => Ok(Handled::default()),
    }
}

/// The instance's GitHub client.
async fn github_for(instance: &ProwInstance, ctx: &Context, delivery: &str) -> Result<Arc<GitHubClient>, TriggerError> {
    let namespace = instance.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.github
        .client_for(instance, &secrets)
        .await
        .map_err(|source| TriggerError::Credentials {
            delivery: delivery.to_string(),
            instance: format!("{namespace}/{}", instance.name_any()),
            source,
        })
}

/// Whether the trigger trusts `user` under `policy`: the membership questions
/// [`trust::verdict`] asks, answered by GitHub one at a time, only as far as the decision needs.
async fn is_trusted(github: &GitHubClient, policy: &Policy<'_>, user: &str) -> Result<bool, GitHubError> {
    let mut answers = Vec::new();
    loop {
        let question = match trust::verdict(policy, user, &answers) {
            Verdict::Trusted(trusted) => return Ok(trusted),
            Verdict::Ask(question) => question,
        };
        let answer = match &question {
            Question::OrgMember(org) => github.is_org_member(org, user).await?,
            Question::Collaborator => github.is_collaborator(policy.org, policy.repo, user).await?,
        };
        answers.push((question, answer));
    }
}

/// The engine's view of who is trusted for a pull request by `author`.
async fn trust_for(github: &GitHubClient, policy: &Policy<'_>, author: &str) -> Result<Trust, GitHubError> {
    let settings = policy.settings;
    Ok(Trust {
        author_trusted: is_trusted(github, policy, author).await?,
        ignore_ok_to_test: settings.ignore_ok_to_test.unwrap_or(false),
        bot: policy.bot.to_string(),
        org: settings.trusted_org.clone().unwrap_or_else(|| policy.org.to_string()),
        join_org_url: settings.join_org_url.clone(),
    })
}

/// The hidden mark of the `index`th reply to `delivery`, by which a redelivery (after a restart,
/// say) finds the replies already posted.
fn reply_mark(delivery: &str, index: usize) -> String {
    format!("<!-- prow-operator delivery={delivery} reply={index} -->")
}

/// Posts each of `replies` on the pull request that `bot` did not post for this delivery already
/// (it looks at the comments first, as upstream looks before it welcomes), recording them in
/// `handled`.
async fn reply(
    github: &GitHubClient,
    (org, repo, number): (&str, &str, u64),
    (delivery, bot): (&str, &str),
    replies: &[String],
    handled: &mut Handled,
) -> Result<(), GitHubError> {
    if replies.is_empty() {
        return Ok(());
    }
    let posted = github.list_comments(org, repo, number).await?;
    for (index, text) in replies.iter().enumerate() {
        let mark = reply_mark(delivery, index);
        if posted.iter().any(|c| c.author == bot && c.body.contains(&mark)) {
            info!(reply = index, "already posted for this delivery");
            continue;
        }
        github
            .create_comment(org, repo, number, &format!("{text}\n\n{mark}"))
            .await?;
        handled.replies.push(text.clone());
    }
    Ok(())
}

/// Decides again with the pull request's changed files when the first decision, without them,
/// asks for them: GitHub is asked for the files only when a judged job filters on them.
async fn with_changed_files<'a>(
    github: &GitHubClient,
    (org, repo, number): (&str, &str, u64),
    decide: impl Fn(Option<&[String]>) -> Outcome<'a, Presubmit>,
) -> Result<Outcome<'a, Presubmit>, GitHubError> {
    match decide(None) {
        Outcome::NeedsChangedFiles => {
            let files = github.pull_request_files(org, repo, number).await?;
            Ok(decide(Some(&files)))
        }
        decided => Ok(decided),
    }
}

/// Creates a presubmit ProwJob of each of `jobs` (presubmits of `repo_jobs`) for the pull
/// request's head. The head SHA is part of the name: a new push starts new ProwJobs.
async fn start_presubmits(
    (ctx, leading): (&Context, &LeadingJobs),
    template: &Creation,
    pr: &PullRequest,
    (repo_jobs, jobs): (&RepoJobs, &[&Presubmit]),
    instance: &str,
    delivery: &str,
) -> Result<Vec<String>, TriggerError> {
    let api: Api<ProwJob> = Api::namespaced(ctx.client.clone(), &template.namespace);
    let refs = trigger::pull_request_refs(pr);
    let mut created = Vec::new();
    for job in jobs {
        let creation = Creation {
            name: prowjob::uuid_name(&[delivery, instance, &pr.head.sha, &job.base.name]),
            ..template.clone()
        };
        let pod = repo_jobs.presubmit_pod(job, &template.presets);
        let prowjob = prowjob::presubmit_with_pod(job, refs.clone(), &creation, pod);
        let name = create(&api, &prowjob, &job.base.name, delivery).await?;
        if let Some(jobs) = leading.get() {
            jobs.note_created(&prowjob);
        }
        created.push(format!("{}/{name}", template.namespace));
    }
    Ok(created)
}

/// Adds the decided labels the pull request lacks and removes the ones it has, looking at its
/// labels on GitHub first (`current`, or read now), as upstream does before it adds
/// `needs-ok-to-test`; recorded in `handled`.
async fn relabel(
    github: &GitHubClient,
    (org, repo, number): (&str, &str, u64),
    (add, remove): (&[String], &[String]),
    current: Option<&[String]>,
    handled: &mut Handled,
) -> Result<(), GitHubError> {
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let read;
    let current = match current {
        Some(current) => current,
        None => {
            read = github.issue_labels(org, repo, number).await?;
            &read
        }
    };
    let has = |label: &String| current.iter().any(|l| l.eq_ignore_ascii_case(label));
    for label in add.iter().filter(|l| !has(l)) {
        github.add_label(org, repo, number, label).await?;
        handled.labeled.push(label.clone());
    }
    for label in remove.iter().filter(|l| has(l)) {
        github.remove_label(org, repo, number, label).await?;
        handled.unlabeled.push(label.clone());
    }
    Ok(())
}

fn creation_template(instance: &ProwInstance, jobs: &LiveJobs, delivery: &str) -> Creation {
    let owner = Owner::of(instance);
    Creation {
        name: String::new(),
        namespace: Namespaces::of(&owner, &instance.spec).prowjob,
        start_time: Time(k8s_openapi::jiff::Timestamp::now()),
        extra_labels: BTreeMap::from([(EVENT_GUID_LABEL.to_string(), delivery.to_string())]),
        decorate_all_jobs: jobs.settings.decorate_all_jobs,
        generate_name: false,
        presets: jobs.presets.clone(),
        defaults: jobs.defaults.clone(),
        from_event: true,
    }
}

/// Sends a ProwJob write without parsing the ProwJob the API server answers with: the trigger needs
/// only the outcome, and parsing a whole ProwJob (pod spec and all) costs more than the write.
async fn write_unread(api: &Api<ProwJob>, request: http::Request<Vec<u8>>) -> Result<(), kube::Error> {
    api.clone().into_client().request_text(request).await.map(drop)
}

/// Creates `prowjob`; one already there (an earlier attempt) counts as created.
async fn create(api: &Api<ProwJob>, prowjob: &ProwJob, job: &str, delivery: &str) -> Result<String, TriggerError> {
    let name = prowjob.metadata.name.clone().unwrap_or_default();
    let sent = async {
        let body = serde_json::to_vec(prowjob).map_err(kube::Error::SerdeError)?;
        let request = kube::core::Request::new(api.resource_url())
            .create(&PostParams::default(), body)
            .map_err(kube::Error::BuildRequest)?;
        write_unread(api, request).await
    };
    match sent.await {
        Ok(_) => debug!(prowjob = %name, %job, "created"),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            info!(prowjob = %name, %job, "already created by an earlier attempt")
        }
        Err(source) => {
            warn!(prowjob = %name, %job, error = %source, "create failed");
            return Err(TriggerError::Create {
                delivery: delivery.to_string(),
                name,
                job: job.to_string(),
                source,
            });
        }
    }
    Ok(name)
}

async fn on_pull_request(
    event: &PullRequestEvent,
    name: &RepoName,
    delivery: &str,
    (ctx, leading): (&Context, &LeadingJobs),
) -> Result<Handled, TriggerError> {
    let pr = &event.pull_request;
    let (org, repo) = (&name.org, &name.repo);
    let number = u64::try_from(pr.number).unwrap_or_default();
    let github_error = |source: GitHubError| TriggerError::GitHub {
        delivery: delivery.to_string(),
        source,
    };
    let mut handled = Handled::default();
    for (instance, jobs, repo_jobs) in serving(ctx, name).await {
        let presubmits = &repo_jobs.presubmits;
        if presubmits.is_empty() {
            continue;
        }
        let github = github_for(&instance, ctx, delivery).await?;
        let settings = jobs.trigger_for(org, repo);
        let bot = github.bot_login().await.map_err(github_error)?;
        let policy = Policy {
            org,
            repo,
            bot: &bot,
            settings: &settings,
        };
        let trust = trust_for(&github, &policy, &pr.user.login)
            .await
            .map_err(github_error)?;
        let target = (org.as_str(), repo.as_str(), number);
        let outcome = with_changed_files(&github, target, |files| {
            trigger::on_pull_request(event, presubmits, &trust, files)
        })
        .await
        .map_err(github_error)?;
        if let Outcome::Refused { reason, .. } = &outcome {
            debug!(instance = %instance.name_any(), %reason, "no presubmits to start");
        }
        let effects = outcome.effects();
        let template = creation_template(&instance, &jobs, delivery);
        if effects.abort_unfinished {
            let api: Api<ProwJob> = Api::namespaced(ctx.client.clone(), &template.namespace);
            handled
                .aborted
                .extend(abort_unfinished(leading, &api, org, repo, pr.number, delivery).await?);
        }
        handled.created.extend(
            start_presubmits(
                (ctx, leading),
                &template,
                pr,
                (&repo_jobs, outcome.create()),
                &instance.name_any(),
                delivery,
            )
            .await?,
        );
        let labels = (effects.add_labels.as_slice(), effects.remove_labels.as_slice());
        relabel(&github, target, labels, None, &mut handled)
            .await
            .map_err(github_error)?;
        reply(&github, target, (delivery, &bot), &effects.replies, &mut handled)
            .await
            .map_err(github_error)?;
    }
    Ok(handled)
}

/// The engine's view of a pull request read from GitHub.
fn engine_pull_request(pr: &crate::github::PullRequest, repository: &Repository) -> PullRequest {
    PullRequest {
        number: i64::try_from(pr.number).unwrap_or_default(),
        title: pr.title.clone(),
        html_url: Some(pr.html_url.clone()),
        user: User {
            login: pr.author.clone(),
            html_url: None,
        },
        head: Branch {
            git_ref: pr.head_ref.clone(),
            sha: pr.head_sha.clone(),
            repo: Repository::default(),
        },
        base: Branch {
            git_ref: pr.base_ref.clone(),
            sha: pr.base_sha.clone(),
            repo: repository.clone(),
        },
        draft: pr.draft,
        mergeable: pr.mergeable,
        labels: pr.labels.iter().map(|name| Label { name: name.clone() }).collect(),
    }
}

async fn on_comment(
    event: &IssueCommentEvent,
    name: &RepoName,
    delivery: &str,
    (ctx, leading): (&Context, &LeadingJobs),
) -> Result<Handled, TriggerError> {
    let mut handled = Handled::default();
    if event.action != "created" || event.issue.pull_request.is_none() || event.issue.state != "open" {
        return Ok(handled);
    }
    let (org, repo) = (&name.org, &name.repo);
    let number = u64::try_from(event.issue.number).unwrap_or_default();
    let github_error = |source: GitHubError| TriggerError::GitHub {
        delivery: delivery.to_string(),
        source,
    };
    for (instance, jobs, repo_jobs) in serving(ctx, name).await {
        let presubmits = &repo_jobs.presubmits;
        let github = github_for(&instance, ctx, delivery).await?;
        let settings = jobs.trigger_for(org, repo);
        let bot = github.bot_login().await.map_err(github_error)?;
        let commenter = &event.comment.user.login;
        if *commenter == bot {
            continue;
        }
        let read = github.pull_request(org, repo, number).await.map_err(github_error)?;
        let pr = engine_pull_request(&read, &event.repository);
        let policy = Policy {
            org,
            repo,
            bot: &bot,
            settings: &settings,
        };
        let commenter_trusted = is_trusted(&github, &policy, commenter).await.map_err(github_error)?;
        let trust = trust_for(&github, &policy, &pr.user.login)
            .await
            .map_err(github_error)?;
        let statuses = github
            .commit_statuses(org, repo, &pr.head.sha)
            .await
            .map_err(github_error)?;
        let comment = Comment {
            body: &event.comment.body,
            commenter,
            commenter_trusted,
            pr: &pr,
            pr_open: true,
            author_trusted: trust.author_trusted,
            bot: &bot,
            ignore_ok_to_test: trust.ignore_ok_to_test,
            statuses: &statuses,
        };
        let target = (org.as_str(), repo.as_str(), number);
        let outcome = with_changed_files(&github, target, |files| {
            commands::on_comment(&comment, presubmits, files)
        })
        .await
        .map_err(github_error)?;
        if let Outcome::Refused { reason, .. } = &outcome {
            debug!(instance = %instance.name_any(), %reason, "no presubmits to start");
        }
        let effects = outcome.effects();
        let mut template = creation_template(&instance, &jobs, delivery);
        if let Outcome::Act { retest: true, .. } = outcome {
            template
                .extra_labels
                .insert(labels::RETEST.to_string(), "true".to_string());
        }
        handled.created.extend(
            start_presubmits(
                (ctx, leading),
                &template,
                &pr,
                (&repo_jobs, outcome.create()),
                &instance.name_any(),
                delivery,
            )
            .await?,
        );
        let labels = (effects.add_labels.as_slice(), effects.remove_labels.as_slice());
        relabel(&github, target, labels, Some(read.labels.as_slice()), &mut handled)
            .await
            .map_err(github_error)?;
        reply(&github, target, (delivery, &bot), &effects.replies, &mut handled)
            .await
            .map_err(github_error)?;
    }
    Ok(handled)
}

/// Aborts every unfinished presubmit of the pull request, as upstream does when it changes. The
/// leader finds them in its job caches (with the ProwJobs it just created); another replica lists
/// them.
async fn abort_unfinished(
    leading: &LeadingJobs,
    api: &Api<ProwJob>,
    org: &str,
    repo: &str,
    number: i64,
    delivery: &str,
) -> Result<Vec<String>, TriggerError> {
    let failed = |source| TriggerError::Abort {
        delivery: delivery.to_string(),
        pull: format!("{org}/{repo}#{number}"),
        source,
    };
    let namespace = api.namespace().unwrap_or_default().to_string();
    let unfinished: Vec<String> = match leading.get() {
        Some(jobs) => jobs.unfinished_presubmits(&namespace, org, repo, number),
        None => {
            let value = |v: &str| labels::sanitize_label_value(v).unwrap_or_default();
            let selector = format!(
                "{}={},{}={},{}={},{}=presubmit",
                labels::ORG,
                value(org),
                labels::REPO,
                value(repo),
                labels::PULL,
                number,
                labels::TYPE
            );
            api.list(&ListParams::default().labels(&selector))
                .await
                .map_err(failed)?
                .items
                .into_iter()
                .filter(|job| job.status.as_ref().is_none_or(|s| s.completion_time.is_none()))
                .map(|job| job.name_any())
                .collect()
        }
    };
    let mut aborted = Vec::new();
    for name in unfinished {
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let patch = json!({"status": {
            "state": ProwJobState::Aborted,
            "completionTime": now,
            "description": "Aborted by trigger plugin.",
        }});
        let request = kube::core::Request::new(api.resource_url())
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .map_err(|e| failed(kube::Error::BuildRequest(e)))?;
        match write_unread(api, request).await {
            Ok(_) => {}
            // Deleted meanwhile: nothing to abort.
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(source) => return Err(failed(source)),
        }
        debug!(prowjob = %name, "aborted");
        aborted.push(format!("{namespace}/{name}"));
    }
    Ok(aborted)
}

async fn on_push(push: &PushEvent, name: &RepoName, delivery: &str, ctx: &Context) -> Result<Handled, TriggerError> {
    let mut handled = Handled::default();
    for (instance, jobs, repo_jobs) in serving(ctx, name).await {
        let outcome = trigger::on_push(push, &repo_jobs.postsubmits);
        if outcome.create().is_empty() {
            continue;
        }
        let template = creation_template(&instance, &jobs, delivery);
        let refs = trigger::push_refs(push);
        let api: Api<ProwJob> = Api::namespaced(ctx.client.clone(), &template.namespace);
        for job in outcome.create() {
            let name = prowjob::uuid_name(&[delivery, &instance.name_any(), &job.base.name]);
            let prowjob = prowjob::postsubmit(
                job,
                refs.clone(),
                &Creation {
                    name,
                    ..template.clone()
                },
            );
            let name = create(&api, &prowjob, &job.base.name, delivery).await?;
            handled.created.push(format!("{}/{name}", template.namespace));
        }
    }
    Ok(handled)
}
