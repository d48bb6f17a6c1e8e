//! A job's effective decoration settings: every `plank.default_decoration_config_entries` entry
//! that matches its repository and cluster, merged in order (later entries win), and the job's own
//! `decoration_config` over them (upstream's `mergeDefaultDecorationConfig` and the
//! `ApplyDefault` methods, field by field).

use prow_api::job::{
    CensoringOptions, DecorationConfig, GcsConfiguration, SchedulingOptions, UtilityImages, UtilityResources,
};
use prow_api::upstream::config::DefaultDecorationConfigEntry;
use prow_api::{ProwJobSpec, ProwJobType};

/// The cluster a job without one runs in.
const DEFAULT_CLUSTER: &str = "default";

/// The repository and cluster a job is matched on: `org/repo` of its refs (of its first extra
/// refs for periodics, which have no refs of their own), and its cluster.
pub fn job_scope(spec: &ProwJobSpec) -> (String, String) {
    let refs = match spec.job_type {
        ProwJobType::Periodic => spec.extra_refs.as_ref().and_then(|r| r.first()),
        _ => spec.refs.as_ref(),
    };
    let repo = refs.map(|r| format!("{}/{}", r.org, r.repo)).unwrap_or_default();
    let cluster = spec
        .cluster
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string());
    (repo, cluster)
}

/// Whether a default entry for `given_repo` (`org`, `org/repo`, `*` or empty) and `given_cluster`
/// (a cluster, `*` or empty) applies to a job of `repo` (`org/repo`) in `cluster`.
pub fn matches(given_repo: &str, given_cluster: &str, repo: &str, cluster: &str) -> bool {
    if !given_cluster.is_empty() && given_cluster != "*" && given_cluster != cluster {
        return false;
    }
    if given_repo.is_empty() || given_repo == "*" || given_repo == repo {
        return true;
    }
    let repo = repo.strip_prefix("https://").unwrap_or(repo);
    let repo = repo.strip_prefix("http://").unwrap_or(repo);
    given_repo == repo || repo.split('/').next() == Some(given_repo)
}

/// The effective settings of a job of `repo` in `cluster` with its own settings `own`: the
/// matching `entries` merged in order, then `own` over them.
pub fn resolve(
    entries: &[DefaultDecorationConfigEntry],
    repo: &str,
    cluster: &str,
    own: &DecorationConfig,
) -> DecorationConfig {
    let mut merged: Option<DecorationConfig> = None;
    for entry in entries {
        let given_repo = entry.repo.as_deref().unwrap_or_default();
        let given_cluster = entry.cluster.as_deref().unwrap_or_default();
        if matches(given_repo, given_cluster, repo, cluster)
            && let Some(config) = &entry.config
        {
            merged = Some(apply_default(config, merged.as_ref()));
        }
    }
    apply_default(own, merged.as_ref())
}

fn or<T: Clone>(own: &Option<T>, default: Option<&Option<T>>) -> Option<T> {
    own.clone().or_else(|| default.and_then(Clone::clone))
}

/// Upstream's "unset" for strings: absent or empty.
fn or_text(own: &Option<String>, default: Option<&Option<String>>) -> Option<String> {
    match own {
        Some(text) if !text.is_empty() => own.clone(),
        _ => default.and_then(Clone::clone).or_else(|| own.clone()),
    }
}

/// Upstream's "unset" for lists: absent or empty.
fn or_list(own: &Option<Vec<String>>, default: Option<&Option<Vec<String>>>) -> Option<Vec<String>> {
    match own {
        Some(list) if !list.is_empty() => own.clone(),
        _ => default.and_then(Clone::clone).or_else(|| own.clone()),
    }
}

/// `own` with every unset field taken from `default` (upstream's `DecorationConfig.ApplyDefault`).
pub fn apply_default(own: &DecorationConfig, default: Option<&DecorationConfig>) -> DecorationConfig {
    let Some(def) = default else {
        return own.clone();
    };
    let d = Some(def);
    DecorationConfig {
        timeout: or(&own.timeout, d.map(|d| &d.timeout)),
        grace_period: or(&own.grace_period, d.map(|d| &d.grace_period)),
        utility_images: merge(&own.utility_images, &def.utility_images, images),
        resources: merge(&own.resources, &def.resources, resources),
        gcs_configuration: merge(&own.gcs_configuration, &def.gcs_configuration, gcs),
        gcs_credentials_secret: or(&own.gcs_credentials_secret, d.map(|d| &d.gcs_credentials_secret)),
        s3_credentials_secret: or(&own.s3_credentials_secret, d.map(|d| &d.s3_credentials_secret)),
        default_service_account_name: or(
            &own.default_service_account_name,
            d.map(|d| &d.default_service_account_name),
        ),
        ssh_key_secrets: or_list(&own.ssh_key_secrets, d.map(|d| &d.ssh_key_secrets)),
        ssh_host_fingerprints: or_list(&own.ssh_host_fingerprints, d.map(|d| &d.ssh_host_fingerprints)),
        oauth_token_secret: or(&own.oauth_token_secret, d.map(|d| &d.oauth_token_secret)),
        github_app_id: or_text(&own.github_app_id, d.map(|d| &d.github_app_id)),
        github_app_private_key_secret: or(
            &own.github_app_private_key_secret,
            d.map(|d| &d.github_app_private_key_secret),
        ),
        github_api_endpoints: or_list(&own.github_api_endpoints, d.map(|d| &d.github_api_endpoints)),
        cookiefile_secret: or(&own.cookiefile_secret, d.map(|d| &d.cookiefile_secret)),
        skip_cloning: or(&own.skip_cloning, d.map(|d| &d.skip_cloning)),
        blobless_fetch: or(&own.blobless_fetch, d.map(|d| &d.blobless_fetch)),
        sparse_checkout_files: or_list(&own.sparse_checkout_files, d.map(|d| &d.sparse_checkout_files)),
        censor_secrets: or(&own.censor_secrets, d.map(|d| &d.censor_secrets)),
        censoring_options: merge(&own.censoring_options, &def.censoring_options, censoring),
        upload_ignores_interrupts: or(&own.upload_ignores_interrupts, d.map(|d| &d.upload_ignores_interrupts)),
        pod_pending_timeout: or(&own.pod_pending_timeout, d.map(|d| &d.pod_pending_timeout)),
        pod_running_timeout: or(&own.pod_running_timeout, d.map(|d| &d.pod_running_timeout)),
        pod_unscheduled_timeout: or(&own.pod_unscheduled_timeout, d.map(|d| &d.pod_unscheduled_timeout)),
        run_as_user: or(&own.run_as_user, d.map(|d| &d.run_as_user)),
        run_as_group: or(&own.run_as_group, d.map(|d| &d.run_as_group)),
        fs_group: or(&own.fs_group, d.map(|d| &d.fs_group)),
        scheduling_options: merge(&own.scheduling_options, &def.scheduling_options, scheduling),
        default_memory_request: or(&own.default_memory_request, d.map(|d| &d.default_memory_request)),
        set_limit_equals_memory_request: or(
            &own.set_limit_equals_memory_request,
            d.map(|d| &d.set_limit_equals_memory_request),
        ),
        unknown: own.unknown.clone(),
    }
}

/// Both set: merged field by field; one set: that one.
fn merge<T: Clone>(own: &Option<T>, default: &Option<T>, both: fn(&T, &T) -> T) -> Option<T> {
    match (own, default) {
        (Some(own), Some(default)) => Some(both(own, default)),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    }
}

fn images(own: &UtilityImages, def: &UtilityImages) -> UtilityImages {
    UtilityImages {
        clonerefs: or_text(&own.clonerefs, Some(&def.clonerefs)),
        initupload: or_text(&own.initupload, Some(&def.initupload)),
        entrypoint: or_text(&own.entrypoint, Some(&def.entrypoint)),
        sidecar: or_text(&own.sidecar, Some(&def.sidecar)),
        unknown: own.unknown.clone(),
    }
}

fn resources(own: &UtilityResources, def: &UtilityResources) -> UtilityResources {
    UtilityResources {
        clonerefs: or(&own.clonerefs, Some(&def.clonerefs)),
        initupload: or(&own.initupload, Some(&def.initupload)),
        place_entrypoint: or(&own.place_entrypoint, Some(&def.place_entrypoint)),
        sidecar: or(&own.sidecar, Some(&def.sidecar)),
        unknown: own.unknown.clone(),
    }
}

/// Upstream copies the default's media types over the job's: on a clash the default wins.
fn gcs(own: &GcsConfiguration, def: &GcsConfiguration) -> GcsConfiguration {
    let media_types = match (&own.media_types, &def.media_types) {
        (_, Some(defaults)) if !defaults.is_empty() => {
            let mut merged = own.media_types.clone().unwrap_or_default();
            merged.extend(defaults.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(merged)
        }
        _ => own.media_types.clone(),
    };
    GcsConfiguration {
        bucket: or_text(&own.bucket, Some(&def.bucket)),
        path_prefix: or_text(&own.path_prefix, Some(&def.path_prefix)),
        path_strategy: or_text(&own.path_strategy, Some(&def.path_strategy)),
        default_org: or_text(&own.default_org, Some(&def.default_org)),
        default_repo: or_text(&own.default_repo, Some(&def.default_repo)),
        job_url_prefix: or_text(&own.job_url_prefix, Some(&def.job_url_prefix)),
        local_output_dir: or_text(&own.local_output_dir, Some(&def.local_output_dir)),
        media_types,
        compress_file_types: or(&own.compress_file_types, Some(&def.compress_file_types)),
        unknown: own.unknown.clone(),
    }
}

fn censoring(own: &CensoringOptions, def: &CensoringOptions) -> CensoringOptions {
    CensoringOptions {
        censoring_concurrency: or(&own.censoring_concurrency, Some(&def.censoring_concurrency)),
        censoring_buffer_size: or(&own.censoring_buffer_size, Some(&def.censoring_buffer_size)),
        include_directories: or(&own.include_directories, Some(&def.include_directories)),
        exclude_directories: or(&own.exclude_directories, Some(&def.exclude_directories)),
        minimum_secret_length: or(&own.minimum_secret_length, Some(&def.minimum_secret_length)),
        unknown: own.unknown.clone(),
    }
}

fn scheduling(own: &SchedulingOptions, def: &SchedulingOptions) -> SchedulingOptions {
    SchedulingOptions {
        affinity: or(&own.affinity, Some(&def.affinity)),
        tolerations: or(&own.tolerations, Some(&def.tolerations)),
        unknown: own.unknown.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn entries(value: Value) -> Vec<DefaultDecorationConfigEntry> {
        serde_json::from_value(value).expect("entries")
    }

    fn config(value: Value) -> DecorationConfig {
        serde_json::from_value(value).expect("decoration config")
    }

    #[test]
    fn entries_match_by_repo_org_star_and_cluster() {
        assert!(matches("", "", "o/r", "default"));
        assert!(matches("*", "*", "o/r", "default"));
        assert!(matches("o", "", "o/r", "default"));
        assert!(matches("o/r", "default", "o/r", "default"));
        assert!(matches("o/r", "", "https://o/r", "default"));
        assert!(!matches("o/other", "", "o/r", "default"));
        assert!(!matches("other", "", "o/r", "default"));
        assert!(!matches("o", "build", "o/r", "default"));
        assert!(
            !matches("o", "", "", "default"),
            "a periodic without extra refs matches only * entries"
        );
    }

    #[test]
    fn later_entries_win_and_the_job_wins_over_all() {
        let entries = entries(json!([
            {"repo": "*", "config": {"timeout": "2h", "grace_period": "15s",
                "utility_images": {"clonerefs": "c:1", "initupload": "i:1", "entrypoint": "e:1", "sidecar": "s:1"},
                "gcs_configuration": {"bucket": "s3://all", "path_strategy": "explicit", "mediaTypes": {"log": "text/plain"}}}},
            {"repo": "org", "config": {"timeout": "3h", "utility_images": {"sidecar": "s:org"}}},
            {"repo": "org/repo", "cluster": "build", "config": {"timeout": "9h"}},
            {"repo": "org/repo", "cluster": "default", "config": {"gcs_configuration": {"bucket": "s3://repo", "mediaTypes": {"log": "text/x-log", "txt": "text/plain"}}}},
            {"repo": "other", "config": {"timeout": "1h"}}
        ]));
        let own = config(json!({"grace_period": "1m", "utility_images": {"clonerefs": "c:job"},
            "gcs_configuration": {"mediaTypes": {"log": "application/json"}}}));
        let merged = resolve(&entries, "org/repo", "default", &own);
        let value = serde_json::to_value(&merged).expect("json");
        assert_eq!(value["timeout"], "3h", "the org entry comes after *");
        assert_eq!(value["grace_period"], "1m", "the job's own value wins");
        assert_eq!(
            value["utility_images"],
            json!({"clonerefs": "c:job", "initupload": "i:1", "entrypoint": "e:1", "sidecar": "s:org"})
        );
        assert_eq!(value["gcs_configuration"]["bucket"], "s3://repo");
        assert_eq!(value["gcs_configuration"]["path_strategy"], "explicit");
        assert_eq!(
            value["gcs_configuration"]["mediaTypes"],
            json!({"log": "text/plain", "txt": "text/plain"}),
            "upstream copies the defaults' media types over the job's, so the first entry's `log` stays"
        );
        let elsewhere = resolve(&entries, "else/repo", "default", &config(json!({})));
        assert_eq!(elsewhere.timeout.as_deref(), Some("2h"));
    }

    #[test]
    fn periodics_match_on_their_first_extra_refs() {
        let spec: ProwJobSpec = serde_json::from_value(json!({"type": "periodic", "job": "p",
            "extra_refs": [{"org": "o", "repo": "r"}], "cluster": ""}))
        .expect("spec");
        assert_eq!(job_scope(&spec), ("o/r".to_string(), "default".to_string()));
    }
}
