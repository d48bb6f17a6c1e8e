//! What the live benchmarks share: the cluster they run against (testkit, and the real control
//! plane of `tests/cluster` when its binaries are built), installing the CRDs, namespaces and
//! sample Secrets, applying objects, running the release `prow-operator run` binary, and reading
//! its RSS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use prow_api::yaml;
use serde_json::{Value, json};

/// The cluster a live benchmark runs against.
pub enum Backend {
    /// testkit, our in-memory fake: fast, with an audit log of every request.
    Testkit(testkit::Testkit),
    /// The real control plane (etcd, kube-apiserver, the controller manager, the scheduler and
    /// kwok), with the operator as its own ServiceAccount bound to `config/rbac`.
    Real(::cluster::Cluster),
}

/// Which clusters to run on: `BENCH_CLUSTER=testkit|real`, else both when the real control
/// plane's binaries are built (said on stderr when they are not).
pub fn backends() -> Vec<&'static str> {
    match std::env::var("BENCH_CLUSTER").as_deref() {
        Ok("testkit") => vec!["testkit"],
        Ok("real") => vec!["real"],
        _ => match ::cluster::Binaries::locate() {
            Ok(_) => vec!["testkit", "real"],
            Err(error) => {
                eprintln!("WARNING: testkit only, no real control plane: {error}");
                vec!["testkit"]
            }
        },
    }
}

impl Backend {
    /// Starts `name` ([`backends`]); kwok ends job Pods as `job_pods` says. The operator's
    /// kubeconfig is written into `dir`.
    pub async fn start(name: &str, options: testkit::Options, job_pods: ::cluster::JobPods) -> Backend {
        if name == "real" {
            let binaries = ::cluster::Binaries::locate().unwrap_or_else(|e| panic!("{e}"));
            let options = ::cluster::Options {
                binaries,
                job_pods,
                dir: None,
                detached: false,
            };
            let real = ::cluster::Cluster::start(options)
                .await
                .unwrap_or_else(|e| panic!("starting the real control plane: {e}"));
            let backend = Backend::Real(real);
            let client = backend.client().await;
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prow-operator-system"}});
            apply(&client, &namespace).await;
            for file in ["service_account.yaml", "role.yaml", "role_binding.yaml"] {
                apply_file(&client, &repo().join("config/rbac").join(file)).await;
            }
            backend
        } else {
            Backend::Testkit(testkit::Testkit::start_with(options).await)
        }
    }

    /// A client for the bench itself (an admin on the real control plane).
    pub async fn client(&self) -> Client {
        match self {
            Backend::Testkit(tk) => tk.client(),
            Backend::Real(real) => real.admin_client().await.expect("an admin client"),
        }
    }

    /// The kubeconfig the operator runs with, written into `dir` for testkit.
    pub fn operator_kubeconfig(&self, dir: &Path) -> PathBuf {
        match self {
            Backend::Testkit(tk) => {
                let path = dir.join("kubeconfig");
                tk.write_kubeconfig(&path).expect("kubeconfig");
                path
            }
            Backend::Real(real) => real.operator_kubeconfig(),
        }
    }

    /// An admin's kubeconfig, on the real control plane.
    #[allow(
        dead_code,
        reason = "each bench includes this module; only bench-upstream-hook needs it"
    )]
    pub fn admin_kubeconfig(&self) -> Option<PathBuf> {
        match self {
            Backend::Testkit(_) => None,
            Backend::Real(real) => Some(real.admin_kubeconfig()),
        }
    }

    /// testkit, when it is the cluster (for its audit log and its played controllers).
    pub fn testkit(&self) -> Option<&testkit::Testkit> {
        match self {
            Backend::Testkit(tk) => Some(tk),
            Backend::Real(_) => None,
        }
    }

    /// How the figures are labelled.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Testkit(_) => "testkit",
            Backend::Real(_) => "real control plane (kube-apiserver 1.37, etcd, kwok)",
        }
    }
}

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A dynamic API for `kind` (plural: lowercase + `s`).
pub fn api_for(client: &Client, api_version: &str, kind: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
        other if other.ends_with('s') => format!("{}es", other.to_lowercase()),
        other => format!("{}s", other.to_lowercase()),
    };
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
    match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Every object of `kind` in `namespace`, as JSON (none when the list fails).
#[allow(dead_code, reason = "each bench includes this module; bench-jobs lists nothing")]
pub async fn list(client: &Client, api_version: &str, kind: &str, namespace: &str) -> Vec<Value> {
    api_for(client, api_version, kind, Some(namespace))
        .list(&Default::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect()
        })
        .unwrap_or_default()
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
    // The synthetic jobs' pods run as this ServiceAccount; a real API server refuses a Pod whose
    // ServiceAccount does not exist.
    apply(
        client,
        &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "prowjob-default-sa", "namespace": "test-pods"}}),
    )
    .await;
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

/// The CPU time (user and system) process `pid` used so far, in seconds; `None` for this process.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(|| "/proc/self/stat".to_string(), |pid| format!("/proc/{pid}/stat"));
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15 of stat(5), 11 and 12 after the command and state.
    (ticks(11) + ticks(12)) / clock_ticks_per_second()
}

/// The kernel's clock ticks per second, which `/proc/<pid>/stat` counts in.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
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

/// The operator process of a bench; killed when dropped, so a bench that fails midway leaves no
/// operator running (it would hold its ports and Lease for the next run).
pub struct Operator(Option<Child>);

impl Operator {
    /// Another process, killed when dropped as the operator is.
    #[allow(
        dead_code,
        reason = "each bench includes this module; only bench-upstream-hook runs another process"
    )]
    pub fn from_child(child: Child) -> Operator {
        Operator(Some(child))
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the release operator against `kubeconfig`, logging JSON to `log`, with `extra` flags.
pub fn spawn_operator(kubeconfig: &Path, log: &Path, hostname: &str, extra: &[&str]) -> Operator {
    let child = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
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
        .expect("start prow-operator");
    Operator(Some(child))
}

/// SIGTERM, then waits (up to 20 s) for the exit status.
pub fn stop(mut operator: Operator) -> Option<std::process::ExitStatus> {
    let mut child = operator.0.take()?;
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
