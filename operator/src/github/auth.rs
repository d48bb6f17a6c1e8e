//! Credentials, and the octocrab instances that carry them.
//!
//! - A token (personal access token, or any token GitHub accepts as `Bearer`): one octocrab
//!   instance sends `Authorization: Bearer <token>` on every request.
//! - A GitHub App (app id + RSA private key PEM): an app-level octocrab instance signs a short JWT
//!   per request (`GET /app`, `GET /orgs/{org}/installation`). For each org the client looks up the
//!   App's installation once and keeps an installation-level octocrab instance, which exchanges the
//!   JWT for an installation access token (`POST /app/installations/{id}/access_tokens`), caches
//!   it, sends it as `Authorization: Bearer <token>`, and fetches a new one when fewer than 30
//!   seconds of its validity are left (or when GitHub answers 401). Installation tokens live one
//!   hour.
//!
//! Secrets live in [`SecretString`]s: `Debug` shows `<redacted>`, and no error message holds them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::secrecy::{ExposeSecret, SecretString};

use super::error::GitHubError;

/// How the client authenticates. Build it with [`Credentials::token`] or
/// [`Credentials::github_app`]; its `Debug` output never shows the secret.
pub struct Credentials(Kind);

enum Kind {
    Token(SecretString),
    App { app_id: u64, private_key_pem: SecretString },
}

impl Credentials {
    /// A token sent as `Authorization: Bearer <token>` (a personal access token, a fine-grained
    /// token, or an installation token minted elsewhere).
    pub fn token(token: impl Into<String>) -> Self {
        Self(Kind::Token(SecretString::from(token.into())))
    }

    /// A GitHub App: its numeric id and its RSA private key in PEM form (the file GitHub lets you
    /// download, `-----BEGIN RSA PRIVATE KEY-----`).
    pub fn github_app(app_id: u64, private_key_pem: impl Into<String>) -> Self {
        Self(Kind::App {
            app_id,
            private_key_pem: SecretString::from(private_key_pem.into()),
        })
    }

    /// The GitHub App id, for App credentials.
    pub fn app_id(&self) -> Option<u64> {
        match &self.0 {
            Kind::Token(_) => None,
            Kind::App { app_id, .. } => Some(*app_id),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Token(_) => f.write_str("Credentials::Token(<redacted>)"),
            Kind::App { app_id, .. } => f
                .debug_struct("Credentials::GitHubApp")
                .field("app_id", app_id)
                .field("private_key_pem", &"<redacted>")
                .finish(),
        }
    }
}

/// Connection settings for the octocrab instances.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
}

/// The octocrab instances of one client.
pub(crate) enum Auth {
    Token(Arc<Octocrab>),
    App {
        app_id: u64,
        /// Authenticated as the App itself (a fresh JWT per request).
        app: Arc<Octocrab>,
        /// Per org (lowercase), authenticated as the App's installation in that org. Each holds
        /// its own cached installation token, so it must be shared, never cloned.
        installations: Mutex<HashMap<String, (u64, Arc<Octocrab>)>>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token(<redacted>)"),
            Self::App { app_id, .. } => f
                .debug_struct("GitHubApp")
                .field("app_id", app_id)
                .finish_non_exhaustive(),
        }
    }
}

impl Auth {
    /// Builds the octocrab instance(s). Needs a Tokio runtime (octocrab spawns its request
    /// buffer on it).
    pub(crate) fn build(base_uri: &str, credentials: &Credentials, timeouts: Timeouts) -> Result<Self, GitHubError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GitHubError::Config(
                "the GitHub client must be built inside a Tokio runtime".into(),
            ));
        }
        let builder = Octocrab::builder()
            .base_uri(base_uri)
            .map_err(|_| GitHubError::Config(format!("invalid GitHub base URI {base_uri:?}")))?
            .set_connect_timeout(Some(timeouts.connect))
            .set_read_timeout(Some(timeouts.read))
            .set_write_timeout(Some(timeouts.read));
        match &credentials.0 {
            Kind::Token(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(GitHubError::Config("the GitHub token is empty".into()));
                }
                let crab = builder
                    .personal_token(token.clone())
                    .build()
                    .map_err(|e| GitHubError::Config(format!("building the GitHub client: {}", first_line(&e))))?;
                Ok(Self::Token(Arc::new(crab)))
            }
            Kind::App {
                app_id,
                private_key_pem,
            } => {
                let key =
                    octocrab::EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(|e| {
                        GitHubError::Config(format!("the GitHub App private key is not an RSA PEM key ({e})"))
                    })?;
                // Sign once now, so that a key that parses but cannot sign fails at startup.
                octocrab::auth::create_jwt(AppId(*app_id), &key)
                    .map_err(|e| GitHubError::Config(format!("the GitHub App private key cannot sign a JWT ({e})")))?;
                let crab = builder
                    .app(AppId(*app_id), key)
                    .build()
                    .map_err(|e| GitHubError::Config(format!("building the GitHub client: {}", first_line(&e))))?;
                Ok(Self::App {
                    app_id: *app_id,
                    app: Arc::new(crab),
                    installations: Mutex::new(HashMap::new()),
                })
            }
        }
    }

    /// The installation id and instance already known for `org`.
    pub(crate) fn installation(&self, org: &str) -> Option<(u64, Arc<Octocrab>)> {
        match self {
            Self::Token(_) => None,
            Self::App { installations, .. } => lock(installations).get(&org.to_ascii_lowercase()).cloned(),
        }
    }

    /// Registers the App's installation `id` for `org` and returns its instance.
    pub(crate) fn add_installation(&self, org: &str, id: u64) -> Result<Arc<Octocrab>, GitHubError> {
        match self {
            Self::Token(crab) => Ok(crab.clone()),
            Self::App { app, installations, .. } => {
                let crab = Arc::new(app.installation(InstallationId(id)).map_err(|e| {
                    GitHubError::Config(format!("targeting GitHub App installation {id}: {}", first_line(&e)))
                })?);
                lock(installations).insert(org.to_ascii_lowercase(), (id, crab.clone()));
                Ok(crab)
            }
        }
    }

    /// Forgets the installation of `org` (after its token exchange failed: the App may have been
    /// reinstalled), so that the next call looks it up again.
    pub(crate) fn forget_installation(&self, org: &str) {
        if let Self::App { installations, .. } = self {
            lock(installations).remove(&org.to_ascii_lowercase());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The first line of an error's message (octocrab appends backtraces to some).
pub(crate) fn first_line(err: &dyn std::error::Error) -> String {
    err.to_string().lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let token = Credentials::token("ghp_supersecret");
        assert_eq!(format!("{token:?}"), "Credentials::Token(<redacted>)");
        let app = Credentials::github_app(7, "-----BEGIN RSA PRIVATE KEY-----\nsecretbits\n");
        let shown = format!("{app:?}");
        assert!(shown.contains("app_id: 7"), "{shown}");
        assert!(!shown.contains("secretbits"), "{shown}");
        assert_eq!(app.app_id(), Some(7));
        assert_eq!(token.app_id(), None);
    }

    #[tokio::test]
    async fn a_bad_private_key_is_a_config_error_without_the_key() {
        let creds = Credentials::github_app(
            7,
            "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0Yml0cw==\n-----END RSA PRIVATE KEY-----\n",
        );
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(1),
        };
        let err = Auth::build("http://127.0.0.1:1", &creds, timeouts).unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, GitHubError::Config(_)), "{shown}");
        assert!(!shown.contains("c2VjcmV0Yml0cw"), "{shown}");
    }

    #[tokio::test]
    async fn an_empty_token_or_bad_uri_is_a_config_error() {
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(1),
        };
        assert!(matches!(
            Auth::build("http://127.0.0.1:1", &Credentials::token(" "), timeouts),
            Err(GitHubError::Config(_))
        ));
        assert!(matches!(
            Auth::build("not a uri", &Credentials::token("t"), timeouts),
            Err(GitHubError::Config(_))
        ));
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(1),
        };
        assert!(matches!(
            Auth::build("http://127.0.0.1:1", &Credentials::token("t"), timeouts),
            Err(GitHubError::Config(_))
        ));
    }
}
