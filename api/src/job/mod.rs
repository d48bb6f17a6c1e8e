//! Upstream Prow's job configuration, with upstream's field names and semantics.
//!
//! Typed fields cover every key upstream accepts; keys it does not accept are kept in each
//! struct's `unknown` map, so a real configuration survives a round trip unchanged and the
//! checker can report them.

mod base;
mod decoration;
mod duration_field;
mod periodic;
mod postsubmit;
mod preset;
mod presubmit;
mod refs;
mod reporting;
#[cfg(feature = "resource")]
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

/// At most this many repositories in one JobConfig's `presubmits` or `postsubmits`. The API
/// server estimates the cost of the jobs' CEL rules from these bounds and refuses a CRD whose
/// estimate exceeds its budget; without them it assumes as many jobs as 3 MB of JSON could hold.
/// An object is stored whole in etcd (at most 1.5 MB), far below these bounds' product.
pub const MAX_REPOSITORIES: u32 = 100;
/// At most this many presubmits, or postsubmits, of one repository in one JobConfig.
pub const MAX_JOBS_PER_REPOSITORY: u32 = 400;
/// At most this many periodics in one JobConfig.
pub const MAX_PERIODICS: u32 = 10_000;

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
    #[schemars(schema_with = "jobs_by_repository::<Presubmit>")]
    pub presubmits: BTreeMap<String, Vec<Presubmit>>,
    /// Postsubmits by `org/repo`.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_lists_as_empty"
    )]
    #[schemars(schema_with = "jobs_by_repository::<Postsubmit>")]
    pub postsubmits: BTreeMap<String, Vec<Postsubmit>>,
    /// Periodics.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    #[schemars(extend("maxItems" = MAX_PERIODICS))]
    pub periodics: Vec<Periodic>,
    /// Presets, applied to every job of the instance whose labels select them.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub presets: Vec<Preset>,
}

impl JobSet {
    /// Splits the jobs into as few sets as keep each within [`MAX_REPOSITORIES`],
    /// [`MAX_JOBS_PER_REPOSITORY`] and [`MAX_PERIODICS`], in order (so an upstream job-config
    /// file of any size becomes JobConfigs the API server accepts). Jobs of one repository in
    /// several sets are still that repository's jobs, as in several upstream files. Presets stay
    /// in the first set; a set within the bounds comes back alone and unchanged.
    pub fn split_within_bounds(self) -> Vec<JobSet> {
        let JobSet {
            presubmits,
            postsubmits,
            periodics,
            presets,
        } = self;
        let mut parts = vec![JobSet {
            presets,
            ..JobSet::default()
        }];
        place_by_repository(&mut parts, presubmits, |part| &mut part.presubmits);
        place_by_repository(&mut parts, postsubmits, |part| &mut part.postsubmits);
        for (index, chunk) in chunks(periodics, MAX_PERIODICS).into_iter().enumerate() {
            if parts.len() <= index {
                parts.push(JobSet::default());
            }
            parts[index].periodics = chunk;
        }
        parts
    }

    /// Adds the jobs of `other` after this set's: a repository's jobs after its jobs here, then
    /// the periodics and presets (the inverse of [`JobSet::split_within_bounds`], and how several
    /// upstream job-config files make one instance's jobs).
    pub fn append(&mut self, other: JobSet) {
        for (repo, jobs) in other.presubmits {
            self.presubmits.entry(repo).or_default().extend(jobs);
        }
        for (repo, jobs) in other.postsubmits {
            self.postsubmits.entry(repo).or_default().extend(jobs);
        }
        self.periodics.extend(other.periodics);
        self.presets.extend(other.presets);
    }

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

/// Puts each repository's jobs, in chunks of at most [`MAX_JOBS_PER_REPOSITORY`], into the first
/// part that has no jobs of that repository yet and room for another repository.
fn place_by_repository<T>(
    parts: &mut Vec<JobSet>,
    jobs: BTreeMap<String, Vec<T>>,
    select: fn(&mut JobSet) -> &mut BTreeMap<String, Vec<T>>,
) {
    let room = usize::try_from(MAX_REPOSITORIES).unwrap_or(usize::MAX);
    for (repository, list) in jobs {
        for chunk in chunks(list, MAX_JOBS_PER_REPOSITORY) {
            let index = parts
                .iter_mut()
                .position(|part| {
                    let map = select(part);
                    !map.contains_key(&repository) && map.len() < room
                })
                .unwrap_or_else(|| {
                    parts.push(JobSet::default());
                    parts.len() - 1
                });
            select(&mut parts[index]).insert(repository.clone(), chunk);
        }
    }
}

/// `items` in chunks of at most `size`; one empty chunk for no items.
fn chunks<T>(items: Vec<T>, size: u32) -> Vec<Vec<T>> {
    let size = usize::try_from(size).unwrap_or(usize::MAX).max(1);
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    loop {
        let chunk: Vec<T> = items.by_ref().take(size).collect();
        let last = items.peek().is_none();
        chunks.push(chunk);
        if last {
            return chunks;
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The schema of a map from `org/repo` to a list of jobs, with [`MAX_REPOSITORIES`] and
/// [`MAX_JOBS_PER_REPOSITORY`].
fn jobs_by_repository<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let jobs = generator.subschema_for::<T>();
    schemars::json_schema!({
        "type": "object",
        "maxProperties": MAX_REPOSITORIES,
        "additionalProperties": {
            "type": "array",
            "maxItems": MAX_JOBS_PER_REPOSITORY,
            "items": jobs,
        },
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn presubmit(name: &str) -> Presubmit {
        serde_json::from_value(serde_json::json!({"name": name})).expect("presubmit")
    }

    fn periodic(name: &str) -> Periodic {
        serde_json::from_value(serde_json::json!({"name": name, "interval": "1h"})).expect("periodic")
    }

    #[test]
    fn a_set_within_the_bounds_comes_back_alone_and_unchanged() {
        let mut jobs = JobSet::default();
        jobs.presubmits
            .insert("o/r".into(), vec![presubmit("a"), presubmit("b")]);
        jobs.postsubmits.insert("o/empty".into(), Vec::new());
        jobs.periodics.push(periodic("p"));
        assert_eq!(jobs.clone().split_within_bounds(), vec![jobs]);
    }

    #[test]
    fn appending_the_parts_of_a_split_gives_the_set_back() {
        let per_repo = usize::try_from(MAX_JOBS_PER_REPOSITORY).expect("bound");
        let mut jobs = JobSet::default();
        jobs.presubmits.insert(
            "o/big".into(),
            (0..per_repo * 2 + 1).map(|i| presubmit(&format!("big-{i}"))).collect(),
        );
        jobs.presubmits.insert("o/small".into(), vec![presubmit("s")]);
        jobs.periodics = (0..usize::try_from(MAX_PERIODICS).expect("bound") + 1)
            .map(|i| periodic(&format!("p{i}")))
            .collect();
        let parts = jobs.clone().split_within_bounds();
        assert!(parts.len() > 1);
        let mut joined = JobSet::default();
        for part in parts {
            joined.append(part);
        }
        assert_eq!(joined, jobs);
    }

    #[test]
    fn large_sets_split_within_every_bound_and_keep_every_job_in_order() {
        let per_repo = usize::try_from(MAX_JOBS_PER_REPOSITORY).expect("bound");
        let repos = usize::try_from(MAX_REPOSITORIES).expect("bound");
        let mut jobs = JobSet::default();
        jobs.presubmits.insert(
            "o/big".into(),
            (0..per_repo * 2 + 1).map(|i| presubmit(&format!("big-{i}"))).collect(),
        );
        for r in 0..repos + 3 {
            let postsubmit: Postsubmit =
                serde_json::from_value(serde_json::json!({"name": "post"})).expect("postsubmit");
            jobs.postsubmits.insert(format!("o/r{r:04}"), vec![postsubmit]);
        }
        jobs.periodics = (0..usize::try_from(MAX_PERIODICS).expect("bound") + 1)
            .map(|i| periodic(&format!("p{i}")))
            .collect();
        let counts = jobs.counts();
        let parts = jobs.split_within_bounds();
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert!(part.presubmits.len() <= repos && part.postsubmits.len() <= repos);
            assert!(part.presubmits.values().all(|l| l.len() <= per_repo));
            assert!(part.periodics.len() <= usize::try_from(MAX_PERIODICS).expect("bound"));
        }
        let total: i64 = parts.iter().map(|p| p.counts().presubmits).sum();
        assert_eq!(total, counts.presubmits);
        let names: Vec<String> = parts
            .iter()
            .flat_map(|p| {
                p.presubmits
                    .get("o/big")
                    .into_iter()
                    .flatten()
                    .map(|j| j.base.name.clone())
            })
            .collect();
        assert_eq!(names.first().map(String::as_str), Some("big-0"));
        assert_eq!(names.last(), Some(&format!("big-{}", per_repo * 2)));
        assert_eq!(parts.iter().map(|p| p.postsubmits.len()).sum::<usize>(), repos + 3);
        assert_eq!(
            parts.iter().map(|p| p.periodics.len()).sum::<usize>(),
            usize::try_from(MAX_PERIODICS).expect("bound") + 1
        );
    }
}
