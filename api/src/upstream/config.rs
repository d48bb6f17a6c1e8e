//! `config.yaml`: upstream Prow's main configuration.
//!
//! The keys the operator reads are typed; every other key is kept as written in `other` maps, so
//! a configuration passes through the operator unchanged. Which keys exist at all is the business
//! of [`super::documented`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::job::{DecorationConfig, JobSet};

/// The keys of `config.yaml` that hold jobs rather than settings.
pub const JOB_KEYS: [&str; 4] = ["presubmits", "postsubmits", "periodics", "presets"];

/// Upstream's default `prowjob_namespace` and `pod_namespace`.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The content of `config.yaml`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ProwConfig {
    /// Jobs may be written in `config.yaml` too.
    #[serde(flatten)]
    pub jobs: JobSet,
    /// Decorates every job that does not say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decorate_all_jobs: Option<bool>,
    /// The namespace of ProwJobs (upstream default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prowjob_namespace: Option<String>,
    /// The namespace of job pods (upstream default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    /// plank's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plank: Option<Plank>,
    /// sinker's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sinker: Option<Sinker>,
    /// horologium's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horologium: Option<Horologium>,
    /// crier's GitHub reporter settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_reporter: Option<GitHubReporter>,
    /// Slack reporting by `*`, `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_reporter_configs: Option<BTreeMap<String, SlackReporterEntry>>,
    /// Every other key (tide, deck, branch-protection, …), as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// plank's settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Plank {
    /// A Go template of the job URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_url_template: Option<String>,
    /// Job URL prefixes by `*`, `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_url_prefix_config: Option<BTreeMap<String, String>>,
    /// The limit on pending jobs; 0 is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i64>,
    /// How long a pod may stay pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_pending_timeout: Option<String>,
    /// How long a pod may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_running_timeout: Option<String>,
    /// How long a pod may stay unscheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_unscheduled_timeout: Option<String>,
    /// How many times a lost pod is recreated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_revivals: Option<i64>,
    /// Default decoration by `*`, `org` or `org/repo` (exclusive with the entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_decoration_configs: Option<BTreeMap<String, DecorationConfig>>,
    /// Default decoration entries, applied in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_decoration_config_entries: Option<Vec<DefaultDecorationConfigEntry>>,
    /// Capacities of the job queues; 0 blocks, negative is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_queue_capacities: Option<BTreeMap<String, i64>>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One default decoration entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DefaultDecorationConfigEntry {
    /// `org`, `org/repo`, `*` or empty for every repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The build cluster, `*` or empty for every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The decoration settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<DecorationConfig>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// sinker's settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Sinker {
    /// How often sinker runs (default 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_period: Option<String>,
    /// Age after which complete ProwJobs are deleted (default 168h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prowjob_age: Option<String>,
    /// Age after which pods of complete jobs are deleted (default 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pod_age: Option<String>,
    /// Time after completion after which pods are deleted (default `max_pod_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_pod_ttl: Option<String>,
    /// Build clusters sinker leaves alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_clusters: Option<Vec<String>>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// horologium's settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Horologium {
    /// How often periodics are considered (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_interval: Option<String>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// crier's GitHub reporter settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GitHubReporter {
    /// The job types reported (default presubmit and postsubmit, the only ones allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_types_to_report: Option<Vec<String>>,
    /// Repositories that get statuses but no comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_comment_repos: Option<Vec<String>>,
    /// Repositories whose comment waits for every job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_comment_repos: Option<Vec<String>>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One entry of `slack_reporter_configs`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SlackReporterEntry {
    /// The channel (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The job types reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_types_to_report: Option<Vec<String>>,
    /// The job states reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_states_to_report: Option<Vec<String>>,
    /// A Go template of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_template: Option<String>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
