//! An in-memory Kubernetes API server fake for prow-operator's tests.
//!
//! [`Testkit::start`] serves a small but faithful subset of the Kubernetes REST API over plain
//! HTTP on `127.0.0.1` (random port): CRUD, list with label/field selectors, watch with
//! resourceVersions and bookmarks, merge/JSON/strategic patches, server-side apply
//! (approximated as a merge patch with a field manager), the status subresource, CRD
//! registration, discovery, fault injection and an audit log. A [`kube::Client`] (see
//! [`Testkit::client`]) or any process given [`Testkit::kubeconfig_yaml`] can talk to it.
//!
//! ```no_run
//! # async fn demo() {
//! let tk = testkit::Testkit::start().await;
//! let client = tk.client();
//! tk.write_kubeconfig("/tmp/kubeconfig").unwrap();
//! # }
//! ```

mod audit;
mod controllers;
mod error;
mod faults;
mod patch;
mod resources;
mod selector;
mod server;
mod store;
mod util;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use audit::{Request, Verb};
pub use controllers::play_deployment_controller;
pub use faults::{Fault, Faults};
pub use resources::ResourceDef;
pub use store::HISTORY_CAP;

use server::Shared;

/// Tuning for [`Testkit::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// How often an idle watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 1s).
    pub bookmark_interval: Duration,
    /// How many events the watch history keeps (default [`HISTORY_CAP`]); watches from an
    /// older resourceVersion get a 410 Gone.
    pub history_cap: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bookmark_interval: Duration::from_secs(1),
            history_cap: HISTORY_CAP,
        }
    }
}

/// A running fake API server. Dropping it shuts the server down (open watches end).
pub struct Testkit {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Testkit {
    /// Binds `127.0.0.1:0` and serves in a background tokio task.
    pub async fn start() -> Testkit {
        Self::start_with(Options::default()).await
    }

    /// Like [`Testkit::start`], with non-default [`Options`].
    pub async fn start_with(options: Options) -> Testkit {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let mut shared = Shared::new(addr);
        shared.bookmark_interval = options.bookmark_interval;
        shared.store().set_history_cap(options.history_cap.max(1));
        let shared = Arc::new(shared);
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        tracing::debug!(%addr, "testkit API server listening");
        Testkit {
            shared,
            addr,
            task: Mutex::new(Some(task)),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig pointing at the fake (plain HTTP, a user without credentials,
    /// namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: testkit\n  cluster:\n    server: {}\n\
             users:\n\
             - name: testkit\n  user: {{}}\n\
             contexts:\n\
             - name: testkit\n  context:\n    cluster: testkit\n    user: testkit\n    namespace: default\n\
             current-context: testkit\n\
             preferences: {{}}\n",
            self.base_url()
        )
    }

    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A client for the fake (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        let url = self.base_url().parse().expect("valid URL");
        let config = kube::Config::new(url);
        kube::Client::try_from(config).expect("kube client")
    }

    /// Fault injection.
    pub fn faults(&self) -> Faults {
        Faults {
            shared: self.shared.clone(),
        }
    }

    /// Every resource request served so far, oldest first.
    pub fn audit(&self) -> Vec<Request> {
        self.shared.audit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear_audit(&self) {
        self.shared.audit.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv()
    }

    /// Serves an extra resource without creating a CRD for it.
    pub fn register(&self, def: ResourceDef) {
        self.shared.store().register(def);
    }

    /// The resources currently served.
    pub fn resources(&self) -> Vec<ResourceDef> {
        self.shared.store().resources().to_vec()
    }

    /// Stored objects of a group (`""` for core) and plural, as raw JSON, for assertions.
    pub fn objects(&self, group: &str, plural: &str) -> Vec<Value> {
        self.shared.store().dump(group, plural)
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn shutdown(self) {
        self.shared.shutdown.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Testkit {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}
