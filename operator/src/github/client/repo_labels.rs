//! The calls label sync makes: a repository's labels (list, create, update, delete), an org's
//! repositories, and the issue search that finds what a migration must move.

use hyper::http::Method;
use serde_json::{Value, json};
use tracing::debug;

use super::{GitHubClient, Req};
use crate::github::error::{Call, GitHubError};
use crate::github::pagination::PER_PAGE;
use crate::github::retry::Idempotency;
use crate::github::types::{RepoLabel, Repository, WireRepoLabel, WireRepository, WireSearch, path_segment as seg};

impl GitHubClient {
    /// Every label of `org/repo` (`GET /repos/{org}/{repo}/labels`, every page).
    #[tracing::instrument(level = "debug", name = "github.repo_labels", skip(self))]
    pub async fn repo_labels(&self, org: &str, repo: &str) -> Result<Vec<RepoLabel>, GitHubError> {
        let call = Call::repo("repo_labels", org, repo);
        let path = format!("/repos/{}/{}/labels?per_page={PER_PAGE}", seg(org), seg(repo));
        let labels: Vec<WireRepoLabel> = self.list_all(org, &call, path).await?;
        debug!(labels = labels.len(), "listed");
        Ok(labels.into_iter().map(RepoLabel::from).collect())
    }

    /// Creates the label `name` in `org/repo` (`POST /repos/{org}/{repo}/labels`, 201). Without
    /// a colour GitHub picks its default. Not repeated after a 5xx (a second create would be
    /// refused with a 422); the next pass lists the labels again.
    #[tracing::instrument(level = "debug", name = "github.create_repo_label", skip(self, name, color, description), fields(label = name))]
    pub async fn create_repo_label(
        &self,
        org: &str,
        repo: &str,
        name: &str,
        color: Option<&str>,
        description: &str,
    ) -> Result<(), GitHubError> {
        let call = Call::repo("create_repo_label", org, repo).with("label", name);
        let path = format!("/repos/{}/{}/labels", seg(org), seg(repo));
        let mut payload = json!({ "name": name, "description": description });
        if let Some(color) = color {
            payload["color"] = Value::String(color.to_string());
        }
        let req = Req::with_body(Method::POST, path, &payload, Idempotency::NonIdempotent);
        self.request(org, &call, &req, &[201]).await?;
        Ok(())
    }

    /// Changes the label `current` of `org/repo` (`PATCH /repos/{org}/{repo}/labels/{current}`,
    /// 200): its name becomes `new_name` (a rename keeps its issues and pull requests), and its
    /// colour (when given) and description are set.
    #[tracing::instrument(level = "debug", name = "github.update_repo_label", skip(self, current, color, description), fields(label = current))]
    pub async fn update_repo_label(
        &self,
        org: &str,
        repo: &str,
        current: &str,
        new_name: &str,
        color: Option<&str>,
        description: &str,
    ) -> Result<(), GitHubError> {
        let call = Call::repo("update_repo_label", org, repo).with("label", current);
        let path = format!("/repos/{}/{}/labels/{}", seg(org), seg(repo), seg(current));
        let mut payload = json!({ "new_name": new_name, "description": description });
        if let Some(color) = color {
            payload["color"] = Value::String(color.to_string());
        }
        let req = Req::with_body(Method::PATCH, path, &payload, Idempotency::Idempotent);
        self.request(org, &call, &req, &[200]).await?;
        Ok(())
    }

    /// Deletes the label `name` of `org/repo` (`DELETE /repos/{org}/{repo}/labels/{name}`, 204).
    /// A 404 (already gone) is success.
    #[tracing::instrument(level = "debug", name = "github.delete_repo_label", skip(self, name), fields(label = name))]
    pub async fn delete_repo_label(&self, org: &str, repo: &str, name: &str) -> Result<(), GitHubError> {
        let call = Call::repo("delete_repo_label", org, repo).with("label", name);
        let path = format!("/repos/{}/{}/labels/{}", seg(org), seg(repo), seg(name));
        self.delete_if_present(org, &call, path, &[204]).await
    }

    /// The repositories of `org` (`GET /orgs/{org}/repos?type=all`, every page).
    #[tracing::instrument(level = "debug", name = "github.org_repos", skip(self))]
    pub async fn org_repos(&self, org: &str) -> Result<Vec<Repository>, GitHubError> {
        let call = Call::org("org_repos", org);
        let path = format!("/orgs/{}/repos?type=all&per_page={PER_PAGE}", seg(org));
        let repos: Vec<WireRepository> = self.list_all(org, &call, path).await?;
        debug!(repos = repos.len(), "listed");
        Ok(repos.into_iter().map(Repository::from).collect())
    }

    /// The numbers of the open issues and pull requests of `org/repo` labelled `label` but not
    /// `without`: upstream's migration query `is:open repo:org/repo label:"old" -label:"new"`
    /// (`GET /search/issues`, every page).
    #[tracing::instrument(level = "debug", name = "github.open_issues_labelled", skip(self))]
    pub async fn open_issues_labelled(
        &self,
        org: &str,
        repo: &str,
        label: &str,
        without: &str,
    ) -> Result<Vec<u64>, GitHubError> {
        let call = Call::repo("search_issues", org, repo).with("label", label);
        let query = format!("is:open repo:{org}/{repo} label:\"{label}\" -label:\"{without}\"");
        // Percent-encoding everything but unreserved characters suits a query value too.
        let path = format!("/search/issues?q={}&per_page={PER_PAGE}", seg(&query));
        self.list_pages(org, &call, path, |page: WireSearch| {
            page.items.into_iter().map(|item| item.number).collect()
        })
        .await
    }
}
