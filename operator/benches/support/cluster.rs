//! What the live benchmarks share: installing the CRDs, namespaces and sample Secrets into
//! testkit, applying objects, running the release `prow-operator run` binary, and reading its RSS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use prow_api::yaml;
use serde_json::{Value, json};

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A dynamic API for `kind` (plural: lowercase + `s`).
pub fn api_for(client: &Client, api_version: &str, kind: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
    match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Server-side applies one object; returns it as stored.
pub async fn apply(client: &Client, object: &Value) -> Value {
    let api = api_for(
        client,
        object["apiVersion"].as_str().expect("apiVersion"),
        object["kind"].as_str().expect("kind"),
        object["metadata"]["namespace"].as_str(),
    );
    let name = object["metadata"]["name"].as_str().expect("metadata.name");
    let applied = api
        .patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(object))
        .await
        .unwrap_or_else(|e| panic!("applying {} {name}: {e}", object["kind"]));
    serde_json::to_value(applied).expect("JSON")
}

pub async fn apply_file(client: &Client, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for document in yaml::load_documents(&text).expect("YAML").values {
        if !document.is_null() {
            apply(client, &document).await;
        }
    }
}

/// The CRDs, the samples' namespaces and their Secrets.
pub async fn install_base(client: &Client) {
    let mut crds: Vec<PathBuf> = std::fs::read_dir(repo().join("crds"))
        .expect("crds/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains('_')))
        .collect();
    crds.sort();
    for path in &crds {
        apply_file(client, path).await;
    }
    for namespace in ["prow", "test-pods", "prow-operator-system"] {
        apply(
            client,
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        )
        .await;
    }
    // The Secrets the sample ProwInstance names, as the end-to-end scenarios install them.
    apply_file(client, &repo().join("tests/e2e/sample-secrets.yaml")).await;
}

/// VmRSS and VmHWM of a process, in MiB.
pub fn proc_status(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (mib("VmRSS:"), mib("VmHWM:"))
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    values
}

/// Starts the release operator against `kubeconfig`, logging JSON to `log`, with `extra` flags.
pub fn spawn_operator(kubeconfig: &Path, log: &Path, hostname: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(["run", "--kubeconfig"])
        .arg(kubeconfig)
        .args([
            "--namespace",
            "prow-operator-system",
            "--health-address",
            "127.0.0.1:0",
            "--metrics-address",
            "127.0.0.1:0",
            "--lease-duration-seconds",
            "3",
            "--lease-renew-seconds",
            "1",
            "--log-format",
            "json",
        ])
        .args(extra)
        .env("HOSTNAME", hostname)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).expect("log file")))
        .spawn()
        .expect("start prow-operator")
}

/// SIGTERM, then waits (up to 20 s) for the exit status.
pub fn stop(mut child: Child) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
