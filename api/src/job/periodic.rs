//! Periodics: jobs that run on a schedule.

use crate::KubeSchema;
use serde::{Deserialize, Serialize};

use super::base::JobBase;
use super::refs::UnknownFields;
#[cfg(feature = "resource")]
use super::rules;

/// A job that runs on a schedule, with upstream Prow's field names. Exactly one of `cron`,
/// `interval` and `minimum_interval` is set.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "resource", x_kube(
    validation = rules::job_name(),
    validation = rules::max_concurrency(),
    validation = rules::exactly_one_schedule()
))]
pub struct Periodic {
    /// The fields every job has.
    #[serde(flatten)]
    pub base: JobBase,
    /// A cron schedule in UTC (robfig syntax: optional seconds, `@every 1h`, `@daily`, …). A
    /// firing while the previous run is still going is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Runs again this long (a Go duration such as `1h`) after the previous run started, once
    /// that run has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Runs again this long after the previous run completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_interval: Option<String>,
    /// Free-form tags, shown in deck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Reruns of a finished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<PeriodicRetry>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// How a periodic's finished runs are retried.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct PeriodicRetry {
    /// Retries successful runs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_all: Option<bool>,
    /// How many times a run is retried (at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0, "maximum" = 10))]
    pub attempts: Option<i64>,
    /// How long after a run's start its retry starts (a Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}
