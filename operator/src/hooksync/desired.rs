//! What an instance wants of its webhooks: the URL, the events, the targets, and the secret (the
//! newest HMAC token). Pure.

use std::collections::BTreeSet;

use k8s_openapi::jiff::Timestamp;
use prow_api::ProwInstanceSpec;
use prow_api::instance::WebhookLevel;
use serde_json::Value;

use super::plan::WantedHook;
use crate::webhook::HANDLED_EVENTS;

/// Why an instance's webhook cannot be worked out.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DesiredError {
    /// Neither a URL nor an ingress host.
    #[error("spec.github.webhook.url is unset and there is no spec.ingress.host to derive it from")]
    NoUrl,
    /// The HMAC Secret cannot be read.
    #[error("the HMAC Secret {name} (key {key}) cannot be read: {reason}")]
    NoSecret {
        /// The Secret's name.
        name: String,
        /// The key.
        key: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The HMAC Secret holds no token for the target.
    #[error("the HMAC Secret holds no token for {target} (spec.github.hmacSecretRef)")]
    NoToken {
        /// `org` or `org/repo`.
        target: String,
    },
}

/// Where a webhook lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// The org's webhook.
    Org(String),
    /// A repository's webhook.
    Repo {
        /// The org.
        org: String,
        /// The repository's name.
        repo: String,
    },
}

impl Target {
    /// `org` or `org/repo`, as status and the dry run name it.
    pub fn name(&self) -> String {
        match self {
            Target::Org(org) => org.clone(),
            Target::Repo { org, repo } => format!("{org}/{repo}"),
        }
    }

    /// The targets of `org` at `level`: the org itself, or each of `repos`.
    pub fn all(org: &str, level: WebhookLevel, repos: &[String]) -> Vec<Target> {
        match level {
            WebhookLevel::Org => vec![Target::Org(org.to_string())],
            WebhookLevel::Repos => repos
                .iter()
                .map(|repo| Target::Repo {
                    org: org.to_string(),
                    repo: repo.clone(),
                })
                .collect(),
        }
    }
}

/// The webhook `target` should have: [`desired_url`], [`events`], and the [`newest_token`] of
/// the HMAC Secret's content `hmac` (`None` when the Secret is not at hand: a dry run from files).
pub fn wanted(spec: &ProwInstanceSpec, target: &Target, hmac: Option<&str>) -> Result<WantedHook, DesiredError> {
    Ok(WantedHook {
        url: desired_url(spec)?,
        events: events(spec),
        secret: hmac.map(|text| newest_token(text, target)).transpose()?,
    })
}

/// The URL GitHub delivers to: `spec.github.webhook.url`, else `https://<ingress.host>/hook`.
pub fn desired_url(spec: &ProwInstanceSpec) -> Result<String, DesiredError> {
    if let Some(url) = spec.github.webhook.as_ref().and_then(|w| w.url.clone()) {
        return Ok(url);
    }
    spec.ingress
        .as_ref()
        .filter(|ingress| !ingress.host.is_empty())
        .map(|ingress| format!("https://{}/hook", ingress.host))
        .ok_or(DesiredError::NoUrl)
}

/// The events delivered: `spec.github.webhook.events`, else the ones the enabled components
/// need: every event (`*`, upstream `add-hook`'s default) when hook runs (its plugins may want
/// any), else the native trigger's.
pub fn events(spec: &ProwInstanceSpec) -> BTreeSet<String> {
    let configured = spec
        .github
        .webhook
        .as_ref()
        .map(|w| w.events.as_slice())
        .unwrap_or_default();
    if !configured.is_empty() {
        return configured.iter().cloned().collect();
    }
    if spec.components.hook.enabled {
        return BTreeSet::from(["*".to_string()]);
    }
    HANDLED_EVENTS.iter().map(|e| e.to_string()).collect()
}

/// The token a webhook of `target` is given, from the HMAC Secret's content: the single token,
/// or, in upstream's list form, the newest (`created_at`, the last listed among equals) at the
/// most specific scope that has one (`org/repo`, then `org`, then `*`), the scope upstream hook
/// verifies with. The older tokens keep verifying deliveries until removed from the Secret.
pub fn newest_token(secret: &str, target: &Target) -> Result<String, DesiredError> {
    let no_token = || DesiredError::NoToken { target: target.name() };
    let trimmed = secret.trim();
    let parsed = prow_api::yaml::load_single(trimmed).ok().map(|(value, _)| value);
    let Some(Value::Object(scopes)) = parsed else {
        return if trimmed.is_empty() {
            Err(no_token())
        } else {
            Ok(trimmed.to_string())
        };
    };
    let (org, repo) = match target {
        Target::Org(org) => (org.as_str(), None),
        Target::Repo { org, repo } => (org.as_str(), Some(format!("{org}/{repo}"))),
    };
    let scope = |wanted: &str| scopes.iter().find(|(scope, _)| scope.eq_ignore_ascii_case(wanted));
    let entries = repo
        .as_deref()
        .and_then(scope)
        .or_else(|| scope(org))
        .or_else(|| scope("*"))
        .and_then(|(_, entries)| entries.as_array())
        .ok_or_else(no_token)?;
    let mut newest: Option<(Option<Timestamp>, &str)> = None;
    for entry in entries {
        let Some(value) = entry.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) else {
            continue;
        };
        let created = entry
            .get("created_at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok());
        if newest.is_none_or(|(best, _)| created >= best) {
            newest = Some((created, value));
        }
    }
    newest.map(|(_, value)| value.to_string()).ok_or_else(no_token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(github_extra: Value, extra: Value) -> ProwInstanceSpec {
        let mut value = json!({
            "version": "v1",
            "github": {"org": "o", "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}},
                       "hmacSecretRef": {"name": "h", "key": "hmac"}},
        });
        for (k, v) in github_extra.as_object().cloned().unwrap_or_default() {
            value["github"][k] = v;
        }
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            value[k] = v;
        }
        serde_json::from_value(value).unwrap()
    }

    fn repo(name: &str) -> Target {
        Target::Repo {
            org: "o".into(),
            repo: name.into(),
        }
    }

    #[test]
    fn the_url_is_the_configured_one_else_the_ingress_hosts_hook() {
        let configured = spec(
            json!({"webhook": {"url": "https://x.example/hook"}}),
            json!({"ingress": {"host": "p.example"}}),
        );
        assert_eq!(desired_url(&configured).unwrap(), "https://x.example/hook");
        let derived = spec(
            json!({"webhook": {"managed": true}}),
            json!({"ingress": {"host": "p.example"}}),
        );
        assert_eq!(desired_url(&derived).unwrap(), "https://p.example/hook");
        let neither = spec(json!({"webhook": {"managed": true}}), json!({}));
        assert_eq!(desired_url(&neither), Err(DesiredError::NoUrl));
        assert_eq!(
            DesiredError::NoUrl.to_string(),
            "spec.github.webhook.url is unset and there is no spec.ingress.host to derive it from"
        );
    }

    #[test]
    fn events_default_to_what_the_enabled_components_need() {
        let native = spec(json!({}), json!({"components": {"hook": {"enabled": false}}}));
        assert_eq!(events(&native), HANDLED_EVENTS.iter().map(|e| e.to_string()).collect());
        let hook = spec(json!({}), json!({"components": {"hook": {"enabled": true}}}));
        assert_eq!(events(&hook), BTreeSet::from(["*".to_string()]));
        let configured = spec(
            json!({"webhook": {"events": ["push"]}}),
            json!({"components": {"hook": {"enabled": true}}}),
        );
        assert_eq!(events(&configured), BTreeSet::from(["push".to_string()]));
    }

    #[test]
    fn the_newest_token_of_the_most_specific_scope_signs() {
        assert_eq!(newest_token("  single\n", &repo("r")).unwrap(), "single");
        let listed = r#"
"*":
  - value: global
o:
  - value: newest
    created_at: 2026-03-01T00:00:00Z
  - value: older
    created_at: 2026-01-01T00:00:00Z
o/special:
  - value: first
  - value: second
"#;
        assert_eq!(newest_token(listed, &repo("r")).unwrap(), "newest");
        assert_eq!(newest_token(listed, &Target::Org("o".into())).unwrap(), "newest");
        assert_eq!(newest_token(listed, &repo("special")).unwrap(), "second");
        assert_eq!(newest_token(listed, &Target::Org("other".into())).unwrap(), "global");
        let scoped = "o:\n  - value: a\n";
        assert_eq!(
            newest_token(scoped, &Target::Org("other".into()))
                .unwrap_err()
                .to_string(),
            "the HMAC Secret holds no token for other (spec.github.hmacSecretRef)"
        );
        assert!(newest_token("  ", &repo("r")).is_err());
    }

    #[test]
    fn targets_are_the_org_or_each_repository() {
        let repos = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            Target::all("o", WebhookLevel::Org, &repos),
            vec![Target::Org("o".into())]
        );
        let names: Vec<String> = Target::all("o", WebhookLevel::Repos, &repos)
            .iter()
            .map(Target::name)
            .collect();
        assert_eq!(names, ["o/a", "o/b"]);
    }
}
