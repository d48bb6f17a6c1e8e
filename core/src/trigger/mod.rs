//! The trigger: which presubmits a `pull_request` event runs and which postsubmits a `push`
//! runs, with upstream's rules (reference §7.1); [`commands`] does the same for comments, on
//! the [`events`] GitHub sends. Each answers with an [`Outcome`]: the changed files are needed,
//! the event is refused (and why), or the jobs to create and abort. Trust ([`trust`]) is a pure
//! function of membership answers the caller looks up; everything here is data in, decision out.

use prow_api::job::{Brancher, ChangeMatcher, JobSet, Postsubmit, Presubmit};

use crate::patterns;
use events::{PullRequestEvent, PushEvent};

pub mod commands;
pub mod events;
pub mod trust;

/// The label that lets an untrusted author's pull request run jobs.
pub const OK_TO_TEST: &str = "ok-to-test";
/// The label marking a pull request that waits for `/ok-to-test`.
pub const NEEDS_OK_TO_TEST: &str = "needs-ok-to-test";
/// The label an approver adds; on an untrusted pull request it runs the jobs once.
pub const LGTM: &str = "lgtm";

/// Why a job was or was not selected, for `trigger --explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The job.
    pub job: String,
    /// Whether it runs.
    pub selected: bool,
    /// Why.
    pub reason: String,
}

/// What the trigger does besides creating ProwJobs: labels, replies and aborts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Abort the pull request's unfinished presubmits (before creating any).
    pub abort_unfinished: bool,
    /// Labels to add to the pull request.
    pub add_labels: Vec<String>,
    /// Labels to remove from the pull request.
    pub remove_labels: Vec<String>,
    /// Comments to post on the pull request.
    pub replies: Vec<String>,
}

/// No effects, for outcomes that have none.
static NO_EFFECTS: Effects = Effects {
    abort_unfinished: false,
    add_labels: Vec::new(),
    remove_labels: Vec::new(),
    replies: Vec::new(),
};

/// What the trigger decides for an event, for jobs of type `J`: the caller acts on it as it is
/// and infers nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<'a, J> {
    /// A job to judge filters on the changed files, which were not given: fetch them and decide
    /// again with them. Nothing else is decided yet.
    NeedsChangedFiles,
    /// The event starts no job, because of `reason`; its `effects` still apply.
    Refused {
        /// Why, as a sentence for `trigger --explain`.
        reason: String,
        /// Labels, replies and aborts.
        effects: Effects,
    },
    /// The jobs were judged: create the ProwJobs of `create`, and apply the `effects`.
    Act {
        /// The jobs to start.
        create: Vec<&'a J>,
        /// Labels, replies and aborts.
        effects: Effects,
        /// Why, job by job.
        explanations: Vec<Explanation>,
        /// The jobs were asked for by `/retest` (their ProwJobs get `prow.k8s.io/retest`).
        retest: bool,
    },
}

impl<'a, J> Outcome<'a, J> {
    /// A refusal with no effects.
    fn refused(reason: impl Into<String>) -> Self {
        Outcome::Refused {
            reason: reason.into(),
            effects: Effects::default(),
        }
    }

    /// The jobs to start (none unless [`Outcome::Act`]).
    pub fn create(&self) -> &[&'a J] {
        match self {
            Outcome::Act { create, .. } => create,
            Outcome::NeedsChangedFiles | Outcome::Refused { .. } => &[],
        }
    }

    /// The labels, replies and aborts (none for [`Outcome::NeedsChangedFiles`]).
    pub fn effects(&self) -> &Effects {
        match self {
            Outcome::Act { effects, .. } | Outcome::Refused { effects, .. } => effects,
            Outcome::NeedsChangedFiles => &NO_EFFECTS,
        }
    }

    /// Why: each job's verdict, or the one reason of a refusal (a note naming no job).
    pub fn explanations(&self) -> Vec<Explanation> {
        match self {
            Outcome::Act { explanations, .. } => explanations.clone(),
            Outcome::Refused { reason, .. } => vec![Explanation {
                job: String::new(),
                selected: false,
                reason: reason.clone(),
            }],
            Outcome::NeedsChangedFiles => Vec::new(),
        }
    }
}

/// Who the trigger trusts for this pull request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    /// The author is an org member, a collaborator (unless `only_org_members`) or a trusted app.
    pub author_trusted: bool,
    /// `ignore_ok_to_test` is set for the repository.
    pub ignore_ok_to_test: bool,
    /// The bot's login (its own label changes start nothing).
    pub bot: String,
    /// The org whose members verify pull requests (`trusted_org`, else the repository's org).
    pub org: String,
    /// Where an untrusted author can ask to join that org (`join_org_url`; default the org's
    /// people page).
    pub join_org_url: Option<String>,
}

impl Trust {
    /// The comment that greets an untrusted author: what `/ok-to-test` is and who may say it.
    pub fn welcome(&self, author: &str) -> String {
        let join = self
            .join_org_url
            .clone()
            .unwrap_or_else(|| format!("https://github.com/orgs/{}/people", self.org));
        format!(
            "Hi @{author}. Thanks for your PR.\n\n\
             A member of [{org}]({join}) needs to check that this change is safe to test. If it \
             is, they reply with `/ok-to-test` on a line of its own. Until then, new commits are \
             not tested automatically, though org members can still start tests with the usual \
             commands. Regular contributors can [join the org]({join}) to skip this step.\n\n\
             Once the change is verified, the `{OK_TO_TEST}` label shows it.",
            org = self.org,
        )
    }
}

/// The comment on a draft pull request opened by a trusted author.
pub const DRAFT_SKIPPED: &str = "Skipping CI for Draft Pull Request.\n\
    If you want CI signal for your change, mark it ready for review. You can still start tests by \
    hand with `/test all`.";

/// Whether any of `jobs` needs the changed files to decide (has a changed-file filter and does
/// not always run), so the caller fetches them at most once, and only then.
pub fn needs_changed_files(jobs: &[Presubmit]) -> bool {
    jobs.iter()
        .any(|job| !job.always_run.unwrap_or(false) && job.changes.is_set())
}

/// The presubmits and postsubmits that `sets` define for `org/repo`, in order.
pub fn repo_jobs<'a>(sets: impl IntoIterator<Item = &'a JobSet>, repo: &str) -> (Vec<Presubmit>, Vec<Postsubmit>) {
    let mut presubmits = Vec::new();
    let mut postsubmits = Vec::new();
    // GitHub's org and repository names are case-insensitive, and so is this lookup.
    for set in sets {
        let named = |key: &&String| key.eq_ignore_ascii_case(repo);
        for (_, jobs) in set.presubmits.iter().filter(|(key, _)| named(key)) {
            presubmits.extend(jobs.iter().cloned());
        }
        for (_, jobs) in set.postsubmits.iter().filter(|(key, _)| named(key)) {
            postsubmits.extend(jobs.iter().cloned());
        }
    }
    (presubmits, postsubmits)
}

/// The refs of the ProwJobs a push starts: the pushed branch (or tag) at the pushed commit.
pub fn push_refs(event: &PushEvent) -> prow_api::job::Refs {
    prow_api::job::Refs {
        org: event.repository.owner.login.clone(),
        repo: event.repository.name.clone(),
        repo_link: event.repository.html_url.clone(),
        base_ref: Some(event.branch().to_string()),
        base_sha: Some(event.after.clone()),
        base_link: event.compare.clone(),
        ..prow_api::job::Refs::default()
    }
}

/// The refs of the ProwJobs a pull request starts: its base at the base SHA, with the pull.
pub fn pull_request_refs(pr: &events::PullRequest) -> prow_api::job::Refs {
    prow_api::job::Refs {
        org: pr.base.repo.owner.login.clone(),
        repo: pr.base.repo.name.clone(),
        repo_link: pr.base.repo.html_url.clone(),
        base_ref: Some(pr.base.git_ref.clone()),
        base_sha: Some(pr.base.sha.clone()),
        pulls: Some(vec![prow_api::job::Pull {
            number: pr.number,
            author: pr.user.login.clone(),
            sha: pr.head.sha.clone(),
            title: Some(pr.title.clone()),
            head_ref: Some(pr.head.git_ref.clone()),
            link: pr.html_url.clone(),
            author_link: pr.user.html_url.clone(),
            ..prow_api::job::Pull::default()
        }]),
        ..prow_api::job::Refs::default()
    }
}

/// Decides a `pull_request` event. `changed_files` are the pull request's files, when known;
/// without them, an event that gets as far as the jobs asks for them when a job needs them.
pub fn on_pull_request<'a>(
    event: &PullRequestEvent,
    presubmits: &'a [Presubmit],
    trust: &Trust,
    changed_files: Option<&[String]>,
) -> Outcome<'a, Presubmit> {
    let pr = &event.pull_request;
    let trusted = trust.author_trusted || pr.has_label(OK_TO_TEST);
    let mut effects = Effects::default();
    let not_trusted = || Err("the pull request is not trusted: it needs the ok-to-test label".to_string());
    let runs: Result<(), String> = match event.action.as_str() {
        "opened" if !trusted => {
            effects.replies.push(trust.welcome(&pr.user.login));
            if !trust.ignore_ok_to_test && !pr.has_label(OK_TO_TEST) {
                effects.add_labels.push(NEEDS_OK_TO_TEST.to_string());
            }
            Err(format!(
                "the author {} is not trusted: a member must comment /ok-to-test",
                pr.user.login
            ))
        }
        "opened" => Ok(()),
        "reopened" | "ready_for_review" if trusted => {
            if pr.has_label(NEEDS_OK_TO_TEST) {
                effects.remove_labels.push(NEEDS_OK_TO_TEST.to_string());
            }
            Ok(())
        }
        "reopened" | "ready_for_review" => not_trusted(),
        "edited" if !event.changed_base() => {
            Err("an edit that does not change the base branch starts nothing".to_string())
        }
        "edited" if trusted => Ok(()),
        "edited" => not_trusted(),
        "synchronize" => {
            effects.abort_unfinished = true;
            if trusted { Ok(()) } else { not_trusted() }
        }
        "labeled" => match event.label.as_ref().map(|l| l.name.as_str()) {
            Some(LGTM) if !trusted => Ok(()),
            Some(LGTM) => Err(format!("the label {LGTM} starts nothing on a trusted pull request")),
            Some(OK_TO_TEST) if event.sender.login != trust.bot => Ok(()),
            Some(OK_TO_TEST) => Err(format!("the bot's own {OK_TO_TEST} label starts nothing")),
            label => Err(format!("the label {:?} starts nothing", label.unwrap_or_default())),
        },
        "closed" | "converted_to_draft" => {
            effects.abort_unfinished = true;
            Err(format!(
                "the action {:?} starts nothing and aborts the unfinished presubmits",
                event.action
            ))
        }
        other => Err(format!("the action {other:?} starts nothing")),
    };
    if let Err(reason) = runs {
        return Outcome::Refused { reason, effects };
    }
    if pr.draft {
        if event.action == "opened" {
            effects.replies.push(DRAFT_SKIPPED.to_string());
        }
        return Outcome::Refused {
            reason: "draft pull requests never run jobs automatically".to_string(),
            effects,
        };
    }
    if pr.mergeable == Some(false) {
        return Outcome::Refused {
            reason: "the pull request cannot be merged (conflicts): no jobs run".to_string(),
            effects,
        };
    }
    if changed_files.is_none() && needs_changed_files(presubmits) {
        return Outcome::NeedsChangedFiles;
    }
    let mut create = Vec::new();
    let mut explanations = Vec::new();
    for job in presubmits {
        let verdict = automatic(job, &pr.base.git_ref, changed_files);
        record(&mut create, &mut explanations, job, &job.base.name, verdict);
    }
    Outcome::Act {
        create,
        effects,
        explanations,
        retest: false,
    }
}

/// Records a job's verdict: the job runs when selected, and the reason is kept either way.
pub(crate) fn record<'a, J>(
    run: &mut Vec<&'a J>,
    explanations: &mut Vec<Explanation>,
    job: &'a J,
    name: &str,
    (selected, reason): (bool, String),
) {
    if selected {
        run.push(job);
    }
    explanations.push(Explanation {
        job: name.to_string(),
        selected,
        reason,
    });
}

/// Whether a presubmit runs without being asked for by name: on a matching branch, when it
/// always runs, or when its changed-file filter says so.
fn automatic(job: &Presubmit, branch: &str, changed_files: Option<&[String]>) -> (bool, String) {
    if let Err(reason) = branch_matches(&job.brancher, branch) {
        return (false, reason);
    }
    if job.always_run.unwrap_or(false) {
        return (true, "always_run".to_string());
    }
    if job.changes.is_set() {
        return changes_match(&job.changes, changed_files);
    }
    (
        false,
        format!(
            "runs only when asked: {}",
            job.rerun_command
                .clone()
                .unwrap_or_else(|| format!("/test {}", job.base.name))
        ),
    )
}

/// Whether a job runs on `branch`: `skip_branches` wins, then `branches`; both are joined with
/// `|` and matched **unanchored**, as upstream, so `main` also matches `maintenance`.
pub fn branch_matches(brancher: &Brancher, branch: &str) -> Result<String, String> {
    // Most lists hold one pattern: that one is used as it is.
    fn joined(list: &Option<Vec<String>>) -> Option<std::borrow::Cow<'_, str>> {
        match list.as_deref() {
            None | Some([]) => None,
            Some([one]) => Some(std::borrow::Cow::Borrowed(one.as_str())),
            Some(many) => Some(std::borrow::Cow::Owned(many.join("|"))),
        }
    }
    if let Some(skip) = joined(&brancher.skip_branches)
        && patterns::compile(&skip).is_ok_and(|regex| regex.is_match(branch))
    {
        return Err(format!("branch {branch:?} is skipped by skip_branches {skip:?}"));
    }
    match joined(&brancher.branches) {
        None => Ok(format!("branch {branch:?}: every branch")),
        Some(run) => match patterns::compile(&run) {
            Ok(regex) if regex.is_match(branch) => Ok(format!("branch {branch:?} matches {run:?}")),
            Ok(_) => Err(format!("branch {branch:?} does not match branches {run:?}")),
            Err(error) => Err(format!("branches {run:?} is not a valid regex: {error}")),
        },
    }
}

/// Whether changed files make a job run: `run_if_changed` needs any file to match;
/// `skip_if_only_changed` needs any file not to match.
pub(crate) fn changes_match(changes: &ChangeMatcher, changed_files: Option<&[String]>) -> (bool, String) {
    let Some(files) = changed_files else {
        return (false, "the changed files are unknown".to_string());
    };
    if let Some(pattern) = changes.run_if_changed.as_deref().filter(|p| !p.is_empty()) {
        return match patterns::compile(pattern) {
            Ok(regex) => match files.iter().find(|f| regex.is_match(f)) {
                Some(file) => (true, format!("{file} matches run_if_changed {pattern:?}")),
                None => (false, format!("no changed file matches run_if_changed {pattern:?}")),
            },
            Err(error) => (
                false,
                format!("run_if_changed {pattern:?} is not a valid regex: {error}"),
            ),
        };
    }
    let pattern = changes.skip_if_only_changed.as_deref().unwrap_or_default();
    match patterns::compile(pattern) {
        Ok(regex) => match files.iter().find(|f| !regex.is_match(f)) {
            Some(file) => (
                true,
                format!("{file} is not covered by skip_if_only_changed {pattern:?}"),
            ),
            None => (
                false,
                format!("every changed file matches skip_if_only_changed {pattern:?}"),
            ),
        },
        Err(error) => (
            false,
            format!("skip_if_only_changed {pattern:?} is not a valid regex: {error}"),
        ),
    }
}

/// Decides a `push` event: postsubmits on a matching branch (or tag) run when their
/// changed-file filter says so, or, without one, unless `always_run: false`. A deletion, or a
/// push whose `after` is all zeros, starts nothing. The changed files are the payload's.
pub fn on_push<'a>(event: &PushEvent, postsubmits: &'a [Postsubmit]) -> Outcome<'a, Postsubmit> {
    if event.deleted || event.after.chars().all(|c| c == '0') {
        return Outcome::refused("the push deleted the ref: nothing runs");
    }
    let branch = event.branch();
    let files = event.changed_files();
    let mut create = Vec::new();
    let mut explanations = Vec::new();
    for job in postsubmits {
        let verdict = match branch_matches(&job.brancher, branch) {
            Err(reason) => (false, reason),
            Ok(_) if job.changes.is_set() => changes_match(&job.changes, Some(&files)),
            Ok(_) if job.always_run == Some(false) => {
                (false, "always_run: false and no changed-file filter".to_string())
            }
            Ok(reason) => (true, reason),
        };
        record(&mut create, &mut explanations, job, &job.base.name, verdict);
    }
    Outcome::Act {
        create,
        effects: Effects::default(),
        explanations,
        retest: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn presubmits() -> Vec<Presubmit> {
        serde_json::from_value(json!([
            {"name": "always", "always_run": true},
            {"name": "docs", "run_if_changed": "^docs/"},
            {"name": "code", "skip_if_only_changed": "\\.md$"},
            {"name": "manual"},
            {"name": "main-only", "always_run": true, "branches": ["main"]},
            {"name": "not-release", "always_run": true, "skip_branches": ["^release-"]}
        ]))
        .unwrap()
    }

    fn event(action: &str, base: &str) -> PullRequestEvent {
        serde_json::from_value(json!({
            "action": action,
            "pull_request": {"number": 1, "user": {"login": "alice"}, "base": {"ref": base}, "head": {"sha": "abc"}},
            "sender": {"login": "alice"}
        }))
        .unwrap()
    }

    fn trusted() -> Trust {
        Trust {
            author_trusted: true,
            ignore_ok_to_test: false,
            bot: "bot".into(),
            org: "acme".into(),
            join_org_url: None,
        }
    }

    fn names(decision: &Outcome<'_, Presubmit>) -> Vec<String> {
        decision.create().iter().map(|j| j.base.name.clone()).collect()
    }

    /// One row per `pull_request` action (reference §7.1): whether it runs the automatic jobs,
    /// aborts the unfinished ones, and which labels it adds and removes.
    #[test]
    fn every_pull_request_action() {
        let jobs = presubmits();
        let with_label = |mut event: PullRequestEvent, label: &str| {
            event
                .pull_request
                .labels
                .push(super::events::Label { name: label.into() });
            event
        };
        let labeled = |label: &str, sender: &str| {
            let mut event = with_label(event("labeled", "main"), label);
            event.label = Some(super::events::Label { name: label.into() });
            event.sender.login = sender.into();
            event
        };
        let mut edited_base = event("edited", "main");
        edited_base.changes = Some(json!({"base": {"ref": {"from": "develop"}}}));
        let member = trusted();
        let untrusted = Trust {
            author_trusted: false,
            ..trusted()
        };
        // (row, event, trust, runs, aborts, added, removed)
        type Row<'a> = (
            &'a str,
            PullRequestEvent,
            &'a Trust,
            bool,
            bool,
            Vec<&'a str>,
            Vec<&'a str>,
        );
        let rows: Vec<Row<'_>> = vec![
            (
                "opened, trusted",
                event("opened", "main"),
                &member,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "opened, untrusted",
                event("opened", "main"),
                &untrusted,
                false,
                false,
                vec![NEEDS_OK_TO_TEST],
                vec![],
            ),
            (
                "opened, untrusted, ok-to-test already",
                with_label(event("opened", "main"), OK_TO_TEST),
                &untrusted,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "reopened, trusted",
                with_label(event("reopened", "main"), NEEDS_OK_TO_TEST),
                &member,
                true,
                false,
                vec![],
                vec![NEEDS_OK_TO_TEST],
            ),
            (
                "reopened, untrusted",
                event("reopened", "main"),
                &untrusted,
                false,
                false,
                vec![],
                vec![],
            ),
            (
                "ready_for_review, trusted",
                event("ready_for_review", "main"),
                &member,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "edited, title only",
                event("edited", "main"),
                &member,
                false,
                false,
                vec![],
                vec![],
            ),
            (
                "edited, base changed",
                edited_base.clone(),
                &member,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "edited, base changed, untrusted",
                edited_base,
                &untrusted,
                false,
                false,
                vec![],
                vec![],
            ),
            (
                "synchronize, trusted",
                event("synchronize", "main"),
                &member,
                true,
                true,
                vec![],
                vec![],
            ),
            (
                "synchronize, untrusted",
                event("synchronize", "main"),
                &untrusted,
                false,
                true,
                vec![],
                vec![],
            ),
            (
                "labeled lgtm, untrusted",
                labeled(LGTM, "maintainer"),
                &untrusted,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "labeled lgtm, trusted",
                labeled(LGTM, "maintainer"),
                &member,
                false,
                false,
                vec![],
                vec![],
            ),
            (
                "labeled ok-to-test by a member",
                labeled(OK_TO_TEST, "maintainer"),
                &untrusted,
                true,
                false,
                vec![],
                vec![],
            ),
            (
                "labeled ok-to-test by the bot",
                labeled(OK_TO_TEST, "bot"),
                &untrusted,
                false,
                false,
                vec![],
                vec![],
            ),
            (
                "labeled other",
                labeled("kind/bug", "maintainer"),
                &member,
                false,
                false,
                vec![],
                vec![],
            ),
            ("closed", event("closed", "main"), &member, false, true, vec![], vec![]),
            (
                "converted_to_draft",
                event("converted_to_draft", "main"),
                &member,
                false,
                true,
                vec![],
                vec![],
            ),
            (
                "assigned",
                event("assigned", "main"),
                &member,
                false,
                false,
                vec![],
                vec![],
            ),
        ];
        for (row, event, trust, runs, aborts, added, removed) in rows {
            let decision = on_pull_request(&event, &jobs, trust, Some(&["main.go".to_string()]));
            assert_eq!(!decision.create().is_empty(), runs, "{row}: runs");
            assert_eq!(decision.effects().abort_unfinished, aborts, "{row}: aborts");
            assert_eq!(decision.effects().add_labels, added, "{row}: labels added");
            assert_eq!(decision.effects().remove_labels, removed, "{row}: labels removed");
        }
    }

    #[test]
    fn opened_by_a_member_runs_automatic_jobs() {
        let jobs = presubmits();
        let files = vec!["docs/a.md".to_string()];
        let decision = on_pull_request(&event("opened", "main"), &jobs, &trusted(), Some(&files));
        assert_eq!(names(&decision), ["always", "docs", "main-only", "not-release"]);
        assert!(!decision.effects().abort_unfinished);
    }

    #[test]
    fn unanchored_main_matches_maintenance() {
        let jobs = presubmits();
        let decision = on_pull_request(&event("opened", "maintenance"), &jobs, &trusted(), Some(&[]));
        assert!(names(&decision).contains(&"main-only".to_string()));
        let decision = on_pull_request(&event("opened", "release-1.0"), &jobs, &trusted(), Some(&[]));
        assert!(!names(&decision).contains(&"not-release".to_string()));
    }

    #[test]
    fn untrusted_authors_get_the_label_and_no_jobs() {
        let jobs = presubmits();
        let untrusted = Trust {
            author_trusted: false,
            ..trusted()
        };
        let decision = on_pull_request(&event("opened", "main"), &jobs, &untrusted, Some(&[]));
        assert!(decision.create().is_empty());
        assert_eq!(decision.effects().add_labels, [NEEDS_OK_TO_TEST]);
        assert_eq!(decision.effects().replies.len(), 1, "the author is greeted once");
        assert!(
            decision.effects().replies[0].contains("/ok-to-test")
                && decision.effects().replies[0].contains("https://github.com/orgs/acme/people")
        );
        let ignoring = Trust {
            ignore_ok_to_test: true,
            join_org_url: Some("https://example.com/join".into()),
            ..untrusted.clone()
        };
        let decision = on_pull_request(&event("opened", "main"), &jobs, &ignoring, Some(&[]));
        assert!(
            decision.effects().add_labels.is_empty(),
            "ignore_ok_to_test: no needs-ok-to-test label"
        );
        assert!(decision.effects().replies[0].contains("https://example.com/join"));
        let mut labeled = event("labeled", "main");
        labeled.label = Some(super::events::Label {
            name: OK_TO_TEST.into(),
        });
        labeled.pull_request.labels.push(super::events::Label {
            name: OK_TO_TEST.into(),
        });
        labeled.sender.login = "maintainer".into();
        assert!(
            !on_pull_request(&labeled, &jobs, &untrusted, Some(&[]))
                .create()
                .is_empty()
        );
    }

    #[test]
    fn synchronize_aborts_then_runs_and_unmergeable_or_draft_run_nothing() {
        let jobs = presubmits();
        let decision = on_pull_request(&event("synchronize", "main"), &jobs, &trusted(), Some(&[]));
        assert!(decision.effects().abort_unfinished && !decision.create().is_empty());
        let mut unmergeable = event("synchronize", "main");
        unmergeable.pull_request.mergeable = Some(false);
        let decision = on_pull_request(&unmergeable, &jobs, &trusted(), Some(&[]));
        assert!(decision.effects().abort_unfinished && decision.create().is_empty());
        let mut draft = event("opened", "main");
        draft.pull_request.draft = true;
        let drafted = on_pull_request(&draft, &jobs, &trusted(), Some(&[]));
        assert!(drafted.create().is_empty());
        assert_eq!(
            drafted.effects().replies,
            [DRAFT_SKIPPED],
            "a draft opened by a trusted author is told why"
        );
        assert!(
            on_pull_request(&event("closed", "main"), &jobs, &trusted(), None)
                .effects()
                .abort_unfinished
        );
    }

    /// The event alone, with no jobs, says whether the jobs would be judged: what the trigger
    /// asks before it fetches the changed files, so it judges the jobs once.
    #[test]
    fn the_event_alone_says_whether_jobs_are_considered() {
        let considered = |event: &PullRequestEvent, trust: &Trust| {
            matches!(on_pull_request(event, &[], trust, None), Outcome::Act { .. })
        };
        assert!(considered(&event("synchronize", "main"), &trusted()));
        assert!(considered(&event("opened", "main"), &trusted()));
        assert!(!considered(&event("closed", "main"), &trusted()));
        let untrusted = Trust {
            author_trusted: false,
            ..trusted()
        };
        assert!(!considered(&event("synchronize", "main"), &untrusted));
        let mut draft = event("opened", "main");
        draft.pull_request.draft = true;
        assert!(!considered(&draft, &trusted()));
        // With jobs, the same answer, and the jobs judged.
        let jobs = presubmits();
        let decision = on_pull_request(&event("synchronize", "main"), &jobs, &trusted(), Some(&[]));
        assert!(matches!(decision, Outcome::Act { .. }));
        assert_eq!(decision.explanations().len(), jobs.len());
    }

    /// Without the changed files, an event that reaches jobs filtering on them asks for them,
    /// and only then; an event that starts nothing says why instead.
    #[test]
    fn the_changed_files_are_asked_for_only_when_a_judged_job_needs_them() {
        let jobs = presubmits();
        let asked = on_pull_request(&event("opened", "main"), &jobs, &trusted(), None);
        assert_eq!(asked, Outcome::NeedsChangedFiles);
        let unfiltered: Vec<Presubmit> = jobs.iter().filter(|j| !j.changes.is_set()).cloned().collect();
        let decided = on_pull_request(&event("opened", "main"), &unfiltered, &trusted(), None);
        assert!(matches!(decided, Outcome::Act { .. }));
        match on_pull_request(&event("closed", "main"), &jobs, &trusted(), None) {
            Outcome::Refused { reason, effects } => {
                assert!(reason.contains("closed"), "{reason}");
                assert!(effects.abort_unfinished);
            }
            other => panic!("closed: {other:?}"),
        }
    }

    #[test]
    fn changed_files_decide_filtered_jobs() {
        let jobs = presubmits();
        let only_docs = vec!["README.md".to_string()];
        let decision = on_pull_request(&event("opened", "main"), &jobs, &trusted(), Some(&only_docs));
        assert!(
            !names(&decision).contains(&"code".to_string()),
            "only .md files: skip_if_only_changed skips"
        );
        let code = vec!["main.go".to_string()];
        let decision = on_pull_request(&event("opened", "main"), &jobs, &trusted(), Some(&code));
        assert!(names(&decision).contains(&"code".to_string()));
        assert!(needs_changed_files(&jobs));
    }

    #[test]
    fn pushes_run_postsubmits_by_branch_and_files() {
        let jobs: Vec<Postsubmit> = serde_json::from_value(json!([
            {"name": "publish", "branches": ["^main$"]},
            {"name": "docs", "run_if_changed": "^docs/"},
            {"name": "off", "always_run": false},
            {"name": "tags", "branches": ["^v\\d+"]}
        ]))
        .unwrap();
        let push: PushEvent = serde_json::from_value(json!({
            "ref": "refs/heads/main", "after": "abc", "commits": [{"added": ["docs/x.md"], "modified": ["go.mod"]}]
        }))
        .unwrap();
        let decision = on_push(&push, &jobs);
        let names: Vec<&str> = decision.create().iter().map(|j| j.base.name.as_str()).collect();
        assert_eq!(names, ["publish", "docs"]);
        let tag: PushEvent = serde_json::from_value(json!({"ref": "refs/tags/v1.2.0", "after": "abc"})).unwrap();
        assert_eq!(
            on_push(&tag, &jobs)
                .create()
                .iter()
                .map(|j| j.base.name.as_str())
                .collect::<Vec<_>>(),
            ["tags"]
        );
        let deleted: PushEvent =
            serde_json::from_value(json!({"ref": "refs/heads/main", "after": "0000000", "deleted": true})).unwrap();
        assert!(on_push(&deleted, &jobs).create().is_empty());
    }
}
