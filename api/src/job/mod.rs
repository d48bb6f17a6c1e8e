//! Upstream Prow's job configuration, with upstream's field names and semantics.
//!
//! Typed fields cover every key upstream accepts; keys it does not accept are kept in each
//! struct's `unknown` map, so a real configuration survives a round trip unchanged and the
//! checker can report them.

mod base;
mod decoration;
mod periodic;
mod postsubmit;
mod preset;
mod presubmit;
mod refs;
mod reporting;
mod rules;

pub use base::{Brancher, ChangeMatcher, DEFAULT_AGENT, DEFAULT_CLUSTER, JobBase};
pub use decoration::{
    CensoringOptions, DecorationConfig, GcsConfiguration, SchedulingOptions, SecretKey, UtilityImages, UtilityResources,
};
pub use periodic::{Periodic, PeriodicRetry};
pub use postsubmit::Postsubmit;
pub use preset::Preset;
pub use presubmit::Presubmit;
pub use refs::{Pull, Refs, UnknownFields};
pub use reporting::{
    GitHubTeamSlug, JenkinsSpec, ProwJobDefaults, ReporterConfig, RerunAuthConfig, ResultStoreConfig,
    SlackReporterConfig,
};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The jobs of one upstream job-config file (or of one JobConfig): presubmits and postsubmits by
/// `org/repo`, periodics, and presets.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct JobSet {
    /// Presubmits by `org/repo`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_lists_as_empty"
    )]
    pub presubmits: BTreeMap<String, Vec<Presubmit>>,
    /// Postsubmits by `org/repo`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_lists_as_empty"
    )]
    pub postsubmits: BTreeMap<String, Vec<Postsubmit>>,
    /// Periodics.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub periodics: Vec<Periodic>,
    /// Presets, applied to every job of the instance whose labels select them.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub presets: Vec<Preset>,
}

impl JobSet {
    /// Counts the jobs by type.
    pub fn counts(&self) -> JobCounts {
        JobCounts {
            presubmits: count(self.presubmits.values().map(Vec::len).sum()),
            postsubmits: count(self.postsubmits.values().map(Vec::len).sum()),
            periodics: count(self.periodics.len()),
        }
    }
}

/// How many jobs of each type there are.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Presubmits.
    pub presubmits: i64,
    /// Postsubmits.
    pub postsubmits: i64,
    /// Periodics.
    pub periodics: i64,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads `null` (as in `presubmits:` with nothing under it) as the empty collection, as upstream.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a map of job lists where the map, or any list in it, may be `null`.
fn null_lists_as_empty<'de, D, T>(deserializer: D) -> Result<BTreeMap<String, Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let lists = Option::<BTreeMap<String, Option<Vec<T>>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(lists
        .into_iter()
        .map(|(repo, jobs)| (repo, jobs.unwrap_or_default()))
        .collect())
}
