//! A real Kubernetes control plane on loopback, for prow-operator's e2e suite and live benchmarks:
//! etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, built from the Go
//! module proxy by `tests/cluster/build.sh` (no containers).
//!
//! [`Cluster::start`] starts one on free loopback ports in a fresh directory and waits until it
//! serves: the API server ready, the controllers running (the `default` ServiceAccount exists),
//! a kwok Node `Ready`. It has two identities: an admin (`system:masters`) and the operator's
//! ServiceAccount `prow-operator-system/prow-operator`, whose only rights are whatever RBAC grants
//! it (the e2e suite binds it to `config/rbac`). Dropping the [`Cluster`] stops every process and
//! removes its directory. Pod and node addresses stay inside 127.0.0.0/8, and nothing here makes
//! the API server dial a pod or a node.
//!
//! kwok plays the kubelet with its own stages (node-initialize, node-heartbeat, pod-ready,
//! pod-delete) plus ours for job Pods (label `created-by-prow: "true"`), chosen by [`JobPods`].

mod certificates;
pub mod process;
mod stages;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};

pub use process::Process;
pub use stages::RESULT_LABEL;

/// The variable that makes a missing real control plane an error in tests (CI sets it).
pub const REQUIRE_VARIABLE: &str = "E2E_REQUIRE_REAL_CLUSTER";

/// The operator's identity in the cluster: the ServiceAccount that `config/rbac` binds.
pub const OPERATOR_USER: &str = "system:serviceaccount:prow-operator-system:prow-operator";

/// The fake Node kwok manages.
pub const NODE_NAME: &str = "kwok-node-0";

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binaries are not built (or not all of them).
    #[error("the control plane's binaries are missing in {dir} ({missing}); build them with tests/cluster/build.sh")]
    BinariesMissing {
        /// Where they were looked for.
        dir: PathBuf,
        /// The missing ones.
        missing: String,
    },
    /// A file of the cluster's directory could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A certificate or key could not be generated.
    #[error("generating {what}: {message}")]
    Certificate {
        /// Which one.
        what: &'static str,
        /// The cause.
        message: String,
    },
    /// A process exited while the cluster was starting or in use.
    #[error("{name} exited ({status}); the last lines of its log:\n{log_tail}")]
    ProcessDied {
        /// Which process.
        name: String,
        /// How it exited.
        status: String,
        /// The end of its log.
        log_tail: String,
    },
    /// A readiness wait ran out of time.
    #[error("timed out after {seconds} s waiting for {what}; the last lines of {process}'s log:\n{log_tail}")]
    NotReady {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
        /// The process it depends on.
        process: String,
        /// The end of that process's log.
        log_tail: String,
    },
    /// The API server could not be reached with a client.
    #[error("a client for the API server: {0}")]
    Client(String),
}

/// What kwok does with a job Pod (label `created-by-prow: "true"`) once it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JobPods {
    /// They keep running until the test ends them (by patching their status, as a kubelet would).
    #[default]
    Held,
    /// They end this long after they started: `Succeeded` with exit code 0, or `Failed` with
    /// exit code 1 when their labels say `kwok.prow.dev/result: failure`; a Pod labelled
    /// `kwok.prow.dev/result: hold` keeps running.
    CompleteAfter(Duration),
}

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the binaries are (see [`Binaries::locate`]).
    pub binaries: Binaries,
    /// What kwok does with job Pods.
    pub job_pods: JobPods,
    /// The cluster's directory; a fresh temporary one when `None`.
    pub dir: Option<PathBuf>,
    /// Whether the processes outlive this process (`make cluster-up`): they are started in their
    /// own session and not stopped on drop.
    pub detached: bool,
}

/// The directory holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.
#[derive(Clone, Debug)]
pub struct Binaries {
    dir: PathBuf,
}

const BINARIES: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

impl Binaries {
    /// `$PROW_CLUSTER_BIN`, else `target/cluster/bin` of the repository (where `build.sh` puts
    /// them); an error naming what is missing unless every binary and the build stamp are there.
    pub fn locate() -> Result<Binaries, Error> {
        let dir = std::env::var_os("PROW_CLUSTER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| repository().join("target/cluster/bin"));
        let mut missing: Vec<&str> = BINARIES.iter().copied().filter(|b| !dir.join(b).is_file()).collect();
        if !dir.join("stamp").is_file() {
            missing.push("stamp (an unfinished build)");
        }
        if missing.is_empty() {
            Ok(Binaries { dir })
        } else {
            Err(Error::BinariesMissing {
                dir,
                missing: missing.join(", "),
            })
        }
    }

    /// [`Binaries::locate`] for a test that can run without them: `None` when they are
    /// missing, said on stderr with `what` would not run, unless `E2E_REQUIRE_REAL_CLUSTER` is
    /// set (as CI sets it once it built them), which makes the absence an error.
    pub fn for_tests(what: &str) -> Result<Option<Binaries>, Error> {
        match Binaries::locate() {
            Ok(binaries) => Ok(Some(binaries)),
            Err(error) if std::env::var_os(REQUIRE_VARIABLE).is_some() => Err(error),
            Err(error) => {
                eprintln!("WARNING: {what} without the real control plane: {error}");
                Ok(None)
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The repository's root.
pub fn repository() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// A running control plane. Dropping it stops every process and removes its directory (unless
/// it was started detached).
pub struct Cluster {
    dir: PathBuf,
    server: String,
    processes: Vec<Process>,
    /// How the API server was started: its binary and arguments.
    api_server: (PathBuf, Vec<String>),
    detached: bool,
    remove_dir: bool,
}

/// How many times a start is retried when a port turned out to be taken.
const START_ATTEMPTS: usize = 3;

/// How long each readiness wait may take.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    /// Starts a control plane and waits until it serves (see the crate's documentation).
    pub async fn start(options: Options) -> Result<Cluster, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Cluster::start_once(&options).await {
                Err(Error::ProcessDied { log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("address already in use") =>
                {
                    continue;
                }
                result => return result,
            }
        }
    }

    async fn start_once(options: &Options) -> Result<Cluster, Error> {
        let (dir, remove_dir) = match &options.dir {
            Some(dir) => (dir.clone(), false),
            None => (fresh_dir()?, true),
        };
        std::fs::create_dir_all(dir.join("etcd")).map_err(io(format!("creating {}", dir.display())))?;
        let certificates = certificates::write(&dir)?;
        let admin_token = random_token()?;
        let operator_token = random_token()?;
        write(
            &dir.join("tokens.csv"),
            &format!(
                "{admin_token},admin,admin,\"system:masters\"\n\
                 {operator_token},{OPERATOR_USER},prow-operator,\"system:serviceaccounts,system:serviceaccounts:prow-operator-system\"\n"
            ),
        )?;

        let ports = free_ports(5)?;
        let (etcd_port, peer_port, api_port, kcm_port, scheduler_port) =
            (ports[0], ports[1], ports[2], ports[3], ports[4]);
        let server = format!("https://127.0.0.1:{api_port}");
        let admin_kubeconfig = dir.join("admin.kubeconfig");
        write(
            &admin_kubeconfig,
            &kubeconfig(&server, &certificates.ca_pem, "admin", &admin_token),
        )?;
        write(
            &dir.join("operator.kubeconfig"),
            &kubeconfig(&server, &certificates.ca_pem, "prow-operator", &operator_token),
        )?;
        write(
            &dir.join("kwok.yaml"),
            &stages::config(&options.binaries.path("stages"), options.job_pods)?,
        )?;

        let mut cluster = Cluster {
            dir: dir.clone(),
            server,
            processes: Vec::new(),
            api_server: (options.binaries.path("kube-apiserver"), Vec::new()),
            detached: options.detached,
            remove_dir,
        };
        let binaries = &options.binaries;
        let d = |name: &str| dir.join(name).display().to_string();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        cluster.spawn(
            "etcd",
            &binaries.path("etcd"),
            &[
                "--name=default".into(),
                format!("--data-dir={}", d("etcd")),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                "--unsafe-no-fsync".into(),
                "--quota-backend-bytes=8589934592".into(),
                "--log-level=warn".into(),
            ],
        )?;
        cluster
            .wait_for("etcd", "etcd to serve", || async { etcd_healthy(etcd_port).await })
            .await?;

        cluster.api_server.1 = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={api_port}"),
            format!("--tls-cert-file={}", d("apiserver.crt")),
            format!("--tls-private-key-file={}", d("apiserver.key")),
            "--authorization-mode=RBAC".into(),
            format!("--token-auth-file={}", d("tokens.csv")),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", d("service-account.pub")),
            format!("--service-account-signing-key-file={}", d("service-account.key")),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--endpoint-reconciler-type=none".into(),
            "--allow-privileged=true".into(),
            "--profiling=false".into(),
            "--v=0".into(),
        ];
        cluster.start_api_server().await?;
        let admin = cluster.admin_client().await?;

        cluster.spawn(
            "kube-controller-manager",
            &binaries.path("kube-controller-manager"),
            &[
                format!("--kubeconfig={}", admin_kubeconfig.display()),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={kcm_port}"),
                format!("--service-account-private-key-file={}", d("service-account.key")),
                format!("--root-ca-file={}", d("ca.crt")),
                "--use-service-account-credentials=false".into(),
                // The defaults (20 requests/s) would make the controllers, not the operator, the
                // bottleneck of the benchmarks' thousands of Pods.
                "--kube-api-qps=1000".into(),
                "--kube-api-burst=2000".into(),
                "--profiling=false".into(),
                "--v=0".into(),
            ],
        )?;
        cluster.spawn(
            "kube-scheduler",
            &binaries.path("kube-scheduler"),
            &[
                format!("--kubeconfig={}", admin_kubeconfig.display()),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={scheduler_port}"),
                "--kube-api-qps=1000".into(),
                "--kube-api-burst=2000".into(),
                "--profiling=false".into(),
                "--v=0".into(),
            ],
        )?;
        create_node(&admin).await?;
        cluster.spawn(
            "kwok",
            &binaries.path("kwok"),
            &[
                format!("--kubeconfig={}", admin_kubeconfig.display()),
                format!("--config={}", d("kwok.yaml")),
                "--manage-all-nodes=false".into(),
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
                "--cidr=127.64.0.0/16".into(),
                "--node-ip=127.0.0.9".into(),
                "--server-address=".into(),
            ],
        )?;
        cluster
            .wait_for("kube-controller-manager", "the default ServiceAccount", || {
                let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), "default");
                async move { accounts.get_opt("default").await.ok().flatten().map(|_| ()) }
            })
            .await?;
        cluster
            .wait_for("kwok", "the kwok Node to be Ready", || {
                let nodes: Api<Node> = Api::all(admin.clone());
                async move { node_ready(&nodes).await }
            })
            .await?;
        Ok(cluster)
    }

    fn spawn(&mut self, name: &str, binary: &Path, args: &[String]) -> Result<(), Error> {
        let process = Process::spawn(name, binary, args, &self.dir, self.detached)?;
        self.processes.push(process);
        Ok(())
    }

    /// Polls `check` until it returns `Some`, failing with the log of `process` (or of whichever
    /// process died) after [`READY_TIMEOUT`].
    async fn wait_for<T, F, Fut>(&mut self, process: &str, what: &str, mut check: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Some(value) = check().await {
                return Ok(value);
            }
            if Instant::now() > deadline {
                let log_tail = self
                    .processes
                    .iter()
                    .find(|p| p.name() == process)
                    .map(Process::log_tail)
                    .unwrap_or_default();
                return Err(Error::NotReady {
                    what: what.to_string(),
                    seconds: READY_TIMEOUT.as_secs(),
                    process: process.to_string(),
                    log_tail,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts the API server (again, after [`Cluster::stop_api_server`]: at the same address,
    /// on the same data) and waits until it is ready.
    pub async fn start_api_server(&mut self) -> Result<(), Error> {
        let (binary, args) = self.api_server.clone();
        self.spawn("kube-apiserver", &binary, &args)?;
        let admin = self.admin_client().await?;
        self.wait_for("kube-apiserver", "kube-apiserver's /readyz", || {
            let admin = admin.clone();
            async move { ready(&admin).await }
        })
        .await
    }

    /// Stops the API server alone (SIGKILL), as a cluster that goes away: its address refuses
    /// connections until [`Cluster::start_api_server`]; etcd keeps everything. The other
    /// processes keep running and retry.
    pub fn stop_api_server(&mut self) {
        if let Some(index) = self.processes.iter().position(|p| p.name() == "kube-apiserver") {
            self.processes.remove(index).stop();
        }
    }

    /// An error naming the first process that has exited, with its log tail.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        for process in &mut self.processes {
            process.check_alive()?;
        }
        Ok(())
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The cluster's directory (kubeconfigs, certificates, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A kubeconfig for the admin identity (`system:masters`).
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// A kubeconfig for the operator's ServiceAccount ([`OPERATOR_USER`]), which has no rights
    /// but the ones RBAC grants it.
    pub fn operator_kubeconfig(&self) -> PathBuf {
        self.dir.join("operator.kubeconfig")
    }

    /// A client for the admin identity.
    pub async fn admin_client(&self) -> Result<Client, Error> {
        client_for(&self.admin_kubeconfig()).await
    }

    /// The last lines of every process's log, for a failing test's report.
    pub fn log_tails(&self) -> String {
        self.processes
            .iter()
            .map(|p| format!("--- {} ---\n{}", p.name(), p.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The processes' ids (for `make cluster-down`).
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(Process::id).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        // Stop in reverse order: kwok and the controllers before the API server before etcd.
        while let Some(process) = self.processes.pop() {
            process.stop();
        }
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A client for a kubeconfig file.
pub async fn client_for(path: &Path) -> Result<Client, Error> {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(path).map_err(|e| Error::Client(format!("{}: {e}", path.display())))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| Error::Client(e.to_string()))?;
    Client::try_from(config).map_err(|e| Error::Client(e.to_string()))
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

fn fresh_dir() -> Result<PathBuf, Error> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "prow-operator-cluster-{}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// `count` distinct loopback ports that were free a moment ago (a start that loses one to a race
/// is retried by [`Cluster::start`]).
fn free_ports(count: usize) -> Result<Vec<u16>, Error> {
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io("finding free ports".into()))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io("finding free ports".into()))
}

fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(io("reading /dev/urandom".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn kubeconfig(server: &str, ca_pem: &str, user: &str, token: &str) -> String {
    use std::fmt::Write;
    let ca: String = base64(ca_pem.as_bytes());
    let mut text = String::new();
    let _ = write!(
        text,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    token: {token}\n\
         contexts:\n- name: {user}@e2e\n  context:\n    cluster: e2e\n    user: {user}\n\
         current-context: {user}@e2e\n"
    );
    text
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn etcd_healthy(port: u16) -> Option<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    response.contains("\"health\":\"true\"").then_some(())
}

async fn ready(client: &Client) -> Option<()> {
    let request = http::Request::get("/readyz").body(Vec::new()).ok()?;
    let text = client.request_text(request).await.ok()?;
    (text.trim() == "ok").then_some(())
}

async fn create_node(client: &Client) -> Result<(), Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": NODE_NAME,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        },
        "status": {
            "allocatable": {"cpu": "1000", "memory": "4Ti", "pods": "50000"},
            "capacity": {"cpu": "1000", "memory": "4Ti", "pods": "50000"}
        }
    }))
    .map_err(|e| Error::Client(format!("the kwok Node: {e}")))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(Error::Client(format!("creating the kwok Node: {error}"))),
    }
}

async fn node_ready(nodes: &Api<Node>) -> Option<()> {
    let node = nodes.get_opt(NODE_NAME).await.ok().flatten()?;
    let conditions = node.status?.conditions?;
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
        .then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `replace` targets of a go.mod, as (module, version or path).
    fn replaces(go_mod: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut in_block = false;
        for line in go_mod.lines().map(str::trim) {
            if line.starts_with("replace (") {
                in_block = true;
                continue;
            }
            if in_block && line == ")" {
                in_block = false;
                continue;
            }
            let body = if in_block {
                Some(line)
            } else {
                line.strip_prefix("replace ")
            };
            if let Some((from, to)) = body.and_then(|b| b.split_once("=>")) {
                found.push((from.trim().to_string(), to.trim().to_string()));
            }
        }
        found
    }

    #[test]
    fn every_staging_module_kubernetes_replaces_is_pinned_to_its_published_release() {
        let ours = std::fs::read_to_string(repository().join("tests/cluster/go.mod")).expect("go.mod");
        let version = ours
            .lines()
            .find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes v"))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("k8s.io/kubernetes is required")
            .to_string();
        let staging_version = format!(
            "v0.{}",
            version.split_once('.').map(|(_, rest)| rest).unwrap_or_default()
        );
        let ours: std::collections::BTreeMap<String, String> = replaces(&ours).into_iter().collect();
        // Kubernetes' own go.mod, as the Go module cache holds it once build.sh (or `go mod
        // download`) ran.
        let Ok(output) = std::process::Command::new("go").args(["env", "GOMODCACHE"]).output() else {
            assert!(
                std::env::var_os(REQUIRE_VARIABLE).is_none(),
                "E2E_REQUIRE_REAL_CLUSTER is set, but Go is not on PATH"
            );
            eprintln!("WARNING: Go is not on PATH; the staging modules were not compared");
            return;
        };
        let cache = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let theirs = Path::new(&cache).join(format!("cache/download/k8s.io/kubernetes/@v/v{version}.mod"));
        let Ok(theirs) = std::fs::read_to_string(&theirs) else {
            assert!(
                std::env::var_os(REQUIRE_VARIABLE).is_none(),
                "E2E_REQUIRE_REAL_CLUSTER is set, but {} is missing",
                theirs.display()
            );
            eprintln!("WARNING: {} is missing; run tests/cluster/build.sh", theirs.display());
            return;
        };
        let staging: Vec<String> = replaces(&theirs)
            .into_iter()
            .filter(|(_, to)| to.starts_with("./staging/"))
            .map(|(from, _)| from)
            .collect();
        assert!(
            staging.len() >= 30,
            "Kubernetes replaces its staging modules: {staging:?}"
        );
        for module in &staging {
            assert_eq!(
                ours.get(module),
                Some(&format!("{module} {staging_version}")),
                "{module} must be replaced by its published {staging_version}"
            );
        }
        assert_eq!(ours.len(), staging.len(), "nothing but the staging modules is replaced");
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(5).expect("ports");
        let unique: std::collections::BTreeSet<_> = ports.iter().collect();
        assert_eq!(unique.len(), 5);
    }
}
