//! [`GitHubClient`]: the GitHub calls the native trigger and reporter make.
//!
//! Every call goes through one request loop: pick the octocrab instance for the org (the App's
//! installation there, looked up once), send, read the whole answer, and ask the
//! [`RetryPolicy`] whether to wait and retry. Each call then accepts only the statuses the API
//! documents for it and turns anything else into a [`GitHubError`] naming the call, its
//! org/repo/number and the status.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::http::{HeaderMap, Method, StatusCode, header};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use super::auth::{Auth, Credentials, Timeouts, first_line};
use super::cache::TtlCache;
use super::error::{Call, GitHubError};
use super::pagination::{MAX_PAGES, PER_PAGE, next_page};
use super::retry::{
    Idempotency, Outcome, RetryDecision, RetryPolicy, is_rate_limited, mark_secondary_rate_limit, requested_wait,
};
mod hooks;
mod repo_labels;

use super::types::{
    IssueComment, PullRequest, STATUS_DESCRIPTION_MAX_CHARS, StatusState, WireApp, WireComment, WireFile,
    WireInstallation, WireLabel, WirePullRequest, path_segment as seg, truncate_chars,
};

/// GitHub.com's API root, the default base URI.
pub const DEFAULT_BASE_URI: &str = "https://api.github.com";

/// How to build a [`GitHubClient`]. Start from [`GitHubConfig::new`] and change the public
/// fields as needed.
#[derive(Debug)]
pub struct GitHubConfig {
    /// The API root: [`DEFAULT_BASE_URI`], `https://HOST/api/v3` for GitHub Enterprise Server, or
    /// a test server's URI.
    pub base_uri: String,
    /// A token or a GitHub App.
    pub credentials: Credentials,
    /// How long a membership or collaborator answer is reused (default 5 minutes; zero disables
    /// the cache).
    pub cache_ttl: Duration,
    /// The most answers each trust cache holds (default 10,000).
    pub cache_capacity: usize,
    /// Retries on rate limits, 5xx and transport failures.
    pub retry: RetryPolicy,
    /// TCP connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Read and write timeout of one attempt (default 30 s).
    pub read_timeout: Duration,
}

impl GitHubConfig {
    /// Defaults: GitHub.com, 5-minute trust cache of 10,000 entries, 3 attempts within 60 s,
    /// 10 s connect and 30 s read timeouts.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            base_uri: DEFAULT_BASE_URI.to_string(),
            credentials,
            cache_ttl: Duration::from_secs(300),
            cache_capacity: 10_000,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
        }
    }

    /// The same configuration with another base URI.
    pub fn with_base_uri(mut self, base_uri: impl Into<String>) -> Self {
        self.base_uri = base_uri.into();
        self
    }
}

/// The GitHub API, as the native engine uses it. Share it behind an `Arc`; every method takes
/// `&self`. Its `Debug` output shows the base URI and the kind of credentials, never a secret.
pub struct GitHubClient {
    base_uri: String,
    auth: Auth,
    retry: RetryPolicy,
    members: Mutex<TtlCache<(String, String), bool>>,
    collaborators: Mutex<TtlCache<(String, String, String), bool>>,
    bot_login: OnceCell<String>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("base_uri", &self.base_uri)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// One request to send.
struct Req<'a> {
    method: Method,
    path: String,
    body: Option<&'a Value>,
    idempotency: Idempotency,
}

impl Req<'static> {
    fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            idempotency: Idempotency::Idempotent,
        }
    }

    fn delete(path: String) -> Self {
        Self {
            method: Method::DELETE,
            path,
            body: None,
            idempotency: Idempotency::Idempotent,
        }
    }
}

impl<'a> Req<'a> {
    fn with_body(method: Method, path: String, body: &'a Value, idempotency: Idempotency) -> Self {
        Self {
            method,
            path,
            body: Some(body),
            idempotency,
        }
    }
}

/// GitHub's complete answer.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Why one attempt got no usable answer.
enum AttemptError {
    /// No HTTP answer.
    Transport(String),
    /// Signing the JWT, or the installation-token exchange, failed.
    Auth { status: Option<StatusCode>, detail: String },
}

impl AttemptError {
    fn from_octocrab(err: octocrab::Error) -> Self {
        match err {
            // With raw requests octocrab maps no response to an error, except the
            // installation-token exchange it makes on our behalf.
            octocrab::Error::GitHub { source, .. } => Self::Auth {
                status: Some(source.status_code),
                detail: format!("installation token exchange: {}", source.message),
            },
            octocrab::Error::JWT { source, .. } => Self::Auth {
                status: None,
                detail: format!("signing the GitHub App JWT: {source}"),
            },
            other => Self::Transport(describe(&other)),
        }
    }

    fn into_error(self, call: Call) -> GitHubError {
        match self {
            Self::Transport(detail) => GitHubError::Transport { call, detail },
            Self::Auth { status, detail } => GitHubError::Auth {
                call,
                status: status.map(|s| s.as_u16()),
                detail,
            },
        }
    }
}

/// An error and its causes, one line each joined with `: ` (no backtraces, no credentials).
fn describe(err: &dyn std::error::Error) -> String {
    let mut out = first_line(err);
    let mut source = err.source();
    while let Some(cause) = source {
        let line = first_line(cause);
        if !line.is_empty() && !out.contains(&line) {
            out.push_str(": ");
            out.push_str(&line);
        }
        source = cause.source();
    }
    out
}

impl GitHubClient {
    /// Builds a client. Must run inside a Tokio runtime. Fails on a bad base URI, an empty
    /// token, or a private key that cannot sign a JWT; it makes no request (a GitHub App's
    /// installation for an org is looked up on the first call for that org).
    pub fn new(config: GitHubConfig) -> Result<Self, GitHubError> {
        let timeouts = Timeouts {
            connect: config.connect_timeout,
            read: config.read_timeout,
        };
        let auth = Auth::build(&config.base_uri, &config.credentials, timeouts)?;
        Ok(Self {
            base_uri: config.base_uri,
            auth,
            retry: config.retry,
            members: Mutex::new(TtlCache::new(config.cache_ttl, config.cache_capacity)),
            collaborators: Mutex::new(TtlCache::new(config.cache_ttl, config.cache_capacity)),
            bot_login: OnceCell::new(),
        })
    }

    /// A client with default settings authenticating with `token`.
    pub fn with_token(base_uri: &str, token: impl Into<String>) -> Result<Self, GitHubError> {
        Self::new(GitHubConfig::new(Credentials::token(token)).with_base_uri(base_uri))
    }

    /// A client with default settings authenticating as the GitHub App `app_id` with its RSA
    /// private key (PEM).
    pub fn with_github_app(
        base_uri: &str,
        app_id: u64,
        private_key_pem: impl Into<String>,
    ) -> Result<Self, GitHubError> {
        Self::new(GitHubConfig::new(Credentials::github_app(app_id, private_key_pem)).with_base_uri(base_uri))
    }

    /// The API root this client talks to.
    pub fn base_uri(&self) -> &str {
        &self.base_uri
    }

    /// Whether the client authenticates as a GitHub App.
    pub fn is_github_app(&self) -> bool {
        matches!(self.auth, Auth::App { .. })
    }

    // ---------------------------------------------------------------- identity and auth

    /// The GitHub App's installation id in `org` (`GET /orgs/{org}/installation`, looked up once
    /// and kept until a token exchange for it fails), or `None` for a token client. Useful as a readiness check: it fails with a 404
    /// [`GitHubError::Status`] when the App is not installed in `org`.
    pub async fn installation_id(&self, org: &str) -> Result<Option<u64>, GitHubError> {
        match &self.auth {
            Auth::Token(_) => Ok(None),
            Auth::App { app, .. } => {
                if let Some((id, _)) = self.auth.installation(org) {
                    return Ok(Some(id));
                }
                let id = self.lookup_installation(app, org).await?;
                self.auth.add_installation(org, id)?;
                Ok(Some(id))
            }
        }
    }

    /// `GET /orgs/{org}/installation`, authenticated as the App.
    async fn lookup_installation(&self, app: &Octocrab, org: &str) -> Result<u64, GitHubError> {
        let call = Call::org("installation", org);
        let path = format!("/orgs/{}/installation", seg(org));
        let reply = self.send_on(app, &call, &Req::get(path)).await?;
        let installation: WireInstallation = accept_json(&call, reply, &[200])?;
        Ok(installation.id)
    }

    /// The login the client acts as: for a token, `GET /user`'s `login`; for a GitHub App,
    /// `<app-slug>[bot]` from `GET /app`. Asked once, then kept.
    #[tracing::instrument(level = "debug", name = "github.bot_login", skip_all)]
    pub async fn bot_login(&self) -> Result<String, GitHubError> {
        let login = self
            .bot_login
            .get_or_try_init(|| async {
                let call = Call::identity("bot_login");
                match &self.auth {
                    Auth::Token(crab) => {
                        let reply = self.send_on(crab, &call, &Req::get("/user".into())).await?;
                        let user: super::types::WireUser = accept_json(&call, reply, &[200])?;
                        Ok::<_, GitHubError>(user.login)
                    }
                    Auth::App { app, .. } => {
                        let reply = self.send_on(app, &call, &Req::get("/app".into())).await?;
                        let app: WireApp = accept_json(&call, reply, &[200])?;
                        Ok(format!("{}[bot]", app.slug))
                    }
                }
            })
            .await?;
        Ok(login.clone())
    }

    // ---------------------------------------------------------------- trust

    /// Whether `user` is a member of `org` (`GET /orgs/{org}/members/{user}`: 204 yes, 404 no).
    ///
    /// GitHub answers 302 when the requester itself cannot see the org's private members; the
    /// client then asks for public membership (`GET /orgs/{org}/public_members/{user}`), so a
    /// private member counts as a non-member. Give the token `read:org` (or the App "Members:
    /// read") to see private members. Answers are cached for the configured TTL.
    #[tracing::instrument(level = "debug", name = "github.is_org_member", skip(self))]
    pub async fn is_org_member(&self, org: &str, user: &str) -> Result<bool, GitHubError> {
        let key = (org.to_ascii_lowercase(), user.to_ascii_lowercase());
        if let Some(hit) = lock(&self.members).get(&key) {
            debug!(member = hit, "cached");
            return Ok(hit);
        }
        let call = Call::org("is_org_member", org).with("user", user);
        let path = format!("/orgs/{}/members/{}", seg(org), seg(user));
        let reply = self.request(org, &call, &Req::get(path), &[204, 404, 302]).await?;
        let member = if reply.status == StatusCode::FOUND {
            debug!("requester cannot see private members; checking public membership");
            let call = Call::org("is_public_org_member", org).with("user", user);
            let path = format!("/orgs/{}/public_members/{}", seg(org), seg(user));
            let reply = self.request(org, &call, &Req::get(path), &[204, 404]).await?;
            reply.status == StatusCode::NO_CONTENT
        } else {
            reply.status == StatusCode::NO_CONTENT
        };
        lock(&self.members).insert(key, member);
        debug!(member, "answered");
        Ok(member)
    }

    /// Whether `user` is a collaborator on `org/repo`
    /// (`GET /repos/{org}/{repo}/collaborators/{user}`: 204 yes, 404 no; a repository the
    /// credentials cannot see also gives 404, hence `false`). Answers are cached for the
    /// configured TTL.
    #[tracing::instrument(level = "debug", name = "github.is_collaborator", skip(self))]
    pub async fn is_collaborator(&self, org: &str, repo: &str, user: &str) -> Result<bool, GitHubError> {
        let key = (
            org.to_ascii_lowercase(),
            repo.to_ascii_lowercase(),
            user.to_ascii_lowercase(),
        );
        if let Some(hit) = lock(&self.collaborators).get(&key) {
            debug!(collaborator = hit, "cached");
            return Ok(hit);
        }
        let call = Call::repo("is_collaborator", org, repo).with("user", user);
        let path = format!("/repos/{}/{}/collaborators/{}", seg(org), seg(repo), seg(user));
        let reply = self.request(org, &call, &Req::get(path), &[204, 404]).await?;
        let collaborator = reply.status == StatusCode::NO_CONTENT;
        lock(&self.collaborators).insert(key, collaborator);
        debug!(collaborator, "answered");
        Ok(collaborator)
    }

    // ---------------------------------------------------------------- pull requests

    /// The pull request `org/repo#number` (`GET /repos/{org}/{repo}/pulls/{number}`).
    #[tracing::instrument(level = "debug", name = "github.pull_request", skip(self))]
    pub async fn pull_request(&self, org: &str, repo: &str, number: u64) -> Result<PullRequest, GitHubError> {
        let call = Call::issue("pull_request", org, repo, number);
        let path = format!("/repos/{}/{}/pulls/{number}", seg(org), seg(repo));
        let pr: WirePullRequest = self.request_json(org, &call, &Req::get(path), &[200]).await?;
        Ok(PullRequest::from(pr))
    }

    /// The paths the pull request changes (`GET /repos/{org}/{repo}/pulls/{number}/files`, every
    /// page). GitHub lists at most 3,000 files, so a larger PR yields only its first 3,000 paths
    /// ([`PullRequest::changed_files`] tells the true count). A renamed file is listed under its
    /// new path.
    #[tracing::instrument(level = "debug", name = "github.pull_request_files", skip(self))]
    pub async fn pull_request_files(&self, org: &str, repo: &str, number: u64) -> Result<Vec<String>, GitHubError> {
        let call = Call::issue("pull_request_files", org, repo, number);
        let path = format!(
            "/repos/{}/{}/pulls/{number}/files?per_page={PER_PAGE}",
            seg(org),
            seg(repo)
        );
        let files: Vec<WireFile> = self.list_all(org, &call, path).await?;
        debug!(files = files.len(), "listed");
        Ok(files.into_iter().map(|f| f.filename).collect())
    }

    /// The state (`success`, `failure`, `error`, `pending`) of each status context on `sha`
    /// (`GET /repos/{org}/{repo}/commits/{sha}/status`, GitHub's combined status: the latest
    /// status per context). One page of 100 contexts is read; more than that on one commit is
    /// not expected of a Prow installation.
    #[tracing::instrument(level = "debug", name = "github.commit_statuses", skip(self))]
    pub async fn commit_statuses(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, GitHubError> {
        #[derive(serde::Deserialize)]
        struct Combined {
            #[serde(default)]
            statuses: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            context: String,
            state: String,
        }
        let call = Call::commit("commit_statuses", org, repo, sha);
        let path = format!(
            "/repos/{}/{}/commits/{}/status?per_page=100",
            seg(org),
            seg(repo),
            seg(sha)
        );
        let combined: Combined = self.request_json(org, &call, &Req::get(path), &[200]).await?;
        Ok(combined.statuses.into_iter().map(|e| (e.context, e.state)).collect())
    }

    // ---------------------------------------------------------------- comments

    /// Comments on `org/repo#number` with `body`
    /// (`POST /repos/{org}/{repo}/issues/{number}/comments`), returning the new comment. It is
    /// not retried after a 5xx or a lost connection (it may have been posted); the caller decides.
    #[tracing::instrument(level = "debug", name = "github.create_comment", skip(self, body))]
    pub async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<IssueComment, GitHubError> {
        let call = Call::issue("create_comment", org, repo, number);
        let path = format!("/repos/{}/{}/issues/{number}/comments", seg(org), seg(repo));
        let payload = json!({ "body": body });
        let req = Req::with_body(Method::POST, path, &payload, Idempotency::NonIdempotent);
        let comment: WireComment = self.request_json(org, &call, &req, &[200, 201]).await?;
        debug!(id = comment.id, "created");
        Ok(IssueComment::from(comment))
    }

    /// Every comment on `org/repo#number`, oldest first
    /// (`GET /repos/{org}/{repo}/issues/{number}/comments`, every page, up to 10,000).
    #[tracing::instrument(level = "debug", name = "github.list_comments", skip(self))]
    pub async fn list_comments(&self, org: &str, repo: &str, number: u64) -> Result<Vec<IssueComment>, GitHubError> {
        let call = Call::issue("list_comments", org, repo, number);
        let path = format!(
            "/repos/{}/{}/issues/{number}/comments?per_page={PER_PAGE}",
            seg(org),
            seg(repo)
        );
        let comments: Vec<WireComment> = self.list_all(org, &call, path).await?;
        debug!(comments = comments.len(), "listed");
        Ok(comments.into_iter().map(IssueComment::from).collect())
    }

    /// Replaces the body of comment `id` in `org/repo`
    /// (`PATCH /repos/{org}/{repo}/issues/comments/{id}`).
    #[tracing::instrument(level = "debug", name = "github.edit_comment", skip(self, body))]
    pub async fn edit_comment(&self, org: &str, repo: &str, id: u64, body: &str) -> Result<(), GitHubError> {
        let call = Call::comment("edit_comment", org, repo, id);
        let path = format!("/repos/{}/{}/issues/comments/{id}", seg(org), seg(repo));
        let payload = json!({ "body": body });
        let req = Req::with_body(Method::PATCH, path, &payload, Idempotency::Idempotent);
        self.request(org, &call, &req, &[200]).await?;
        Ok(())
    }

    /// Deletes comment `id` in `org/repo` (`DELETE /repos/{org}/{repo}/issues/comments/{id}`). A
    /// 404 (already deleted) is success.
    #[tracing::instrument(level = "debug", name = "github.delete_comment", skip(self))]
    pub async fn delete_comment(&self, org: &str, repo: &str, id: u64) -> Result<(), GitHubError> {
        let call = Call::comment("delete_comment", org, repo, id);
        let path = format!("/repos/{}/{}/issues/comments/{id}", seg(org), seg(repo));
        self.delete_if_present(org, &call, path, &[200, 204]).await
    }

    // ---------------------------------------------------------------- labels

    /// The names of the labels on `org/repo#number`
    /// (`GET /repos/{org}/{repo}/issues/{number}/labels`, every page), as upstream's
    /// `GetIssueLabels`: read before labels are written, so a write is never repeated.
    #[tracing::instrument(level = "debug", name = "github.issue_labels", skip(self))]
    pub async fn issue_labels(&self, org: &str, repo: &str, number: u64) -> Result<Vec<String>, GitHubError> {
        let call = Call::issue("issue_labels", org, repo, number);
        let path = format!(
            "/repos/{}/{}/issues/{number}/labels?per_page={PER_PAGE}",
            seg(org),
            seg(repo)
        );
        let labels: Vec<WireLabel> = self.list_all(org, &call, path).await?;
        Ok(labels.into_iter().map(|l| l.name).collect())
    }

    /// Adds `label` to `org/repo#number` (`POST /repos/{org}/{repo}/issues/{number}/labels`);
    /// adding a label already there changes nothing. GitHub creates a label the repository lacks.
    #[tracing::instrument(level = "debug", name = "github.add_label", skip(self))]
    pub async fn add_label(&self, org: &str, repo: &str, number: u64, label: &str) -> Result<(), GitHubError> {
        let call = Call::issue("add_label", org, repo, number).with("label", label);
        let path = format!("/repos/{}/{}/issues/{number}/labels", seg(org), seg(repo));
        let payload = json!({ "labels": [label] });
        let req = Req::with_body(Method::POST, path, &payload, Idempotency::Idempotent);
        self.request(org, &call, &req, &[200, 201]).await?;
        Ok(())
    }

    /// Removes `label` from `org/repo#number`
    /// (`DELETE /repos/{org}/{repo}/issues/{number}/labels/{label}`). A 404 (the label is not
    /// there) is success.
    #[tracing::instrument(level = "debug", name = "github.remove_label", skip(self))]
    pub async fn remove_label(&self, org: &str, repo: &str, number: u64, label: &str) -> Result<(), GitHubError> {
        let call = Call::issue("remove_label", org, repo, number).with("label", label);
        let path = format!(
            "/repos/{}/{}/issues/{number}/labels/{}",
            seg(org),
            seg(repo),
            seg(label)
        );
        self.delete_if_present(org, &call, path, &[200, 204]).await
    }

    // ---------------------------------------------------------------- statuses

    /// Sets the commit status `context` on `sha` (`POST /repos/{org}/{repo}/statuses/{sha}`).
    /// `description` is cut to GitHub's 140 characters; an empty or absent `target_url` is left
    /// out. Setting the same status again is harmless, so this call is retried like a read.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", name = "github.create_status", skip(self, state, description, target_url), fields(state = state.as_str()))]
    pub async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        state: StatusState,
        context: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        let call = Call::commit("create_status", org, repo, sha).with("context", context);
        let path = format!("/repos/{}/{}/statuses/{}", seg(org), seg(repo), seg(sha));
        let mut payload = json!({
            "state": state.as_str(),
            "context": context,
            "description": truncate_chars(description, STATUS_DESCRIPTION_MAX_CHARS),
        });
        if let Some(url) = target_url.filter(|u| !u.is_empty()) {
            payload["target_url"] = Value::String(url.to_string());
        }
        let req = Req::with_body(Method::POST, path, &payload, Idempotency::Idempotent);
        self.request(org, &call, &req, &[200, 201]).await?;
        Ok(())
    }

    // ---------------------------------------------------------------- plumbing

    /// The octocrab instance for calls about `org`: the token one, or the App's installation in
    /// `org` (looked up on first use).
    async fn crab_for(&self, org: &str) -> Result<Arc<Octocrab>, GitHubError> {
        match &self.auth {
            Auth::Token(crab) => Ok(crab.clone()),
            Auth::App { app, .. } => {
                if let Some((_, crab)) = self.auth.installation(org) {
                    return Ok(crab);
                }
                let id = self.lookup_installation(app, org).await?;
                debug!(org, installation = id, "found the GitHub App installation");
                self.auth.add_installation(org, id)
            }
        }
    }

    /// Sends `req` about `org` with retries. An authentication failure makes the client look
    /// the org's installation up again next time.
    async fn send(&self, org: &str, call: &Call, req: &Req<'_>) -> Result<Reply, GitHubError> {
        let crab = self.crab_for(org).await?;
        let result = self.send_on(&crab, call, req).await;
        if let Err(GitHubError::Auth { .. }) = &result {
            self.auth.forget_installation(org);
        }
        result
    }

    /// Sends `req` on `crab`, retrying as the policy says; returns the last answer, whatever
    /// its status, or the last failure.
    async fn send_on(&self, crab: &Octocrab, call: &Call, req: &Req<'_>) -> Result<Reply, GitHubError> {
        let no_headers = HeaderMap::new();
        let mut waited = Duration::ZERO;
        let mut attempt = 1u32;
        loop {
            let result = attempt_once(crab, req).await;
            let outcome = match &result {
                Ok(reply) => Some(Outcome::Response {
                    status: reply.status,
                    headers: &reply.headers,
                }),
                Err(AttemptError::Transport(_)) => Some(Outcome::Transport),
                Err(AttemptError::Auth {
                    status: Some(status), ..
                }) => Some(Outcome::Response {
                    status: *status,
                    headers: &no_headers,
                }),
                Err(AttemptError::Auth { status: None, .. }) => None,
            };
            let decision = outcome.map_or(RetryDecision::GiveUp, |outcome| {
                self.retry
                    .decide(outcome, req.idempotency, attempt, waited, SystemTime::now())
            });
            let status = result.as_ref().ok().map(|r| r.status.as_u16());
            match decision {
                RetryDecision::GiveUp => {
                    debug!(%call, method = %req.method, attempt, status, "GitHub answered");
                    return result.map_err(|e| e.into_error(call.clone()));
                }
                RetryDecision::RetryAfter(wait) => {
                    let failure = match &result {
                        Ok(_) => String::new(),
                        Err(AttemptError::Transport(detail)) | Err(AttemptError::Auth { detail, .. }) => detail.clone(),
                    };
                    warn!(%call, attempt, status, failure, wait_ms = wait.as_millis() as u64, "retrying GitHub request");
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    attempt += 1;
                }
            }
        }
    }

    /// Sends `req` about `org` and returns GitHub's answer if its status is one of `accepted`,
    /// else the call's [`GitHubError::Status`]. Every endpoint goes through it.
    async fn request(&self, org: &str, call: &Call, req: &Req<'_>, accepted: &[u16]) -> Result<Reply, GitHubError> {
        let reply = self.send(org, call, req).await?;
        require_status(call, reply, accepted)
    }

    /// [`Self::request`], the answer's JSON body read as `T`.
    async fn request_json<T: DeserializeOwned>(
        &self,
        org: &str,
        call: &Call,
        req: &Req<'_>,
        accepted: &[u16],
    ) -> Result<T, GitHubError> {
        let reply = self.send(org, call, req).await?;
        accept_json(call, reply, accepted)
    }

    /// `DELETE path` about `org`: `accepted`, or 404 (already absent), is success.
    async fn delete_if_present(
        &self,
        org: &str,
        call: &Call,
        path: String,
        accepted: &[u16],
    ) -> Result<(), GitHubError> {
        let reply = self.send(org, call, &Req::delete(path)).await?;
        if reply.status == StatusCode::NOT_FOUND {
            debug!("already absent");
            return Ok(());
        }
        require_status(call, reply, accepted)?;
        Ok(())
    }

    /// Every item of a paginated list of `T`, following `Link: rel="next"` (at most
    /// [`MAX_PAGES`]).
    async fn list_all<T: DeserializeOwned>(
        &self,
        org: &str,
        call: &Call,
        first: String,
    ) -> Result<Vec<T>, GitHubError> {
        self.list_pages(org, call, first, |page: Vec<T>| page).await
    }

    /// Every item of a paginated answer, each page read as `P` and its items taken by `items`,
    /// following `Link: rel="next"` (at most [`MAX_PAGES`]).
    async fn list_pages<P: DeserializeOwned, T>(
        &self,
        org: &str,
        call: &Call,
        first: String,
        items: impl Fn(P) -> Vec<T>,
    ) -> Result<Vec<T>, GitHubError> {
        let mut all = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(path) = next.take() {
            if pages == MAX_PAGES {
                warn!(%call, pages, items = all.len(), "stopping after the page limit");
                break;
            }
            pages += 1;
            let reply = self.request(org, call, &Req::get(path), &[200]).await?;
            all.extend(items(decode(call, &reply)?));
            next = next_page(&reply.headers);
        }
        Ok(all)
    }
}

/// One HTTP exchange, body read in full.
async fn attempt_once(crab: &Octocrab, req: &Req<'_>) -> Result<Reply, AttemptError> {
    let builder = hyper::http::Request::builder()
        .method(req.method.clone())
        .uri(req.path.as_str())
        .header(header::ACCEPT, "application/vnd.github+json");
    let request = crab
        .build_request(builder, req.body)
        .map_err(AttemptError::from_octocrab)?;
    let response = crab.execute(request).await.map_err(AttemptError::from_octocrab)?;
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| AttemptError::Transport(describe(&e)))?
        .to_bytes();
    mark_secondary_rate_limit(parts.status, &mut parts.headers, &body);
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// `reply` if its status is one of `accepted`, else the call's [`GitHubError::Status`].
fn require_status(call: &Call, reply: Reply, accepted: &[u16]) -> Result<Reply, GitHubError> {
    if accepted.contains(&reply.status.as_u16()) {
        Ok(reply)
    } else {
        Err(status_error(call.clone(), &reply))
    }
}

fn status_error(call: Call, reply: &Reply) -> GitHubError {
    let retry_after = if is_rate_limited(reply.status, &reply.headers) {
        requested_wait(&reply.headers, SystemTime::now())
    } else {
        None
    };
    GitHubError::Status {
        call,
        status: reply.status.as_u16(),
        message: github_message(&reply.body),
        retry_after,
    }
}

/// `reply`'s JSON body read as `T`, if its status is one of `accepted`.
fn accept_json<T: DeserializeOwned>(call: &Call, reply: Reply, accepted: &[u16]) -> Result<T, GitHubError> {
    let reply = require_status(call, reply, accepted)?;
    decode(call, &reply)
}

fn decode<T: DeserializeOwned>(call: &Call, reply: &Reply) -> Result<T, GitHubError> {
    serde_json::from_slice(&reply.body).map_err(|e| GitHubError::Decode {
        call: call.clone(),
        status: reply.status.as_u16(),
        detail: e.to_string(),
    })
}

/// GitHub's error `message` (plus the first validation error's message, if any), or the start
/// of a non-JSON body, on one line of at most 200 characters.
fn github_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            let mut text = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(first) = value
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|errors| errors.first())
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
            {
                text.push_str(" (");
                text.push_str(first);
                text.push(')');
            }
            text
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&one_line, 200).to_string()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_message_reads_json_or_text() {
        assert_eq!(
            github_message(br#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(
            github_message(br#"{"message":"Validation Failed","errors":[{"message":"too many statuses"}]}"#),
            "Validation Failed (too many statuses)"
        );
        assert_eq!(
            github_message(b"<html>\n  bad   gateway\n</html>"),
            "<html> bad gateway </html>"
        );
        assert_eq!(github_message(&[b'x'; 500]).len(), 200);
        assert_eq!(github_message(b""), "");
    }

    fn reply(status: u16, body: &'static str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn accept_json_reads_an_accepted_answer_and_names_the_call_otherwise() {
        let call = Call::repo("repo_labels", "acme", "widgets");
        let body: Value = accept_json(&call, reply(200, r#"{"id": 7}"#), &[200]).unwrap();
        assert_eq!(body["id"], 7);
        let refused = accept_json::<Value>(&call, reply(404, r#"{"message":"Not Found"}"#), &[200]);
        assert_eq!(
            refused.unwrap_err().to_string(),
            "GitHub repo_labels (acme/widgets): HTTP 404: Not Found"
        );
        let garbled = accept_json::<Value>(&call, reply(200, "<html>"), &[200]).unwrap_err();
        assert!(matches!(garbled, GitHubError::Decode { status: 200, .. }), "{garbled}");
    }

    #[test]
    fn the_client_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<GitHubClient>();
        assert_send_sync::<GitHubError>();
    }

    #[tokio::test]
    async fn debug_shows_no_token() {
        let client = GitHubClient::with_token("http://127.0.0.1:1", "ghp_verysecret").unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("verysecret"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
        assert!(!client.is_github_app());
    }
}
