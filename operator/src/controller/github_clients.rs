//! A GitHub client per instance, built from the credentials its spec names (a token, or a GitHub
//! App's id and private key) and its `apiUrl`, and kept until those Secrets change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use prow_api::ProwInstance;
use prow_api::instance::SecretKeyRef;
use sha2::{Digest, Sha256};

use crate::github::{GitHubClient, GitHubError};

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// A Secret could not be read.
    #[error("reading Secret {namespace}/{name}: {}", super::api_error::cause(.source))]
    Read {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// A Secret or key is missing, or holds something unusable.
    #[error("{0}")]
    Invalid(String),
    /// The client refused the credentials.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
}

/// A client and what it was built from.
struct Known {
    /// [`GitHubClients::invalidate`]'s count when the Secrets were read.
    epoch: u64,
    /// The instance's generation then.
    generation: Option<i64>,
    /// A hash of the credentials.
    hash: String,
    client: Arc<GitHubClient>,
}

/// Clients by instance uid. The Secrets are read again only after [`GitHubClients::invalidate`]
/// (a Secret an instance names changed) or a change of the instance's spec; then the client is
/// rebuilt only when the credentials differ.
#[derive(Default)]
pub struct GitHubClients {
    by_instance: Mutex<HashMap<String, Known>>,
    epoch: AtomicU64,
}

impl std::fmt::Debug for GitHubClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitHubClients")
    }
}

async fn read_key(api: &Api<Secret>, namespace: &str, reference: &SecretKeyRef) -> Result<String, CredentialsError> {
    let secret = api
        .get_opt(&reference.name)
        .await
        .map_err(|source| CredentialsError::Read {
            namespace: namespace.to_string(),
            name: reference.name.clone(),
            source,
        })?
        .ok_or_else(|| CredentialsError::Invalid(format!("Secret {namespace}/{} not found", reference.name)))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&reference.key))
        .map(|b| b.0.clone())
        .ok_or_else(|| {
            CredentialsError::Invalid(format!(
                "Secret {namespace}/{} has no key {:?}",
                reference.name, reference.key
            ))
        })?;
    String::from_utf8(bytes).map_err(|_| {
        CredentialsError::Invalid(format!(
            "Secret {namespace}/{} key {:?} is not UTF-8",
            reference.name, reference.key
        ))
    })
}

impl GitHubClients {
    /// The client for `instance`, built (or rebuilt, when its credentials changed) from its
    /// Secrets in its namespace.
    pub async fn client_for(
        &self,
        instance: &ProwInstance,
        secrets: &Api<Secret>,
    ) -> Result<Arc<GitHubClient>, CredentialsError> {
        let uid = instance.uid().unwrap_or_default();
        let epoch = self.epoch.load(Ordering::Acquire);
        if let Some(known) = self.lock().get(&uid)
            && known.epoch == epoch
            && known.generation == instance.metadata.generation
        {
            return Ok(known.client.clone());
        }
        let namespace = instance.namespace().unwrap_or_default();
        let github = &instance.spec.github;
        let mut hasher = Sha256::new();
        hasher.update(github.api_url.as_bytes());
        enum Made {
            Token(String),
            App(u64, String),
        }
        let made = if let Some(token) = &github.auth.token {
            Made::Token(
                read_key(secrets, &namespace, &token.secret_ref)
                    .await?
                    .trim()
                    .to_string(),
            )
        } else if let Some(app) = &github.auth.app {
            let id = match (&app.app_id, &app.app_id_secret_ref) {
                (Some(id), _) => id.clone(),
                (None, Some(reference)) => read_key(secrets, &namespace, reference).await?,
                (None, None) => return Err(CredentialsError::Invalid("spec.github.auth.app names no app id".into())),
            };
            let id: u64 = id
                .trim()
                .parse()
                .map_err(|_| CredentialsError::Invalid(format!("the GitHub App id {:?} is not a number", id.trim())))?;
            Made::App(id, read_key(secrets, &namespace, &app.private_key_secret_ref).await?)
        } else {
            return Err(CredentialsError::Invalid(
                "spec.github.auth sets neither app nor token".into(),
            ));
        };
        match &made {
            Made::Token(token) => hasher.update(token.as_bytes()),
            Made::App(id, key) => {
                hasher.update(id.to_le_bytes());
                hasher.update(key.as_bytes());
            }
        }
        let hash = hex::encode(hasher.finalize());
        let mut by_instance = self.lock();
        let client = match by_instance.get(&uid) {
            Some(known) if known.hash == hash => known.client.clone(),
            _ => Arc::new(match made {
                Made::Token(token) => GitHubClient::with_token(&github.api_url, token)?,
                Made::App(id, key) => GitHubClient::with_github_app(&github.api_url, id, key)?,
            }),
        };
        by_instance.insert(
            uid,
            Known {
                epoch,
                generation: instance.metadata.generation,
                hash,
                client: client.clone(),
            },
        );
        Ok(client)
    }

    /// Makes every client check its Secrets again on next use.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.by_instance.lock().unwrap_or_else(|p| p.into_inner())
    }
}
