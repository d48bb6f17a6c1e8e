//! The job config: one file per JobConfig, packed into ConfigMaps that each stay under
//! upstream's 1 MiB object limit.
//!
//! Each JobConfig becomes the file `<namespace>_<name>.yaml` (unique, as upstream requires of
//! job-config base names). A JobConfig too large for one ConfigMap is split into parts
//! (`<namespace>_<name>.part-<n>.yaml`), each holding whole jobs; its presets stay in the first
//! part, since upstream rejects a preset defined twice. Upstream merges every file it reads, so
//! the split changes nothing for it.

use std::collections::BTreeMap;

use prow_api::JobConfig;
use prow_api::job::JobSet;
use prow_api::yaml;

use super::error::RenderError;

/// The most data one job-config ConfigMap holds: 1 MiB (upstream's object limit) less room for
/// the object's metadata.
pub const MAX_DATA_BYTES: usize = 1024 * 1024 - 16 * 1024;

/// The job-config files, by key, in order.
pub fn files(job_configs: &[&JobConfig], max_bytes: usize) -> Result<Vec<(String, String)>, RenderError> {
    let mut files = Vec::new();
    for texts in crate::parallel::map(job_configs, |config| file_texts(config, max_bytes)) {
        files.extend(texts?);
    }
    Ok(files)
}

/// The file (or the parts) of one JobConfig.
fn file_texts(config: &JobConfig, max_bytes: usize) -> Result<Vec<(String, String)>, RenderError> {
    let namespace = config.metadata.namespace.as_deref().unwrap_or("default");
    let name = config.metadata.name.as_deref().unwrap_or_default();
    let stem = format!("{namespace}_{name}");
    let text = to_yaml(&config.spec.jobs)?;
    if text.len() <= max_bytes {
        return Ok(vec![(format!("{stem}.yaml"), text)]);
    }
    let parts = split(&config.spec.jobs, max_bytes)?;
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| {
            let key = if index == 0 {
                format!("{stem}.yaml")
            } else {
                format!("{stem}.part-{index}.yaml")
            };
            (key, part)
        })
        .collect())
}

/// Packs files into ConfigMap data maps, in order, each at most `max_bytes` of keys and values.
/// There is always at least one (possibly empty) map, so the mounts exist.
pub fn shards(files: Vec<(String, String)>, max_bytes: usize) -> Vec<BTreeMap<String, String>> {
    let mut shards = vec![BTreeMap::new()];
    let mut size = 0;
    for (key, text) in files {
        let bytes = key.len() + text.len();
        if size + bytes > max_bytes && size > 0 {
            shards.push(BTreeMap::new());
            size = 0;
        }
        size += bytes;
        if let Some(shard) = shards.last_mut() {
            shard.insert(key, text);
        }
    }
    shards
}

fn to_yaml(jobs: &JobSet) -> Result<String, RenderError> {
    yaml::to_string(jobs).map_err(RenderError::Yaml)
}

/// The bytes [`to_yaml`] writes for `jobs`, counted without building the text.
fn yaml_len(jobs: &JobSet) -> Result<usize, RenderError> {
    yaml::written_len(jobs).map_err(RenderError::Yaml)
}

/// One job, placed in a part of the split file.
enum Job<'a> {
    Presubmit(&'a str, usize, &'a prow_api::job::Presubmit),
    Postsubmit(&'a str, usize, &'a prow_api::job::Postsubmit),
    Periodic(usize, &'a prow_api::job::Periodic),
}

/// Every job of `jobs`, in file order, with where it is.
fn every_job(jobs: &JobSet) -> impl Iterator<Item = Job<'_>> {
    let presubmits = jobs.presubmits.iter().flat_map(|(repo, list)| {
        list.iter()
            .enumerate()
            .map(move |(index, job)| Job::Presubmit(repo, index, job))
    });
    let postsubmits = jobs.postsubmits.iter().flat_map(|(repo, list)| {
        list.iter()
            .enumerate()
            .map(move |(index, job)| Job::Postsubmit(repo, index, job))
    });
    let periodics = jobs
        .periodics
        .iter()
        .enumerate()
        .map(|(index, job)| Job::Periodic(index, job));
    presubmits.chain(postsubmits).chain(periodics)
}

/// Splits a job set into YAML parts of at most `max_bytes` (a single job larger than that gets a
/// part of its own, and the ConfigMap holding it would be refused by the API server: the checks
/// refuse such a JobConfig first, see [`oversized`]).
fn split(jobs: &JobSet, max_bytes: usize) -> Result<Vec<String>, RenderError> {
    let mut parts = Vec::new();
    let mut part = JobSet {
        presets: jobs.presets.clone(),
        ..JobSet::default()
    };
    let mut size = yaml_len(&part)?;
    for job in every_job(jobs) {
        let bytes = yaml_len(&alone(&job))?;
        if size + bytes > max_bytes && size > 0 {
            parts.push(to_yaml(&part)?);
            part = JobSet::default();
            size = 0;
        }
        add(&mut part, &job);
        size += bytes;
    }
    parts.push(to_yaml(&part)?);
    Ok(parts)
}

/// Where, in a JobConfig's jobs, something too large for a ConfigMap is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The presubmit at `index` of repository `repo`.
    Presubmit {
        /// `org/repo`.
        repo: String,
        /// Its index in the repository's list.
        index: usize,
        /// The job's name.
        name: String,
    },
    /// The postsubmit at `index` of repository `repo`.
    Postsubmit {
        /// `org/repo`.
        repo: String,
        /// Its index in the repository's list.
        index: usize,
        /// The job's name.
        name: String,
    },
    /// The periodic at `index`.
    Periodic {
        /// Its index in the list.
        index: usize,
        /// The job's name.
        name: String,
    },
    /// The presets, which stay together in the first part.
    Presets,
}

/// A job (or the presets) that renders to more than one job-config ConfigMap holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oversized {
    /// Where it is.
    pub place: Place,
    /// The bytes it renders to on its own.
    pub bytes: usize,
}

/// What of `jobs` no job-config ConfigMap of `max_bytes` can hold, however the file is split:
/// each job, and the presets, whose part on its own is larger. Empty (after one rendering) when
/// the whole file fits.
pub fn oversized(jobs: &JobSet, max_bytes: usize) -> Result<Vec<Oversized>, RenderError> {
    if yaml_len(jobs)? <= max_bytes {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let presets = JobSet {
        presets: jobs.presets.clone(),
        ..JobSet::default()
    };
    let bytes = yaml_len(&presets)?;
    if bytes > max_bytes {
        found.push(Oversized {
            place: Place::Presets,
            bytes,
        });
    }
    for job in every_job(jobs) {
        let bytes = yaml_len(&alone(&job))?;
        if bytes > max_bytes {
            let place = match job {
                Job::Presubmit(repo, index, job) => Place::Presubmit {
                    repo: repo.to_string(),
                    index,
                    name: job.base.name.clone(),
                },
                Job::Postsubmit(repo, index, job) => Place::Postsubmit {
                    repo: repo.to_string(),
                    index,
                    name: job.base.name.clone(),
                },
                Job::Periodic(index, job) => Place::Periodic {
                    index,
                    name: job.base.name.clone(),
                },
            };
            found.push(Oversized { place, bytes });
        }
    }
    Ok(found)
}

/// A job set holding only `job`.
fn alone(job: &Job<'_>) -> JobSet {
    let mut set = JobSet::default();
    add(&mut set, job);
    set
}

fn add(set: &mut JobSet, job: &Job<'_>) {
    match job {
        Job::Presubmit(repo, _, job) => set.presubmits.entry(repo.to_string()).or_default().push((*job).clone()),
        Job::Postsubmit(repo, _, job) => set
            .postsubmits
            .entry(repo.to_string())
            .or_default()
            .push((*job).clone()),
        Job::Periodic(_, job) => set.periodics.push((*job).clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prow_api::job::Periodic;
    use serde_json::json;

    fn job_config(name: &str, periodics: usize) -> JobConfig {
        let jobs: Vec<Periodic> = (0..periodics)
            .map(|i| serde_json::from_value(json!({"name": format!("{name}-{i:04}"), "interval": "1h", "spec": {"containers": [{"image": "busybox", "command": ["echo", "a fairly long argument to give the job some size"]}]}})).unwrap())
            .collect();
        let mut config = JobConfig::new(
            name,
            prow_api::JobConfigSpec {
                jobs: JobSet {
                    periodics: jobs,
                    ..JobSet::default()
                },
            },
        );
        config.metadata.namespace = Some("ns".into());
        config
    }

    fn parse(text: &str) -> JobSet {
        let (value, _) = yaml::load_single(text).unwrap();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn small_configs_are_one_file_each_in_one_shard() {
        let (a, b) = (job_config("a", 2), job_config("b", 3));
        let files = files(&[&a, &b], MAX_DATA_BYTES).unwrap();
        let keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["ns_a.yaml", "ns_b.yaml"]);
        assert_eq!(parse(&files[1].1), b.spec.jobs);
        assert_eq!(shards(files, MAX_DATA_BYTES).len(), 1);
    }

    #[test]
    fn large_configs_split_into_parts_and_shards_under_the_limit() {
        let mut big = job_config("big", 400);
        big.spec.jobs.presets =
            vec![serde_json::from_value(json!({"labels": {"x": "y"}, "env": [{"name": "A", "value": "1"}]})).unwrap()];
        let limit = 20_000;
        let files = files(&[&big], limit).unwrap();
        assert!(files.len() > 1);
        let mut periodics = Vec::new();
        for (index, (_, text)) in files.iter().enumerate() {
            assert!(text.len() <= limit);
            let part = parse(text);
            assert_eq!(
                part.presets.len(),
                usize::from(index == 0),
                "presets only in the first part"
            );
            periodics.extend(part.periodics);
        }
        assert_eq!(periodics, big.spec.jobs.periodics, "every job kept, in order");
        let shards = shards(files, limit);
        assert!(shards.len() > 1);
        for shard in &shards {
            assert!(shard.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= limit);
        }
    }

    #[test]
    fn only_a_job_larger_than_a_config_map_is_oversized() {
        let mut config = job_config("big", 3);
        assert_eq!(oversized(&config.spec.jobs, 2_000).unwrap(), Vec::new());
        config.spec.jobs.periodics[1] = serde_json::from_value(
            json!({"name": "big-huge", "interval": "1h", "spec": {"containers": [{"image": "busybox", "args": ["x".repeat(3_000)]}]}}),
        )
        .unwrap();
        let found = oversized(&config.spec.jobs, 2_000).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].place,
            Place::Periodic {
                index: 1,
                name: "big-huge".into()
            }
        );
        assert!(found[0].bytes > 3_000 && found[0].bytes < 3_200, "{}", found[0].bytes);
        let parts = files(&[&config], 2_000).unwrap();
        assert!(
            parts.iter().any(|(_, text)| text.len() == found[0].bytes),
            "the size is that of its part"
        );
    }

    #[test]
    fn no_job_configs_still_give_one_shard() {
        assert_eq!(shards(Vec::new(), MAX_DATA_BYTES), vec![BTreeMap::new()]);
    }
}
