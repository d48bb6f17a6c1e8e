//! Build clusters, the Kubernetes side: the kubeconfigs read from the instance's Secrets, a client
//! per cluster, and a probe of each (its version, then a SelfSubjectAccessReview of each pod verb
//! upstream's prow-controller-manager requires in the pod namespace) when its kubeconfig changes
//! and at least every [`PROBE_EVERY`]. The clients and the last probes are kept per instance, for
//! its status.
//!
//! A kubeconfig comes from a Secret that anyone allowed to write Secrets in the instance's
//! namespace can change, while the operator runs with its own ServiceAccount. So a kubeconfig may
//! only carry its credentials inline: file paths (`tokenFile`, `client-certificate`,
//! `client-key`, `certificate-authority`), `exec` plugins and `auth-provider` are refused as
//! `InvalidKubeconfig` (they would make the operator read its own files, its ServiceAccount token
//! among them, or run commands). Upstream's `gencred` writes inline credentials.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use prow_api::instance::{BuildClusterStatus, ProwInstanceSpec};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::notices::Notice;
use crate::cluster_aliases::{self, Contexts, Resolved, SecretFiles};
use crate::render::components::BUILD_CLUSTERS_SECRET;
use crate::render::meta::Owner;

/// The verbs on pods in the pod namespace a build cluster's credentials need (upstream's
/// `RequiredTestPodVerbs`).
pub const REQUIRED_POD_VERBS: [&str; 6] = ["create", "delete", "list", "watch", "get", "patch"];

/// How often a cluster is probed at least.
pub const PROBE_EVERY: Duration = Duration::from_secs(60);

/// How long one probe request may take before the cluster counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The states a build cluster can be in (`status.buildClusters[].state`).
pub mod state {
    /// Jobs can run there.
    pub const REACHABLE: &str = "Reachable";
    /// Its API server did not answer.
    pub const UNREACHABLE: &str = "Unreachable";
    /// The credentials lack pod verbs in the pod namespace.
    pub const MISSING_PERMISSIONS: &str = "MissingPermissions";
    /// The kubeconfig cannot be used.
    pub const INVALID_KUBECONFIG: &str = "InvalidKubeconfig";
}

/// The kubeconfig files of the Secrets `spec` names for build clusters, parsed: by Secret, the
/// files' contexts (for [`cluster_aliases::resolve`]); and by (Secret, key), the parsed files.
pub struct Kubeconfigs {
    /// By Secret (`None`: it does not exist), each key's contexts or why it cannot be read.
    pub secrets: BTreeMap<String, Option<SecretFiles>>,
    files: BTreeMap<(String, String), (Kubeconfig, String)>,
}

impl Kubeconfigs {
    /// Reads the build clusters' kubeconfigs out of `read` (the instance's Secrets by name). For a
    /// Secret of kubeconfig files every key is parsed; for a single reference only its key.
    pub fn of(spec: &ProwInstanceSpec, read: &BTreeMap<String, Option<Secret>>) -> Kubeconfigs {
        let mut wanted: BTreeMap<&str, Option<BTreeSet<&str>>> = BTreeMap::new();
        for cluster in &spec.build_clusters {
            let reference = &cluster.kubeconfig_secret_ref;
            if let Some(keys) = wanted.entry(&reference.name).or_insert_with(|| Some(BTreeSet::new())) {
                keys.insert(&reference.key);
            }
        }
        for source in &spec.build_cluster_secrets {
            wanted.insert(&source.name, None);
        }
        let mut kubeconfigs = Kubeconfigs {
            secrets: BTreeMap::new(),
            files: BTreeMap::new(),
        };
        for (name, keys) in wanted {
            let Some(Some(secret)) = read.get(name) else {
                kubeconfigs.secrets.insert(name.to_string(), None);
                continue;
            };
            let mut files = SecretFiles::new();
            for (key, value) in secret.data.iter().flatten() {
                if keys.as_ref().is_some_and(|keys| !keys.contains(key.as_str())) {
                    continue;
                }
                let parsed = parse(&value.0);
                files.insert(
                    key.clone(),
                    parsed
                        .as_ref()
                        .map(|(_, contexts)| contexts.clone())
                        .map_err(Clone::clone),
                );
                if let Ok((kubeconfig, _)) = parsed {
                    kubeconfigs
                        .files
                        .insert((name.to_string(), key.clone()), (kubeconfig, fingerprint(&value.0)));
                }
            }
            kubeconfigs.secrets.insert(name.to_string(), Some(files));
        }
        kubeconfigs
    }
}

/// A kubeconfig file and its contexts, or one sentence saying why it cannot be read.
fn parse(bytes: &[u8]) -> Result<(Kubeconfig, Contexts), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| format!("it is not a kubeconfig ({e})"))?;
    let contexts = Contexts {
        names: kubeconfig.contexts.iter().map(|c| c.name.clone()).collect(),
        current: kubeconfig.current_context.clone().filter(|c| !c.is_empty()),
    };
    Ok((kubeconfig, contexts))
}

fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why the credentials of `context` may not be used, if they may not (see the module's
/// documentation).
fn refused_credentials(kubeconfig: &Kubeconfig, context: &str) -> Option<String> {
    let named = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?;
    let mut refused = Vec::new();
    if let Some(cluster) = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == named.cluster)
        .and_then(|c| c.cluster.as_ref())
        && cluster.certificate_authority.is_some()
    {
        refused.push("certificate-authority (a file path; use certificate-authority-data)");
    }
    if let Some(user) = named.user.as_deref()
        && let Some(auth) = kubeconfig
            .auth_infos
            .iter()
            .find(|a| a.name == user)
            .and_then(|a| a.auth_info.as_ref())
    {
        let fields = [
            (auth.token_file.is_some(), "tokenFile (a file path; use token)"),
            (
                auth.client_certificate.is_some(),
                "client-certificate (a file path; use client-certificate-data)",
            ),
            (
                auth.client_key.is_some(),
                "client-key (a file path; use client-key-data)",
            ),
            (auth.exec.is_some(), "exec (the operator runs no credential plugins)"),
            (
                auth.auth_provider.is_some(),
                "auth-provider (the operator runs no credential plugins)",
            ),
        ];
        refused.extend(fields.iter().filter(|(set, _)| *set).map(|(_, what)| *what));
    }
    (!refused.is_empty()).then(|| {
        format!(
            "the kubeconfig's context {context:?} uses {}: only inline credentials are accepted",
            refused.join(", ")
        )
    })
}

/// A client for `context` of `kubeconfig`. It times out connecting; reads are not timed out by
/// the client (a Pod watch waits minutes for its next event), so each request that must end
/// bounds itself.
async fn client_for(kubeconfig: &Kubeconfig, context: &str) -> Result<Client, String> {
    if let Some(refused) = refused_credentials(kubeconfig, context) {
        return Err(refused);
    }
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
        .await
        .map_err(|e| format!("its context {context:?} cannot be used: {e}"))?;
    config.connect_timeout = Some(PROBE_TIMEOUT);
    Client::try_from(config).map_err(|e| format!("no client can be made for its context {context:?}: {e}"))
}

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Probe {
    state: &'static str,
    server_version: Option<String>,
    missing_verbs: Vec<String>,
    error: Option<String>,
}

/// Probes a cluster: its version, then each of [`REQUIRED_POD_VERBS`] on pods in `namespace`
/// (the reviews at once); the whole probe takes at most [`PROBE_TIMEOUT`], so a cluster that
/// stops answering holds its instance's reconcile no longer than that.
async fn probe(client: &Client, namespace: &str) -> Probe {
    match tokio::time::timeout(PROBE_TIMEOUT, probe_unbounded(client, namespace)).await {
        Ok(probe) => probe,
        Err(_) => unreachable_probe(format!("it did not answer within {PROBE_TIMEOUT:?}")),
    }
}

fn unreachable_probe(error: String) -> Probe {
    Probe {
        state: state::UNREACHABLE,
        server_version: None,
        missing_verbs: Vec::new(),
        error: Some(error),
    }
}

async fn probe_unbounded(client: &Client, namespace: &str) -> Probe {
    let version = match client.apiserver_version().await {
        Ok(version) => version.git_version,
        Err(error) => return unreachable_probe(format!("its API server did not answer: {error}")),
    };
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = |verb: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_string()),
                verb: Some(verb.to_string()),
                resource: Some("pods".to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let answers = futures::future::join_all(REQUIRED_POD_VERBS.iter().map(|verb| {
        let review = review(verb);
        let reviews = reviews.clone();
        async move { reviews.create(&Default::default(), &review).await }
    }))
    .await;
    let mut missing = Vec::new();
    for (verb, answer) in REQUIRED_POD_VERBS.iter().zip(answers) {
        match answer {
            Ok(review) if review.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => missing.push(verb.to_string()),
            Err(error) => return unreachable_probe(format!("its access review failed: {error}")),
        }
    }
    if missing.is_empty() {
        Probe {
            state: state::REACHABLE,
            server_version: Some(version),
            missing_verbs: missing,
            error: None,
        }
    } else {
        Probe {
            state: state::MISSING_PERMISSIONS,
            server_version: Some(version),
            error: Some(format!(
                "the credentials may not {} pods in namespace {namespace:?}",
                missing.join(", ")
            )),
            missing_verbs: missing,
        }
    }
}

/// One cluster of one instance: what its credentials were, the client made from them, and the
/// last probe.
#[derive(Clone)]
struct Entry {
    /// The kubeconfig's hash, the context and the pod namespace the entry was made for.
    made_for: (String, String, String),
    client: Result<Client, String>,
    probe: Option<(Probe, Instant, String)>,
}

/// The build clusters of every instance this replica reconciles: the aliases each declares, and
/// a client and the last probe of each cluster.
#[derive(Default)]
pub struct BuildClusters {
    instances: Mutex<HashMap<(String, String), BTreeMap<String, Entry>>>,
    declared: Mutex<HashMap<(String, String), BTreeSet<String>>>,
    /// Notified (every waiter) when a cluster is declared, forgotten, gets new credentials or
    /// changes state.
    changed: tokio::sync::Notify,
}

/// How the job engine may reach one build cluster, as its instance's last reconcile left it.
#[derive(Clone)]
pub struct Reach {
    /// A client, or why none can be made from the kubeconfig.
    pub client: Result<Client, String>,
    /// Differs whenever the kubeconfig, the context or the pod namespace differ.
    pub credentials: String,
    /// The last probe's state (see [`state`]) and error; `None` before the first.
    pub probe: Option<(&'static str, Option<String>)>,
}

/// The build clusters of one instance as the job engine sees them.
#[derive(Clone, Default)]
pub struct InstanceClusters {
    /// Every alias the instance declares, usable or not.
    pub declared: BTreeSet<String>,
    /// How to reach each declared cluster whose kubeconfig was found.
    pub reach: BTreeMap<String, Reach>,
}

impl std::fmt::Debug for BuildClusters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildClusters").finish_non_exhaustive()
    }
}

impl BuildClusters {
    /// Brings the instance `key`'s clusters in line with `resolved`, probes those whose
    /// credentials changed or whose last probe is [`PROBE_EVERY`] old (all at once), and returns
    /// each cluster's status, `used` set for the aliases in `used`.
    pub async fn refresh(
        &self,
        key: (String, String),
        pod_namespace: &str,
        resolved: &[Resolved],
        kubeconfigs: &Kubeconfigs,
        used: &BTreeSet<String>,
    ) -> Vec<BuildClusterStatus> {
        // A copy: the job engine keeps reading the clusters while they are probed.
        let mut entries = self.entries(&key);
        let before: BTreeMap<String, (String, Option<&'static str>)> = entries
            .iter()
            .map(|(alias, e)| (alias.clone(), Self::signature(e)))
            .collect();
        let mut fresh = BTreeMap::new();
        for cluster in resolved {
            let Ok(access) = &cluster.access else {
                continue;
            };
            let Some((kubeconfig, hash)) = kubeconfigs.files.get(&(access.secret.clone(), access.key.clone())) else {
                continue;
            };
            let made_for = (hash.clone(), access.context.clone(), pod_namespace.to_string());
            let entry = match entries.remove(&cluster.alias) {
                Some(entry) if entry.made_for == made_for => entry,
                _ => Entry {
                    client: client_for(kubeconfig, &access.context).await,
                    made_for,
                    probe: None,
                },
            };
            fresh.insert(cluster.alias.clone(), entry);
        }
        let due: Vec<(&String, &Client)> = fresh
            .iter()
            .filter(|(_, e)| e.probe.as_ref().is_none_or(|(_, at, _)| at.elapsed() >= PROBE_EVERY))
            .filter_map(|(alias, e)| e.client.as_ref().ok().map(|c| (alias, c)))
            .collect();
        let probes = futures::future::join_all(due.iter().map(|(_, client)| probe(client, pod_namespace))).await;
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let probed: Vec<(String, Probe)> = due.into_iter().map(|(a, _)| a.clone()).zip(probes).collect();
        for (alias, probe) in probed {
            if let Some(entry) = fresh.get_mut(&alias) {
                let before = entry.probe.as_ref().map(|(p, _, _)| p.state);
                if before != Some(probe.state) {
                    if probe.state == state::REACHABLE {
                        info!(cluster = %alias, "build cluster reachable");
                    } else {
                        warn!(cluster = %alias, state = probe.state, error = probe.error.as_deref().unwrap_or_default(), "build cluster not usable");
                    }
                }
                entry.probe = Some((probe, Instant::now(), now.clone()));
            }
        }
        let statuses = resolved
            .iter()
            .map(|cluster| status_of(cluster, fresh.get(&cluster.alias), used))
            .collect();
        let after: BTreeMap<String, (String, Option<&'static str>)> = fresh
            .iter()
            .map(|(alias, e)| (alias.clone(), Self::signature(e)))
            .collect();
        self.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, fresh);
        if before != after {
            self.changed.notify_waiters();
        }
        statuses
    }

    /// What tells a change of an entry the engine must act on: its credentials and its state.
    fn signature(entry: &Entry) -> (String, Option<&'static str>) {
        let credentials = format!("{:?}", entry.made_for);
        (credentials, entry.probe.as_ref().map(|(probe, _, _)| probe.state))
    }

    /// Records the aliases the instance `key` declares (its kubeconfig Secrets read).
    pub fn declare(&self, key: (String, String), resolved: &[Resolved]) {
        let aliases: BTreeSet<String> = resolved.iter().map(|r| r.alias.clone()).collect();
        let previous = self
            .declared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, aliases.clone());
        if previous.as_ref() != Some(&aliases) {
            self.changed.notify_waiters();
        }
    }

    /// The instance `key`'s clusters as the job engine sees them; `None` until its kubeconfig
    /// Secrets were read here.
    pub fn of_instance(&self, key: &(String, String)) -> Option<InstanceClusters> {
        let declared = self.declared(key)?;
        let reach = self
            .entries(key)
            .into_iter()
            .filter(|(alias, _)| declared.contains(alias))
            .map(|(alias, entry)| {
                let reach = Reach {
                    credentials: format!("{:?}", entry.made_for),
                    probe: entry
                        .probe
                        .as_ref()
                        .map(|(probe, _, _)| (probe.state, probe.error.clone())),
                    client: entry.client,
                };
                (alias, reach)
            })
            .collect();
        Some(InstanceClusters { declared, reach })
    }

    /// Has the instance `key`'s cluster `alias` probed again at its instance's next reconcile
    /// (the engine saw it come back or go away before the probe did).
    pub fn probe_soon(&self, key: &(String, String), alias: &str) {
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(probe) = instances
            .get_mut(key)
            .and_then(|entries| entries.get_mut(alias))
            .and_then(|entry| entry.probe.as_mut())
        {
            probe.1 = Instant::now().checked_sub(PROBE_EVERY).unwrap_or(probe.1);
        }
    }

    /// Resolves when the clusters change (see [`BuildClusters`]'s `changed`); listening starts
    /// when the future is first polled or enabled.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// The aliases the instance `key` declared at its last reconcile, if it had one here.
    pub fn declared(&self, key: &(String, String)) -> Option<BTreeSet<String>> {
        self.declared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Forgets the instance `key`'s clusters (it was deleted).
    pub fn forget(&self, key: &(String, String)) {
        self.instances.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        self.declared.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        self.changed.notify_waiters();
    }

    fn entries(&self, key: &(String, String)) -> BTreeMap<String, Entry> {
        self.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }
}

/// The status of one cluster from its resolution and its entry.
fn status_of(cluster: &Resolved, entry: Option<&Entry>, used: &BTreeSet<String>) -> BuildClusterStatus {
    let mut status = BuildClusterStatus {
        name: cluster.alias.clone(),
        used: used.contains(&cluster.alias),
        ..BuildClusterStatus::default()
    };
    let invalid = |status: &mut BuildClusterStatus, error: String| {
        status.state = state::INVALID_KUBECONFIG.to_string();
        status.last_error = Some(error);
    };
    match (&cluster.access, entry) {
        (Err(error), _) => invalid(&mut status, error.clone()),
        (Ok(access), None) => invalid(
            &mut status,
            format!("Secret {:?} key {:?} holds no kubeconfig", access.secret, access.key),
        ),
        (Ok(access), Some(entry)) => match (&entry.client, &entry.probe) {
            (Err(error), _) => invalid(
                &mut status,
                format!(
                    "the kubeconfig in Secret {:?} key {:?}: {error}",
                    access.secret, access.key
                ),
            ),
            (Ok(_), None) => status.state = state::UNREACHABLE.to_string(),
            (Ok(_), Some((probe, _, at))) => {
                status.state = probe.state.to_string();
                status.server_version = probe.server_version.clone();
                status.missing_verbs = probe.missing_verbs.clone();
                status.last_error = probe.error.clone();
                status.last_probe_time = Some(at.clone());
            }
        },
    }
    status
}

/// The Events for the clusters whose state changed from `previous` to `next` (a new cluster
/// included): `BuildClusterReachable` (Normal), else `BuildCluster<State>` (Warning) with why.
pub fn transitions(previous: &[BuildClusterStatus], next: &[BuildClusterStatus]) -> Vec<Notice> {
    next.iter()
        .filter(|now| {
            previous
                .iter()
                .find(|before| before.name == now.name)
                .is_none_or(|before| before.state != now.state)
        })
        .map(|now| {
            let warning = now.state != state::REACHABLE;
            let note = match (&now.last_error, warning) {
                (Some(error), true) => format!("build cluster {:?} is {}: {error}", now.name, now.state),
                _ => format!("build cluster {:?} is {}", now.name, now.state),
            };
            Notice {
                warning,
                reason: format!("BuildCluster{}", now.state),
                note,
            }
        })
        .collect()
}

/// `reachable/all` for the printer column; `None` without build clusters.
pub fn reachable_count(statuses: &[BuildClusterStatus]) -> Option<String> {
    (!statuses.is_empty()).then(|| {
        let reachable = statuses.iter().filter(|s| s.state == state::REACHABLE).count();
        format!("{reachable}/{}", statuses.len())
    })
}

/// Why the instance waits on its build clusters: one clause per cluster some job uses that is
/// not reachable, naming it, its state and its error.
pub fn unavailable(statuses: &[BuildClusterStatus]) -> Vec<String> {
    statuses
        .iter()
        .filter(|s| s.used && s.state != state::REACHABLE)
        .map(|s| match &s.last_error {
            Some(error) => format!("build cluster {:?} is {}: {error}", s.name, s.state),
            None => format!("build cluster {:?} is {}", s.name, s.state),
        })
        .collect()
}

/// The Secret the upstream components that reach build clusters (deck, crier, and
/// prow-controller-manager and sinker when they run) mount for `--kubeconfig-dir`
/// ([`crate::render::components::BUILD_CLUSTERS_SECRET`]): one kubeconfig file per usable cluster,
/// holding only its context, renamed to the alias (upstream names a cluster after its context),
/// with that context's cluster and user. `None` when `spec` declares no build clusters.
pub fn kubeconfig_secret(
    owner: &Owner,
    spec: &ProwInstanceSpec,
    resolved: &[Resolved],
    kubeconfigs: &Kubeconfigs,
) -> Option<Secret> {
    if spec.build_clusters.is_empty() && spec.build_cluster_secrets.is_empty() {
        return None;
    }
    let mut data = BTreeMap::new();
    for (index, cluster) in resolved.iter().enumerate() {
        let Ok(access) = &cluster.access else {
            continue;
        };
        let Some((kubeconfig, _)) = kubeconfigs.files.get(&(access.secret.clone(), access.key.clone())) else {
            continue;
        };
        if refused_credentials(kubeconfig, &access.context).is_some() {
            continue;
        }
        if let Some(single) = single_context(kubeconfig, &access.context, &cluster.alias)
            && let Ok(bytes) = serde_json::to_vec(&single)
        {
            data.insert(format!("cluster-{index}.kubeconfig"), ByteString(bytes));
        }
    }
    Some(Secret {
        metadata: ObjectMeta {
            name: Some(owner.name(BUILD_CLUSTERS_SECRET)),
            namespace: Some(owner.namespace.clone()),
            labels: Some(owner.labels(BUILD_CLUSTERS_SECRET)),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(data),
        ..Secret::default()
    })
}

/// `kubeconfig` cut down to `context`, renamed `alias`, with its cluster and user (also named
/// `alias`), and current.
fn single_context(kubeconfig: &Kubeconfig, context: &str, alias: &str) -> Option<Kubeconfig> {
    let named = kubeconfig.contexts.iter().find(|c| c.name == context)?;
    let mut inner = named.context.clone()?;
    let mut cluster = kubeconfig.clusters.iter().find(|c| c.name == inner.cluster)?.clone();
    cluster.name = alias.to_string();
    let mut users = Vec::new();
    if let Some(user) = inner.user.as_deref() {
        let mut found = kubeconfig.auth_infos.iter().find(|a| a.name == user)?.clone();
        found.name = alias.to_string();
        users.push(found);
        inner.user = Some(alias.to_string());
    }
    inner.cluster = alias.to_string();
    let mut renamed = named.clone();
    renamed.name = alias.to_string();
    renamed.context = Some(inner);
    Some(Kubeconfig {
        api_version: Some("v1".to_string()),
        kind: Some("Config".to_string()),
        clusters: vec![cluster],
        auth_infos: users,
        contexts: vec![renamed],
        current_context: Some(alias.to_string()),
        ..Kubeconfig::default()
    })
}

/// Resolves the clusters of `spec` given the instance's Secrets `read`: the kubeconfigs and the
/// resolution (see [`cluster_aliases::resolve`]).
pub fn resolve(
    spec: &ProwInstanceSpec,
    read: &BTreeMap<String, Option<Secret>>,
) -> (Kubeconfigs, Vec<Resolved>, Vec<String>) {
    let kubeconfigs = Kubeconfigs::of(spec, read);
    let (resolved, problems) = cluster_aliases::resolve(spec, &kubeconfigs.secrets);
    (kubeconfigs, resolved, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(user: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: build\n\
             clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:1'}}}}]\n\
             contexts: [{{name: build, context: {{cluster: c, user: u}}}}]\n\
             users: [{{name: u, user: {user}}}]\n"
        ))
        .expect("kubeconfig")
    }

    #[test]
    fn file_paths_and_plugins_in_a_kubeconfig_are_refused_and_inline_credentials_pass() {
        assert_eq!(refused_credentials(&kubeconfig("{token: abc}"), "build"), None);
        let refused = refused_credentials(
            &kubeconfig("{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}"),
            "build",
        );
        assert_eq!(
            refused.as_deref(),
            Some(
                r#"the kubeconfig's context "build" uses tokenFile (a file path; use token): only inline credentials are accepted"#
            )
        );
        let refused = refused_credentials(
            &kubeconfig("{exec: {apiVersion: client.authentication.k8s.io/v1, command: sh}}"),
            "build",
        )
        .expect("refused");
        assert!(
            refused.contains("exec (the operator runs no credential plugins)"),
            "{refused}"
        );
    }

    #[test]
    fn the_components_kubeconfigs_hold_each_usable_cluster_under_its_alias() {
        let spec: ProwInstanceSpec = serde_json::from_value(serde_json::json!({
            "version": "v1",
            "github": {"org": "acme", "auth": {"token": {"secretRef": {"name": "g", "key": "t"}}},
                       "hmacSecretRef": {"name": "h", "key": "h"}},
            "buildClusters": [
                {"name": "gke_p_z_build", "kubeconfigSecretRef": {"name": "kc", "key": "good"}},
                {"name": "files", "kubeconfigSecretRef": {"name": "kc", "key": "files"}},
            ],
        }))
        .expect("spec");
        let text = |user: &str| {
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: build\n\
                 clusters: [{{name: c, cluster: {{server: 'https://build:6443'}}}}]\n\
                 contexts: [{{name: build, context: {{cluster: c, user: u}}}}, {{name: other, context: {{cluster: c}}}}]\n\
                 users: [{{name: u, user: {user}}}]\n"
            )
        };
        let secret = Secret {
            data: Some(BTreeMap::from([
                ("good".to_string(), ByteString(text("{token: abc}").into_bytes())),
                ("files".to_string(), ByteString(text("{tokenFile: /x}").into_bytes())),
            ])),
            ..Secret::default()
        };
        let read = BTreeMap::from([("kc".to_string(), Some(secret))]);
        let (kubeconfigs, resolved, _) = resolve(&spec, &read);
        let owner = Owner {
            name: "prow".into(),
            namespace: "prow".into(),
            version: "v1".into(),
        };
        let made = kubeconfig_secret(&owner, &spec, &resolved, &kubeconfigs).expect("a Secret");
        assert_eq!(made.metadata.name.as_deref(), Some("prow-build-clusters"));
        let data = made.data.expect("data");
        // `files` (index 0, sorted by alias) uses a file path and is left out.
        assert_eq!(data.keys().collect::<Vec<_>>(), ["cluster-1.kubeconfig"]);
        let text = String::from_utf8(data["cluster-1.kubeconfig"].0.clone()).expect("UTF-8");
        let single = Kubeconfig::from_yaml(&text).expect("a kubeconfig");
        assert_eq!(single.current_context.as_deref(), Some("gke_p_z_build"));
        assert_eq!(single.contexts.len(), 1);
        assert_eq!(single.contexts[0].name, "gke_p_z_build");
        assert_eq!(
            single.clusters[0].cluster.as_ref().and_then(|c| c.server.as_deref()),
            Some("https://build:6443")
        );
        assert!(text.contains("\"token\":\"abc\""), "{text}");
        let none: ProwInstanceSpec = serde_json::from_value(serde_json::json!({
            "version": "v1",
            "github": {"org": "acme", "auth": {"token": {"secretRef": {"name": "g", "key": "t"}}},
                       "hmacSecretRef": {"name": "h", "key": "h"}},
        }))
        .expect("spec");
        assert!(kubeconfig_secret(&owner, &none, &[], &kubeconfigs).is_none());
    }

    #[test]
    fn a_change_of_state_is_one_event_naming_the_cluster() {
        let status = |name: &str, state: &str| BuildClusterStatus {
            name: name.into(),
            state: state.into(),
            last_error: (state != state::REACHABLE).then(|| "no answer".into()),
            ..BuildClusterStatus::default()
        };
        let before = [status("a", state::REACHABLE), status("b", state::UNREACHABLE)];
        let after = [
            status("a", state::UNREACHABLE),
            status("b", state::UNREACHABLE),
            status("c", state::REACHABLE),
        ];
        let notices = transitions(&before, &after);
        let seen: Vec<(bool, &str, &str)> = notices
            .iter()
            .map(|n| (n.warning, n.reason.as_str(), n.note.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    true,
                    "BuildClusterUnreachable",
                    r#"build cluster "a" is Unreachable: no answer"#
                ),
                (false, "BuildClusterReachable", r#"build cluster "c" is Reachable"#),
            ]
        );
        assert!(transitions(&after, &after).is_empty());
    }

    #[test]
    fn a_kubeconfig_is_parsed_to_its_contexts_or_one_sentence() {
        let (_, contexts) = parse(b"apiVersion: v1\nkind: Config\ncurrent-context: b\ncontexts: [{name: a, context: {cluster: x}}, {name: b, context: {cluster: x}}]\n").expect("parsed");
        assert_eq!(contexts.names, ["a", "b"]);
        assert_eq!(contexts.current.as_deref(), Some("b"));
        assert_eq!(parse(&[0xff, 0xfe]).err().as_deref(), Some("it is not UTF-8 text"));
        assert!(
            parse(b"contexts: 7")
                .expect_err("refused")
                .starts_with("it is not a kubeconfig (")
        );
    }

    #[test]
    fn only_used_clusters_that_are_not_reachable_hold_the_instance() {
        let status = |name: &str, state: &str, used: bool| BuildClusterStatus {
            name: name.into(),
            state: state.into(),
            used,
            last_error: (state != state::REACHABLE).then(|| "no answer".into()),
            ..BuildClusterStatus::default()
        };
        let statuses = [
            status("a", state::REACHABLE, true),
            status("b", state::UNREACHABLE, true),
            status("c", state::UNREACHABLE, false),
        ];
        assert_eq!(
            unavailable(&statuses),
            [r#"build cluster "b" is Unreachable: no answer"#]
        );
        assert_eq!(reachable_count(&statuses).as_deref(), Some("1/3"));
        assert_eq!(reachable_count(&[]), None);
    }
}
