//! The scenarios' world: a cluster, the real `prow-operator run` binary pointed at it, and helpers
//! to apply YAML and wait for conditions.
//!
//! The cluster is, in order of preference:
//! - the one of `E2E_KUBECONFIG` (kind, say), shared, one scenario at a time;
//! - a real control plane of its own ([`cluster::Cluster`]: etcd, kube-apiserver, the controller
//!   manager, the scheduler and kwok), when `tests/cluster/build.sh` has built the binaries; the
//!   operator then runs as its own ServiceAccount bound to `config/rbac`, so the API server
//!   enforces the operator's RBAC;
//! - testkit, our fake, when those binaries are missing (said loudly on stderr, and refused when
//!   `E2E_REQUIRE_REAL_CLUSTER` is set, as CI sets it once it built them), and always for the
//!   scenarios that inject faults ([`World::start_fake`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use prow_api::yaml;
use serde_json::{Value, json};

/// Where the repository's files are.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// How long a scenario waits for the operator to converge.
pub const CONVERGE: Duration = Duration::from_secs(30);

/// One scenario's cluster and operator.
pub struct World {
    /// The fake API server, unless a real cluster is used.
    pub fake: Option<testkit::Testkit>,
    /// The real control plane this scenario started, if it did.
    pub real: Option<cluster::Cluster>,
    /// A client for the scenario itself (an admin).
    pub client: Client,
    /// The kubeconfig the operator uses.
    pub kubeconfig: PathBuf,
    dir: PathBuf,
    operators: Vec<Child>,
    /// How many replicas were started, stopped ones included: each logs to its own file.
    launched: usize,
    deployment_controller: Option<tokio::task::JoinHandle<()>>,
    _turn: Option<std::sync::MutexGuard<'static, ()>>,
}

/// How a scenario's world is set up.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// What kwok does with job Pods on the real control plane.
    pub job_pods: cluster::JobPods,
    /// Which ProwJob CRD is installed.
    pub prowjob_crd: ProwJobCrd,
    /// On a real control plane: nothing installed, no namespace made (the scenario installs as a
    /// user would); the operator still runs as its ServiceAccount, whose rights come only from
    /// what the scenario installs.
    pub bare: bool,
}

/// The ProwJob CRD a world installs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProwJobCrd {
    /// Ours, from `crds/`.
    #[default]
    Ours,
    /// Upstream Prow's (`../shared/upstream/prowjob_customresourcedefinition.yaml`), as an
    /// installation moving from upstream Prow already has it.
    Upstream,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Scenarios against one real cluster share the samples' names, so they take turns.
static REAL_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "prow-operator-e2e-{}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

impl World {
    /// A cluster with the CRDs installed and the samples' namespaces created: the real control
    /// plane when it can be had (see the module's documentation), job Pods held running until the
    /// scenario ends them.
    pub async fn start() -> World {
        World::start_with(Setup::default()).await
    }

    /// As [`World::start`], set up as `setup` says (on a real control plane; elsewhere only the
    /// ProwJob CRD is honoured).
    pub async fn start_with(setup: Setup) -> World {
        if std::env::var_os("E2E_KUBECONFIG").is_some() {
            return World::external().await;
        }
        match cluster::Binaries::for_tests("the e2e scenario runs against testkit").expect("the real control plane") {
            Some(binaries) => World::real(binaries, setup).await,
            None => World::fake_with(setup.prowjob_crd).await,
        }
    }

    /// A world on testkit, the fake API server: for the scenarios that inject faults or read its
    /// audit log.
    pub async fn start_fake() -> World {
        World::fake_with(ProwJobCrd::Ours).await
    }

    async fn fake_with(prowjob_crd: ProwJobCrd) -> World {
        let dir = scratch_dir();
        let fake = testkit::Testkit::start().await;
        let path = dir.join("kubeconfig");
        fake.write_kubeconfig(&path).expect("kubeconfig");
        let client = fake.client();
        World::prepared(
            World {
                fake: Some(fake),
                real: None,
                client,
                kubeconfig: path,
                dir,
                operators: Vec::new(),
                launched: 0,
                deployment_controller: None,
                _turn: None,
            },
            prowjob_crd,
        )
        .await
    }

    async fn real(binaries: cluster::Binaries, setup: Setup) -> World {
        let options = cluster::Options {
            binaries,
            job_pods: setup.job_pods,
            dir: None,
            detached: false,
        };
        let real = cluster::Cluster::start(options)
            .await
            .unwrap_or_else(|e| panic!("starting the real control plane: {e}"));
        let client = real.admin_client().await.expect("an admin client");
        let kubeconfig = real.operator_kubeconfig();
        let world = World {
            fake: None,
            real: Some(real),
            client,
            kubeconfig,
            dir: scratch_dir(),
            operators: Vec::new(),
            launched: 0,
            deployment_controller: None,
            _turn: None,
        };
        if setup.bare {
            return world;
        }
        let world = World::prepared(world, setup.prowjob_crd).await;
        // The operator's identity gets exactly config/rbac.
        for file in ["service_account.yaml", "role.yaml", "role_binding.yaml"] {
            world.apply_file(&repo().join("config/rbac").join(file)).await;
        }
        world
    }

    async fn external() -> World {
        let turn = Some(REAL_CLUSTER.lock().unwrap_or_else(|p| p.into_inner()));
        let path = PathBuf::from(std::env::var_os("E2E_KUBECONFIG").expect("E2E_KUBECONFIG"));
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&path).expect("E2E_KUBECONFIG"),
            &Default::default(),
        )
        .await
        .expect("E2E_KUBECONFIG");
        let world = World::prepared(
            World {
                fake: None,
                real: None,
                client: Client::try_from(config).expect("client"),
                kubeconfig: path,
                dir: scratch_dir(),
                operators: Vec::new(),
                launched: 0,
                deployment_controller: None,
                _turn: turn,
            },
            ProwJobCrd::Ours,
        )
        .await;
        world.remove_leftovers().await;
        world
    }

    /// Installs the CRDs of `crds/` (the ProwJob CRD as `prowjob_crd` says) and creates the
    /// samples' namespaces.
    async fn prepared(world: World, prowjob_crd: ProwJobCrd) -> World {
        for entry in std::fs::read_dir(repo().join("crds")).expect("crds/") {
            let path = entry.expect("crds/ entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.contains('_') {
                continue;
            }
            if name == "prow.k8s.io_prowjobs.yaml" && prowjob_crd == ProwJobCrd::Upstream {
                let upstream = repo().join("../shared/upstream/prowjob_customresourcedefinition.yaml");
                world.apply_file(&upstream).await;
            } else {
                world.apply_file(&path).await;
            }
        }
        world.wait_for_crds().await;
        for namespace in ["prow", "test-pods", "prow-operator-system"] {
            world.ensure_namespace(namespace).await;
        }
        world
    }

    /// Waits until every CRD is established (a real API server serves a new kind a moment
    /// after it accepted its CRD).
    async fn wait_for_crds(&self) {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        self.eventually("the CRDs to be established", || async {
            let list = crds.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .all(|crd| {
                    crd.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"))
                })
                .then_some(())
        })
        .await;
    }

    /// Deletes what an earlier scenario left in a real cluster's `prow` namespace, and waits.
    async fn remove_leftovers(&self) {
        for (kind, plural) in [
            ("ProwInstance", "prowinstances"),
            ("JobConfig", "jobconfigs"),
            ("PluginConfig", "pluginconfigs"),
            ("LabelSet", "labelsets"),
        ] {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("operator.prow.dev", "v1alpha1", kind),
                plural,
            );
            let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), "prow", &resource);
            let _ = api.delete_collection(&Default::default(), &Default::default()).await;
            let deadline = Instant::now() + CONVERGE;
            while api
                .list(&ListParams::default())
                .await
                .is_ok_and(|l| !l.items.is_empty())
            {
                if Instant::now() > deadline {
                    // An instance whose finalizer nobody runs: no operator is up yet.
                    for object in api
                        .list(&ListParams::default())
                        .await
                        .map(|l| l.items)
                        .unwrap_or_default()
                    {
                        let name = object.metadata.name.unwrap_or_default();
                        let patch = json!({"metadata": {"finalizers": null}});
                        let _ = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Whether the cluster is the fake (steps that inject faults or read its audit log run only
    /// then).
    pub fn is_fake(&self) -> bool {
        self.fake.is_some()
    }

    /// Whether Pods come up as their controllers and the scenario ask: on the fake (the scenario
    /// plays the kubelet and the Deployment controller) and on our real control plane (kwok and
    /// the controller manager do), not on a cluster of `E2E_KUBECONFIG`, where the sample images
    /// and Secrets are fakes.
    pub fn runs_pods(&self) -> bool {
        self.fake.is_some() || self.real.is_some()
    }

    async fn ensure_namespace(&self, name: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        match api.create(&PostParams::default(), &namespace).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("creating namespace {name}: {error}"),
        }
    }

    /// Starts (another replica of) `prow-operator run` against the cluster; its logs go to a file
    /// shown on failure.
    pub fn start_operator(&mut self) {
        let log = std::fs::File::create(self.dir.join(format!("operator-{}.log", self.launched))).expect("log file");
        self.launched += 1;
        let child = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
            .args(["run", "--kubeconfig"])
            .arg(&self.kubeconfig)
            .args([
                "--namespace",
                "prow-operator-system",
                "--health-address",
                "127.0.0.1:0",
                "--metrics-address",
                "127.0.0.1:0",
                "--hook-address",
                "127.0.0.1:0",
                "--lease-duration-seconds",
                "3",
                "--lease-renew-seconds",
                "1",
                "--log-level",
                "info,prow_operator=debug",
            ])
            .env("HOSTNAME", format!("e2e-{}", SEQUENCE.fetch_add(1, Ordering::Relaxed)))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start prow-operator");
        self.operators.push(child);
    }

    /// Sends SIGTERM to the first replica still running and waits for it to exit; returns
    /// whether it exited cleanly. It waits without blocking the runtime: the fake API server runs
    /// on it, and the operator talks to it while it drains.
    pub async fn stop_operator(&mut self) -> bool {
        if self.operators.is_empty() {
            return true;
        }
        let mut child = self.operators.remove(0);
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// The operators' logs so far.
    pub fn operator_log(&self) -> String {
        let mut logs = String::new();
        for index in 0.. {
            let Ok(text) = std::fs::read_to_string(self.dir.join(format!("operator-{index}.log"))) else {
                break;
            };
            logs.push_str(&format!("--- replica {index} ---\n{text}"));
        }
        logs
    }

    /// Plays the Deployment controller on the fake: every Deployment in `namespace` reports all
    /// its replicas updated and available for its current generation.
    pub fn play_deployment_controller(&mut self, namespace: &str) {
        if !self.is_fake() {
            return;
        }
        self.deployment_controller = Some(testkit::play_deployment_controller(self.client.clone(), namespace));
    }

    /// Server-side applies every document of a YAML file (as the scenario's own field manager).
    pub async fn apply_file(&self, path: &Path) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.apply_yaml(&text).await;
    }

    /// Server-side applies every document of `text`.
    pub async fn apply_yaml(&self, text: &str) {
        let documents = yaml::load_documents(text).expect("YAML");
        for document in documents.values {
            if document.is_null() {
                continue;
            }
            self.apply_value(document).await;
        }
    }

    /// Server-side applies one object.
    pub async fn apply_value(&self, object: Value) {
        let api = self.api_for(&object);
        let name = object["metadata"]["name"].as_str().expect("metadata.name").to_string();
        let params = PatchParams::apply("e2e").force();
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("applying {} {name}: {e}", object["kind"]));
    }

    /// Deletes one object.
    pub async fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let object =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}});
        self.api_for(&object)
            .delete(name, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("deleting {kind} {name}: {e}"));
    }

    /// Deletes one object and waits until the API server no longer has it (its finalizers done).
    pub async fn delete_and_wait(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        self.delete(api_version, kind, namespace, name).await;
        self.eventually(&format!("{kind} {namespace}/{name} to be gone"), || async {
            self.get(api_version, kind, namespace, name)
                .await
                .is_none()
                .then_some(())
        })
        .await;
    }

    fn api_for(&self, object: &Value) -> Api<DynamicObject> {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let plural = match kind {
            "CustomResourceDefinition" => "customresourcedefinitions".to_string(),
            "ProwInstance" => "prowinstances".to_string(),
            "JobConfig" => "jobconfigs".to_string(),
            "PluginConfig" => "pluginconfigs".to_string(),
            "LabelSet" => "labelsets".to_string(),
            other if other.ends_with('s') => format!("{}es", other.to_lowercase()),
            other => format!("{}s", other.to_lowercase()),
        };
        let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
        match object["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()) {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None if matches!(
                kind,
                "CustomResourceDefinition" | "Namespace" | "ClusterRole" | "ClusterRoleBinding" | "Node"
            ) =>
            {
                Api::all_with(self.client.clone(), &resource)
            }
            None => Api::namespaced_with(self.client.clone(), "default", &resource),
        }
    }

    /// Reads one object as JSON, or `None` when it does not exist.
    pub async fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let object =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}});
        let found = self.api_for(&object).get_opt(name).await.expect("get");
        found.map(|o| serde_json::to_value(o).expect("JSON"))
    }

    /// Lists objects of a kind in a namespace with a label selector.
    pub async fn list(&self, api_version: &str, kind: &str, namespace: &str, selector: &str) -> Vec<Value> {
        let object =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": namespace}});
        let list = self
            .api_for(&object)
            .list(&ListParams::default().labels(selector))
            .await
            .expect("list");
        list.items
            .into_iter()
            .map(|o| serde_json::to_value(o).expect("JSON"))
            .collect()
    }

    /// Polls `check` until it returns `Some`, or fails the scenario with `what` and the operator's
    /// log after [`CONVERGE`].
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + CONVERGE;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                let control_plane = self.real.as_ref().map(cluster::Cluster::log_tails).unwrap_or_default();
                panic!(
                    "timed out waiting for {what}\n--- operator log ---\n{}\n{control_plane}",
                    self.operator_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(task) = self.deployment_controller.take() {
            task.abort();
        }
        for child in &mut self.operators {
            let _ = child.kill();
            let _ = child.wait();
        }
        // On the real control plane the operator runs as its own ServiceAccount: a request that
        // config/rbac does not allow is refused there, and fails the scenario.
        let forbidden = if self.real.is_some() && !std::thread::panicking() {
            forbidden_requests(&self.operator_log())
        } else {
            Vec::new()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        assert!(
            forbidden.is_empty(),
            "the API server refused requests of the operator (config/rbac lacks a rule):\n{}",
            forbidden.join("\n")
        );
    }
}

/// The log lines where the API server refused a request of the operator's own ServiceAccount
/// for lack of RBAC (its message: `pods is forbidden: User "…" cannot create resource "pods" …`).
/// A build cluster's refusal names that cluster's user (`prow-build`, whose RBAC a build cluster
/// may still be propagating when the operator first probes it) and is not config/rbac's lack.
pub fn forbidden_requests(log: &str) -> Vec<String> {
    let operator = format!("is forbidden: User \"{}\"", cluster::OPERATOR_USER);
    without_colours(log)
        .lines()
        .filter(|line| line.replace("\\\"", "\"").contains(&operator))
        .map(str::to_string)
        .collect()
}

#[test]
fn only_the_operators_own_refusals_are_config_rbacs_lack() {
    let log = concat!(
        "INFO finished state=Error description=Pod can not be created: pods is forbidden: User ",
        "\"system:serviceaccount:prow-operator-system:prow-operator\" cannot create resource \"pods\"\n",
        "WARN kube_runtime::watcher: watch list error with 403: Api(Status { message: \"pods is forbidden: ",
        "User \\\"system:serviceaccount:test-pods:prow-build\\\" cannot list resource \\\"pods\\\"\" })\n",
        "WARN kube_runtime::watcher: watch list error with 403: Api(Status { message: \"leases is forbidden: ",
        "User \\\"system:serviceaccount:prow-operator-system:prow-operator\\\" cannot list\" })\n",
    );
    let forbidden = forbidden_requests(log);
    assert_eq!(forbidden.len(), 2, "{forbidden:#?}");
    assert!(forbidden.iter().all(|line| !line.contains("prow-build")));
}

/// The condition `type_` of an object's status, as (status, reason, message).
pub fn condition(object: &Value, type_: &str) -> Option<(String, String, String)> {
    object["status"]["conditions"].as_array()?.iter().find_map(|c| {
        (c["type"] == type_).then(|| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
    })
}

/// `GET http://<address><path>` over a plain TCP connection: (status code, body).
pub async fn http_get(address: &str, path: &str) -> (u16, String) {
    http_request(address, "GET", path, &[], b"").await
}

/// `POST http://<address><path>` with `headers` and `body`: (status code, body).
pub async fn http_post(address: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    http_request(address, "POST", path, headers, body).await
}

async fn http_request(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// The log without ANSI colour codes.
fn without_colours(log: &str) -> String {
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The address the operator logged for `field` (`health_address`, `metrics_address` or
/// `hook_address`).
pub fn logged_address(log: &str, field: &str) -> String {
    let plain = without_colours(log);
    let start = plain
        .find(&format!("{field}="))
        .expect("the operator logs its addresses")
        + field.len()
        + 1;
    plain[start..].split_whitespace().next().unwrap_or_default().to_string()
}
