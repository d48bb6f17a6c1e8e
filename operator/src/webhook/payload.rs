//! What a webhook payload must hold, per event type, and the one repository it is about.
//!
//! The repository is taken from one place, `repository.full_name`, for every event type. Every
//! other place that names it (`repository.owner.login` and `repository.name`, and for the pull
//! request events `pull_request.base.repo`) must name the same repository, or the payload is
//! refused: the repository that selects the instance, the tokens that check the signature and the
//! repository every decision and ProwJob uses are then one value. Org and repository names
//! compare case-insensitively, as GitHub's do; the spelling of `full_name` is the one used.
//!
//! This is stricter than upstream hook, which reads `pull_request.base.repo` for pull request
//! events and `repository` for the others, and requires nothing else of the payload.

use serde::de::DeserializeOwned;
use serde_json::Value;

use prow_core::trigger::events::{IssueCommentEvent, PullRequestEvent, PushEvent, Repository, User};

/// The event types the operator knows, from `X-GitHub-Event`. Any other name is [`Kind::Other`],
/// so an attacker's string never becomes a metric label or a map key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `pull_request`.
    PullRequest,
    /// `push`.
    Push,
    /// `issue_comment`.
    IssueComment,
    /// `pull_request_review`.
    PullRequestReview,
    /// `pull_request_review_comment`.
    PullRequestReviewComment,
    /// `ping`, sent when a webhook is created.
    Ping,
    /// `meta`, sent when a webhook is deleted (its last delivery).
    Meta,
    /// Any other name, or none.
    Other,
}

impl Kind {
    /// Every kind, for tests and documentation.
    pub const ALL: [Kind; 8] = [
        Kind::PullRequest,
        Kind::Push,
        Kind::IssueComment,
        Kind::PullRequestReview,
        Kind::PullRequestReviewComment,
        Kind::Ping,
        Kind::Meta,
        Kind::Other,
    ];

    /// The kind named by `X-GitHub-Event` (exactly, as GitHub spells it).
    pub fn of(name: &str) -> Kind {
        match name {
            "pull_request" => Kind::PullRequest,
            "push" => Kind::Push,
            "issue_comment" => Kind::IssueComment,
            "pull_request_review" => Kind::PullRequestReview,
            "pull_request_review_comment" => Kind::PullRequestReviewComment,
            "ping" => Kind::Ping,
            "meta" => Kind::Meta,
            _ => Kind::Other,
        }
    }

    /// The name, and the `event` label of the webhook metrics: one of a closed set.
    pub fn label(self) -> &'static str {
        match self {
            Kind::PullRequest => "pull_request",
            Kind::Push => "push",
            Kind::IssueComment => "issue_comment",
            Kind::PullRequestReview => "pull_request_review",
            Kind::PullRequestReviewComment => "pull_request_review_comment",
            Kind::Ping => "ping",
            Kind::Meta => "meta",
            Kind::Other => "other",
        }
    }

    /// Whether the trigger acts on this kind (the others are acknowledged and ignored).
    pub fn handled(self) -> bool {
        !matches!(self, Kind::Ping | Kind::Meta | Kind::Other)
    }

    /// Whether this kind is about the webhook itself (`ping`, `meta`): noted, not acted on.
    pub fn about_the_hook(self) -> bool {
        matches!(self, Kind::Ping | Kind::Meta)
    }
}

/// A repository, `org/repo`, as `repository.full_name` spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoName {
    /// The org (or user) that owns it.
    pub org: String,
    /// The repository's name.
    pub repo: String,
}

/// GitHub's longest login.
const MAX_ORG: usize = 39;
/// GitHub's longest repository name.
const MAX_REPO: usize = 100;

fn valid_part(part: &str, max: usize) -> bool {
    !part.is_empty()
        && part.len() <= max
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl RepoName {
    /// Reads `org/repo`; `None` unless both parts are non-empty and made of the characters
    /// GitHub allows (letters, digits, `-`, `_`, `.`), within GitHub's lengths.
    pub fn parse(full_name: &str) -> Option<RepoName> {
        let (org, repo) = full_name.split_once('/')?;
        (valid_part(org, MAX_ORG) && valid_part(repo, MAX_REPO)).then(|| RepoName {
            org: org.to_string(),
            repo: repo.to_string(),
        })
    }

    /// `org/repo`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.org, self.repo)
    }

    /// Whether `other` names the same repository (case-insensitively, as GitHub compares).
    pub fn same(&self, other: &RepoName) -> bool {
        self.org.eq_ignore_ascii_case(&other.org) && self.repo.eq_ignore_ascii_case(&other.repo)
    }
}

/// Why a payload is not a valid event of its type (answered `400`, and not remembered).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A required field is missing or has the wrong JSON type.
    #[error("{event} payload without {field}")]
    Missing {
        /// The event type.
        event: &'static str,
        /// The field, as a JSON pointer.
        field: &'static str,
    },
    /// A repository name is not `org/repo` with GitHub's characters.
    #[error("{field} is not a repository name")]
    BadName {
        /// The field.
        field: &'static str,
    },
    /// Two places of the payload name different repositories.
    #[error("{field} names another repository than repository.full_name")]
    Disagree {
        /// The field that disagrees.
        field: &'static str,
    },
    /// The payload does not read as its event type.
    #[error("not a valid {event} payload: {message}")]
    Type {
        /// The event type.
        event: &'static str,
        /// Serde's reason.
        message: String,
    },
    /// The event type is not one the trigger handles.
    #[error("{event} events are not handled")]
    NotHandled {
        /// The event type.
        event: &'static str,
    },
}

/// A handled event, read: its repository and its typed payload, whose every repository field is
/// the repository's (so nothing downstream can read another one).
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The repository the event is about.
    pub repo: RepoName,
    /// The typed payload.
    pub event: Typed,
}

/// The typed payload of a handled event.
#[derive(Clone, Debug, PartialEq)]
pub enum Typed {
    /// A `pull_request` event.
    PullRequest(Box<PullRequestEvent>),
    /// A `push` event.
    Push(Box<PushEvent>),
    /// An `issue_comment` event.
    IssueComment(Box<IssueCommentEvent>),
    /// A `pull_request_review` or `pull_request_review_comment` event (checked, not acted on).
    Review,
}

fn string<'a>(payload: &'a Value, event: &'static str, field: &'static str) -> Result<&'a str, ShapeError> {
    payload
        .pointer(field)
        .and_then(Value::as_str)
        .ok_or(ShapeError::Missing { event, field })
}

fn object(payload: &Value, event: &'static str, field: &'static str) -> Result<(), ShapeError> {
    match payload.pointer(field) {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(ShapeError::Missing { event, field }),
    }
}

fn number(payload: &Value, event: &'static str, field: &'static str) -> Result<u64, ShapeError> {
    payload
        .pointer(field)
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .ok_or(ShapeError::Missing { event, field })
}

/// Checks that the repository object whose `full_name`, `owner` and `name` are at `fields`
/// names `repo`. The owner and name are required, `full_name` must agree when present; the owner
/// is `owner.login`, or, when there is none, `owner.name` (older push payloads name the owner
/// so, and upstream reads it there).
fn agrees(payload: &Value, event: &'static str, repo: &RepoName, fields: [&'static str; 3]) -> Result<(), ShapeError> {
    let [full_name, owner, name] = fields;
    // The top-level `full_name` was read already; elsewhere it may be absent, never different.
    if let Some(full) = payload.pointer(full_name) {
        let named = full
            .as_str()
            .and_then(RepoName::parse)
            .ok_or(ShapeError::BadName { field: full_name })?;
        if !named.same(repo) {
            return Err(ShapeError::Disagree { field: full_name });
        }
    }
    // `login` when there is one (a user's `name` may be a display name), else `name`.
    let owner_object = payload.pointer(owner);
    let field = |key: &str| owner_object.and_then(|o| o.get(key)).and_then(Value::as_str);
    let Some(login) = field("login").or_else(|| field("name")) else {
        return Err(ShapeError::Missing { event, field: owner });
    };
    if !login.eq_ignore_ascii_case(&repo.org) {
        return Err(ShapeError::Disagree { field: owner });
    }
    if !string(payload, event, name)?.eq_ignore_ascii_case(&repo.repo) {
        return Err(ShapeError::Disagree { field: name });
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(payload: &Value, event: &'static str) -> Result<T, ShapeError> {
    T::deserialize(payload).map_err(|e| ShapeError::Type {
        event,
        message: e.to_string(),
    })
}

/// `repo` as the engine's repository, keeping the URL the payload gave.
fn canonical(repo: &RepoName, html_url: Option<String>) -> Repository {
    Repository {
        name: repo.repo.clone(),
        owner: User {
            login: repo.org.clone(),
            html_url: None,
        },
        html_url,
    }
}

/// The pull request part every pull request event must have, agreeing with `repo`.
fn pull_request_part(payload: &Value, event: &'static str, repo: &RepoName) -> Result<(), ShapeError> {
    object(payload, event, "/pull_request")?;
    number(payload, event, "/pull_request/number")?;
    string(payload, event, "/pull_request/head/sha")?;
    string(payload, event, "/pull_request/base/ref")?;
    string(payload, event, "/pull_request/user/login")?;
    agrees(
        payload,
        event,
        repo,
        [
            "/pull_request/base/repo/full_name",
            "/pull_request/base/repo/owner",
            "/pull_request/base/repo/name",
        ],
    )
}

/// Reads a payload of a handled `kind`: the fields its type requires, the repository it is about
/// (from `repository.full_name`, with every other place agreeing), and its typed form.
pub fn read(kind: Kind, payload: &Value) -> Result<Parsed, ShapeError> {
    let event = kind.label();
    if !kind.handled() {
        return Err(ShapeError::NotHandled { event });
    }
    if !payload.is_object() {
        return Err(ShapeError::Missing { event, field: "" });
    }
    object(payload, event, "/repository")?;
    let repo = repository(payload, event)?;
    let html_url = payload
        .pointer("/repository/html_url")
        .and_then(Value::as_str)
        .map(str::to_string);
    let event = match kind {
        Kind::PullRequest => {
            string(payload, event, "/action")?;
            pull_request_part(payload, event, &repo)?;
            let mut typed: PullRequestEvent = typed(payload, event)?;
            let base_url = typed.pull_request.base.repo.html_url.take().or(html_url);
            typed.pull_request.base.repo = canonical(&repo, base_url);
            Typed::PullRequest(Box::new(typed))
        }
        Kind::Push => {
            string(payload, event, "/ref")?;
            string(payload, event, "/after")?;
            let mut typed: PushEvent = typed(payload, event)?;
            typed.repository = canonical(&repo, html_url);
            Typed::Push(Box::new(typed))
        }
        Kind::IssueComment => {
            string(payload, event, "/action")?;
            number(payload, event, "/issue/number")?;
            object(payload, event, "/comment")?;
            string(payload, event, "/comment/body")?;
            string(payload, event, "/comment/user/login")?;
            let mut typed: IssueCommentEvent = typed(payload, event)?;
            typed.repository = canonical(&repo, html_url);
            Typed::IssueComment(Box::new(typed))
        }
        Kind::PullRequestReview | Kind::PullRequestReviewComment => {
            string(payload, event, "/action")?;
            pull_request_part(payload, event, &repo)?;
            let part = if kind == Kind::PullRequestReview {
                "/review"
            } else {
                "/comment"
            };
            object(payload, event, part)?;
            Typed::Review
        }
        Kind::Ping | Kind::Meta | Kind::Other => return Err(ShapeError::NotHandled { event }),
    };
    Ok(Parsed { repo, event })
}

/// Where a webhook lives, as a delivery about it (or through it) names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookSource {
    /// A repository's webhook (or any delivery about the repository).
    Repo(RepoName),
    /// An org's webhook.
    Org(String),
}

impl HookSource {
    /// The org.
    pub fn org(&self) -> &str {
        match self {
            HookSource::Repo(repo) => &repo.org,
            HookSource::Org(org) => org,
        }
    }

    /// The scope its signing token must serve: `org/repo` or `org`.
    pub fn scope(&self) -> String {
        match self {
            HookSource::Repo(repo) => repo.full_name(),
            HookSource::Org(org) => org.clone(),
        }
    }
}

/// A delivery about a webhook itself (`ping`, `meta`), read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookNotice {
    /// Where the webhook lives.
    pub source: HookSource,
    /// Whether it says the webhook was deleted (`meta` with `action: deleted`).
    pub deleted: bool,
}

/// The repository `payload` is about: `repository.full_name`, with which its owner and name must
/// agree.
fn repository(payload: &Value, event: &'static str) -> Result<RepoName, ShapeError> {
    let full_name = string(payload, event, "/repository/full_name")?;
    let repo = RepoName::parse(full_name).ok_or(ShapeError::BadName {
        field: "/repository/full_name",
    })?;
    agrees(
        payload,
        event,
        &repo,
        ["/repository/full_name", "/repository/owner", "/repository/name"],
    )?;
    Ok(repo)
}

/// Reads a `ping` or `meta` payload: `hook.type` says where the webhook lives, `Repository`
/// (then `repository` names it, agreeing with itself as in [`read`]) or `Organization` (then
/// `organization.login`).
pub fn read_hook_notice(kind: Kind, payload: &Value) -> Result<HookNotice, ShapeError> {
    let event = kind.label();
    if !kind.about_the_hook() {
        return Err(ShapeError::NotHandled { event });
    }
    let source = match string(payload, event, "/hook/type")? {
        "Organization" => {
            let login = string(payload, event, "/organization/login")?;
            if !valid_part(login, MAX_ORG) {
                return Err(ShapeError::BadName {
                    field: "/organization/login",
                });
            }
            HookSource::Org(login.to_string())
        }
        "Repository" => HookSource::Repo(repository(payload, event)?),
        _ => return Err(ShapeError::BadName { field: "/hook/type" }),
    };
    let deleted = kind == Kind::Meta && payload.pointer("/action").and_then(Value::as_str) == Some("deleted");
    Ok(HookNotice { source, deleted })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn repository(full_name: &str, owner: &str, name: &str) -> Value {
        json!({"full_name": full_name, "name": name, "owner": {"login": owner}, "html_url": "https://github.com/x"})
    }

    fn pull_request(repository: Value, base: Value) -> Value {
        json!({
            "action": "opened", "number": 7,
            "pull_request": {"number": 7, "user": {"login": "alice"},
                "head": {"ref": "f", "sha": "abc", "repo": repository.clone()},
                "base": {"ref": "main", "sha": "def", "repo": base}},
            "repository": repository,
        })
    }

    #[test]
    fn one_repository_from_one_place_and_every_other_place_agrees() {
        let a = repository("acme/app", "acme", "app");
        let parsed = read(Kind::PullRequest, &pull_request(a.clone(), a.clone())).unwrap();
        assert_eq!(parsed.repo, RepoName::parse("acme/app").unwrap());
        // Case differs: the same repository, spelled as full_name spells it downstream.
        let shouted = repository("ACME/App", "Acme", "APP");
        let parsed = read(Kind::PullRequest, &pull_request(shouted, a.clone())).unwrap();
        let Typed::PullRequest(typed) = parsed.event else {
            panic!("a pull request")
        };
        assert_eq!(typed.pull_request.base.repo.owner.login, "ACME");
        assert_eq!(typed.pull_request.base.repo.name, "App");

        let b = repository("globex/app", "globex", "app");
        assert_eq!(
            read(Kind::PullRequest, &pull_request(b.clone(), a.clone())),
            Err(ShapeError::Disagree {
                field: "/pull_request/base/repo/full_name"
            })
        );
        // A base without full_name still names its owner, which must agree.
        let base_elsewhere = json!({"name": "app", "owner": {"login": "globex"}});
        assert_eq!(
            read(Kind::PullRequest, &pull_request(a.clone(), base_elsewhere)),
            Err(ShapeError::Disagree {
                field: "/pull_request/base/repo/owner"
            })
        );
        let mut no_repository = pull_request(a.clone(), a.clone());
        no_repository.as_object_mut().unwrap().remove("repository");
        assert!(matches!(
            read(Kind::PullRequest, &no_repository),
            Err(ShapeError::Missing { .. })
        ));
        let forged_owner = json!({"ref": "refs/heads/main", "after": "abc",
            "repository": repository("globex/app", "acme", "app")});
        assert_eq!(
            read(Kind::Push, &forged_owner),
            Err(ShapeError::Disagree {
                field: "/repository/owner"
            })
        );
        let bad = json!({"ref": "r", "after": "a", "repository": repository("acme/app/../x", "acme", "app")});
        assert!(matches!(read(Kind::Push, &bad), Err(ShapeError::BadName { .. })));
    }

    #[test]
    fn every_handled_type_has_its_required_fields() {
        let a = repository("acme/app", "acme", "app");
        let push = json!({"ref": "refs/heads/main", "after": "abc", "repository": a});
        let pr = pull_request(a.clone(), a.clone());
        let comment = json!({"action": "created", "issue": {"number": 3, "state": "open"},
            "comment": {"body": "/test all", "user": {"login": "bob"}}, "repository": a});
        assert!(read(Kind::Push, &push).is_ok());
        assert!(read(Kind::IssueComment, &comment).is_ok());
        for (kind, body) in [
            (Kind::PullRequest, json!({})),
            (Kind::PullRequest, json!([])),
            (Kind::PullRequest, push.clone()),
            (Kind::Push, pr.clone()),
            (Kind::IssueComment, pr.clone()),
            (Kind::IssueComment, push.clone()),
            (Kind::PullRequestReview, pr.clone()),
            (
                Kind::Push,
                json!({"ref": "r", "after": "a", "commits": "many", "repository": a}),
            ),
        ] {
            assert!(read(kind, &body).is_err(), "{kind:?} {body}");
        }
    }

    #[test]
    fn event_names_map_to_a_closed_set() {
        assert_eq!(Kind::of("push").label(), "push");
        assert_eq!(Kind::of(&"x".repeat(60_000)).label(), "other");
        assert_eq!(Kind::of("Push"), Kind::Other);
        assert!(Kind::ALL.iter().all(|k| Kind::of(k.label()) == *k));
    }
}
