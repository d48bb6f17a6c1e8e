//! The failure comment crier's GitHub reporter keeps on a pull request (reference §7.6): one
//! comment tagged `<!-- test report -->`, with a row per failed job, each row replaced by the
//! job's newer results, and deleted once no row is left.

use prow_api::{ProwJob, ProwJobState, ProwJobType};

/// The tag that marks the comment.
pub const TAG: &str = "<!-- test report -->";
const TABLE_HEADER: &str = "Test name | Commit | Details | Required | Rerun command\n--- | --- | --- | --- | ---";

/// One failed job in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The GitHub context.
    pub context: String,
    /// The head commit, shortened.
    pub commit: String,
    /// The job's link.
    pub url: String,
    /// Whether the job blocks merging.
    pub required: bool,
    /// The comment that reruns it.
    pub rerun: String,
}

impl Row {
    fn render(&self) -> String {
        format!(
            "{} | {} | [link]({}) | {} | `{}`",
            self.context, self.commit, self.url, self.required, self.rerun
        )
    }

    fn parse(line: &str) -> Option<Row> {
        let cells: Vec<&str> = line.split(" | ").collect();
        let [context, commit, link, required, rerun] = cells.as_slice() else {
            return None;
        };
        Some(Row {
            context: context.to_string(),
            commit: commit.to_string(),
            url: link.strip_prefix("[link](")?.strip_suffix(')')?.to_string(),
            required: *required == "true",
            rerun: rerun.trim_matches('`').to_string(),
        })
    }
}

/// What to do with the comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Post or replace the comment with this body.
    Write(String),
    /// Delete the comment: nothing failed.
    Delete,
    /// Leave it as it is.
    Keep,
}

/// Whether `job`'s result goes into the failure comment: a finished presubmit with one pull
/// request, in a repository not listed in `github_reporter.no_comment_repos` (`org` or
/// `org/repo`).
pub fn applies(job: &ProwJob, no_comment_repos: &[String]) -> bool {
    let finished = job.status.as_ref().is_some_and(|s| s.state.is_final());
    let Some(refs) = &job.spec.refs else { return false };
    let one_pull = refs.pulls.as_ref().is_some_and(|p| p.len() == 1);
    let full = format!("{}/{}", refs.org, refs.repo);
    let silenced = no_comment_repos.iter().any(|r| *r == refs.org || *r == full);
    finished && one_pull && job.spec.job_type == ProwJobType::Presubmit && !silenced
}

/// Whether a comment is the failure comment: the tag is in its body.
pub fn is_tagged(body: &str) -> bool {
    body.contains(TAG)
}

/// The rows of an existing comment.
pub fn rows(body: &str) -> Vec<Row> {
    body.lines().filter_map(Row::parse).collect()
}

/// The comment after `job` finished, given the current comment's body (if any). Only `failure`
/// adds a row; any other final state removes the job's row (`error` and `aborted` get none, as
/// upstream).
pub fn after(existing: Option<&str>, job: &ProwJob, required: bool) -> Change {
    let Some(status) = &job.status else { return Change::Keep };
    let context = job.spec.context.clone().unwrap_or_else(|| job.spec.job.clone());
    let mut table = existing.map(rows).unwrap_or_default();
    let before = table.clone();
    table.retain(|row| row.context != context);
    if status.state == ProwJobState::Failure {
        let pull = job
            .spec
            .refs
            .as_ref()
            .and_then(|r| r.pulls.as_ref())
            .and_then(|p| p.first());
        table.push(Row {
            context,
            commit: pull.map(|p| p.sha.chars().take(7).collect()).unwrap_or_default(),
            url: status.url.clone().unwrap_or_default(),
            required,
            rerun: job.spec.rerun_command.clone().unwrap_or_default(),
        });
    }
    if table == before {
        return Change::Keep;
    }
    if table.is_empty() {
        return if existing.is_some() {
            Change::Delete
        } else {
            Change::Keep
        };
    }
    let author = job
        .spec
        .refs
        .as_ref()
        .and_then(|r| r.pulls.as_ref())
        .and_then(|p| p.first())
        .map(|p| p.author.as_str());
    Change::Write(body(author.unwrap_or_default(), &table))
}

fn body(author: &str, table: &[Row]) -> String {
    let plural = if table.len() == 1 { "" } else { "s" };
    let rows: Vec<String> = table.iter().map(Row::render).collect();
    format!(
        "@{author}: The following test{plural} **failed**, say `/retest` to rerun all failed tests or `/retest-required` to rerun all mandatory failed tests:\n\n{TABLE_HEADER}\n{}\n\n<details>\n\nInstructions for interacting with me using PR comments are available in the bot's command help (`/test ?`).\n</details>\n{TAG}",
        rows.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finished(context: &str, state: &str) -> ProwJob {
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": context},
            "spec": {"type": "presubmit", "job": context, "context": context, "rerun_command": format!("/test {context}"),
                     "refs": {"org": "o", "repo": "r", "pulls": [{"number": 1, "author": "alice", "sha": "0123456789"}]}},
            "status": {"state": state, "url": format!("https://prow/view/{context}")}
        }))
        .unwrap()
    }

    #[test]
    fn only_finished_presubmits_of_commenting_repos_count() {
        assert!(applies(&finished("unit", "failure"), &[]));
        assert!(applies(&finished("unit", "success"), &[]));
        assert!(!applies(&finished("unit", "pending"), &[]));
        assert!(!applies(&finished("unit", "failure"), &["o/r".to_string()]));
        assert!(!applies(&finished("unit", "failure"), &["o".to_string()]));
        let mut post = finished("unit", "failure");
        post.spec.job_type = ProwJobType::Postsubmit;
        assert!(!applies(&post, &[]));
    }

    #[test]
    fn failures_add_rows_and_passes_remove_them_until_the_comment_goes() {
        let Change::Write(first) = after(None, &finished("unit", "failure"), true) else {
            panic!("a failure writes")
        };
        assert!(first.starts_with("@alice: The following test **failed**"));
        assert!(first.contains("unit | 0123456 | [link](https://prow/view/unit) | true | `/test unit`"));
        assert!(first.ends_with(TAG));
        let Change::Write(second) = after(Some(&first), &finished("e2e", "failure"), false) else {
            panic!()
        };
        assert_eq!(rows(&second).len(), 2);
        assert!(second.contains("following tests **failed**"));
        let Change::Write(third) = after(Some(&second), &finished("unit", "success"), true) else {
            panic!()
        };
        assert_eq!(
            rows(&third).iter().map(|r| r.context.as_str()).collect::<Vec<_>>(),
            ["e2e"]
        );
        assert_eq!(after(Some(&third), &finished("e2e", "success"), false), Change::Delete);
        assert_eq!(
            after(None, &finished("unit", "success"), true),
            Change::Keep,
            "nothing failed, nothing to say"
        );
        assert_eq!(
            after(None, &finished("unit", "aborted"), true),
            Change::Keep,
            "aborted jobs get no row"
        );
        assert_eq!(
            after(Some(&first), &finished("unit", "failure"), true),
            Change::Keep,
            "the same row again changes nothing"
        );
    }
}
