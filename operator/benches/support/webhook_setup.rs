//! What the webhook benchmarks install before they send events: 100 JobConfigs of 40 synthetic
//! jobs (one repository each) and the sample ProwInstance on the fake GitHub's org, with token
//! auth, the trigger native or left to upstream's hook, and nothing else native (the other loops
//! would compete for the two cores with what is measured).

use serde_json::{Value, json};

use crate::{cluster, synthetic};

/// The API version of our kinds.
pub const OPERATOR: &str = "operator.prow.dev/v1alpha1";
/// JobConfigs, one repository each (`org/repo-<n>`).
pub const CONFIGS: usize = 100;
/// Jobs of each JobConfig.
pub const JOBS_PER_CONFIG: usize = 40;

/// The count in the environment variable `variable`, else `default`.
pub fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The benchmark's ProwInstance on the fake GitHub at `github`.
pub fn instance(github: &str, native_trigger: bool) -> Value {
    let mut instance = prow_api::yaml::load_documents(
        &std::fs::read_to_string(cluster::repo().join("config/samples/prowinstance.yaml")).expect("sample"),
    )
    .expect("YAML")
    .values
    .remove(0);
    instance["spec"]["github"] = json!({
        "org": "org",
        "auth": {"token": {"secretRef": {"name": "github-api-token", "key": "token"}}},
        "hmacSecretRef": {"name": "hmac-token", "key": "hmac"},
        "apiUrl": github,
    });
    instance["spec"]["native"] =
        json!({"trigger": native_trigger, "schedule": false, "execute": false, "report": false, "clean": false});
    instance
}

/// The [`CONFIGS`] JobConfigs.
pub fn job_configs() -> Vec<Value> {
    (0..CONFIGS)
        .map(|repo| {
            json!({"apiVersion": OPERATOR, "kind": "JobConfig",
                   "metadata": {"name": format!("jc-{repo:02}"), "namespace": "prow"},
                   "spec": synthetic::job_set(repo, JOBS_PER_CONFIG)})
        })
        .collect()
}

/// Installs the base objects, the GitHub token's Secret, the [`instance`] and the
/// [`job_configs`].
pub async fn install(client: &kube::Client, github: &str, native_trigger: bool) {
    cluster::install_base(client).await;
    cluster::apply(
        client,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "github-api-token", "namespace": "prow"},
                "stringData": {"token": "bench-token"}}),
    )
    .await;
    cluster::apply(client, &instance(github, native_trigger)).await;
    for config in job_configs() {
        cluster::apply(client, &config).await;
    }
}
