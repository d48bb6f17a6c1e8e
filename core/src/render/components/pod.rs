//! Each component's pod, as upstream's starter manifest runs it, and its Deployment.
//!
//! A [`PodPlan`] collects a component's args, env, ports, volumes and the ConfigMaps and Secrets
//! it uses; [`deployment`] turns it into the Deployment with the config-hash annotation.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecretKeySelector,
    SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use prow_api::instance::{BucketSpec, ComputeResources, SecretKeyRef};
use sha2::{Digest, Sha256};

use super::{Component, ComponentContext};
use crate::render::meta::CONFIG_HASH_ANNOTATION;

/// The upstream default GitHub API endpoint.
const DEFAULT_GITHUB_API: &str = "https://api.github.com";
/// Where the job-config shards are mounted, one directory per shard.
pub(super) const JOB_CONFIG_DIR: &str = "/etc/job-config";
/// The health port of every component that serves probes.
const HEALTH_PORT: i32 = 8081;

/// The port of hook's Service and container.
pub(super) const HOOK_PORT: i32 = 8888;
/// deck's container port.
pub(super) const DECK_PORT: i32 = 8080;
/// tide's container port.
pub(super) const TIDE_PORT: i32 = 8888;
/// ghproxy's container port.
pub(super) const GHPROXY_PORT: i32 = 8888;

/// What one component's pod needs.
#[derive(Debug, Default)]
struct PodPlan {
    args: Vec<String>,
    env: Vec<EnvVar>,
    ports: Vec<ContainerPort>,
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
    /// The ConfigMaps mounted, for the config hash.
    config_maps: BTreeSet<String>,
    /// The Secrets used (mounted or read into env), with the keys read, for the config hash.
    secrets: BTreeMap<String, BTreeSet<String>>,
}

impl PodPlan {
    fn arg(&mut self, arg: impl Into<String>) {
        self.args.push(arg.into());
    }

    fn has_volume(&self, volume: &str) -> bool {
        self.volumes.iter().any(|v| v.name == volume)
    }

    fn mount(&mut self, volume: Volume, path: &str, read_only: bool) {
        self.mounts.push(VolumeMount {
            name: volume.name.clone(),
            mount_path: path.to_string(),
            read_only: read_only.then_some(true),
            ..VolumeMount::default()
        });
        self.volumes.push(volume);
    }

    /// Mounts ConfigMap `name` read-only at `path` as volume `volume`.
    fn config_map(&mut self, volume: &str, name: &str, path: &str) {
        if self.has_volume(volume) {
            return;
        }
        self.config_maps.insert(name.to_string());
        let source = ConfigMapVolumeSource {
            name: name.to_string(),
            ..ConfigMapVolumeSource::default()
        };
        let volume = Volume {
            name: volume.to_string(),
            config_map: Some(source),
            ..Volume::default()
        };
        self.mount(volume, path, true);
    }

    /// Mounts the Secret of `secret` read-only at `dir` as volume `volume` (once), and returns
    /// the path of its key.
    fn secret(&mut self, volume: &str, secret: &SecretKeyRef, dir: &str) -> String {
        self.use_secret(secret);
        if !self.has_volume(volume) {
            let source = SecretVolumeSource {
                secret_name: Some(secret.name.clone()),
                ..SecretVolumeSource::default()
            };
            let v = Volume {
                name: volume.to_string(),
                secret: Some(source),
                ..Volume::default()
            };
            self.mount(v, dir, true);
        }
        format!("{dir}/{}", secret.key)
    }

    /// Records that the pod reads `secret` (for the config hash).
    fn use_secret(&mut self, secret: &SecretKeyRef) {
        self.secrets
            .entry(secret.name.clone())
            .or_default()
            .insert(secret.key.clone());
    }

    fn port(&mut self, name: Option<&str>, port: i32) {
        self.ports.push(ContainerPort {
            name: name.map(str::to_string),
            container_port: port,
            ..ContainerPort::default()
        });
    }

    /// The config hash the Deployment `deployment` keeps: the one it has in the cluster, while
    /// a Secret it uses is missing or lacks a key.
    fn kept_config_hash(&self, ctx: &ComponentContext<'_>, deployment: &str) -> Option<String> {
        let secrets = &ctx.mounts.secrets;
        self.secrets
            .keys()
            .any(|name| secrets.unusable.contains(name))
            .then(|| secrets.kept.get(deployment).cloned())
            .flatten()
    }

    /// The config hash: sha256 over the mounted ConfigMaps' content hashes and the used
    /// Secrets' content hashes (or, when unknown, their `name/key` references).
    fn config_hash(&self, ctx: &ComponentContext<'_>) -> String {
        let mut lines = BTreeSet::new();
        for name in &self.config_maps {
            let hash = ctx
                .mounts
                .config_map_hashes
                .get(name)
                .map(String::as_str)
                .unwrap_or_default();
            lines.insert(format!("configmap {name} {hash}"));
        }
        for (name, keys) in &self.secrets {
            let hash = match ctx.mounts.secrets.hashes.get(name) {
                Some(hash) => hash.clone(),
                None => keys
                    .iter()
                    .map(|key| format!("{name}/{key}"))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            lines.insert(format!("secret {name} {hash}"));
        }
        let mut hasher = Sha256::new();
        for line in lines {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }
}

/// Where the build clusters' kubeconfigs are mounted.
const KUBECONFIGS_DIR: &str = "/etc/build-clusters";

/// The build clusters' kubeconfigs, for the components that reach them (`--kubeconfig-dir`, as
/// upstream's starter mounts its `kubeconfig` Secret), when the instance has build clusters.
fn build_clusters(ctx: &ComponentContext<'_>, plan: &mut PodPlan) {
    let spec = ctx.spec;
    if spec.build_clusters.is_empty() && spec.build_cluster_secrets.is_empty() {
        return;
    }
    let volume = Volume {
        name: "build-clusters".to_string(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(ctx.owner.name(super::BUILD_CLUSTERS_SECRET)),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    };
    plan.mount(volume, KUBECONFIGS_DIR, true);
    plan.arg(format!("--kubeconfig-dir={KUBECONFIGS_DIR}"));
}

/// The config path, the job config, and `--dry-run=false` where upstream defaults to a dry run.
fn common(ctx: &ComponentContext<'_>, plan: &mut PodPlan, dry_run_flag: bool) {
    if dry_run_flag {
        plan.arg("--dry-run=false");
    }
    plan.arg("--config-path=/etc/config/config.yaml");
    plan.config_map("config", &ctx.mounts.config, "/etc/config");
    if !ctx.mounts.job_config.is_empty() {
        plan.arg(format!("--job-config-path={JOB_CONFIG_DIR}"));
        for (index, name) in ctx.mounts.job_config.iter().enumerate() {
            plan.config_map(
                &format!("job-config-{index}"),
                name,
                &format!("{JOB_CONFIG_DIR}/{index}"),
            );
        }
    }
}

/// `plugins.yaml`, mounted at `/etc/plugins`.
fn plugins(ctx: &ComponentContext<'_>, plan: &mut PodPlan) {
    plan.arg("--plugin-config=/etc/plugins/plugins.yaml");
    plan.config_map("plugins", &ctx.mounts.plugins, "/etc/plugins");
}

/// The ghproxy Service URL, when ghproxy runs.
fn ghproxy_url(ctx: &ComponentContext<'_>) -> Option<String> {
    Component::Ghproxy
        .enabled(ctx.spec)
        .then(|| format!("http://{}", ctx.owner.name(Component::Ghproxy.name())))
}

/// The GitHub endpoints: through ghproxy when it runs (upstream's "ep" and, with `graphql`,
/// "gql"), else the API directly.
fn github_endpoints(ctx: &ComponentContext<'_>, plan: &mut PodPlan, graphql: bool) {
    let api = ctx.spec.github.api_url.trim_end_matches('/');
    match ghproxy_url(ctx) {
        Some(proxy) => {
            plan.arg(format!("--github-endpoint={proxy}"));
            plan.arg(format!("--github-endpoint={api}"));
            if graphql {
                plan.arg(format!("--github-graphql-endpoint={proxy}/graphql"));
            }
        }
        None => {
            plan.arg(format!("--github-endpoint={api}"));
            // GitHub Enterprise serves GraphQL at /api/graphql beside /api/v3; upstream's
            // default is github.com's.
            if let (true, Some(base)) = (graphql && api != DEFAULT_GITHUB_API, api.strip_suffix("/api/v3")) {
                plan.arg(format!("--github-graphql-endpoint={base}/api/graphql"));
            }
        }
    }
}

/// GitHub credentials: the App (private key file plus `$(GITHUB_APP_ID)`) or the token file,
/// mounted at `/etc/github`.
fn github_auth(ctx: &ComponentContext<'_>, plan: &mut PodPlan) {
    let auth = &ctx.spec.github.auth;
    if let Some(app) = &auth.app {
        let env = match (&app.app_id_secret_ref, &app.app_id) {
            (Some(secret), _) => {
                plan.use_secret(secret);
                Some(EnvVar {
                    name: "GITHUB_APP_ID".to_string(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: secret.name.clone(),
                            key: secret.key.clone(),
                            optional: None,
                        }),
                        ..EnvVarSource::default()
                    }),
                    ..EnvVar::default()
                })
            }
            (None, Some(id)) => Some(EnvVar {
                name: "GITHUB_APP_ID".to_string(),
                value: Some(id.clone()),
                ..EnvVar::default()
            }),
            (None, None) => None,
        };
        if let Some(env) = env {
            plan.env.push(env);
            plan.arg("--github-app-id=$(GITHUB_APP_ID)");
        }
        let key = plan.secret("github-token", &app.private_key_secret_ref, "/etc/github");
        plan.arg(format!("--github-app-private-key-path={key}"));
    } else if let Some(token) = &auth.token {
        let path = plan.secret("github-token", &token.secret_ref, "/etc/github");
        plan.arg(format!("--github-token-path={path}"));
    }
}

/// The artifact bucket and its credentials.
struct Bucket<'a> {
    /// `s3` or `gs`.
    scheme: &'static str,
    spec: &'a BucketSpec,
}

fn bucket<'a>(ctx: &ComponentContext<'a>) -> Option<Bucket<'a>> {
    let storage = ctx.spec.storage.as_ref()?;
    match (&storage.s3, &storage.gcs) {
        (Some(spec), _) => Some(Bucket { scheme: "s3", spec }),
        (None, Some(spec)) => Some(Bucket { scheme: "gs", spec }),
        (None, None) => None,
    }
}

/// Mounts the storage credentials and passes the credentials file flag; returns the bucket URL
/// prefix `<scheme>://<bucket>`.
fn storage_credentials(plan: &mut PodPlan, bucket: &Bucket<'_>) -> String {
    let (volume, flag) = match bucket.scheme {
        "s3" => ("s3-credentials", "--s3-credentials-file"),
        _ => ("gcs-credentials", "--gcs-credentials-file"),
    };
    let path = plan.secret(volume, &bucket.spec.credentials_secret_ref, &format!("/etc/{volume}"));
    plan.arg(format!("{flag}={path}"));
    format!("{}://{}", bucket.scheme, bucket.spec.bucket)
}

/// The pod of `component`.
fn plan(ctx: &ComponentContext<'_>, component: Component) -> PodPlan {
    let mut plan = PodPlan::default();
    let owner = ctx.owner;
    match component {
        Component::Hook => {
            common(ctx, &mut plan, true);
            github_endpoints(ctx, &mut plan, false);
            github_auth(ctx, &mut plan);
            plugins(ctx, &mut plan);
            let hmac = plan.secret("hmac", &ctx.spec.github.hmac_secret_ref, "/etc/webhook");
            plan.arg(format!("--hmac-secret-file={hmac}"));
            plan.port(Some("http"), HOOK_PORT);
        }
        Component::Deck => {
            common(ctx, &mut plan, false);
            plugins(ctx, &mut plan);
            if Component::Tide.enabled(ctx.spec) {
                plan.arg(format!("--tide-url=http://{}/", owner.name(Component::Tide.name())));
            }
            if Component::Hook.enabled(ctx.spec) {
                plan.arg(format!(
                    "--hook-url=http://{}:{HOOK_PORT}/plugin-help",
                    owner.name(Component::Hook.name())
                ));
            }
            github_endpoints(ctx, &mut plan, true);
            if let Some(bucket) = bucket(ctx) {
                storage_credentials(&mut plan, &bucket);
            }
            plan.arg("--spyglass=true");
            github_auth(ctx, &mut plan);
            build_clusters(ctx, &mut plan);
            plan.port(Some("http"), DECK_PORT);
        }
        Component::Tide => {
            common(ctx, &mut plan, true);
            github_endpoints(ctx, &mut plan, true);
            if let Some(bucket) = bucket(ctx) {
                let prefix = storage_credentials(&mut plan, &bucket);
                plan.arg(format!("--status-path={prefix}/tide/tide-status"));
                plan.arg(format!("--history-uri={prefix}/tide/tide-history.json"));
            }
            github_auth(ctx, &mut plan);
            plan.port(Some("http"), TIDE_PORT);
        }
        Component::Crier => {
            let bucket = bucket(ctx);
            if bucket.is_some() {
                plan.arg("--blob-storage-workers=10");
            }
            common(ctx, &mut plan, false);
            if let Some(bucket) = &bucket {
                storage_credentials(&mut plan, bucket);
            }
            github_endpoints(ctx, &mut plan, false);
            if !ctx.spec.native.report {
                plan.arg("--github-workers=10");
            }
            if bucket.is_some() {
                plan.arg("--kubernetes-blob-storage-workers=10");
            }
            if let Some(slack) = &ctx.spec.slack {
                plan.arg("--slack-workers=1");
                let token = plan.secret("slack", &slack.token_secret_ref, "/etc/slack");
                plan.arg(format!("--slack-token-file={token}"));
            }
            github_auth(ctx, &mut plan);
            build_clusters(ctx, &mut plan);
        }
        Component::Ghproxy => {
            plan.arg("--cache-dir=/cache");
            plan.arg("--cache-sizeGB=99");
            plan.arg("--serve-metrics=true");
            let api = ctx.spec.github.api_url.trim_end_matches('/');
            if api != DEFAULT_GITHUB_API {
                plan.arg(format!("--upstream={api}"));
            }
            let claim = PersistentVolumeClaimVolumeSource {
                claim_name: owner.name(Component::Ghproxy.name()),
                read_only: None,
            };
            let volume = Volume {
                name: "cache".to_string(),
                persistent_volume_claim: Some(claim),
                ..Volume::default()
            };
            plan.mount(volume, "/cache", false);
            plan.port(None, GHPROXY_PORT);
        }
        Component::StatusReconciler => {
            common(ctx, &mut plan, true);
            plan.arg("--continue-on-error=true");
            plugins(ctx, &mut plan);
            github_endpoints(ctx, &mut plan, false);
            if let Some(bucket) = bucket(ctx) {
                let prefix = storage_credentials(&mut plan, &bucket);
                plan.arg(format!(
                    "--status-path={prefix}/status-reconciler/status-reconciler-status"
                ));
            }
            github_auth(ctx, &mut plan);
        }
        Component::Horologium => common(ctx, &mut plan, true),
        Component::Sinker => {
            common(ctx, &mut plan, true);
            build_clusters(ctx, &mut plan);
        }
        Component::ProwControllerManager => {
            common(ctx, &mut plan, true);
            github_endpoints(ctx, &mut plan, false);
            plan.arg("--enable-controller=plank");
            github_auth(ctx, &mut plan);
            build_clusters(ctx, &mut plan);
        }
    }
    plan.args
        .extend(component.spec(&ctx.spec.components).extra_args.iter().cloned());
    plan
}

/// Upstream's rollout settings of a component: strategy, termination grace period, pull policy,
/// and whether it serves the health probes.
struct Rollout {
    strategy: Option<DeploymentStrategy>,
    grace: Option<i64>,
    pull_always: bool,
    probes: bool,
}

fn rolling_1_1() -> Option<DeploymentStrategy> {
    Some(DeploymentStrategy {
        type_: Some("RollingUpdate".to_string()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(1)),
            max_unavailable: Some(IntOrString::Int(1)),
        }),
    })
}

fn recreate() -> Option<DeploymentStrategy> {
    Some(DeploymentStrategy {
        type_: Some("Recreate".to_string()),
        rolling_update: None,
    })
}

fn rollout(component: Component) -> Rollout {
    let (strategy, grace, pull_always, probes) = match component {
        Component::Hook => (rolling_1_1(), Some(180), true, true),
        Component::Deck => (rolling_1_1(), Some(30), false, true),
        Component::Horologium => (recreate(), Some(30), false, false),
        Component::Tide | Component::Ghproxy => (recreate(), None, false, false),
        Component::Crier => (None, Some(30), false, false),
        Component::StatusReconciler => (None, Some(180), false, false),
        Component::ProwControllerManager | Component::Sinker => (None, None, false, false),
    };
    Rollout {
        strategy,
        grace,
        pull_always,
        probes,
    }
}

fn http_probe(path: &str, initial_delay: i32, timeout: Option<i32>) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(HEALTH_PORT),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(3),
        timeout_seconds: timeout,
        ..Probe::default()
    }
}

fn quantities(values: &BTreeMap<String, IntOrString>) -> Option<BTreeMap<String, Quantity>> {
    (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|(name, value)| {
                let quantity = match value {
                    IntOrString::Int(n) => n.to_string(),
                    IntOrString::String(s) => s.clone(),
                };
                (name.clone(), Quantity(quantity))
            })
            .collect()
    })
}

fn resources(resources: Option<&ComputeResources>) -> Option<ResourceRequirements> {
    let resources = resources?;
    let requirements = ResourceRequirements {
        limits: quantities(&resources.limits),
        requests: quantities(&resources.requests),
        claims: None,
    };
    (requirements.limits.is_some() || requirements.requests.is_some()).then_some(requirements)
}

/// The Deployment of `component`.
pub(super) fn deployment(ctx: &ComponentContext<'_>, component: Component) -> Deployment {
    let owner = ctx.owner;
    let name = component.name();
    let settings = component.spec(&ctx.spec.components);
    let plan = plan(ctx, component);
    let rollout = rollout(component);
    let hash = plan
        .kept_config_hash(ctx, &owner.name(name))
        .unwrap_or_else(|| plan.config_hash(ctx));

    let container = Container {
        name: name.to_string(),
        image: Some(component.image(ctx.spec)),
        image_pull_policy: rollout.pull_always.then(|| "Always".to_string()),
        args: Some(plan.args),
        env: (!plan.env.is_empty()).then_some(plan.env),
        ports: (!plan.ports.is_empty()).then_some(plan.ports),
        volume_mounts: (!plan.mounts.is_empty()).then_some(plan.mounts),
        liveness_probe: rollout.probes.then(|| http_probe("/healthz", 3, None)),
        readiness_probe: rollout.probes.then(|| http_probe("/healthz/ready", 10, Some(600))),
        resources: resources(settings.resources.as_ref()),
        ..Container::default()
    };
    // ghproxy has no ServiceAccount and no use for the API.
    let (service_account, automount) = match component {
        Component::Ghproxy => (None, Some(false)),
        _ => (Some(owner.name(name)), None),
    };
    let pod = PodSpec {
        service_account_name: service_account,
        automount_service_account_token: automount,
        termination_grace_period_seconds: rollout.grace,
        containers: vec![container],
        volumes: (!plan.volumes.is_empty()).then_some(plan.volumes),
        ..PodSpec::default()
    };
    Deployment {
        metadata: owner.meta(name, &owner.namespace, name),
        spec: DeploymentSpec {
            replicas: Some(component.replicas(ctx.spec)),
            selector: LabelSelector {
                match_labels: Some(owner.selector_labels(name)),
                match_expressions: None,
            },
            strategy: rollout.strategy,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(owner.labels(name)),
                    annotations: Some(BTreeMap::from([(CONFIG_HASH_ANNOTATION.to_string(), hash)])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Volume;
    use prow_api::ProwInstanceSpec;

    use super::super::testutil::*;

    fn has(args: &[String], arg: &str) -> bool {
        args.iter().any(|a| a == arg)
    }

    fn volumes(objects: &[crate::render::object::Object], name: &str) -> Vec<Volume> {
        find_deployment(objects, name)
            .spec
            .template
            .spec
            .as_ref()
            .and_then(|p| p.volumes.clone())
            .unwrap_or_default()
    }

    #[test]
    fn deck_args_carry_tide_hook_plugins_and_storage() {
        let objects = render(&sample_spec(), &mounts());
        let args = args_of(&objects, "prow-deck");
        assert_eq!(
            args,
            [
                "--config-path=/etc/config/config.yaml",
                "--job-config-path=/etc/job-config",
                "--plugin-config=/etc/plugins/plugins.yaml",
                "--tide-url=http://prow-tide/",
                "--hook-url=http://prow-hook:8888/plugin-help",
                "--github-endpoint=https://api.github.com",
                "--s3-credentials-file=/etc/s3-credentials/service-account.json",
                "--spyglass=true",
                "--github-app-id=$(GITHUB_APP_ID)",
                "--github-app-private-key-path=/etc/github/cert",
            ]
        );
        assert!(!has(&args, "--dry-run=false"));
        let container = container(find_deployment(&objects, "prow-deck"));
        let env = container.env.clone().unwrap_or_default();
        let secret = env[0]
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .expect("secret ref");
        assert_eq!(
            (env[0].name.as_str(), secret.name.as_str(), secret.key.as_str()),
            ("GITHUB_APP_ID", "github-token", "appid")
        );
        assert_eq!(container.ports.as_ref().map(|p| p[0].container_port), Some(8080));
        let readiness = container.readiness_probe.as_ref().expect("readiness");
        assert_eq!(readiness.timeout_seconds, Some(600));
        let resources = container.resources.as_ref().expect("resources");
        assert_eq!(resources.requests.as_ref().map(|r| r["cpu"].0.as_str()), Some("100m"));
        assert_eq!(resources.limits.as_ref().map(|r| r["memory"].0.as_str()), Some("1Gi"));
        // Every mount is read-only.
        assert!(
            container
                .volume_mounts
                .iter()
                .flatten()
                .all(|m| m.read_only == Some(true))
        );
        let names: Vec<String> = volumes(&objects, "prow-deck").into_iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "config",
                "job-config-0",
                "job-config-1",
                "plugins",
                "s3-credentials",
                "github-token"
            ]
        );
    }

    #[test]
    fn deck_leaves_out_urls_of_components_that_do_not_run() {
        let mut spec = sample_spec();
        spec.components.tide.enabled = false;
        spec.components.hook.enabled = false;
        let args = args_of(&render(&spec, &mounts()), "prow-deck");
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--tide-url") || a.starts_with("--hook-url"))
        );
    }

    #[test]
    fn the_components_that_reach_build_clusters_get_their_kubeconfigs() {
        let flag = "--kubeconfig-dir=/etc/build-clusters";
        let mut spec = sample_spec();
        spec.components.sinker.enabled = true;
        spec.native.clean = false;
        let objects = render(&spec, &mounts());
        assert!(
            !has(&args_of(&objects, "prow-deck"), flag),
            "no build clusters, no flag"
        );
        spec.build_cluster_secrets = vec![prow_api::instance::BuildClusterSecret {
            name: "kubeconfig".into(),
            key_suffix: None,
        }];
        let objects = render(&spec, &mounts());
        for reader in ["prow-deck", "prow-crier", "prow-sinker"] {
            assert!(has(&args_of(&objects, reader), flag), "{reader}");
            let volume = volumes(&objects, reader)
                .into_iter()
                .find(|v| v.name == "build-clusters")
                .unwrap_or_else(|| panic!("{reader} mounts the kubeconfigs"));
            assert_eq!(
                volume.secret.and_then(|s| s.secret_name).as_deref(),
                Some("prow-build-clusters")
            );
        }
        for other in ["prow-hook", "prow-tide"] {
            assert!(!has(&args_of(&objects, other), flag), "{other}");
        }
    }

    #[test]
    fn hook_mounts_the_hmac_secret() {
        let objects = render(&sample_spec(), &mounts());
        let args = args_of(&objects, "prow-hook");
        assert!(has(&args, "--hmac-secret-file=/etc/webhook/hmac"));
        assert!(has(&args, "--dry-run=false"));
        assert!(has(&args, "--plugin-config=/etc/plugins/plugins.yaml"));
        let hmac = volumes(&objects, "prow-hook")
            .into_iter()
            .find(|v| v.name == "hmac")
            .expect("hmac volume");
        assert_eq!(hmac.secret.and_then(|s| s.secret_name).as_deref(), Some("hmac-token"));
        let container = container(find_deployment(&objects, "prow-hook"));
        let mount = container
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == "hmac")
            .expect("hmac mount");
        assert_eq!(
            (mount.mount_path.as_str(), mount.read_only),
            ("/etc/webhook", Some(true))
        );
        assert_eq!(container.image_pull_policy.as_deref(), Some("Always"));
        let pod = find_deployment(&objects, "prow-hook")
            .spec
            .template
            .spec
            .clone()
            .expect("pod");
        assert_eq!(pod.termination_grace_period_seconds, Some(180));
        assert_eq!(pod.service_account_name.as_deref(), Some("prow-hook"));
        // Other components do not get the webhook secret.
        assert!(!volumes(&objects, "prow-deck").iter().any(|v| v.name == "hmac"));
    }

    #[test]
    fn crier_reports_to_github_only_without_the_native_reporter() {
        let mut spec = sample_spec();
        let objects = render(&spec, &mounts());
        let args = args_of(&objects, "prow-crier");
        assert!(!args.iter().any(|a| a.starts_with("--github-workers")));
        assert!(has(&args, "--slack-workers=1"));
        assert!(has(&args, "--slack-token-file=/etc/slack/token"));
        assert!(has(&args, "--blob-storage-workers=10"));
        assert!(has(&args, "--kubernetes-blob-storage-workers=10"));
        assert!(!has(&args, "--dry-run=false"));
        assert!(volumes(&objects, "prow-crier").iter().any(|v| v.name == "slack"));

        spec.native.report = false;
        spec.slack = None;
        spec.storage = None;
        let objects = render(&spec, &mounts());
        let args = args_of(&objects, "prow-crier");
        assert!(has(&args, "--github-workers=10"));
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--slack") || a.contains("blob-storage"))
        );
        assert!(!volumes(&objects, "prow-crier").iter().any(|v| v.name == "slack"));
    }

    #[test]
    fn tide_and_status_reconciler_status_paths_follow_the_bucket() {
        let mut spec = sample_spec();
        spec.components.status_reconciler.enabled = true;
        let objects = render(&spec, &mounts());
        let tide = args_of(&objects, "prow-tide");
        assert!(has(&tide, "--status-path=s3://prow-logs/tide/tide-status"));
        assert!(has(&tide, "--history-uri=s3://prow-logs/tide/tide-history.json"));
        let sr = args_of(&objects, "prow-status-reconciler");
        assert!(has(
            &sr,
            "--status-path=s3://prow-logs/status-reconciler/status-reconciler-status"
        ));
        assert!(has(&sr, "--continue-on-error=true"));

        let json =
            serde_json::json!({"gcs": {"bucket": "logs", "credentialsSecretRef": {"name": "gcs", "key": "sa.json"}}});
        spec.storage = Some(serde_json::from_value(json).expect("storage"));
        let objects = render(&spec, &mounts());
        let tide = args_of(&objects, "prow-tide");
        assert!(has(&tide, "--gcs-credentials-file=/etc/gcs-credentials/sa.json"));
        assert!(has(&tide, "--status-path=gs://logs/tide/tide-status"));
        assert!(
            volumes(&objects, "prow-tide")
                .iter()
                .any(|v| v.name == "gcs-credentials")
        );
    }

    #[test]
    fn ghproxy_endpoints_are_wired_when_it_runs() {
        let mut spec = sample_spec();
        spec.components.ghproxy.enabled = true;
        spec.components.prow_controller_manager.enabled = true;
        spec.native.execute = false;
        let objects = render(&spec, &mounts());
        let endpoints = [
            "--github-endpoint=http://prow-ghproxy",
            "--github-endpoint=https://api.github.com",
        ];
        for name in [
            "prow-hook",
            "prow-deck",
            "prow-tide",
            "prow-crier",
            "prow-prow-controller-manager",
        ] {
            let args = args_of(&objects, name);
            let found: Vec<&str> = args
                .iter()
                .filter(|a| a.starts_with("--github-endpoint="))
                .map(String::as_str)
                .collect();
            assert_eq!(found, endpoints, "{name}");
        }
        assert!(has(
            &args_of(&objects, "prow-deck"),
            "--github-graphql-endpoint=http://prow-ghproxy/graphql"
        ));
        assert!(has(
            &args_of(&objects, "prow-tide"),
            "--github-graphql-endpoint=http://prow-ghproxy/graphql"
        ));
        assert!(
            !args_of(&objects, "prow-hook")
                .iter()
                .any(|a| a.starts_with("--github-graphql-endpoint"))
        );
        assert_eq!(
            args_of(&objects, "prow-ghproxy"),
            ["--cache-dir=/cache", "--cache-sizeGB=99", "--serve-metrics=true"]
        );
        let cache = volumes(&objects, "prow-ghproxy")
            .into_iter()
            .next()
            .expect("cache volume");
        assert_eq!(
            cache.persistent_volume_claim.map(|c| c.claim_name).as_deref(),
            Some("prow-ghproxy")
        );
    }

    #[test]
    fn github_enterprise_endpoints() {
        let mut spec = sample_spec();
        spec.github.api_url = "https://ghe.example.com/api/v3".into();
        let objects = render(&spec, &mounts());
        let tide = args_of(&objects, "prow-tide");
        assert!(has(&tide, "--github-endpoint=https://ghe.example.com/api/v3"));
        assert!(has(
            &tide,
            "--github-graphql-endpoint=https://ghe.example.com/api/graphql"
        ));
        spec.components.ghproxy.enabled = true;
        let objects = render(&spec, &mounts());
        assert!(has(
            &args_of(&objects, "prow-ghproxy"),
            "--upstream=https://ghe.example.com/api/v3"
        ));
    }

    #[test]
    fn token_auth_and_literal_app_id() {
        let mut spec = sample_spec();
        let json = serde_json::json!({"token": {"secretRef": {"name": "oauth-token", "key": "oauth"}}});
        spec.github.auth = serde_json::from_value(json).expect("auth");
        let objects = render(&spec, &mounts());
        let tide = args_of(&objects, "prow-tide");
        assert!(has(&tide, "--github-token-path=/etc/github/oauth"));
        assert!(!tide.iter().any(|a| a.starts_with("--github-app")));
        assert!(container(find_deployment(&objects, "prow-tide")).env.is_none());

        let json =
            serde_json::json!({"app": {"appId": "1234", "privateKeySecretRef": {"name": "app-key", "key": "pem"}}});
        spec.github.auth = serde_json::from_value(json).expect("auth");
        let objects = render(&spec, &mounts());
        let env = container(find_deployment(&objects, "prow-tide"))
            .env
            .clone()
            .unwrap_or_default();
        assert_eq!(
            (env[0].name.as_str(), env[0].value.as_deref()),
            ("GITHUB_APP_ID", Some("1234"))
        );
        assert!(has(
            &args_of(&objects, "prow-tide"),
            "--github-app-private-key-path=/etc/github/pem"
        ));
    }

    #[test]
    fn config_path_job_config_and_dry_run() {
        let mut spec: ProwInstanceSpec = sample_spec();
        for c in [
            &mut spec.components.horologium,
            &mut spec.components.sinker,
            &mut spec.components.prow_controller_manager,
        ] {
            c.enabled = true;
        }
        spec.components.sinker.extra_args = vec!["--log-level=debug".into()];
        let objects = render(&spec, &mounts());
        for name in [
            "prow-hook",
            "prow-tide",
            "prow-horologium",
            "prow-sinker",
            "prow-prow-controller-manager",
        ] {
            let args = args_of(&objects, name);
            assert!(has(&args, "--dry-run=false"), "{name}");
            assert!(has(&args, "--config-path=/etc/config/config.yaml"), "{name}");
            assert!(has(&args, "--job-config-path=/etc/job-config"), "{name}");
        }
        assert_eq!(
            args_of(&objects, "prow-sinker").last().map(String::as_str),
            Some("--log-level=debug")
        );
        let mounts_of = |name: &str| {
            container(find_deployment(&objects, name))
                .volume_mounts
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.mount_path)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            mounts_of("prow-horologium"),
            ["/etc/config", "/etc/job-config/0", "/etc/job-config/1"]
        );

        // Without job config there is no directory to read.
        let mut empty = mounts();
        empty.job_config.clear();
        let objects = render(&spec, &empty);
        assert!(
            !args_of(&objects, "prow-sinker")
                .iter()
                .any(|a| a.starts_with("--job-config-path"))
        );
    }

    #[test]
    fn a_config_map_change_rolls_exactly_its_readers() {
        let mut spec = sample_spec();
        for c in [
            &mut spec.components.horologium,
            &mut spec.components.ghproxy,
            &mut spec.components.status_reconciler,
        ] {
            c.enabled = true;
        }
        let names = [
            "prow-hook",
            "prow-deck",
            "prow-tide",
            "prow-crier",
            "prow-ghproxy",
            "prow-status-reconciler",
            "prow-horologium",
        ];
        let before = render(&spec, &mounts());
        let changed = |mounts: &crate::render::components::Mounts| {
            let after = render(&spec, mounts);
            names
                .iter()
                .filter(|n| hash(&before, n) != hash(&after, n))
                .copied()
                .collect::<Vec<_>>()
        };

        let mut m = mounts();
        m.config_map_hashes.insert("prow-plugins".into(), "p2".into());
        assert_eq!(changed(&m), ["prow-hook", "prow-deck", "prow-status-reconciler"]);

        let mut m = mounts();
        m.config_map_hashes.insert("prow-job-config-1".into(), "j2".into());
        assert_eq!(
            changed(&m),
            [
                "prow-hook",
                "prow-deck",
                "prow-tide",
                "prow-crier",
                "prow-status-reconciler",
                "prow-horologium"
            ]
        );

        // A hook-only secret rolls only hook.
        let mut m = mounts();
        m.secrets.hashes.insert("hmac-token".into(), "h2".into());
        assert_eq!(changed(&m), ["prow-hook"]);

        let mut m = mounts();
        m.secrets.hashes.insert("slack-token".into(), "s2".into());
        assert_eq!(changed(&m), ["prow-crier"]);
    }

    #[test]
    fn a_deployment_keeps_its_config_hash_while_a_secret_it_uses_is_missing() {
        let mut spec = sample_spec();
        spec.components.crier.enabled = true;
        let mut present = mounts();
        present.secrets.hashes.insert("slack-token".into(), "s1".into());
        present.secrets.hashes.insert("hmac-token".into(), "h1".into());
        let before = render(&spec, &present);
        let live: std::collections::BTreeMap<String, String> = ["prow-hook", "prow-crier", "prow-deck"]
            .into_iter()
            .map(|name| (name.to_string(), hash(&before, name)))
            .collect();

        // The Slack Secret is deleted: crier keeps its hash, nothing rolls.
        let mut deleted = present.clone();
        deleted.secrets.hashes.remove("slack-token");
        deleted.secrets.unusable.insert("slack-token".into());
        deleted.secrets.kept = live.clone();
        let during = render(&spec, &deleted);
        for name in live.keys() {
            assert_eq!(hash(&during, name), live[name], "{name}");
        }
        // Meanwhile a ConfigMap change rolls what does not use the missing Secret.
        deleted.config_map_hashes.insert("prow-plugins".into(), "p2".into());
        assert_ne!(hash(&render(&spec, &deleted), "prow-hook"), live["prow-hook"]);
        assert_eq!(hash(&render(&spec, &deleted), "prow-crier"), live["prow-crier"]);

        // Back with new content: crier rolls onto it.
        let mut back = present.clone();
        back.secrets.hashes.insert("slack-token".into(), "s2".into());
        back.secrets.kept = live.clone();
        assert_ne!(hash(&render(&spec, &back), "prow-crier"), live["prow-crier"]);
    }
}
