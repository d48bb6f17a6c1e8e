//! The fields every job type shares: upstream's `JobBase` and `UtilityConfig`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::decoration::DecorationConfig;
use super::refs::Refs;
use super::reporting::{ProwJobDefaults, ReporterConfig, RerunAuthConfig};
use crate::embedded::{Embedded, TektonPipelineRunSpec};

/// The agent that runs a job when none is named.
pub const DEFAULT_AGENT: &str = "kubernetes";
/// The build cluster a job runs in when none is named.
pub const DEFAULT_CLUSTER: &str = "default";

/// Fields common to presubmits, postsubmits and periodics, with upstream's names.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct JobBase {
    /// The job's name. It must match `^[A-Za-z0-9-._]+$` (jenkins jobs may also use `/`);
    /// names over 63 characters are truncated in labels.
    #[schemars(extend("pattern" = "^[A-Za-z0-9-._/]+$", "maxLength" = 512))]
    pub name: String,
    /// Labels added to the job's ProwJobs and pods; also select presets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to the job's ProwJobs and pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// How many runs of this job may be pending at once; 0 means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<i64>,
    /// What runs the job: `kubernetes` (the default), `jenkins` or `tekton-pipeline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxLength" = 64))]
    pub agent: Option<String>,
    /// The build cluster the pod runs in (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The namespace of the job's pods; only the `tekton-pipeline` agent may set it, others use
    /// the instance's pod namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Fails the job instead of reviving it when its pod is evicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_on_eviction: Option<bool>,
    /// The pod to run, for the `kubernetes` agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Embedded<PodSpec>>,
    /// The Tekton PipelineRun to run (v1alpha1), for the `tekton-pipeline` agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_run_spec: Option<Embedded<TektonPipelineRunSpec>>,
    /// The Tekton PipelineRun to run, by Tekton API version, for the `tekton-pipeline` agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tekton_pipeline_run_spec: Option<Embedded<TektonPipelineRunSpec>>,
    /// Per-job reporter settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_config: Option<ReporterConfig>,
    /// Who may rerun the job from deck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_auth_config: Option<RerunAuthConfig>,
    /// Hides the job from deck unless deck is started with `--hidden-only` or `--show-hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Defaults copied into the job's ProwJobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prowjob_defaults: Option<ProwJobDefaults>,
    /// The queue (a key of `plank.job_queue_capacities`) whose capacity limits this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_queue_name: Option<String>,
    /// Decorates the pod with the pod utilities (clone, time-box, upload). Defaults to
    /// `decorate_all_jobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decorate: Option<bool>,
    /// Decoration settings, merged over the plank defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration_config: Option<DecorationConfig>,
    /// The import path to clone the primary repository into, below `$GOPATH/src`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_alias: Option<String>,
    /// The URI to clone the primary repository from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_uri: Option<String>,
    /// Skips git submodules of the primary repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_submodules: Option<bool>,
    /// The clone depth of the primary repository; 0 is the full history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_depth: Option<i64>,
    /// Skips fetching `FETCH_HEAD` of the primary repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_fetch_head: Option<bool>,
    /// More repositories to clone beside the primary one (for periodics, the first one is
    /// the job's primary repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_refs: Option<Vec<Refs>>,
}

impl JobBase {
    /// The agent, defaulted.
    pub fn agent(&self) -> &str {
        self.agent.as_deref().filter(|a| !a.is_empty()).unwrap_or(DEFAULT_AGENT)
    }

    /// The build cluster, defaulted.
    pub fn cluster(&self) -> &str {
        self.cluster
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(DEFAULT_CLUSTER)
    }
}

/// Which branches a presubmit or postsubmit runs on.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Brancher {
    /// Regexes of the branches to run on; all branches when unset. As upstream, they are
    /// joined with `|` and matched **unanchored**: write `^main$` to mean exactly `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<Vec<String>>,
    /// Regexes of the branches not to run on; they win over `branches`. Unanchored, as
    /// `branches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_branches: Option<Vec<String>>,
}

/// Which changed files make a presubmit or postsubmit run.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct ChangeMatcher {
    /// Runs the job when any changed file matches this regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_if_changed: Option<String>,
    /// Runs the job unless every changed file matches this regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_if_only_changed: Option<String>,
}

impl ChangeMatcher {
    /// Whether either regex is set to something non-empty.
    pub fn is_set(&self) -> bool {
        self.run_if_changed.as_deref().is_some_and(|r| !r.is_empty())
            || self.skip_if_only_changed.as_deref().is_some_and(|r| !r.is_empty())
    }
}
