//! Size: a job that renders to more than one job-config ConfigMap holds can be in none of them,
//! however its JobConfig is split, so its JobConfig is refused (and its last good version stays).

use prow_api::job::JobSet;

use super::{Findings, field, item, key, rule};
use crate::render::job_config::{self, Oversized, Place};

/// Reports each job (and the presets) of `jobs` too large for a job-config ConfigMap of
/// `max_bytes`. Paths start with `root`.
pub(crate) fn check(jobs: &JobSet, max_bytes: usize, root: &str, findings: &mut Findings) {
    // A set that cannot be rendered is reported by the render itself.
    let Ok(oversized) = job_config::oversized(jobs, max_bytes) else {
        return;
    };
    for Oversized { place, bytes } in oversized {
        let (path, what) = match place {
            Place::Presubmit { repo, index, name } => (
                item(&key(&field(root, "presubmits"), &repo), index),
                format!("job {name:?}"),
            ),
            Place::Postsubmit { repo, index, name } => (
                item(&key(&field(root, "postsubmits"), &repo), index),
                format!("job {name:?}"),
            ),
            Place::Periodic { index, name } => (item(&field(root, "periodics"), index), format!("job {name:?}")),
            Place::Presets => (field(root, "presets"), "the presets".to_string()),
        };
        findings.error(
            path,
            rule::TOO_LARGE,
            format!(
                "{what} renders to {} bytes of job configuration, more than the {} bytes one \
                 job-config ConfigMap holds (Kubernetes' 1 MiB object limit less room for metadata): \
                 make it smaller, for example by moving long arguments or environment into the image \
                 or into a ConfigMap the job mounts",
                grouped(bytes),
                grouped(max_bytes)
            ),
        );
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_032_192), "1,032,192");
    }

    #[test]
    fn an_oversized_job_is_an_error_at_its_path_naming_its_size() {
        let jobs: JobSet = serde_json::from_value(json!({
            "presubmits": {"org/repo": [
                {"name": "small", "always_run": true, "spec": {"containers": [{"image": "x"}]}},
                {"name": "large", "always_run": true, "spec": {"containers": [{"image": "x", "args": ["y".repeat(5_000)]}]}}
            ]}
        }))
        .unwrap();
        let mut findings = Findings::default();
        check(&jobs, 4_096, "spec", &mut findings);
        let findings = findings.into_vec();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path, "spec.presubmits[\"org/repo\"][1]");
        assert_eq!(findings[0].rule.as_deref(), Some(rule::TOO_LARGE));
        assert!(
            findings[0].message.starts_with("job \"large\" renders to 5,")
                && findings[0].message.contains("than the 4,096 bytes"),
            "{}",
            findings[0].message
        );
        let mut none = Findings::default();
        check(&jobs, job_config::MAX_DATA_BYTES, "spec", &mut none);
        assert!(none.into_vec().is_empty());
    }
}
