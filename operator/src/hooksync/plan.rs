//! The webhook planner: the webhook wanted on one target (an org or a repository) and the
//! webhooks GitHub lists there in, one action out. Pure: no I/O.
//!
//! The operator's own webhook is the one whose URL is the wanted one, or else the URL it last set
//! (kept in status, so a change of `url` moves the webhook rather than adding a second one). Every
//! other webhook is left alone. GitHub never shows a webhook's secret (it lists `********`), so
//! the secret counts as drifted when the webhook has none, or when the token it was last given
//! (remembered as a [`secret_digest`]) is not the newest one.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// The content type the operator sets: upstream hook reads JSON bodies only.
pub const CONTENT_TYPE: &str = "json";

/// The webhook wanted on a target.
#[derive(Clone, PartialEq, Eq)]
pub struct WantedHook {
    /// Where GitHub delivers.
    pub url: String,
    /// The events delivered (`*` for every event).
    pub events: BTreeSet<String>,
    /// The HMAC token GitHub signs with (the newest in the Secret); `None` when the Secret is not
    /// at hand (a dry run from files): then only a webhook without any secret counts as drifted.
    pub secret: Option<String>,
}

impl std::fmt::Debug for WantedHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("WantedHook")
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// A webhook as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedHook {
    /// GitHub's id.
    pub id: u64,
    /// `config.url`.
    pub url: String,
    /// `config.content_type` (`json` or `form`).
    pub content_type: String,
    /// `events`.
    pub events: BTreeSet<String>,
    /// `active`.
    pub active: bool,
    /// Whether `config.secret` is set (GitHub shows it masked).
    pub has_secret: bool,
}

/// What the operator remembers of a target's webhook (from its status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The URL it last set.
    pub url: Option<String>,
    /// The [`secret_digest`] of the token it last set.
    pub secret_digest: Option<String>,
}

/// A part of the operator's webhook that differs from the wanted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Drift {
    /// `config.url` (the configured URL changed).
    Url,
    /// `config.content_type` is not `json`.
    ContentType,
    /// `config.secret` is unset or not the newest token.
    Secret,
    /// `events`.
    Events,
    /// The webhook is inactive.
    Active,
}

impl Drift {
    /// The field's name, as GitHub's API spells it.
    pub fn field(self) -> &'static str {
        match self {
            Drift::Url => "url",
            Drift::ContentType => "content_type",
            Drift::Secret => "secret",
            Drift::Events => "events",
            Drift::Active => "active",
        }
    }

    /// Whether the field lives in the webhook's `config` object.
    pub fn in_config(self) -> bool {
        matches!(self, Drift::Url | Drift::ContentType | Drift::Secret)
    }
}

/// The one change a target needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    /// `POST …/hooks`: the wanted webhook, active.
    Create,
    /// `PATCH …/hooks/{id}` with the fields that drift (a drift in `config` sends the whole
    /// config: url, content type and secret, as GitHub keeps it as one object).
    Update {
        /// The webhook's id.
        id: u64,
        /// What differs, in a stable order.
        drift: BTreeSet<Drift>,
    },
}

/// A target's plan: what to do, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `None` when the webhook is as wanted.
    pub action: Option<HookAction>,
}

impl Plan {
    /// The state reported in status: `Present`, `Drifted` or `Missing`.
    pub fn state(&self) -> &'static str {
        match self.action {
            None => "Present",
            Some(HookAction::Update { .. }) => "Drifted",
            Some(HookAction::Create) => "Missing",
        }
    }

    /// The dry run's line for `target` (`create org/repo url`, `update org/repo url`), if any.
    pub fn line(&self, target: &str, url: &str) -> Option<String> {
        match self.action {
            None => None,
            Some(HookAction::Create) => Some(format!("create {target} {url}")),
            Some(HookAction::Update { .. }) => Some(format!("update {target} {url}")),
        }
    }
}

/// A short digest of a webhook secret, to remember which token a webhook was given without
/// keeping the token: 16 hex digits of a domain-separated SHA-256.
pub fn secret_digest(secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"prow-operator webhook secret\0");
    hasher.update(secret.as_bytes());
    let digest = hasher.finalize();
    hex::encode(&digest[..8])
}

/// Plans `target`'s webhook: the operator's own (by URL: the wanted one first, then the one it
/// last set) is created when absent and updated where it drifts; the others are not looked at.
pub fn plan(wanted: &WantedHook, observed: &[ObservedHook], known: &Known) -> Plan {
    let own = observed
        .iter()
        .filter(|hook| hook.url == wanted.url)
        .chain(
            observed
                .iter()
                .filter(|hook| known.url.as_deref().is_some_and(|url| url == hook.url)),
        )
        .min_by_key(|hook| (hook.url != wanted.url, hook.id));
    let Some(own) = own else {
        return Plan {
            action: Some(HookAction::Create),
        };
    };
    let mut drift = BTreeSet::new();
    if own.url != wanted.url {
        drift.insert(Drift::Url);
    }
    if own.content_type != CONTENT_TYPE {
        drift.insert(Drift::ContentType);
    }
    let rotated = wanted
        .secret
        .as_deref()
        .is_some_and(|secret| known.secret_digest.as_deref() != Some(secret_digest(secret).as_str()));
    if !own.has_secret || rotated {
        drift.insert(Drift::Secret);
    }
    if own.events != wanted.events {
        drift.insert(Drift::Events);
    }
    if !own.active {
        drift.insert(Drift::Active);
    }
    Plan {
        action: (!drift.is_empty()).then_some(HookAction::Update { id: own.id, drift }),
    }
}

#[cfg(test)]
mod tests;
