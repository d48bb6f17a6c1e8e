//! One JobSet: every job on its own (upstream's load-time validation and checkconfig's per-job
//! checks), plus the duplicates within the set.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use prow_api::job::{
    ChangeMatcher, JenkinsSpec, JobBase, JobSet, Periodic, Postsubmit, Presubmit, Refs, ReporterConfig, RerunAuthConfig,
};

use super::branches::{self, BranchMatcher, Clash, Entry};
use super::job_type::JobType;
use super::pod_spec::{self, PodContext};
use super::{Findings, JobContext, KnownClusters, decoration, field, item, key, labels, presets, rule};
use crate::cron;

/// The agents upstream knows.
const KUBERNETES: &str = "kubernetes";
const JENKINS: &str = "jenkins";
const TEKTON: &str = "tekton-pipeline";
/// Names longer than this are truncated in labels (checkconfig's `long-job-names`).
const MAX_NAME: usize = 63;
/// The most retries a periodic may ask for.
const MAX_RETRY_ATTEMPTS: i64 = 10;
/// The label naming the Gerrit label a job votes on.
const GERRIT_REPORT_LABEL: &str = "prow.k8s.io/gerrit-report-label";
/// The ProwJob states a Slack reporter can report.
const JOB_STATES: [&str; 7] = [
    "scheduling",
    "triggered",
    "pending",
    "success",
    "failure",
    "aborted",
    "error",
];

static NAME: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"^[A-Za-z0-9-._]+$"));
static JENKINS_NAME: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"^[A-Za-z0-9-._/]+$"));

/// Checks every job and preset of `jobs`.
pub(crate) fn check(jobs: &JobSet, ctx: &JobContext<'_>, root: &str, findings: &mut Findings) {
    let presubmits_path = field(root, "presubmits");
    for (repo, list) in &jobs.presubmits {
        let repo_path = key(&presubmits_path, repo);
        check_repo_key(repo, &repo_path, findings);
        for (index, job) in list.iter().enumerate() {
            check_presubmit(job, repo, &item(&repo_path, index), ctx, findings);
        }
        let entries = presubmit_entries(list, 0, &repo_path);
        report_clashes(JobType::Presubmit, repo, &entries, false, |_, path, rule, message| {
            findings.error(path, rule, message);
        });
    }
    let postsubmits_path = field(root, "postsubmits");
    for (repo, list) in &jobs.postsubmits {
        let repo_path = key(&postsubmits_path, repo);
        check_repo_key(repo, &repo_path, findings);
        for (index, job) in list.iter().enumerate() {
            check_postsubmit(job, &item(&repo_path, index), ctx, findings);
        }
        let entries = postsubmit_entries(list, 0, &repo_path);
        report_clashes(JobType::Postsubmit, repo, &entries, false, |_, path, rule, message| {
            findings.error(path, rule, message);
        });
    }
    let periodics_path = field(root, "periodics");
    let mut periodic_names: BTreeMap<&str, String> = BTreeMap::new();
    for (index, job) in jobs.periodics.iter().enumerate() {
        let path = item(&periodics_path, index);
        check_periodic(job, &path, ctx, findings);
        match periodic_names.get(job.base.name.as_str()) {
            Some(first) => findings.error(
                field(&path, "name"),
                rule::DUPLICATE_JOB,
                format!(
                    "periodic {:?} is defined twice (also at {first}): periodic names must be unique; rename or remove one",
                    job.base.name
                ),
            ),
            None => {
                periodic_names.insert(job.base.name.as_str(), path);
            }
        }
    }
    presets::check_set(&jobs.presets, &field(root, "presets"), findings);
}

/// Each clash among `entries` (the `job_type` jobs of `repo`) as an error at the later job:
/// `report(the later job's owner, path, rule, message)`. With `across_owners`, the entries come
/// from several objects and only clashes between two of them are reported.
pub(crate) fn report_clashes(
    job_type: JobType,
    repo: &str,
    entries: &[Entry<'_>],
    across_owners: bool,
    mut report: impl FnMut(usize, String, &'static str, String),
) {
    for (earlier, later, clash) in branches::clashes(entries, across_owners) {
        let (path, message) = clash_message(job_type, repo, clash, &entries[earlier], &entries[later], across_owners);
        report(entries[later].owner, path, clash_rule(clash), message);
    }
}

/// The rule of a clash.
fn clash_rule(clash: Clash) -> &'static str {
    match clash {
        Clash::Name => rule::DUPLICATE_JOB,
        Clash::Context => rule::DUPLICATE_CONTEXT,
    }
}

/// The path and message of a clash, reported at the later job.
fn clash_message(
    job_type: JobType,
    repo: &str,
    clash: Clash,
    earlier: &Entry<'_>,
    later: &Entry<'_>,
    other_object: bool,
) -> (String, String) {
    let elsewhere = if other_object {
        format!(
            "another selected object (job set #{}) at {}",
            earlier.owner, earlier.path
        )
    } else {
        earlier.path.clone()
    };
    match clash {
        Clash::Name => (
            field(&later.path, "name"),
            format!(
                "{job_type} {:?} of {repo} is also defined in {elsewhere}, and their branches overlap: remove one, or give them branches that do not overlap (e.g. branches: [\"^main$\"] and branches: [\"^release-1.0$\"])",
                later.name
            ),
        ),
        Clash::Context => (
            field(&later.path, if later.context_explicit { "context" } else { "name" }),
            format!(
                "{job_type}s {:?} and {:?} of {repo} both report to GitHub context {:?} on overlapping branches ({:?} is in {elsewhere}): give one of them another context",
                earlier.name,
                later.name,
                later.context.unwrap_or_default(),
                earlier.name
            ),
        ),
    }
}

/// The presubmits of one repository, for duplicate detection.
pub(crate) fn presubmit_entries<'a>(list: &'a [Presubmit], owner: usize, repo_path: &str) -> Vec<Entry<'a>> {
    list.iter()
        .enumerate()
        .map(|(index, job)| Entry {
            owner,
            path: item(repo_path, index),
            name: &job.base.name,
            context: Some(job.context()),
            context_explicit: job.context.as_deref().is_some_and(|c| !c.is_empty()),
            matcher: BranchMatcher::new(&job.brancher),
        })
        .collect()
}

/// The postsubmits of one repository, for duplicate detection.
pub(crate) fn postsubmit_entries<'a>(list: &'a [Postsubmit], owner: usize, repo_path: &str) -> Vec<Entry<'a>> {
    list.iter()
        .enumerate()
        .map(|(index, job)| Entry {
            owner,
            path: item(repo_path, index),
            name: &job.base.name,
            context: Some(
                job.context
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(&job.base.name),
            ),
            context_explicit: job.context.as_deref().is_some_and(|c| !c.is_empty()),
            matcher: BranchMatcher::new(&job.brancher),
        })
        .collect()
}

fn check_repo_key(repo: &str, path: &str, findings: &mut Findings) {
    if repo.is_empty() || !repo.contains('/') || repo.starts_with('/') || repo.ends_with('/') {
        findings.warning(
            path,
            rule::REPO_KEY,
            format!("jobs are keyed by \"org/repo\", and {repo:?} is not: no event will ever match them"),
        );
    }
}

fn check_presubmit(job: &Presubmit, repo: &str, path: &str, ctx: &JobContext<'_>, findings: &mut Findings) {
    check_base(&job.base, JobType::Presubmit, Some(repo), path, ctx, findings);
    branches::check_brancher(&job.brancher, path, findings);
    check_changes(&job.changes, job.always_run.unwrap_or(false), path, findings);
    let trigger = job.trigger.as_deref().filter(|t| !t.is_empty());
    let rerun = job.rerun_command.as_deref().filter(|r| !r.is_empty());
    let trigger_regex = trigger.and_then(|t| branches::check_regex(t, &field(path, "trigger"), "trigger", findings));
    match (trigger, rerun) {
        (Some(_), None) => findings.error(
            field(path, "rerun_command"),
            rule::TRIGGER,
            "trigger is set but rerun_command is not: set both (rerun_command is the comment that reruns the job, and trigger must match it), or neither",
        ),
        (None, Some(_)) => findings.error(
            field(path, "trigger"),
            rule::TRIGGER,
            "rerun_command is set but trigger is not: set both (trigger is the regex of comments that start the job, and must match rerun_command), or neither",
        ),
        (Some(trigger), Some(rerun)) => {
            if let Some(regex) = trigger_regex
                && !regex.is_match(rerun)
            {
                findings.error(
                    field(path, "rerun_command"),
                    rule::TRIGGER,
                    format!("rerun_command {rerun:?} does not match trigger {trigger:?}: /retest could never rerun the job; make the trigger match it"),
                );
            }
        }
        (None, None) => {}
    }
    check_skip_report(&job.base, job.skip_report, path, findings);
    check_jenkins_spec(job.jenkins_spec.as_ref(), path, findings);
    findings.unknown(&job.unknown, path);
}

fn check_postsubmit(job: &Postsubmit, path: &str, ctx: &JobContext<'_>, findings: &mut Findings) {
    check_base(&job.base, JobType::Postsubmit, None, path, ctx, findings);
    branches::check_brancher(&job.brancher, path, findings);
    check_changes(&job.changes, job.always_run.unwrap_or(false), path, findings);
    check_skip_report(&job.base, job.skip_report, path, findings);
    check_jenkins_spec(job.jenkins_spec.as_ref(), path, findings);
    findings.unknown(&job.unknown, path);
}

/// A job that skips reporting cannot ask for a Gerrit vote (upstream's `validateReporting`).
fn check_skip_report(base: &JobBase, skip_report: Option<bool>, path: &str, findings: &mut Findings) {
    if skip_report != Some(true) {
        return;
    }
    if let Some(label) = base
        .labels
        .as_ref()
        .and_then(|l| l.get(GERRIT_REPORT_LABEL))
        .filter(|v| !v.is_empty())
    {
        findings.error(
            key(&field(path, "labels"), GERRIT_REPORT_LABEL),
            rule::REPORTER,
            format!("the job skips reporting (skip_report: true) but asks for a vote on Gerrit label {label:?}: remove the label or skip_report"),
        );
    }
}

fn check_jenkins_spec(spec: Option<&JenkinsSpec>, path: &str, findings: &mut Findings) {
    if let Some(spec) = spec {
        findings.unknown(&spec.unknown, &field(path, "jenkins_spec"));
    }
}

/// The changed-file filters: regexes that compile, and not combined with `always_run` or each
/// other.
fn check_changes(changes: &ChangeMatcher, always_run: bool, path: &str, findings: &mut Findings) {
    let run_if = changes.run_if_changed.as_deref().filter(|r| !r.is_empty());
    let skip_if = changes.skip_if_only_changed.as_deref().filter(|r| !r.is_empty());
    if let Some(pattern) = run_if {
        branches::check_regex(pattern, &field(path, "run_if_changed"), "run_if_changed", findings);
    }
    if let Some(pattern) = skip_if {
        branches::check_regex(
            pattern,
            &field(path, "skip_if_only_changed"),
            "skip_if_only_changed",
            findings,
        );
    }
    if always_run && (run_if.is_some() || skip_if.is_some()) {
        findings.error(
            field(path, "always_run"),
            rule::CHANGE_MATCHERS,
            "always_run: true cannot be combined with run_if_changed or skip_if_only_changed: drop always_run to run only on matching changes, or drop the filter",
        );
    }
    if run_if.is_some() && skip_if.is_some() {
        findings.error(
            field(path, "skip_if_only_changed"),
            rule::CHANGE_MATCHERS,
            "run_if_changed and skip_if_only_changed cannot both be set: keep one of them",
        );
    }
}

fn check_periodic(job: &Periodic, path: &str, ctx: &JobContext<'_>, findings: &mut Findings) {
    check_base(&job.base, JobType::Periodic, None, path, ctx, findings);
    let schedules: Vec<(&str, &str)> = [
        ("cron", &job.cron),
        ("interval", &job.interval),
        ("minimum_interval", &job.minimum_interval),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.as_deref().filter(|v| !v.is_empty()).map(|v| (key, v)))
    .collect();
    if schedules.is_empty() {
        findings.error(
            path,
            rule::SCHEDULE,
            "a periodic needs a schedule: set one of cron (e.g. \"0 6 * * *\", UTC), interval (e.g. 24h) or minimum_interval",
        );
    }
    for (position, (key, value)) in schedules.iter().enumerate() {
        let at = field(path, key);
        if position > 0 {
            findings.error(
                &at,
                rule::SCHEDULE,
                format!("{key} is set besides {}: a periodic has exactly one of cron, interval and minimum_interval; remove one", schedules[0].0),
            );
        }
        if *key == "cron" {
            if let Err(error) = cron::parse(value) {
                findings.error(&at, rule::SCHEDULE, error.to_string());
            }
        } else {
            decoration::check_duration(value, &at, findings);
        }
    }
    if let Some(retry) = &job.retry {
        let retry_path = field(path, "retry");
        findings.unknown(&retry.unknown, &retry_path);
        if let Some(interval) = retry.interval.as_deref().filter(|i| !i.is_empty()) {
            decoration::check_duration(interval, &field(&retry_path, "interval"), findings);
        }
        if let Some(attempts) = retry.attempts
            && !(0..=MAX_RETRY_ATTEMPTS).contains(&attempts)
        {
            findings.error(
                field(&retry_path, "attempts"),
                rule::SCHEDULE,
                format!("retry.attempts is {attempts}: it must be between 0 and {MAX_RETRY_ATTEMPTS}"),
            );
        }
    }
    findings.unknown(&job.unknown, path);
}

/// Whether a job is decorated: `decorate`, else `decorate_all_jobs`, for the kubernetes agent.
pub(crate) fn decorated(base: &JobBase, ctx: &JobContext<'_>) -> bool {
    base.agent() == KUBERNETES && base.decorate.unwrap_or(ctx.decorate_all_jobs)
}

/// The fields every job type has.
fn check_base(
    base: &JobBase,
    job_type: JobType,
    repo: Option<&str>,
    path: &str,
    ctx: &JobContext<'_>,
    findings: &mut Findings,
) {
    let agent = base.agent();
    check_name(&base.name, agent, &field(path, "name"), findings);
    if let Some(max) = base.max_concurrency
        && max < 0
    {
        findings.error(
            field(path, "max_concurrency"),
            rule::MAX_CONCURRENCY,
            format!("max_concurrency is {max}: use 0 for unlimited, or a positive limit"),
        );
    }
    if let Some(job_labels) = &base.labels {
        labels::check_labels(job_labels, &field(path, "labels"), findings);
    }
    if let Some(annotations) = &base.annotations {
        labels::check_annotations(annotations, &field(path, "annotations"), findings);
    }
    check_agent(base, agent, path, findings);
    let decorated = decorated(base, ctx);
    if let Some(spec) = &base.spec {
        let pod = PodContext {
            job_type,
            decorated,
            decoration: base.decoration_config.as_ref(),
            version: ctx.version,
            job: &base.name,
        };
        pod_spec::check(&spec.raw(), &field(path, "spec"), &pod, findings);
    }
    if let Some(config) = &base.decoration_config {
        decoration::check(config, &field(path, "decoration_config"), findings);
    }
    if let Some(reporter) = &base.reporter_config {
        check_reporter(reporter, &field(path, "reporter_config"), findings);
    }
    if let Some(rerun) = &base.rerun_auth_config {
        check_rerun_auth(rerun, &field(path, "rerun_auth_config"), findings);
    }
    if let Some(defaults) = &base.prowjob_defaults {
        let defaults_path = field(path, "prowjob_defaults");
        findings.unknown(&defaults.unknown, &defaults_path);
        if let Some(resultstore) = &defaults.resultstore_config {
            findings.unknown(&resultstore.unknown, &field(&defaults_path, "resultstore_config"));
        }
    }
    if let Some(queue) = base.job_queue_name.as_deref().filter(|q| !q.is_empty())
        && !ctx.job_queues.contains(queue)
    {
        let known = if ctx.job_queues.is_empty() {
            "none is configured".to_string()
        } else {
            format!(
                "configured: {}",
                ctx.job_queues.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        findings.error(
            field(path, "job_queue_name"),
            rule::JOB_QUEUE,
            format!("job_queue_name {queue:?} is not a key of plank.job_queue_capacities ({known}): add the queue to the instance's config, or fix the name"),
        );
    }
    check_cluster(base.cluster(), ctx.clusters, &field(path, "cluster"), findings);
    let oauth = base
        .decoration_config
        .as_ref()
        .is_some_and(|d| d.oauth_token_secret.is_some());
    if oauth {
        check_clone_uri(base.clone_uri.as_deref(), &field(path, "clone_uri"), findings);
    }
    if let Some(refs) = &base.extra_refs {
        check_extra_refs(refs, job_type, repo, oauth, &field(path, "extra_refs"), findings);
    }
}

fn check_name(name: &str, agent: &str, path: &str, findings: &mut Findings) {
    if name.is_empty() {
        findings.error(path, rule::JOB_NAME, "every job needs a name");
        return;
    }
    let valid = if agent == JENKINS {
        JENKINS_NAME.is_match(name)
    } else {
        NAME.is_match(name)
    };
    if !valid {
        let allowed = if agent == JENKINS {
            "letters, digits, '-', '.', '_' and '/'"
        } else {
            "letters, digits, '-', '.' and '_' (only jenkins jobs may also use '/')"
        };
        findings.error(
            path,
            rule::JOB_NAME,
            format!("job name {name:?} may only contain {allowed}"),
        );
    }
    if name.chars().count() > MAX_NAME {
        findings.warning(
            path,
            rule::LONG_JOB_NAMES,
            format!(
                "job name {name:?} is {} characters long; names over {MAX_NAME} are truncated in the prow.k8s.io/job label, so selecting by it is unreliable: shorten it",
                name.chars().count()
            ),
        );
    }
}

/// The agent and the fields that depend on it (upstream's `validateAgent`).
fn check_agent(base: &JobBase, agent: &str, path: &str, findings: &mut Findings) {
    if ![KUBERNETES, JENKINS, TEKTON].contains(&agent) {
        findings.warning(
            field(path, "agent"),
            rule::AGENT,
            format!("agent {agent:?} is unknown (kubernetes, jenkins, tekton-pipeline): the job cannot be validated and nothing in Prow will run it unless a custom controller does"),
        );
        return;
    }
    if base.spec.is_some() && agent != KUBERNETES {
        findings.error(
            field(path, "spec"),
            rule::AGENT,
            format!("spec (a PodSpec) is only for agent: kubernetes, and this job's agent is {agent}: remove spec or the agent"),
        );
    }
    if agent == KUBERNETES && base.spec.is_none() {
        findings.error(
            field(path, "spec"),
            rule::AGENT,
            "a kubernetes job (the default agent) needs a spec: add the PodSpec to run, or set the agent (jenkins, tekton-pipeline)",
        );
    }
    let pipeline = base.pipeline_run_spec.is_some() || base.tekton_pipeline_run_spec.is_some();
    if pipeline && agent != TEKTON {
        let key = if base.pipeline_run_spec.is_some() {
            "pipeline_run_spec"
        } else {
            "tekton_pipeline_run_spec"
        };
        findings.error(
            field(path, key),
            rule::AGENT,
            format!("{key} is only for agent: tekton-pipeline, and this job's agent is {agent}"),
        );
    }
    if agent == TEKTON && !pipeline {
        findings.error(
            field(path, "tekton_pipeline_run_spec"),
            rule::AGENT,
            "a tekton-pipeline job needs pipeline_run_spec or tekton_pipeline_run_spec",
        );
    }
    if agent != KUBERNETES {
        if base.decorate == Some(true) {
            findings.error(
                field(path, "decorate"),
                rule::AGENT,
                format!("decoration is only for agent: kubernetes, and this job's agent is {agent}: remove decorate"),
            );
        }
        if base.decoration_config.is_some() {
            findings.error(
                field(path, "decoration_config"),
                rule::AGENT,
                format!("decoration_config is only for agent: kubernetes, and this job's agent is {agent}: remove it"),
            );
        }
        if base.error_on_eviction == Some(true) {
            findings.error(
                field(path, "error_on_eviction"),
                rule::AGENT,
                format!("error_on_eviction is only for agent: kubernetes, and this job's agent is {agent}: remove it"),
            );
        }
    }
    if let Some(namespace) = base.namespace.as_deref().filter(|n| !n.is_empty())
        && agent != TEKTON
    {
        findings.error(
            field(path, "namespace"),
            rule::NAMESPACE,
            format!("namespace {namespace:?} can only be set on tekton-pipeline jobs; {agent} jobs run in the instance's pod namespace: remove it"),
        );
    }
}

fn check_reporter(reporter: &ReporterConfig, path: &str, findings: &mut Findings) {
    findings.unknown(&reporter.unknown, path);
    let Some(slack) = &reporter.slack else { return };
    let slack_path = field(path, "slack");
    findings.unknown(&slack.unknown, &slack_path);
    if slack.channel.as_deref().is_some_and(|c| c.trim().is_empty()) {
        findings.warning(
            field(&slack_path, "channel"),
            rule::REPORTER,
            "channel is empty: set the Slack channel to report to, or remove it to use slack_reporter_configs",
        );
    }
    for (index, state) in slack.job_states_to_report.iter().flatten().enumerate() {
        if !JOB_STATES.contains(&state.as_str()) {
            findings.warning(
                item(&field(&slack_path, "job_states_to_report"), index),
                rule::REPORTER,
                format!(
                    "{state:?} is not a ProwJob state ({}): it will never be reported",
                    JOB_STATES.join(", ")
                ),
            );
        }
    }
}

fn check_rerun_auth(rerun: &RerunAuthConfig, path: &str, findings: &mut Findings) {
    findings.unknown(&rerun.unknown, path);
    for (index, team) in rerun.github_team_slugs.iter().flatten().enumerate() {
        findings.unknown(&team.unknown, &item(&field(path, "github_team_slugs"), index));
    }
    if rerun.allow_anyone == Some(true) {
        let lists = [
            (
                "github_users",
                rerun.github_users.as_ref().is_some_and(|l| !l.is_empty()),
            ),
            (
                "github_team_ids",
                rerun.github_team_ids.as_ref().is_some_and(|l| !l.is_empty()),
            ),
            (
                "github_team_slugs",
                rerun.github_team_slugs.as_ref().is_some_and(|l| !l.is_empty()),
            ),
            ("github_orgs", rerun.github_orgs.as_ref().is_some_and(|l| !l.is_empty())),
        ];
        for (key, set) in lists {
            if set {
                findings.error(
                    field(path, key),
                    rule::RERUN_AUTH,
                    format!("allow_anyone: true cannot be combined with {key}: remove the list, or allow_anyone"),
                );
            }
        }
    }
}

fn check_clone_uri(clone_uri: Option<&str>, path: &str, findings: &mut Findings) {
    if let Some(uri) = clone_uri.filter(|u| !u.is_empty())
        && !(uri.starts_with("https://") || uri.starts_with("http://"))
    {
        findings.error(
            path,
            rule::CLONE,
            format!("clone_uri {uri:?} is not an http(s) URL, but the job clones with oauth_token_secret, which only works over HTTP(S): use an https:// URI or ssh_key_secrets"),
        );
    }
}

fn check_extra_refs(
    refs: &[Refs],
    job_type: JobType,
    repo: Option<&str>,
    oauth: bool,
    path: &str,
    findings: &mut Findings,
) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // As upstream, a presubmit's own repository counts as cloned.
    if job_type == JobType::Presubmit
        && let Some(repo) = repo
    {
        seen.insert(repo.to_string());
    }
    for (index, refs) in refs.iter().enumerate() {
        let refs_path = item(path, index);
        findings.unknown(&refs.unknown, &refs_path);
        for (pull_index, pull) in refs.pulls.iter().flatten().enumerate() {
            findings.unknown(&pull.unknown, &item(&field(&refs_path, "pulls"), pull_index));
        }
        if refs.org.is_empty() || refs.repo.is_empty() {
            findings.error(&refs_path, rule::CLONE, "every extra_refs entry needs org and repo");
            continue;
        }
        let name = format!("{}/{}", refs.org, refs.repo);
        if !seen.insert(name.clone()) {
            findings.error(
                &refs_path,
                rule::DUPLICATE_JOB_REFS,
                format!("{name} is cloned more than once by this job (extra_refs repeats it, or it is the job's own repository): remove the duplicate"),
            );
        }
        if oauth {
            check_clone_uri(refs.clone_uri.as_deref(), &field(&refs_path, "clone_uri"), findings);
        }
    }
}

/// A job's `cluster` must be `default` or one of the instance's build clusters.
fn check_cluster(cluster: &str, clusters: KnownClusters<'_>, path: &str, findings: &mut Findings) {
    if cluster == prow_api::job::DEFAULT_CLUSTER {
        return;
    }
    match clusters {
        KnownClusters::Instance(known) if !known.contains(cluster) => {
            let configured = if known.is_empty() {
                "it has none".to_string()
            } else {
                format!(
                    "it has {}",
                    known.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
                )
            };
            findings.error(
                path,
                rule::BUILD_CLUSTER,
                format!("cluster {cluster:?} is not a build cluster of the instance ({configured}): add it to the ProwInstance's spec.buildClusters, or fix the name"),
            );
        }
        KnownClusters::NoInstance => findings.warning(
            path,
            rule::BUILD_CLUSTER,
            format!("the job runs on build cluster {cluster:?}, which no ProwInstance among the inputs declares"),
        ),
        KnownClusters::Instance(_) | KnownClusters::Unknown => {}
    }
}

#[cfg(test)]
mod tests {
    use prow_api::status::{Finding, Severity};
    use serde_json::{Value, json};

    use super::*;

    fn set(value: Value) -> JobSet {
        serde_json::from_value(value).expect("job set")
    }

    fn run_with(value: Value, decorate_all_jobs: bool, queues: &[&str]) -> Vec<Finding> {
        run_in(value, decorate_all_jobs, queues, KnownClusters::Unknown)
    }

    fn run_in(value: Value, decorate_all_jobs: bool, queues: &[&str], clusters: KnownClusters<'_>) -> Vec<Finding> {
        let queues: BTreeSet<String> = queues.iter().map(|q| q.to_string()).collect();
        let ctx = JobContext {
            decorate_all_jobs,
            job_queues: &queues,
            clusters,
            version: None,
        };
        let mut findings = Findings::default();
        check(&set(value), &ctx, "spec", &mut findings);
        findings.into_vec()
    }

    fn run(value: Value) -> Vec<Finding> {
        run_with(value, false, &[])
    }

    fn paths(value: Value) -> Vec<String> {
        run(value).into_iter().map(|f| f.path).collect()
    }

    fn pod() -> Value {
        json!({"containers": [{"image": "golang", "command": ["make", "test"]}]})
    }

    fn presubmit(extra: Value) -> Value {
        let mut job = json!({"name": "unit", "spec": pod()});
        merge(&mut job, extra);
        json!({"presubmits": {"org/repo": [job]}})
    }

    fn periodic(extra: Value) -> Value {
        let mut job = json!({"name": "nightly", "cron": "0 6 * * *", "spec": pod()});
        merge(&mut job, extra);
        json!({"periodics": [job]})
    }

    fn merge(target: &mut Value, extra: Value) {
        if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
            for (k, v) in extra {
                if v.is_null() {
                    target.remove(&k);
                } else {
                    target.insert(k, v);
                }
            }
        }
    }

    const P: &str = "spec.presubmits[\"org/repo\"][0]";

    #[test]
    fn a_valid_set_has_no_findings() {
        let findings = run(json!({
            "presubmits": {"org/repo": [
                {"name": "unit", "always_run": true, "decorate": true, "spec": pod(), "branches": ["^main$"]},
                {"name": "lint", "run_if_changed": "\\.go$", "spec": pod(), "trigger": "(?m)^/lint", "rerun_command": "/lint"}
            ]},
            "postsubmits": {"org/repo": [{"name": "push", "spec": pod(), "branches": ["^main$"], "max_concurrency": 1}]},
            "periodics": [
                {"name": "a", "cron": "@daily", "spec": pod()},
                {"name": "b", "interval": "1h30m", "spec": pod()},
                {"name": "c", "minimum_interval": "24h", "agent": "jenkins"}
            ]
        }));
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn names() {
        assert_eq!(paths(presubmit(json!({"name": "unit test"}))), [format!("{P}.name")]);
        assert_eq!(paths(presubmit(json!({"name": ""}))), [format!("{P}.name")]);
        assert_eq!(paths(presubmit(json!({"name": "a/b"}))), [format!("{P}.name")]);
        assert!(paths(presubmit(json!({"name": "a/b", "agent": "jenkins", "spec": null}))).is_empty());
        let long = run(presubmit(json!({"name": "x".repeat(64)})));
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].severity, Severity::Warning);
        assert_eq!(long[0].rule.as_deref(), Some("long-job-names"));
        assert!(run(presubmit(json!({"name": "x".repeat(63)}))).is_empty());
    }

    #[test]
    fn max_concurrency_not_negative() {
        assert_eq!(
            paths(presubmit(json!({"max_concurrency": -1}))),
            [format!("{P}.max_concurrency")]
        );
        assert!(paths(presubmit(json!({"max_concurrency": 0}))).is_empty());
    }

    #[test]
    fn regexes_compile() {
        assert_eq!(
            paths(presubmit(
                json!({"branches": ["("], "skip_branches": ["ok"], "run_if_changed": "[", "trigger": "(", "rerun_command": "/x"})
            )),
            [
                format!("{P}.branches[0]"),
                format!("{P}.run_if_changed"),
                format!("{P}.trigger")
            ]
        );
        assert_eq!(
            paths(presubmit(json!({"skip_if_only_changed": "*"}))),
            [format!("{P}.skip_if_only_changed")]
        );
    }

    #[test]
    fn trigger_and_rerun_command_together_and_matching() {
        assert_eq!(
            paths(presubmit(json!({"trigger": "/x"}))),
            [format!("{P}.rerun_command")]
        );
        assert_eq!(
            paths(presubmit(json!({"rerun_command": "/x"}))),
            [format!("{P}.trigger")]
        );
        assert_eq!(
            paths(presubmit(
                json!({"trigger": "(?m)^/test unit", "rerun_command": "/retest-unit"})
            )),
            [format!("{P}.rerun_command")]
        );
        assert!(
            paths(presubmit(
                json!({"trigger": "(?m)^/test unit", "rerun_command": "/test unit"})
            ))
            .is_empty()
        );
    }

    #[test]
    fn change_matchers_exclusive() {
        assert_eq!(
            paths(presubmit(json!({"always_run": true, "run_if_changed": "a"}))),
            [format!("{P}.always_run")]
        );
        assert_eq!(
            paths(presubmit(json!({"run_if_changed": "a", "skip_if_only_changed": "b"}))),
            [format!("{P}.skip_if_only_changed")]
        );
        assert!(paths(presubmit(json!({"always_run": false, "run_if_changed": "a"}))).is_empty());
        let post = json!({"postsubmits": {"org/repo": [{"name": "p", "spec": pod(), "always_run": true, "skip_if_only_changed": "x"}]}});
        assert_eq!(paths(post), ["spec.postsubmits[\"org/repo\"][0].always_run"]);
    }

    #[test]
    fn duplicates_on_overlapping_branches() {
        let jobs = json!({"presubmits": {"org/repo": [
            {"name": "unit", "spec": pod(), "branches": ["^main$"]},
            {"name": "unit", "spec": pod(), "branches": ["^release-1.0$"]},
            {"name": "unit", "spec": pod(), "branches": ["^main$"]},
            {"name": "e2e", "context": "unit", "spec": pod(), "branches": ["^release-1.0$"]}
        ], "org/other": [{"name": "unit", "spec": pod()}]}});
        let findings = run(jobs);
        let found: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.rule.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            found,
            [
                ("spec.presubmits[\"org/repo\"][2].name", "duplicate-job"),
                ("spec.presubmits[\"org/repo\"][3].context", "duplicate-context"),
            ]
        );
        assert!(findings[0].message.contains("spec.presubmits[\"org/repo\"][0]"));
        let post = json!({"postsubmits": {"org/repo": [{"name": "p", "spec": pod()}, {"name": "p", "spec": pod(), "branches": ["x"]}]}});
        assert_eq!(paths(post), ["spec.postsubmits[\"org/repo\"][1].name"]);
    }

    #[test]
    fn periodic_schedules() {
        assert_eq!(paths(periodic(json!({"cron": null}))), ["spec.periodics[0]"]);
        assert_eq!(
            paths(periodic(json!({"interval": "1h"}))),
            ["spec.periodics[0].interval"]
        );
        assert_eq!(paths(periodic(json!({"cron": "0 6 * *"}))), ["spec.periodics[0].cron"]);
        assert_eq!(
            paths(periodic(json!({"cron": null, "interval": "1d"}))),
            ["spec.periodics[0].interval"]
        );
        assert_eq!(
            paths(periodic(json!({"cron": null, "minimum_interval": "-1h"}))),
            ["spec.periodics[0].minimum_interval"]
        );
        assert_eq!(
            paths(periodic(
                json!({"retry": {"attempts": 11, "interval": "x", "run_al": true}})
            )),
            [
                "spec.periodics[0].retry.run_al",
                "spec.periodics[0].retry.interval",
                "spec.periodics[0].retry.attempts"
            ]
        );
        let twice = json!({"periodics": [{"name": "n", "interval": "1h", "spec": pod()}, {"name": "n", "interval": "2h", "spec": pod()}]});
        assert_eq!(paths(twice), ["spec.periodics[1].name"]);
    }

    #[test]
    fn agents() {
        assert_eq!(paths(periodic(json!({"spec": null}))), ["spec.periodics[0].spec"]);
        assert_eq!(paths(periodic(json!({"agent": "jenkins"}))), ["spec.periodics[0].spec"]);
        assert_eq!(
            paths(periodic(json!({"agent": "tekton-pipeline", "spec": null}))),
            ["spec.periodics[0].tekton_pipeline_run_spec"]
        );
        assert!(
            paths(periodic(
                json!({"agent": "tekton-pipeline", "spec": null, "pipeline_run_spec": {}, "namespace": "ci"})
            ))
            .is_empty()
        );
        assert_eq!(
            paths(periodic(json!({"pipeline_run_spec": {}}))),
            ["spec.periodics[0].pipeline_run_spec"]
        );
        assert_eq!(
            paths(periodic(
                json!({"agent": "jenkins", "spec": null, "decorate": true, "decoration_config": {}, "error_on_eviction": true})
            )),
            [
                "spec.periodics[0].decorate",
                "spec.periodics[0].decoration_config",
                "spec.periodics[0].error_on_eviction"
            ]
        );
        let unknown = run(periodic(json!({"agent": "knative-build", "spec": null})));
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].severity, Severity::Warning);
        assert_eq!(
            paths(periodic(json!({"namespace": "other"}))),
            ["spec.periodics[0].namespace"]
        );
        assert!(paths(periodic(json!({"namespace": ""}))).is_empty());
    }

    #[test]
    fn decoration_follows_decorate_all_jobs() {
        let job = periodic(json!({"spec": {"containers": [{"image": "x"}]}}));
        assert!(run_with(job.clone(), false, &[]).is_empty());
        assert_eq!(run_with(job.clone(), true, &[]).len(), 1);
        let undecorated = periodic(json!({"decorate": false, "spec": {"containers": [{"image": "x"}]}}));
        assert!(run_with(undecorated, true, &[]).is_empty());
        let findings = run_with(job, true, &[]);
        assert_eq!(findings[0].path, "spec.periodics[0].spec.containers[0]");
    }

    #[test]
    fn pod_spec_paths_are_exact() {
        let job = presubmit(json!({"spec": {"containers": [
            {"name": "a", "image": "x", "command": ["a"]},
            {"name": "b", "image": "y", "command": ["b"], "env": [{"name": "A"}, {"name": "B"}, {"name": "A"}]}
        ]}, "decorate": true}));
        assert_eq!(paths(job), [format!("{P}.spec.containers[1].env[2].name")]);
    }

    #[test]
    fn labels_and_annotations() {
        assert_eq!(
            paths(periodic(
                json!({"labels": {"prow.k8s.io/type": "periodic", "ok": "x".repeat(64)}, "annotations": {"not ok": "x"}})
            )),
            [
                "spec.periodics[0].labels[\"ok\"]",
                "spec.periodics[0].labels[\"prow.k8s.io/type\"]",
                "spec.periodics[0].annotations[\"not ok\"]"
            ]
        );
    }

    #[test]
    fn job_queues() {
        let job = periodic(json!({"job_queue_name": "gpu"}));
        assert_eq!(run_with(job.clone(), false, &[]).len(), 1);
        assert_eq!(
            run_with(job.clone(), false, &["cpu"])[0].path,
            "spec.periodics[0].job_queue_name"
        );
        assert!(run_with(job, false, &["gpu"]).is_empty());
    }

    #[test]
    fn a_jobs_cluster_must_be_a_build_cluster_of_the_instance() {
        let on = |cluster: &str| periodic(json!({"cluster": cluster}));
        let known: BTreeSet<String> = ["gke_proj_zone_build".to_string()].into();
        let instance = KnownClusters::Instance(&known);
        assert!(run_in(on("gke_proj_zone_build"), false, &[], instance).is_empty());
        assert!(run_in(on("default"), false, &[], instance).is_empty());
        let findings = run_in(on("gpu"), false, &[], instance);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            (
                findings[0].severity,
                findings[0].path.as_str(),
                findings[0].message.as_str()
            ),
            (
                Severity::Error,
                "spec.periodics[0].cluster",
                "cluster \"gpu\" is not a build cluster of the instance (it has \"gke_proj_zone_build\"): add it to the ProwInstance's spec.buildClusters, or fix the name"
            )
        );
        let findings = run_in(on("gpu"), false, &[], KnownClusters::NoInstance);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(run_in(on("gpu"), false, &[], KnownClusters::Unknown).is_empty());
    }

    #[test]
    fn rerun_auth_and_reporter() {
        assert_eq!(
            paths(periodic(
                json!({"rerun_auth_config": {"allow_anyone": true, "github_users": ["a"], "github_orgs": [], "github_team_slugs": [{"org": "o", "slug": "s", "x": 1}]}})
            )),
            [
                "spec.periodics[0].rerun_auth_config.github_team_slugs[0].x",
                "spec.periodics[0].rerun_auth_config.github_users",
                "spec.periodics[0].rerun_auth_config.github_team_slugs"
            ]
        );
        let findings = run(periodic(
            json!({"reporter_config": {"slack": {"channel": "", "job_states_to_report": ["failure", "failed"], "chanel": "x"}, "github": {}}}),
        ));
        let found: Vec<(&str, Severity)> = findings.iter().map(|f| (f.path.as_str(), f.severity)).collect();
        assert_eq!(
            found,
            [
                ("spec.periodics[0].reporter_config.github", Severity::Warning),
                ("spec.periodics[0].reporter_config.slack.chanel", Severity::Warning),
                ("spec.periodics[0].reporter_config.slack.channel", Severity::Warning),
                (
                    "spec.periodics[0].reporter_config.slack.job_states_to_report[1]",
                    Severity::Warning
                ),
            ]
        );
    }

    #[test]
    fn clone_settings() {
        let oauth = json!({"oauth_token_secret": {"name": "o", "key": "k"}});
        assert_eq!(
            paths(presubmit(
                json!({"clone_uri": "git@github.com:org/repo.git", "decoration_config": oauth})
            )),
            [format!("{P}.clone_uri")]
        );
        assert!(
            paths(presubmit(
                json!({"clone_uri": "https://github.com/org/repo.git", "decoration_config": oauth})
            ))
            .is_empty()
        );
        assert!(paths(presubmit(json!({"clone_uri": "git@github.com:org/repo.git"}))).is_empty());
        assert_eq!(
            paths(presubmit(json!({"extra_refs": [
                {"org": "org", "repo": "repo", "base_ref": "main"},
                {"org": "o", "repo": "r", "base_ref": "main", "workdir": true, "bas_ref": "x"},
                {"org": "o", "repo": "r", "base_ref": "dev"}
            ]}))),
            [
                format!("{P}.extra_refs[0]"),
                format!("{P}.extra_refs[1].bas_ref"),
                format!("{P}.extra_refs[2]")
            ]
        );
        let refs = run(presubmit(json!({"extra_refs": [{"org": "org", "repo": "repo"}]})));
        assert_eq!(refs[0].rule.as_deref(), Some("duplicate-job-refs"));
    }

    #[test]
    fn unknown_fields_everywhere() {
        let job = presubmit(json!({
            "alwaysRun": true,
            "decoration_config": {"timeout": "1h", "timout": "2h"},
            "prowjob_defaults": {"tenant_id": "t", "tenant": "x", "resultstore_config": {"project": "p"}},
            "jenkins_spec": {"branch_source": true}
        }));
        assert_eq!(
            paths(job),
            [
                format!("{P}.decoration_config.timout"),
                format!("{P}.prowjob_defaults.tenant"),
                format!("{P}.prowjob_defaults.resultstore_config.project"),
                format!("{P}.jenkins_spec.branch_source"),
                format!("{P}.alwaysRun"),
            ]
        );
        let periodic_unknown = paths(periodic(json!({"branches": ["main"]})));
        assert_eq!(periodic_unknown, ["spec.periodics[0].branches"]);
    }

    #[test]
    fn repo_keys() {
        let findings = run(json!({"presubmits": {"repo-without-org": [{"name": "a", "spec": pod()}]}}));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn skip_report_with_a_gerrit_vote() {
        let labels = json!({"prow.k8s.io/gerrit-report-label": "Verified"});
        assert_eq!(
            paths(presubmit(json!({"skip_report": true, "labels": labels}))),
            [format!("{P}.labels[\"prow.k8s.io/gerrit-report-label\"]")]
        );
        assert!(paths(presubmit(json!({"skip_report": false, "labels": labels}))).is_empty());
    }
}
