//! The last good version of each JobConfig: what stays in effect while a newer generation is
//! rejected.
//!
//! It is kept in memory once accepted, and recovered after a restart from the job-config
//! ConfigMaps the operator rendered, which hold exactly the jobs that were in effect. So a
//! restart while a JobConfig is broken drops none of its jobs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use prow_api::JobConfig;
use prow_api::job::JobSet;
use prow_api::yaml;

use crate::render::{RenderError, job_config};

/// An accepted JobConfig and its rendered job-config files, worked out once per generation.
#[derive(Debug)]
pub struct Accepted {
    /// The JobConfig (shared with the watch cache while it is current).
    pub config: Arc<JobConfig>,
    /// Its job-config files, by key.
    pub files: Vec<(String, String)>,
}

/// Accepted JobConfigs by uid.
#[derive(Debug, Default)]
pub struct LastGood {
    accepted: Mutex<HashMap<String, Arc<Accepted>>>,
    /// Counts the changes of `accepted`, so a reader can tell cheaply that nothing changed.
    revision: AtomicU64,
}

impl LastGood {
    /// Records `config` as accepted (rendering its files unless this generation already was);
    /// returns the entry.
    pub fn accept(&self, config: Arc<JobConfig>) -> Result<Arc<Accepted>, RenderError> {
        let uid = config.metadata.uid.clone().unwrap_or_default();
        if let Some(known) = self.get(&uid)
            && known.config.metadata.generation == config.metadata.generation
            && known.config.spec == config.spec
        {
            return Ok(known);
        }
        let files = job_config::files(&[config.as_ref()], job_config::MAX_DATA_BYTES)?;
        let entry = Arc::new(Accepted { config, files });
        self.lock().insert(uid, entry.clone());
        self.revision.fetch_add(1, Ordering::AcqRel);
        Ok(entry)
    }

    /// The last accepted version of the JobConfig with `uid`, if this process saw one.
    pub fn get(&self, uid: &str) -> Option<Arc<Accepted>> {
        self.lock().get(uid).cloned()
    }

    /// Forgets a deleted JobConfig.
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
        self.revision.fetch_add(1, Ordering::AcqRel);
    }

    /// A number that changes whenever an entry is accepted or forgotten.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Accepted>>> {
        self.accepted.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The jobs of `config` as the rendered job-config ConfigMaps hold them (its file and any
/// `.part-N` files), or `None` when they hold none of it or cannot be read.
pub fn recover(config: &JobConfig, maps: &[ConfigMap]) -> Option<JobSet> {
    let namespace = config.metadata.namespace.as_deref().unwrap_or("default");
    let name = config.metadata.name.as_deref()?;
    let stem = format!("{namespace}_{name}");
    let first = format!("{stem}.yaml");
    let part_prefix = format!("{stem}.part-");
    let mut parts: Vec<(usize, &str)> = maps
        .iter()
        .flat_map(|map| map.data.iter().flatten())
        .filter_map(|(key, text)| {
            if *key == first {
                return Some((0, text.as_str()));
            }
            let index = key.strip_prefix(&part_prefix)?.strip_suffix(".yaml")?.parse().ok()?;
            Some((index, text.as_str()))
        })
        .collect();
    if !parts.iter().any(|(index, _)| *index == 0) {
        return None;
    }
    parts.sort_by_key(|(index, _)| *index);
    let mut jobs = JobSet::default();
    for (_, text) in parts {
        let (value, _) = yaml::load_single(text).ok()?;
        jobs.append(serde_json::from_value(value).ok()?);
    }
    Some(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_config(text: &str) -> JobConfig {
        serde_json::from_value(yaml::load_single(text).unwrap().0).unwrap()
    }

    fn maps_of(configs: &[&JobConfig], max: usize) -> Vec<ConfigMap> {
        let files = job_config::files(configs, max).unwrap();
        job_config::shards(files, max)
            .into_iter()
            .map(|data| ConfigMap {
                data: Some(data),
                ..ConfigMap::default()
            })
            .collect()
    }

    const SAMPLE: &str = r#"
apiVersion: operator.prow.dev/v1alpha1
kind: JobConfig
metadata: {name: unit, namespace: prow, uid: u1}
spec:
  presubmits:
    acme/app:
    - {name: unit-a, always_run: true, spec: {containers: [{image: golang}]}}
    - {name: unit-b, always_run: true, spec: {containers: [{image: golang}]}}
  periodics:
  - {name: nightly, interval: 24h, spec: {containers: [{image: golang}]}}
  presets:
  - labels: {preset-x: "true"}
    env: [{name: X, value: "1"}]
"#;

    #[test]
    fn jobs_are_recovered_from_the_rendered_config_maps() {
        let config = job_config(SAMPLE);
        let maps = maps_of(&[&config], job_config::MAX_DATA_BYTES);
        assert_eq!(recover(&config, &maps), Some(config.spec.jobs.clone()));
    }

    #[test]
    fn a_split_file_is_joined_again() {
        let config = job_config(SAMPLE);
        let maps = maps_of(&[&config], 300);
        assert!(maps.iter().map(|m| m.data.as_ref().unwrap().len()).sum::<usize>() > 1);
        let recovered = recover(&config, &maps).unwrap();
        assert_eq!(recovered.counts(), config.spec.jobs.counts());
        assert_eq!(recovered.presets, config.spec.jobs.presets);
    }

    #[test]
    fn nothing_is_recovered_for_a_config_never_rendered() {
        let config = job_config(SAMPLE);
        let other = job_config(&SAMPLE.replace("name: unit,", "name: other,"));
        let maps = maps_of(&[&other], job_config::MAX_DATA_BYTES);
        assert_eq!(recover(&config, &maps), None);
    }

    #[test]
    fn accepted_versions_are_kept_by_uid() {
        let last_good = LastGood::default();
        let config = Arc::new(job_config(SAMPLE));
        let entry = last_good.accept(config.clone()).unwrap();
        assert_eq!(entry.files.len(), 1);
        assert!(
            Arc::ptr_eq(&last_good.accept(config.clone()).unwrap(), &entry),
            "worked out once"
        );
        assert_eq!(last_good.get("u1").unwrap().config.spec, config.spec);
        last_good.forget("u1");
        assert!(last_good.get("u1").is_none());
    }
}
