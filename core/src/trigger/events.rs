//! The parts of GitHub webhook payloads the trigger reads.

use serde::Deserialize;

/// A GitHub account.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct User {
    /// The login.
    #[serde(default)]
    pub login: String,
    /// The profile URL.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A repository.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Repository {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The owner (org or user).
    #[serde(default)]
    pub owner: User,
    /// The web URL.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A label.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Label {
    /// The label's name.
    #[serde(default)]
    pub name: String,
}

/// One end of a pull request: its branch, commit and repository.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Branch {
    /// The branch name.
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// The commit.
    #[serde(default)]
    pub sha: String,
    /// The repository.
    #[serde(default)]
    pub repo: Repository,
}

/// A pull request.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PullRequest {
    /// The number.
    #[serde(default)]
    pub number: i64,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The web URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// The author.
    #[serde(default)]
    pub user: User,
    /// The head branch and commit.
    #[serde(default)]
    pub head: Branch,
    /// The base branch and commit.
    #[serde(default)]
    pub base: Branch,
    /// Whether it is a draft.
    #[serde(default)]
    pub draft: bool,
    /// Whether GitHub can merge it; `None` while GitHub has not computed it.
    #[serde(default)]
    pub mergeable: Option<bool>,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl PullRequest {
    /// Whether it carries the label `name`.
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.name == name)
    }
}

/// A `pull_request` event.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PullRequestEvent {
    /// `opened`, `synchronize`, `labeled`, …
    #[serde(default)]
    pub action: String,
    /// The pull request.
    #[serde(default)]
    pub pull_request: PullRequest,
    /// The label added or removed (`labeled`, `unlabeled`).
    #[serde(default)]
    pub label: Option<Label>,
    /// What an `edited` action changed.
    #[serde(default)]
    pub changes: Option<serde_json::Value>,
    /// Who acted.
    #[serde(default)]
    pub sender: User,
}

impl PullRequestEvent {
    /// Whether an `edited` event changed the base branch.
    pub fn changed_base(&self) -> bool {
        self.changes
            .as_ref()
            .is_some_and(|c| c.pointer("/base/ref/from").is_some() || c.pointer("/base/sha/from").is_some())
    }
}

/// The files one pushed commit changed.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Commit {
    /// Added files.
    #[serde(default)]
    pub added: Vec<String>,
    /// Removed files.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Modified files.
    #[serde(default)]
    pub modified: Vec<String>,
}

/// A `push` event.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PushEvent {
    /// `refs/heads/<branch>` or `refs/tags/<tag>`.
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// The commit before the push.
    #[serde(default)]
    pub before: String,
    /// The commit after the push.
    #[serde(default)]
    pub after: String,
    /// Whether the push deleted the ref.
    #[serde(default)]
    pub deleted: bool,
    /// The compare URL.
    #[serde(default)]
    pub compare: Option<String>,
    /// The pushed commits.
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// The repository.
    #[serde(default)]
    pub repository: Repository,
}

impl PushEvent {
    /// The branch or tag pushed: the ref without `refs/heads/` or `refs/tags/`.
    pub fn branch(&self) -> &str {
        self.git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| self.git_ref.strip_prefix("refs/tags/"))
            .unwrap_or(&self.git_ref)
    }

    /// The union of the files every pushed commit added, removed or modified, sorted.
    pub fn changed_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .commits
            .iter()
            .flat_map(|c| c.added.iter().chain(&c.removed).chain(&c.modified))
            .cloned()
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// The issue (or pull request) an `issue_comment` is on.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Issue {
    /// Its number.
    #[serde(default)]
    pub number: i64,
    /// `open` or `closed`.
    #[serde(default)]
    pub state: String,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// A comment's text and author.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CommentBody {
    /// The text.
    #[serde(default)]
    pub body: String,
    /// The author.
    #[serde(default)]
    pub user: User,
}

/// An `issue_comment` event.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct IssueCommentEvent {
    /// `created`, `edited` or `deleted`.
    #[serde(default)]
    pub action: String,
    /// The issue or pull request.
    #[serde(default)]
    pub issue: Issue,
    /// The comment.
    #[serde(default)]
    pub comment: CommentBody,
    /// The repository.
    #[serde(default)]
    pub repository: Repository,
}
