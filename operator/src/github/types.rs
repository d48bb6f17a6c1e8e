//! The small, owned shapes the GitHub layer hands back (not octocrab's models), and the wire
//! shapes they are read from.

use serde::Deserialize;

/// A pull request, as the trigger and the reporter need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The PR number.
    pub number: u64,
    /// The PR title.
    pub title: String,
    /// Open or closed (a merged PR is closed with `merged` set).
    pub state: PullRequestState,
    /// Whether the PR was merged.
    pub merged: bool,
    /// Whether the PR is a draft.
    pub draft: bool,
    /// GitHub's mergeability: `None` while GitHub is still computing it (ask again later),
    /// `Some(false)` when the PR conflicts with its base (the trigger then runs nothing).
    pub mergeable: Option<bool>,
    /// The author's login (`ghost` for a deleted account).
    pub author: String,
    /// The head commit SHA.
    pub head_sha: String,
    /// The head branch name.
    pub head_ref: String,
    /// The base branch name.
    pub base_ref: String,
    /// The base branch's SHA as GitHub last computed it for this PR.
    pub base_sha: String,
    /// Label names.
    pub labels: Vec<String>,
    /// The PR's web page.
    pub html_url: String,
    /// How many files the PR changes, when GitHub says; compare with
    /// [`GitHubClient::pull_request_files`](super::GitHubClient::pull_request_files), which lists
    /// at most 3,000.
    pub changed_files: Option<u64>,
}

impl PullRequest {
    /// Whether the PR carries the label `name` (GitHub compares label names case-insensitively).
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(name))
    }
}

/// A pull request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestState {
    /// Open.
    Open,
    /// Closed (merged or not).
    Closed,
}

/// A comment on an issue or pull request (the conversation, not a review comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    /// The comment id (for editing and deleting).
    pub id: u64,
    /// The author's login (`ghost` for a deleted account).
    pub author: String,
    /// The Markdown body.
    pub body: String,
}

/// The state of a commit status: the engine's type, which the reporter decides.
pub use crate::engine::report::StatusState;

/// The most characters GitHub accepts in a commit status description (the engine's limit).
pub const STATUS_DESCRIPTION_MAX_CHARS: usize = crate::engine::report::MAX_DESCRIPTION;

/// `text` cut to at most `max` characters (not bytes), on a character boundary.
pub fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// Percent-encodes one URL path segment (logins, repo names, label names such as
/// `do-not-merge/hold`), leaving RFC 3986 unreserved characters as they are.
pub fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A label of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLabel {
    /// The name.
    pub name: String,
    /// `rrggbb`, without `#`.
    pub color: String,
    /// The description (empty when there is none).
    pub description: String,
}

impl From<WireRepoLabel> for RepoLabel {
    fn from(wire: WireRepoLabel) -> Self {
        Self {
            name: wire.name,
            color: wire.color,
            description: wire.description.unwrap_or_default(),
        }
    }
}

/// A repository of an org, as label sync needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The name, without the org.
    pub name: String,
    /// Whether it is archived (read-only).
    pub archived: bool,
    /// Whether it is private.
    pub private: bool,
}

impl From<WireRepository> for Repository {
    fn from(wire: WireRepository) -> Self {
        Self {
            name: wire.name,
            archived: wire.archived,
            private: wire.private,
        }
    }
}

/// Where a webhook lives: an org, or a repository (`org`, `repo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookScope<'a> {
    /// `/orgs/{org}/hooks`.
    Org(&'a str),
    /// `/repos/{org}/{repo}/hooks`.
    Repo(&'a str, &'a str),
}

impl std::fmt::Display for HookScope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookScope::Org(org) => f.write_str(org),
            HookScope::Repo(org, repo) => write!(f, "{org}/{repo}"),
        }
    }
}

/// A webhook as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Its id.
    pub id: u64,
    /// `config.url` (empty when GitHub gives none).
    pub url: String,
    /// `config.content_type` (`json` or `form`; GitHub's default is `form`).
    pub content_type: String,
    /// The events it delivers.
    pub events: Vec<String>,
    /// Whether it delivers.
    pub active: bool,
    /// Whether it has a secret (GitHub shows it masked, never its value).
    pub has_secret: bool,
}

impl From<WireHook> for Hook {
    fn from(wire: WireHook) -> Self {
        Self {
            id: wire.id,
            url: wire.config.url.unwrap_or_default(),
            content_type: wire.config.content_type.unwrap_or_else(|| "form".to_string()),
            events: wire.events,
            active: wire.active,
            has_secret: wire.config.secret.is_some_and(|s| !s.is_empty()),
        }
    }
}

/// A webhook's `config`, as the operator sets it.
#[derive(Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// Where GitHub delivers.
    pub url: String,
    /// `json`.
    pub content_type: String,
    /// The HMAC secret GitHub signs with; not sent when `None`.
    pub secret: Option<String>,
}

impl std::fmt::Debug for HookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("HookConfig")
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// The parts of a webhook a `PATCH` changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookUpdate {
    /// The whole `config` (GitHub keeps it as one object).
    pub config: Option<HookConfig>,
    /// The events.
    pub events: Option<Vec<String>>,
    /// Whether it delivers.
    pub active: Option<bool>,
}

// ---- wire shapes (only the fields used) ----

#[derive(Deserialize)]
pub(crate) struct WireHook {
    pub id: u64,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub config: WireHookConfig,
}

#[derive(Deserialize, Default)]
pub(crate) struct WireHookConfig {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireRepoLabel {
    pub name: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireRepository {
    pub name: String,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub private: bool,
}

#[derive(Deserialize)]
pub(crate) struct WireSearch {
    #[serde(default)]
    pub items: Vec<WireSearchItem>,
}

#[derive(Deserialize)]
pub(crate) struct WireSearchItem {
    pub number: u64,
}

#[derive(Deserialize)]
pub(crate) struct WireUser {
    pub login: String,
}

#[derive(Deserialize)]
pub(crate) struct WireRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Deserialize)]
pub(crate) struct WireLabel {
    pub name: String,
}

#[derive(Deserialize)]
pub(crate) struct WirePullRequest {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub mergeable: Option<bool>,
    #[serde(default)]
    pub user: Option<WireUser>,
    pub head: WireRef,
    pub base: WireRef,
    #[serde(default)]
    pub labels: Vec<WireLabel>,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub changed_files: Option<u64>,
}

impl From<WirePullRequest> for PullRequest {
    fn from(pr: WirePullRequest) -> Self {
        Self {
            number: pr.number,
            title: pr.title,
            state: if pr.state.eq_ignore_ascii_case("open") {
                PullRequestState::Open
            } else {
                PullRequestState::Closed
            },
            merged: pr.merged.unwrap_or(false),
            draft: pr.draft.unwrap_or(false),
            mergeable: pr.mergeable,
            author: login_or_ghost(pr.user),
            head_sha: pr.head.sha,
            head_ref: pr.head.name,
            base_ref: pr.base.name,
            base_sha: pr.base.sha,
            labels: pr.labels.into_iter().map(|l| l.name).collect(),
            html_url: pr.html_url,
            changed_files: pr.changed_files,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct WireComment {
    pub id: u64,
    #[serde(default)]
    pub user: Option<WireUser>,
    #[serde(default)]
    pub body: Option<String>,
}

impl From<WireComment> for IssueComment {
    fn from(c: WireComment) -> Self {
        Self {
            id: c.id,
            author: login_or_ghost(c.user),
            body: c.body.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct WireFile {
    pub filename: String,
}

#[derive(Deserialize)]
pub(crate) struct WireInstallation {
    pub id: u64,
}

#[derive(Deserialize)]
pub(crate) struct WireApp {
    pub slug: String,
}

fn login_or_ghost(user: Option<WireUser>) -> String {
    user.map(|u| u.login).unwrap_or_else(|| "ghost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_characters_not_bytes() {
        assert_eq!(truncate_chars("abc", 5), "abc");
        assert_eq!(truncate_chars("abcdef", 3), "abc");
        let wide = "\u{2001}".repeat(150);
        let cut = truncate_chars(&wide, STATUS_DESCRIPTION_MAX_CHARS);
        assert_eq!(cut.chars().count(), 140);
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(path_segment("alice-b_c.d~"), "alice-b_c.d~");
        assert_eq!(path_segment("do-not-merge/hold"), "do-not-merge%2Fhold");
        assert_eq!(path_segment("size: XL"), "size%3A%20XL");
        assert_eq!(path_segment("é"), "%C3%A9");
    }

    #[test]
    fn reads_a_pull_request() {
        let pr: WirePullRequest = serde_json::from_value(serde_json::json!({
            "number": 5, "title": "t", "state": "open", "draft": true, "mergeable": null,
            "user": {"login": "alice"},
            "head": {"ref": "feature", "sha": "h1"}, "base": {"ref": "main", "sha": "b1"},
            "labels": [{"name": "ok-to-test"}], "html_url": "https://github.com/o/r/pull/5",
            "changed_files": 2, "extra": {"ignored": true}
        }))
        .unwrap();
        let pr = PullRequest::from(pr);
        assert_eq!(pr.state, PullRequestState::Open);
        assert!(pr.draft && !pr.merged);
        assert_eq!(pr.mergeable, None);
        assert!(pr.has_label("OK-to-test"));
        assert_eq!((pr.head_ref.as_str(), pr.base_sha.as_str()), ("feature", "b1"));
    }

    #[test]
    fn a_deleted_author_is_ghost() {
        let c: WireComment = serde_json::from_value(serde_json::json!({"id": 1, "user": null})).unwrap();
        let c = IssueComment::from(c);
        assert_eq!((c.author.as_str(), c.body.as_str()), ("ghost", ""));
    }
}
