//! Where a run's artifacts go (upstream's `gcs.PathForSpec` and path strategies) and the link to
//! them (upstream's `pjutil.JobURL`).

use prow_api::job::{DecorationConfig, GcsConfiguration};
use prow_api::{ProwJob, ProwJobSpec, ProwJobType};

use super::gotemplate;
use super::inputs::PodInputs;
use super::jobspec::text;

/// The bucket's scheme when it has none.
const DEFAULT_PROVIDER: &str = "gs";

/// The path of a run's artifacts in the bucket, below `gcs`'s `path_prefix`:
/// `pr-logs/pull/<org_repo>/<number>/<job>/<build>` for presubmits,
/// `pr-logs/pull/batch/<job>/<build>` for batches and `logs/<job>/<build>` otherwise. `None` when
/// the path cannot be known: a presubmit without refs or pull, or no path strategy for it.
pub fn artifact_path(spec: &ProwJobSpec, build_id: &str, gcs: &GcsConfiguration) -> Option<String> {
    let job = spec.job.as_str();
    let path = match spec.job_type {
        ProwJobType::Periodic | ProwJobType::Postsubmit => join(&["logs", job, build_id]),
        ProwJobType::Batch => join(&["pr-logs", "pull", "batch", job, build_id]),
        ProwJobType::Presubmit => {
            let refs = spec.refs.as_ref()?;
            let number = refs.pulls.as_ref()?.first()?.number.to_string();
            let segment = repo_segment(gcs, &refs.org, &refs.repo)?;
            join(&["pr-logs", "pull", &segment, &number, job, build_id])
        }
    };
    let prefix = text(&gcs.path_prefix);
    Some(if prefix.is_empty() {
        path
    } else {
        join(&[prefix, &path])
    })
}

/// The repository's part of a presubmit's path under the path strategy: `legacy` leaves out the
/// default org (and is empty for the default repo), `single` is empty for the default repo, and
/// every other repository is `org_repo` (a `/` in the repo becomes `_`).
fn repo_segment(gcs: &GcsConfiguration, org: &str, repo: &str) -> Option<String> {
    let (default_org, default_repo) = (text(&gcs.default_org), text(&gcs.default_repo));
    let explicit = || {
        let org = org.strip_prefix("https://").unwrap_or(org);
        let org = org.strip_prefix("http://").unwrap_or(org).trim_end_matches('/');
        format!("{org}_{}", repo.replace('/', "_"))
    };
    match text(&gcs.path_strategy) {
        "explicit" => Some(explicit()),
        "legacy" if org == default_org && repo == default_repo => Some(String::new()),
        "legacy" if org == default_org => Some(repo.to_string()),
        "legacy" => Some(explicit()),
        "single" if org == default_org && repo == default_repo => Some(String::new()),
        "single" => Some(explicit()),
        _ => None,
    }
}

/// `path.Join`: the non-empty parts joined with `/`, without repeated or trailing slashes.
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The job URL prefix of a decorated run: `gcs_configuration.job_url_prefix`, else
/// `plank.job_url_prefix_config` for `org/repo`, `org`, then `*`.
fn url_prefix<'a>(spec: &ProwJobSpec, config: &'a DecorationConfig, inputs: &'a PodInputs) -> Option<&'a str> {
    let own = config.gcs_configuration.as_ref().map(|g| text(&g.job_url_prefix));
    if let Some(own) = own.filter(|p| !p.is_empty()) {
        return Some(own);
    }
    let refs = spec
        .refs
        .as_ref()
        .or_else(|| spec.extra_refs.as_ref().and_then(|r| r.first()));
    let prefixes = &inputs.job_url_prefix_config;
    let pick = |key: &str| prefixes.get(key).map(String::as_str).filter(|p| !p.is_empty());
    match refs.filter(|r| !r.org.is_empty()) {
        Some(refs) => pick(&format!("{}/{}", refs.org, refs.repo))
            .or_else(|| pick(&refs.org))
            .or_else(|| pick("*")),
        None => pick("*"),
    }
    .filter(|p| !p.is_empty())
}

/// The link to a run's logs (upstream's `JobURL`): for a decorated job with a URL prefix, the
/// prefix followed by the storage provider (unless `jobURLPrefixDisableAppendStorageProvider`),
/// the bucket and the artifact path; otherwise `plank.job_url_template` run over the ProwJob.
/// `None` when neither gives a URL.
pub fn job_url(job: &ProwJob, inputs: &PodInputs) -> Option<String> {
    let decoration = super::resolved_decoration(job, inputs);
    let build_id = job
        .status
        .as_ref()
        .and_then(|s| s.build_id.as_deref())
        .unwrap_or_default();
    if let Some(config) = &decoration
        && let Some(prefix) = url_prefix(&job.spec, config, inputs)
    {
        let gcs = config.gcs_configuration.as_ref()?;
        let path = artifact_path(&job.spec, build_id, gcs)?;
        let bucket = text(&gcs.bucket);
        let (provider, bucket) = bucket.split_once("://").unwrap_or((DEFAULT_PROVIDER, bucket));
        let (base, suffix) = split_url(prefix);
        let (scheme_host, prefix_path) = split_path(base);
        let mut parts = vec![prefix_path];
        if !inputs.job_url_prefix_disable_append_storage_provider {
            parts.push(provider);
        }
        parts.extend([bucket, &path]);
        return Some(format!("{scheme_host}/{}{suffix}", join(&parts)));
    }
    let template = inputs.job_url_template.as_deref()?;
    let mut data = serde_json::to_value(job).ok()?;
    if let Some(config) = decoration {
        data["spec"]["decoration_config"] = serde_json::to_value(config).ok()?;
    }
    gotemplate::render(template, &data).ok().filter(|url| !url.is_empty())
}

/// A URL without and with its query and fragment.
fn split_url(url: &str) -> (&str, &str) {
    match url.find(['?', '#']) {
        Some(at) => url.split_at(at),
        None => (url, ""),
    }
}

/// `scheme://host` and the path of a URL.
fn split_path(url: &str) -> (&str, &str) {
    let host_start = url.find("://").map_or(0, |at| at + 3);
    match url[host_start..].find('/') {
        Some(at) => url.split_at(host_start + at),
        None => (url, ""),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;

    fn prowjob(job_type: &str, extra: Value) -> ProwJob {
        let mut value = json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob",
            "metadata": {"name": "abc"},
            "spec": {"type": job_type, "job": "unit", "decoration_config": {}},
            "status": {"state": "pending", "build_id": "123"}
        });
        if job_type != "periodic" {
            value["spec"]["refs"] = json!({"org": "org", "repo": "repo", "base_ref": "main",
                "pulls": [{"number": 7, "author": "a", "sha": "s"}]});
        }
        for (key, v) in extra.as_object().cloned().unwrap_or_default() {
            value["spec"][key] = v;
        }
        serde_json::from_value(value).expect("prowjob")
    }

    fn gcs(value: Value) -> GcsConfiguration {
        serde_json::from_value(value).expect("gcs")
    }

    #[test]
    fn artifact_paths_by_job_type() {
        let explicit = gcs(json!({"bucket": "b", "path_strategy": "explicit"}));
        let path = |job_type: &str| artifact_path(&prowjob(job_type, json!({})).spec, "123", &explicit);
        assert_eq!(path("presubmit").as_deref(), Some("pr-logs/pull/org_repo/7/unit/123"));
        assert_eq!(path("postsubmit").as_deref(), Some("logs/unit/123"));
        assert_eq!(path("periodic").as_deref(), Some("logs/unit/123"));
        assert_eq!(path("batch").as_deref(), Some("pr-logs/pull/batch/unit/123"));
        let prefixed = gcs(json!({"bucket": "b", "path_strategy": "explicit", "path_prefix": "ci/"}));
        assert_eq!(
            artifact_path(&prowjob("postsubmit", json!({})).spec, "123", &prefixed).as_deref(),
            Some("ci/logs/unit/123")
        );
    }

    #[test]
    fn path_strategies_shorten_the_default_repository() {
        let spec = prowjob("presubmit", json!({})).spec;
        let with = |strategy: &str, org: &str, repo: &str| {
            let config = gcs(json!({"path_strategy": strategy, "default_org": org, "default_repo": repo}));
            artifact_path(&spec, "1", &config)
        };
        assert_eq!(with("legacy", "org", "repo").as_deref(), Some("pr-logs/pull/7/unit/1"));
        assert_eq!(
            with("legacy", "org", "other").as_deref(),
            Some("pr-logs/pull/repo/7/unit/1")
        );
        assert_eq!(
            with("legacy", "x", "y").as_deref(),
            Some("pr-logs/pull/org_repo/7/unit/1")
        );
        assert_eq!(with("single", "org", "repo").as_deref(), Some("pr-logs/pull/7/unit/1"));
        assert_eq!(
            with("single", "org", "other").as_deref(),
            Some("pr-logs/pull/org_repo/7/unit/1")
        );
        assert_eq!(with("", "org", "repo"), None);
    }

    fn inputs(prefixes: &[(&str, &str)], template: Option<&str>) -> PodInputs {
        PodInputs {
            job_url_prefix_config: prefixes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            job_url_template: template.map(str::to_string),
            decoration_defaults: serde_json::from_value(json!([{"repo": "*", "config": {
                "gcs_configuration": {"bucket": "s3://prow-logs", "path_strategy": "explicit"}}}]))
            .expect("entries"),
            ..PodInputs::default()
        }
    }

    #[test]
    fn job_urls_from_the_prefix_config() {
        let job = prowjob("presubmit", json!({}));
        let prefixes = [
            ("*", "https://prow.example.com/view/"),
            ("other", "https://other/view/"),
        ];
        assert_eq!(
            job_url(&job, &inputs(&prefixes, None)).as_deref(),
            Some("https://prow.example.com/view/s3/prow-logs/pr-logs/pull/org_repo/7/unit/123")
        );
        let by_org = [
            ("*", "https://all/view"),
            ("org", "https://org/view/"),
            ("org/other", "https://no/"),
        ];
        assert_eq!(
            job_url(&job, &inputs(&by_org, None)).as_deref(),
            Some("https://org/view/s3/prow-logs/pr-logs/pull/org_repo/7/unit/123")
        );
        let mut no_provider = inputs(&prefixes, None);
        no_provider.job_url_prefix_disable_append_storage_provider = true;
        assert_eq!(
            job_url(&prowjob("periodic", json!({})), &no_provider).as_deref(),
            Some("https://prow.example.com/view/prow-logs/logs/unit/123")
        );
        let own = prowjob(
            "postsubmit",
            json!({"decoration_config": {"gcs_configuration": {"job_url_prefix": "https://own/view/"}}}),
        );
        assert_eq!(
            job_url(&own, &inputs(&prefixes, None)).as_deref(),
            Some("https://own/view/s3/prow-logs/logs/unit/123")
        );
    }

    #[test]
    fn job_urls_from_the_template_otherwise() {
        let template = Some("https://jenkins/job/{{.Spec.Job}}/{{.Status.BuildID}}/");
        let mut undecorated = prowjob("postsubmit", json!({}));
        undecorated.spec.decoration_config = None;
        let prefixes = [("*", "https://prow.example.com/view/")];
        assert_eq!(
            job_url(&undecorated, &inputs(&prefixes, template)).as_deref(),
            Some("https://jenkins/job/unit/123/")
        );
        assert_eq!(
            job_url(&prowjob("postsubmit", json!({})), &inputs(&[], template)).as_deref(),
            Some("https://jenkins/job/unit/123/"),
            "a decorated job without a prefix uses the template"
        );
        assert_eq!(job_url(&undecorated, &inputs(&[], None)), None);
    }
}
