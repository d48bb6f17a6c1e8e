//! The calls managed webhooks make: list, create and update the webhooks of a repository or an
//! org (`/repos/{org}/{repo}/hooks`, `/orgs/{org}/hooks`). They need a token with the
//! `admin:repo_hook` (or `admin:org_hook`) scope; without it GitHub answers 404.

use hyper::http::Method;
use serde_json::{Value, json};
use tracing::debug;

use super::{GitHubClient, Req};
use crate::github::error::{Call, GitHubError};
use crate::github::pagination::PER_PAGE;
use crate::github::retry::Idempotency;
use crate::github::types::{Hook, HookConfig, HookScope, HookUpdate, WireHook, path_segment as seg};

impl HookScope<'_> {
    fn call(&self, operation: &'static str) -> Call {
        match self {
            HookScope::Org(org) => Call::org(operation, org),
            HookScope::Repo(org, repo) => Call::repo(operation, org, repo),
        }
    }

    fn org(&self) -> &str {
        match self {
            HookScope::Org(org) | HookScope::Repo(org, _) => org,
        }
    }

    fn hooks_path(&self) -> String {
        match self {
            HookScope::Org(org) => format!("/orgs/{}/hooks", seg(org)),
            HookScope::Repo(org, repo) => format!("/repos/{}/{}/hooks", seg(org), seg(repo)),
        }
    }
}

fn config_json(config: &HookConfig) -> Value {
    let mut config_json = json!({
        "url": config.url,
        "content_type": config.content_type,
        "insecure_ssl": "0",
    });
    if let Some(secret) = &config.secret {
        config_json["secret"] = json!(secret);
    }
    config_json
}

impl GitHubClient {
    /// The webhooks of a repository or org (`GET …/hooks`, every page).
    #[tracing::instrument(level = "debug", name = "github.hooks", skip_all, fields(target = %scope))]
    pub async fn hooks(&self, scope: HookScope<'_>) -> Result<Vec<Hook>, GitHubError> {
        let call = scope.call("list_hooks");
        let path = format!("{}?per_page={PER_PAGE}", scope.hooks_path());
        let hooks: Vec<WireHook> = self.list_all(scope.org(), &call, path).await?;
        debug!(hooks = hooks.len(), "listed");
        Ok(hooks.into_iter().map(Hook::from).collect())
    }

    /// Creates an active `web` webhook (`POST …/hooks`, 201) and returns its id. Not repeated
    /// after a 5xx (a second create would add a second webhook); the next pass lists again.
    #[tracing::instrument(level = "debug", name = "github.create_hook", skip_all, fields(target = %scope, url = %config.url))]
    pub async fn create_hook(
        &self,
        scope: HookScope<'_>,
        config: &HookConfig,
        events: &[String],
    ) -> Result<u64, GitHubError> {
        let call = scope.call("create_hook");
        let payload = json!({
            "name": "web",
            "active": true,
            "events": events,
            "config": config_json(config),
        });
        let req = Req::with_body(Method::POST, scope.hooks_path(), &payload, Idempotency::NonIdempotent);
        let created: WireHook = self.request_json(scope.org(), &call, &req, &[201]).await?;
        Ok(created.id)
    }

    /// Changes webhook `id` (`PATCH …/hooks/{id}`, 200): only the parts `update` sets are sent.
    #[tracing::instrument(level = "debug", name = "github.update_hook", skip(self, scope, update), fields(target = %scope))]
    pub async fn update_hook(&self, scope: HookScope<'_>, id: u64, update: &HookUpdate) -> Result<(), GitHubError> {
        let call = scope.call("update_hook").with("hook", &id.to_string());
        let path = format!("{}/{id}", scope.hooks_path());
        let mut payload = json!({});
        if let Some(config) = &update.config {
            payload["config"] = config_json(config);
        }
        if let Some(events) = &update.events {
            payload["events"] = json!(events);
        }
        if let Some(active) = update.active {
            payload["active"] = json!(active);
        }
        let req = Req::with_body(Method::PATCH, path, &payload, Idempotency::Idempotent);
        self.request(scope.org(), &call, &req, &[200]).await?;
        Ok(())
    }
}
