//! The trigger's comment commands (reference §7.1): `/test <name>`, `/test all`, `/retest`,
//! `/retest-required`, `/test-manual-required`, `/ok-to-test` and `/ok-to-test cancel`, read per
//! line outside code blocks, and the help replies.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use prow_api::job::Presubmit;
use regex::Regex;

use super::events::PullRequest;
use super::{
    Effects, NEEDS_OK_TO_TEST, OK_TO_TEST, Outcome, branch_matches, changes_match, needs_changed_files, record,
};
use crate::patterns;

static RETEST: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/retest\s*$"));
static RETEST_REQUIRED: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/retest-required\s*$"));
static TEST_ALL: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/test all,?($|\s.*)"));
static OK_TO_TEST_COMMAND: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/ok-to-test\s*$"));
static TEST_HELP: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/test\s*(\?\s*)?$"));
static TEST_TARGET: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/test\s+(\S.*)$"));
static RETEST_TARGET: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/retest\s+\S"));
static TEST_MANUAL_REQUIRED: LazyLock<Regex> =
    LazyLock::new(|| crate::patterns::literal(r"(?m)^/test-manual-required\s*$"));
static OK_TO_TEST_CANCEL: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"(?m)^/ok-to-test cancel\s*$"));

/// The default trigger of a job: `/test <name>` on a line of its own, the name not escaped, as
/// upstream.
pub fn default_trigger(name: &str) -> String {
    format!(r"(?m)^/test( | .* ){name},?($|\s.*)")
}

/// Removes fenced code blocks, where commands are not read.
pub fn strip_code_blocks(body: &str) -> String {
    let mut kept = String::new();
    let mut in_block = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            kept.push_str(line.trim_end_matches('\r'));
            kept.push('\n');
        }
    }
    kept
}

/// A comment on a pull request, and what the trigger knows of it.
#[derive(Clone, Debug)]
pub struct Comment<'a> {
    /// The comment's text.
    pub body: &'a str,
    /// Its author.
    pub commenter: &'a str,
    /// Whether the commenter is trusted.
    pub commenter_trusted: bool,
    /// The pull request.
    pub pr: &'a PullRequest,
    /// Whether the pull request is open.
    pub pr_open: bool,
    /// Whether the pull request's author is trusted.
    pub author_trusted: bool,
    /// The bot's login.
    pub bot: &'a str,
    /// `ignore_ok_to_test` for the repository.
    pub ignore_ok_to_test: bool,
    /// The state (`success`, `failure`, `error`, `pending`) of each GitHub status context on
    /// the pull request's head commit.
    pub statuses: &'a BTreeMap<String, String>,
}

/// Decides a comment (the action `created` on an open pull request; the caller checks both).
/// `changed_files` are the pull request's files, when known; without them, a command that runs
/// the automatic jobs asks for them when a job needs them.
pub fn on_comment<'a>(
    comment: &Comment<'_>,
    presubmits: &'a [Presubmit],
    changed_files: Option<&[String]>,
) -> Outcome<'a, Presubmit> {
    if !comment.pr_open {
        return Outcome::Refused {
            reason: "the pull request is not open".to_string(),
            effects: Effects::default(),
        };
    }
    if comment.commenter == comment.bot {
        return Outcome::Refused {
            reason: "the bot's own comments start nothing".to_string(),
            effects: Effects::default(),
        };
    }
    let body = strip_code_blocks(comment.body);
    let pr = comment.pr;
    let pr_trusted = comment.author_trusted || pr.has_label(OK_TO_TEST);
    let mut effects = Effects::default();

    if OK_TO_TEST_CANCEL.is_match(&body) {
        if comment.commenter_trusted && pr.has_label(OK_TO_TEST) {
            effects.remove_labels.push(OK_TO_TEST.to_string());
            effects.add_labels.push(NEEDS_OK_TO_TEST.to_string());
        }
        return Outcome::Refused {
            reason: "/ok-to-test cancel starts nothing".to_string(),
            effects,
        };
    }
    let ok_to_test = OK_TO_TEST_COMMAND.is_match(&body) && comment.commenter_trusted && !comment.ignore_ok_to_test;
    if ok_to_test {
        if !pr.has_label(OK_TO_TEST) {
            effects.add_labels.push(OK_TO_TEST.to_string());
        }
        if pr.has_label(NEEDS_OK_TO_TEST) {
            effects.remove_labels.push(NEEDS_OK_TO_TEST.to_string());
        }
    }
    let retest = RETEST.is_match(&body);
    let retest_required = RETEST_REQUIRED.is_match(&body);
    let manual_required = TEST_MANUAL_REQUIRED.is_match(&body);
    let test_all = TEST_ALL.is_match(&body) || ok_to_test;
    let named: Vec<&Presubmit> = presubmits
        .iter()
        .filter(|job| {
            let trigger = job.trigger.clone().unwrap_or_else(|| default_trigger(&job.base.name));
            patterns::compile(&trigger).is_ok_and(|regex| regex.is_match(&body))
        })
        .collect();
    let help = help_wanted(&body, retest, test_all, named.is_empty());
    if !(retest || retest_required || manual_required || test_all || !named.is_empty() || help.is_some()) {
        return Outcome::Refused {
            reason: "the comment holds no trigger command".to_string(),
            effects,
        };
    }
    if !comment.commenter_trusted && !pr_trusted {
        effects.replies.push(format!(
            "@{}: Cannot trigger testing until a trusted user reviews the PR and leaves an `/ok-to-test` message.",
            comment.commenter
        ));
        return Outcome::Refused {
            reason: format!("neither {} nor the pull request is trusted", comment.commenter),
            effects,
        };
    }
    let branch = &pr.base.git_ref;
    if let Some(why) = help {
        effects.replies.push(format!(
            "@{}: {why}{}",
            comment.commenter,
            available(presubmits, branch)
        ));
        return Outcome::Refused {
            reason: "the reply lists the commands".to_string(),
            effects,
        };
    }
    let automatic = test_all || retest || retest_required;
    if automatic && changed_files.is_none() && needs_changed_files(presubmits) {
        return Outcome::NeedsChangedFiles;
    }
    let asked = Asked {
        named: &named,
        test_all,
        retest,
        retest_required,
        manual_required,
    };
    let mut create = Vec::new();
    let mut explanations = Vec::new();
    for job in presubmits {
        let verdict = select(job, branch, changed_files, comment.statuses, &asked);
        record(&mut create, &mut explanations, job, &job.base.name, verdict);
    }
    Outcome::Act {
        create,
        effects,
        explanations,
        retest: retest || retest_required,
    }
}

/// Why the commenter gets the list of commands instead of jobs, if they do: `/test ?`, a bare
/// `/test`, `/retest` with a target, or `/test` naming no job.
fn help_wanted(body: &str, retest: bool, test_all: bool, nothing_named: bool) -> Option<&'static str> {
    if TEST_HELP.is_match(body) {
        return Some("");
    }
    if !retest && RETEST_TARGET.is_match(body) && !RETEST_REQUIRED.is_match(body) {
        return Some("The `/retest` command takes no targets; it reruns the failed jobs.\n");
    }
    let targets = TEST_TARGET
        .captures_iter(body)
        .any(|c| !c[1].trim_start().starts_with("all") && c[1].trim() != "?");
    if targets && nothing_named && !test_all {
        return Some("No job matches the target(s) given to `/test`.\n");
    }
    None
}

/// The commands that start the jobs of a pull request to `branch`, for the help reply.
fn available(presubmits: &[Presubmit], branch: &str) -> String {
    let on_branch: Vec<&Presubmit> = presubmits
        .iter()
        .filter(|job| branch_matches(&job.brancher, branch).is_ok())
        .collect();
    let command = |job: &Presubmit| {
        job.rerun_command
            .clone()
            .unwrap_or_else(|| format!("/test {}", job.base.name))
    };
    let mut text = String::new();
    for (optional, heading) in [
        (false, "The following commands start required jobs:"),
        (true, "The following commands start optional jobs:"),
    ] {
        let lines: Vec<String> = on_branch
            .iter()
            .filter(|job| job.optional.unwrap_or(false) == optional)
            .map(|job| format!("* `{}`\n", command(job)))
            .collect();
        if !lines.is_empty() {
            text.push_str(heading);
            text.push('\n');
            text.extend(lines);
            text.push('\n');
        }
    }
    let automatic: Vec<String> = on_branch
        .iter()
        .filter(|job| job.always_run.unwrap_or(false) || job.changes.is_set())
        .map(|job| format!("* `{}`\n", job.base.name))
        .collect();
    if !automatic.is_empty() {
        text.push_str("`/test all` runs these jobs, which start by themselves:\n");
        text.extend(automatic);
    }
    if text.is_empty() {
        text.push_str("No jobs are configured for this branch.\n");
    }
    text
}

/// What a comment's commands asked for.
struct Asked<'a> {
    /// The jobs whose trigger matched (`/test <name>`).
    named: &'a [&'a Presubmit],
    /// `/test all` or `/ok-to-test`.
    test_all: bool,
    /// `/retest`.
    retest: bool,
    /// `/retest-required`.
    retest_required: bool,
    /// `/test-manual-required`.
    manual_required: bool,
}

/// Applies the command table of §7.1 to one job; the branch filter always applies.
fn select(
    job: &Presubmit,
    branch: &str,
    changed_files: Option<&[String]>,
    statuses: &BTreeMap<String, String>,
    asked: &Asked<'_>,
) -> (bool, String) {
    let Asked {
        named,
        test_all,
        retest,
        retest_required,
        manual_required,
    } = *asked;
    if let Err(reason) = branch_matches(&job.brancher, branch) {
        return (false, reason);
    }
    if named.iter().any(|n| std::ptr::eq(*n, job)) {
        return (true, "asked for by name (runs whatever the changed files)".to_string());
    }
    let optional = job.optional.unwrap_or(false);
    let explicit = !job.always_run.unwrap_or(false) && !job.changes.is_set();
    if manual_required && explicit && !optional {
        return (
            true,
            "/test-manual-required: a required job that runs only when asked".to_string(),
        );
    }
    if retest || retest_required {
        if retest_required && optional {
            return (false, "optional: /retest-required leaves it out".to_string());
        }
        match statuses.get(job.context()).map(String::as_str) {
            Some("failure" | "error") => {
                return (
                    true,
                    format!("its context {:?} failed on the head commit", job.context()),
                );
            }
            Some(state) => {
                return (
                    false,
                    format!("its context {:?} is {state} on the head commit", job.context()),
                );
            }
            None => {}
        }
    }
    if test_all || retest || retest_required {
        if job.always_run.unwrap_or(false) {
            return (true, "always_run".to_string());
        }
        if job.changes.is_set() {
            return changes_match(&job.changes, changed_files);
        }
        return (false, "runs only when asked for by name".to_string());
    }
    (false, "not asked for".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jobs() -> Vec<Presubmit> {
        serde_json::from_value(json!([
            {"name": "unit", "always_run": true},
            {"name": "e2e", "optional": true, "always_run": true},
            {"name": "docs", "run_if_changed": "^docs/"},
            {"name": "manual"},
            {"name": "release", "always_run": true, "branches": ["^release-"]}
        ]))
        .unwrap()
    }

    fn pr(labels: &[&str]) -> PullRequest {
        let mut pr: PullRequest =
            serde_json::from_value(json!({"number": 1, "user": {"login": "alice"}, "base": {"ref": "main"}})).unwrap();
        pr.labels = labels
            .iter()
            .map(|l| super::super::events::Label { name: l.to_string() })
            .collect();
        pr
    }

    fn decide<'a>(
        body: &str,
        pr: &PullRequest,
        statuses: &BTreeMap<String, String>,
        trusted: bool,
        jobs: &'a [Presubmit],
    ) -> Outcome<'a, Presubmit> {
        let comment = Comment {
            body,
            commenter: "bob",
            commenter_trusted: trusted,
            pr,
            pr_open: true,
            author_trusted: trusted,
            bot: "bot",
            ignore_ok_to_test: false,
            statuses,
        };
        on_comment(&comment, jobs, Some(&["main.go".to_string()]))
    }

    fn names(decision: &Outcome<'_, Presubmit>) -> Vec<String> {
        decision.create().iter().map(|j| j.base.name.clone()).collect()
    }

    #[test]
    fn test_name_forces_the_job_on_matching_branches() {
        let jobs = jobs();
        let none = BTreeMap::new();
        assert_eq!(names(&decide("/test docs", &pr(&[]), &none, true, &jobs)), ["docs"]);
        assert_eq!(names(&decide("/test manual", &pr(&[]), &none, true, &jobs)), ["manual"]);
        assert!(
            decide("/test release", &pr(&[]), &none, true, &jobs)
                .create()
                .is_empty(),
            "the branch filter always applies"
        );
        assert!(
            decide("```\n/test unit\n```", &pr(&[]), &none, true, &jobs)
                .create()
                .is_empty(),
            "code blocks are ignored"
        );
        assert!(
            decide("please /test unit", &pr(&[]), &none, true, &jobs)
                .create()
                .is_empty(),
            "commands start a line"
        );
    }

    #[test]
    fn test_all_runs_automatic_jobs_only() {
        let jobs = jobs();
        assert_eq!(
            names(&decide("/test all", &pr(&[]), &BTreeMap::new(), true, &jobs)),
            ["unit", "e2e"]
        );
    }

    #[test]
    fn retest_reruns_failed_contexts_and_unreported_jobs() {
        let jobs = jobs();
        let statuses = BTreeMap::from([
            ("unit".to_string(), "success".to_string()),
            ("e2e".to_string(), "failure".to_string()),
            ("docs".to_string(), "error".to_string()),
        ]);
        let decision = decide("/retest", &pr(&[]), &statuses, true, &jobs);
        assert_eq!(names(&decision), ["e2e", "docs"]);
        assert!(matches!(decision, Outcome::Act { retest: true, .. }));
        let required = decide("/retest-required", &pr(&[]), &statuses, true, &jobs);
        assert_eq!(names(&required), ["docs"], "optional jobs are left out");
    }

    #[test]
    fn ok_to_test_labels_and_runs_and_untrusted_commenters_are_told() {
        let jobs = jobs();
        let none = BTreeMap::new();
        let decision = decide("/ok-to-test", &pr(&[NEEDS_OK_TO_TEST]), &none, true, &jobs);
        assert_eq!(decision.effects().add_labels, [OK_TO_TEST]);
        assert_eq!(decision.effects().remove_labels, [NEEDS_OK_TO_TEST]);
        assert_eq!(names(&decision), ["unit", "e2e"]);
        let refused = decide("/test unit", &pr(&[]), &none, false, &jobs);
        assert!(refused.create().is_empty());
        assert!(refused.effects().replies[0].contains("Cannot trigger testing"));
        let cancel = decide("/ok-to-test cancel", &pr(&[OK_TO_TEST]), &none, true, &jobs);
        assert_eq!(
            (
                cancel.effects().remove_labels.clone(),
                cancel.effects().add_labels.clone()
            ),
            (vec![OK_TO_TEST.to_string()], vec![NEEDS_OK_TO_TEST.to_string()])
        );
    }

    #[test]
    fn test_manual_required_forces_required_jobs_that_run_only_when_asked() {
        let mut jobs = jobs();
        jobs.push(serde_json::from_value(json!({"name": "manual-optional", "optional": true})).unwrap());
        let decision = decide("/test-manual-required", &pr(&[]), &BTreeMap::new(), true, &jobs);
        assert_eq!(names(&decision), ["manual"]);
    }

    #[test]
    fn help_replies_list_the_commands_for_the_branch() {
        let jobs = jobs();
        let none = BTreeMap::new();
        for body in ["/test", "/test ?", "/test nonexistent", "/retest unit"] {
            let decision = decide(body, &pr(&[]), &none, true, &jobs);
            assert!(decision.create().is_empty(), "{body}: no jobs");
            let reply = decision
                .effects()
                .replies
                .first()
                .unwrap_or_else(|| panic!("{body}: a help reply"));
            assert!(reply.starts_with("@bob: "), "{reply}");
            assert!(
                reply.contains("* `/test unit`") && reply.contains("* `/test e2e`"),
                "{reply}"
            );
            assert!(
                !reply.contains("/test release"),
                "other branches' jobs are not listed: {reply}"
            );
        }
        assert!(decide("/retest unit", &pr(&[]), &none, true, &jobs).effects().replies[0].contains("takes no targets"));
        assert!(
            decide("/test nonexistent", &pr(&[]), &none, true, &jobs)
                .effects()
                .replies[0]
                .contains("No job matches")
        );
        assert!(
            decide("/test unit", &pr(&[]), &none, true, &jobs)
                .effects()
                .replies
                .is_empty()
        );
        assert!(
            decide("/test all", &pr(&[]), &none, true, &jobs)
                .effects()
                .replies
                .is_empty()
        );
    }

    #[test]
    fn the_default_trigger_does_not_escape_the_name() {
        let regex = Regex::new(&default_trigger("a.b")).unwrap();
        assert!(
            regex.is_match("/test a.b") && regex.is_match("/test axb"),
            "as upstream, `.` matches anything"
        );
    }
}
