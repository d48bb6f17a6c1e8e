//! The one error type of the GitHub layer: which call failed, on what, and with which HTTP status.
//!
//! Messages never carry a credential: they hold the operation name, the org/repo/number it was
//! about, the HTTP status and GitHub's own short error message (GitHub never echoes a token).

use std::fmt;
use std::time::Duration;

/// Which GitHub call failed, and on what (`org`, `org/repo`, `org/repo#12`, `org/repo@sha`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    operation: &'static str,
    target: String,
}

impl Call {
    /// A call about an org, e.g. `is_org_member` of `acme` (user `alice`).
    pub fn org(operation: &'static str, org: &str) -> Self {
        Self {
            operation,
            target: org.to_string(),
        }
    }

    /// A call about a repository, `org/repo`.
    pub fn repo(operation: &'static str, org: &str, repo: &str) -> Self {
        Self {
            operation,
            target: format!("{org}/{repo}"),
        }
    }

    /// A call about an issue or pull request, `org/repo#number`.
    pub fn issue(operation: &'static str, org: &str, repo: &str, number: u64) -> Self {
        Self {
            operation,
            target: format!("{org}/{repo}#{number}"),
        }
    }

    /// A call about an issue comment, `org/repo comment <id>`.
    pub fn comment(operation: &'static str, org: &str, repo: &str, id: u64) -> Self {
        Self {
            operation,
            target: format!("{org}/{repo} comment {id}"),
        }
    }

    /// A call about a commit, `org/repo@sha`.
    pub fn commit(operation: &'static str, org: &str, repo: &str, sha: &str) -> Self {
        Self {
            operation,
            target: format!("{org}/{repo}@{sha}"),
        }
    }

    /// A call about the authenticated identity itself (no org or repo).
    pub fn identity(operation: &'static str) -> Self {
        Self {
            operation,
            target: "the authenticated identity".to_string(),
        }
    }

    /// Adds a detail to the target, e.g. ` user=alice` or ` label=lgtm`.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.target.push_str(&format!(" {key}={value}"));
        self
    }

    /// The operation name (`is_org_member`, `pull_request`, `create_status`, ...).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// What the call was about, as shown in messages.
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.operation, self.target)
    }
}

/// An error of the GitHub layer.
///
/// Callers decide what to do with it: [`GitHubError::is_transient`] tells an outage or a rate
/// limit (retry later, never drop the work) from a definitive answer such as a 404 or 422.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// GitHub answered with a status the call does not accept (after any retries).
    #[error("GitHub {call}: HTTP {status}{}", message_suffix(message))]
    Status {
        /// The failed call.
        call: Call,
        /// The HTTP status code.
        status: u16,
        /// GitHub's error message (the JSON `message`, or the start of the body), possibly empty.
        message: String,
        /// When GitHub said it is rate limiting: how long it asked us to wait (`Retry-After`, or
        /// until `X-RateLimit-Reset`), measured when the response arrived.
        retry_after: Option<Duration>,
    },
    /// No HTTP answer: connection refused or reset, timeout, TLS failure (after any retries).
    #[error("GitHub {call}: request failed: {detail}")]
    Transport {
        /// The failed call.
        call: Call,
        /// What went wrong, without credentials.
        detail: String,
    },
    /// Authenticating failed: the GitHub App JWT could not be signed, or exchanging it for an
    /// installation token failed (`status` is then GitHub's answer to that exchange).
    #[error("GitHub {call}: authentication failed{}: {detail}", status_suffix(*status))]
    Auth {
        /// The call that needed the credentials.
        call: Call,
        /// The HTTP status of the token exchange, when GitHub answered.
        status: Option<u16>,
        /// What went wrong, without credentials.
        detail: String,
    },
    /// GitHub answered with a success status, but the body was not what the API documents.
    #[error("GitHub {call}: unexpected response body (HTTP {status}): {detail}")]
    Decode {
        /// The failed call.
        call: Call,
        /// The HTTP status of the response.
        status: u16,
        /// The decoding error.
        detail: String,
    },
    /// The client could not be built from its configuration (bad base URI, bad private key, no
    /// Tokio runtime).
    #[error("GitHub client configuration: {0}")]
    Config(String),
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl GitHubError {
    /// The call that failed (`None` for [`GitHubError::Config`]).
    pub fn call(&self) -> Option<&Call> {
        match self {
            Self::Status { call, .. }
            | Self::Transport { call, .. }
            | Self::Auth { call, .. }
            | Self::Decode { call, .. } => Some(call),
            Self::Config(_) => None,
        }
    }

    /// The HTTP status GitHub answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Auth { status, .. } => *status,
            Self::Transport { .. } | Self::Config(_) => None,
        }
    }

    /// Whether this is GitHub's 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether trying again later may succeed: no answer at all, a 5xx, a 429, or a rate-limited
    /// 403. A caller must then keep the work (requeue) rather than drop it. Other 4xx answers,
    /// decoding and configuration errors are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status {
                status, retry_after, ..
            } => *status == 429 || *status >= 500 || retry_after.is_some(),
            Self::Auth { status, .. } => matches!(status, Some(s) if *s == 429 || *s >= 500),
            Self::Decode { .. } | Self::Config(_) => false,
        }
    }

    /// How long GitHub asked us to wait, when it was rate limiting.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_call_target_and_status() {
        let err = GitHubError::Status {
            call: Call::issue("pull_request", "acme", "widgets", 12),
            status: 404,
            message: "Not Found".into(),
            retry_after: None,
        };
        assert_eq!(
            err.to_string(),
            "GitHub pull_request (acme/widgets#12): HTTP 404: Not Found"
        );
        assert!(err.is_not_found());
        assert!(!err.is_transient());
    }

    #[test]
    fn transient_classification() {
        let status = |status, retry_after| GitHubError::Status {
            call: Call::org("is_org_member", "acme").with("user", "alice"),
            status,
            message: String::new(),
            retry_after,
        };
        assert!(status(502, None).is_transient());
        assert!(status(429, None).is_transient());
        assert!(status(403, Some(Duration::from_secs(5))).is_transient());
        assert!(!status(403, None).is_transient());
        assert!(!status(422, None).is_transient());
        assert_eq!(
            status(403, None).to_string(),
            "GitHub is_org_member (acme user=alice): HTTP 403"
        );
        let transport = GitHubError::Transport {
            call: Call::identity("bot_login"),
            detail: "connection refused".into(),
        };
        assert!(transport.is_transient());
        assert_eq!(transport.status(), None);
        let auth = GitHubError::Auth {
            call: Call::org("installation", "acme"),
            status: Some(503),
            detail: "Service Unavailable".into(),
        };
        assert!(auth.is_transient());
        assert_eq!(
            auth.to_string(),
            "GitHub installation (acme): authentication failed (HTTP 503): Service Unavailable"
        );
    }
}
