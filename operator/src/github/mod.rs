//! The GitHub adapter: a thin layer on octocrab for the calls the native trigger and reporter
//! make (trust checks, pull requests and their files, comments, labels, commit statuses), and
//! label sync's (a repository's labels, an org's repositories, the issue search of a migration).
//!
//! - [`GitHubClient`] is built from a [`GitHubConfig`]: a base URI (GitHub.com, GitHub Enterprise,
//!   or a test server) and [`Credentials`] (a token, or a GitHub App whose installation token per
//!   org is obtained and refreshed automatically).
//! - Every call returns [`GitHubError`], which names the call, its org/repo/number and the HTTP
//!   status, and tells an outage or a rate limit ([`GitHubError::is_transient`]) from an answer.
//! - Rate limits, 5xx and transport failures are retried a bounded number of times
//!   ([`RetryPolicy`]); after that the error goes back to the caller, which must keep the work and
//!   try again later.
//! - Org-membership and collaborator answers are cached briefly ([`TtlCache`]).
//! - A pass over many repositories or orgs ([`throttled_pass`]) stops asking once GitHub rate
//!   limits, leaving the rest for later.
//! - No secret is ever logged, shown by `Debug`, or put in an error message.

mod auth;
mod cache;
mod client;
mod error;
mod pagination;
mod retry;
mod throttled;
mod types;

pub use auth::Credentials;
pub use cache::{Clock, SystemClock, TtlCache};
pub use client::{DEFAULT_BASE_URI, GitHubClient, GitHubConfig};
pub use error::{Call, GitHubError};
pub use pagination::{MAX_PAGES, PER_PAGE, next_page};
pub use retry::{Idempotency, Outcome, RetryDecision, RetryPolicy, is_rate_limited, requested_wait};
pub use throttled::throttled_pass;
pub use types::{
    Hook, HookConfig, HookScope, HookUpdate, IssueComment, PullRequest, PullRequestState, RepoLabel, Repository,
    STATUS_DESCRIPTION_MAX_CHARS, StatusState, path_segment, truncate_chars,
};
