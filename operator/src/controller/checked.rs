//! The findings of each JobConfig on its own ([`pipeline::check_job_config`]), worked out
//! once per generation and settings: a reconcile re-checks only what changed (checks across
//! JobConfigs still run every time).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prow_api::JobConfig;
use prow_api::status::Finding;

use crate::pipeline::{self, JobSettings};

/// What was found, and for which version and settings.
#[derive(Debug)]
struct Entry {
    generation: Option<i64>,
    settings: JobSettings,
    findings: Arc<Vec<Finding>>,
}

/// Findings by JobConfig uid.
#[derive(Debug, Default)]
pub struct Checked {
    by_uid: Mutex<HashMap<String, Entry>>,
}

impl Checked {
    /// The findings of `config` checked against `settings`.
    pub fn findings(&self, config: &JobConfig, settings: &JobSettings) -> Arc<Vec<Finding>> {
        let uid = config.metadata.uid.clone().unwrap_or_default();
        let generation = config.metadata.generation;
        if let Some(entry) = self.lock().get(&uid)
            && entry.generation == generation
            && entry.generation.is_some()
            && entry.settings == *settings
        {
            return entry.findings.clone();
        }
        let findings = Arc::new(pipeline::check_job_config(config, settings));
        self.lock().insert(
            uid,
            Entry {
                generation,
                settings: settings.clone(),
                findings: findings.clone(),
            },
        );
        findings
    }

    /// Forgets a deleted JobConfig.
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.by_uid.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(generation: i64, interval: &str) -> JobConfig {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "operator.prow.dev/v1alpha1", "kind": "JobConfig",
            "metadata": {"name": "unit", "namespace": "prow", "uid": "u1", "generation": generation},
            "spec": {"periodics": [{"name": "nightly", "interval": interval, "spec": {"containers": [{"image": "x"}]}}]}
        }))
        .unwrap()
    }

    #[test]
    fn findings_are_reused_until_the_generation_or_settings_change() {
        let checked = Checked::default();
        let settings = JobSettings::default();
        let first = checked.findings(&config(1, "not-a-duration"), &settings);
        assert!(!first.is_empty());
        assert!(Arc::ptr_eq(
            &first,
            &checked.findings(&config(1, "not-a-duration"), &settings)
        ));
        let fixed = checked.findings(&config(2, "24h"), &settings);
        assert!(
            fixed.iter().all(|f| f.severity == prow_api::status::Severity::Warning),
            "{fixed:?}"
        );
        let other = JobSettings {
            decorate_all_jobs: true,
            ..JobSettings::default()
        };
        assert!(!Arc::ptr_eq(&fixed, &checked.findings(&config(2, "24h"), &other)));
    }
}
