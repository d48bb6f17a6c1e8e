//! Per-job reporting, rerun and default settings.

use crate::KubeSchema;
use serde::{Deserialize, Serialize};

use super::refs::UnknownFields;

/// Per-job reporter settings.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct ReporterConfig {
    /// Slack reporting for this job, overriding `slack_reporter_configs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReporterConfig>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Where and when a job's result is posted to Slack.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct SlackReporterConfig {
    /// The Slack workspace host, when several are configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The channel to post to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The job states that are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_states_to_report: Option<Vec<String>>,
    /// A Go template of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_template: Option<String>,
    /// Set to false to turn Slack reporting off for this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<bool>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Who may rerun a job from deck.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new(
    "!(has(self.allow_anyone) && self.allow_anyone) || ((!has(self.github_users) || size(self.github_users) == 0) && (!has(self.github_team_ids) || size(self.github_team_ids) == 0) && (!has(self.github_team_slugs) || size(self.github_team_slugs) == 0) && (!has(self.github_orgs) || size(self.github_orgs) == 0))"
).message("allow_anyone cannot be combined with github_users, github_team_ids, github_team_slugs or github_orgs")))]
pub struct RerunAuthConfig {
    /// Anyone may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_anyone: Option<bool>,
    /// Members of these GitHub team ids may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_team_ids: Option<Vec<i64>>,
    /// Members of these GitHub teams may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_team_slugs: Option<Vec<GitHubTeamSlug>>,
    /// These GitHub users may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_users: Option<Vec<String>>,
    /// Members of these GitHub orgs may rerun the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_orgs: Option<Vec<String>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// A GitHub team, by org and slug.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct GitHubTeamSlug {
    /// The team's slug.
    pub slug: String,
    /// The org the team belongs to.
    pub org: String,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Defaults copied into the ProwJobs of a job.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct ProwJobDefaults {
    /// The tenant the job belongs to, for deck's tenant filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// ResultStore upload settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resultstore_config: Option<ResultStoreConfig>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// ResultStore upload settings.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct ResultStoreConfig {
    /// The Google Cloud project that holds the results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Jenkins-specific settings of a job run by the `jenkins` agent.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct JenkinsSpec {
    /// The job is a GitHub branch source job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_branch_source_job: Option<bool>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}
