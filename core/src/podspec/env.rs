//! The job's env variables (upstream's `downwardapi.EnvForSpec`, reference §7.2): `CI`,
//! `JOB_NAME`, `JOB_TYPE`, `JOB_SPEC`, `BUILD_ID`, `PROW_JOB_ID`, `BUILD_NUMBER`, and the refs
//! variables of presubmits, postsubmits and batches.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use prow_api::job::{DecorationConfig, Refs};
use prow_api::{ProwJobSpec, ProwJobType};

use super::PodError;
use super::gojson;
use super::jobspec::{JobSpec, text};

/// `JOB_SPEC`.
pub const JOB_SPEC: &str = "JOB_SPEC";
/// The host `SRC_HOST` names when the refs say nothing else.
const DEFAULT_HOST: &str = "github.com";

/// The env variables of a run of the job with `spec` (the job's resolved decoration config is
/// `decoration`), by name.
pub fn job_env(
    spec: &ProwJobSpec,
    decoration: Option<&DecorationConfig>,
    build_id: &str,
    prowjob_id: &str,
) -> Result<BTreeMap<String, String>, PodError> {
    let encoded = gojson::to_string(&JobSpec::new(spec, decoration, build_id, prowjob_id)?)?;
    let mut env = BTreeMap::from([
        ("CI".to_string(), "true".to_string()),
        ("JOB_NAME".to_string(), spec.job.clone()),
        ("BUILD_ID".to_string(), build_id.to_string()),
        ("PROW_JOB_ID".to_string(), prowjob_id.to_string()),
        ("JOB_TYPE".to_string(), spec.job_type.as_str().to_string()),
        (JOB_SPEC.to_string(), encoded),
    ]);
    if spec.agent.as_deref() == Some(prow_api::job::DEFAULT_AGENT) {
        env.insert("BUILD_NUMBER".to_string(), build_id.to_string());
    }
    if spec.job_type == ProwJobType::Periodic {
        return Ok(env);
    }
    let refs = spec.refs.as_ref().ok_or(PodError::MissingRefs {
        job_type: spec.job_type.as_str(),
    })?;
    let (host, base) = source(refs);
    env.extend([
        ("REPO_OWNER".to_string(), refs.org.clone()),
        ("REPO_NAME".to_string(), refs.repo.clone()),
        ("SRC_HOST".to_string(), host),
        ("SRC_BASE".to_string(), base),
        ("PULL_BASE_REF".to_string(), text(&refs.base_ref).to_string()),
        ("PULL_BASE_SHA".to_string(), text(&refs.base_sha).to_string()),
        ("PULL_REFS".to_string(), pull_refs(refs)),
    ]);
    if spec.job_type != ProwJobType::Presubmit {
        return Ok(env);
    }
    let pull = refs
        .pulls
        .as_ref()
        .and_then(|pulls| pulls.first())
        .ok_or(PodError::MissingPull)?;
    env.extend([
        ("PULL_NUMBER".to_string(), pull.number.to_string()),
        ("PULL_PULL_SHA".to_string(), pull.sha.clone()),
        ("PULL_HEAD_REF".to_string(), text(&pull.head_ref).to_string()),
        ("PULL_TITLE".to_string(), text(&pull.title).to_string()),
    ]);
    Ok(env)
}

/// `SRC_HOST` and `SRC_BASE`: from `path_alias` (split at its first `/`), else from `repo_link`
/// (without its scheme), else `github.com` and `org/repo`.
fn source(refs: &Refs) -> (String, String) {
    let split = |text: &str| match text.split_once('/') {
        Some((host, base)) => (host.to_string(), base.to_string()),
        None => (text.to_string(), format!("{}/{}", refs.org, refs.repo)),
    };
    let alias = text(&refs.path_alias);
    let link = text(&refs.repo_link);
    if !alias.is_empty() {
        split(alias)
    } else if !link.is_empty() {
        split(link.rsplit("://").next().unwrap_or(link))
    } else {
        (DEFAULT_HOST.to_string(), format!("{}/{}", refs.org, refs.repo))
    }
}

/// `PULL_REFS`: `base_ref:base_sha,<number>:<sha>[:<ref>],…` (upstream's `Refs.String`).
pub fn pull_refs(refs: &Refs) -> String {
    let base_sha = text(&refs.base_sha);
    let mut parts = vec![if base_sha.is_empty() {
        text(&refs.base_ref).to_string()
    } else {
        format!("{}:{base_sha}", text(&refs.base_ref))
    }];
    for pull in refs.pulls.iter().flatten() {
        let mut part = format!("{}:{}", pull.number, pull.sha);
        let git_ref = text(&pull.git_ref);
        if !git_ref.is_empty() {
            part = format!("{part}:{git_ref}");
        }
        parts.push(part);
    }
    parts.join(",")
}

/// The variables as container env, sorted by name (upstream's `KubeEnv`); an empty value is
/// written without `value`.
pub fn kube_env(env: &BTreeMap<String, String>) -> Vec<EnvVar> {
    env.iter()
        .map(|(name, value)| EnvVar {
            name: name.clone(),
            value: (!value.is_empty()).then(|| value.clone()),
            value_from: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refs(value: serde_json::Value) -> Refs {
        serde_json::from_value(value).expect("refs")
    }

    #[test]
    fn pull_refs_list_the_base_and_each_pull() {
        let r = refs(json!({"org": "o", "repo": "r", "base_ref": "main", "base_sha": "abc",
            "pulls": [{"number": 1, "author": "a", "sha": "s1"}, {"number": 2, "author": "b", "sha": "s2", "ref": "refs/x"}]}));
        assert_eq!(pull_refs(&r), "main:abc,1:s1,2:s2:refs/x");
        assert_eq!(
            pull_refs(&refs(json!({"org": "o", "repo": "r", "base_ref": "main"}))),
            "main"
        );
    }

    #[test]
    fn source_comes_from_the_alias_or_the_link() {
        assert_eq!(
            source(&refs(json!({"org": "o", "repo": "r"}))),
            ("github.com".into(), "o/r".into())
        );
        assert_eq!(
            source(&refs(
                json!({"org": "o", "repo": "r", "path_alias": "k8s.io/test-infra"})
            )),
            ("k8s.io".into(), "test-infra".into())
        );
        assert_eq!(
            source(&refs(
                json!({"org": "o", "repo": "r", "repo_link": "https://gitlab.example.com/g/r"})
            )),
            ("gitlab.example.com".into(), "g/r".into())
        );
    }
}
