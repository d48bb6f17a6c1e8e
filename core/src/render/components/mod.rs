//! The upstream Prow components: Deployments, ServiceAccounts, RBAC, Services, ghproxy's cache
//! volume and the Ingress, rendered from a ProwInstance as upstream's `starter-s3.yaml` does.
//!
//! Everything here is pure: the same context always renders the same objects.
//!
//! - `pod`: the pod of each component (args, mounts, env, probes) and its Deployment;
//! - `rbac`: ServiceAccounts, Roles and RoleBindings with upstream's verbs;
//! - `network`: Services, ghproxy's PersistentVolumeClaim and the Ingress.

mod network;
mod pod;
mod rbac;

use std::collections::{BTreeMap, BTreeSet};

use prow_api::ProwInstanceSpec;
use prow_api::instance::{ComponentSpec, ComponentsSpec, FunctionStatus};

use super::meta::Owner;
use super::object::Object;

/// What the components mount, by object name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mounts {
    /// ConfigMap holding key `config.yaml`.
    pub config: String,
    /// ConfigMap holding key `plugins.yaml`.
    pub plugins: String,
    /// The job-config ConfigMaps (shards); each is mounted at `/etc/job-config/<index>` and
    /// components read `--job-config-path=/etc/job-config` (upstream reads a directory
    /// recursively).
    pub job_config: Vec<String>,
    /// Content hash of each ConfigMap above, by ConfigMap name.
    pub config_map_hashes: BTreeMap<String, String>,
    /// What is known of the Secrets the components use.
    pub secrets: Secrets,
}

/// What the live operator knows of the Secrets the components use (offline render knows
/// nothing: the secret *references* are hashed instead, and nothing is kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Content hash of each Secret by name, when known.
    pub hashes: BTreeMap<String, String>,
    /// The Secrets that are missing or lack a key the spec names. A Deployment that uses one
    /// keeps the config hash it has in the cluster (`kept`), so that it does not roll onto a
    /// Secret that is not there; it rolls once the Secret is back.
    pub unusable: BTreeSet<String>,
    /// The config hash of each Deployment's pod template as the cluster holds it, by
    /// Deployment name.
    pub kept: BTreeMap<String, String>,
}

/// Everything the component renderer needs.
#[derive(Clone, Copy, Debug)]
pub struct ComponentContext<'a> {
    /// The instance's name, namespace and version.
    pub owner: &'a Owner,
    /// The instance's spec.
    pub spec: &'a ProwInstanceSpec,
    /// Where ProwJobs live (config `prowjob_namespace`).
    pub prowjob_namespace: &'a str,
    /// Where job pods run (config `pod_namespace`).
    pub pod_namespace: &'a str,
    /// The ConfigMaps and Secrets the components mount.
    pub mounts: &'a Mounts,
    /// DNS name and port of the operator's own webhook Service (e.g.
    /// `("prow-operator-webhook.prow-operator-system.svc", 8888)`), the `/hook` target when hook
    /// is not enabled.
    pub operator_webhook: (&'a str, i32),
}

/// One upstream component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// hook: the webhook receiver and plugins.
    Hook,
    /// deck: the web UI and Spyglass.
    Deck,
    /// tide: the merge pool.
    Tide,
    /// crier: the reporters.
    Crier,
    /// ghproxy: the caching GitHub API proxy.
    Ghproxy,
    /// status-reconciler: keeps contexts in line with changed presubmits.
    StatusReconciler,
    /// horologium: starts periodics.
    Horologium,
    /// prow-controller-manager: plank, running ProwJobs as pods.
    ProwControllerManager,
    /// sinker: garbage collection of ProwJobs and pods.
    Sinker,
}

impl Component {
    /// Every component, in a fixed order.
    pub const ALL: [Component; 9] = [
        Component::Hook,
        Component::Deck,
        Component::Tide,
        Component::Crier,
        Component::Ghproxy,
        Component::StatusReconciler,
        Component::Horologium,
        Component::ProwControllerManager,
        Component::Sinker,
    ];

    /// The component's name: its image name, container name, `app.kubernetes.io/name` label and
    /// the `<part>` of its object names.
    pub fn name(self) -> &'static str {
        match self {
            Component::Hook => "hook",
            Component::Deck => "deck",
            Component::Tide => "tide",
            Component::Crier => "crier",
            Component::Ghproxy => "ghproxy",
            Component::StatusReconciler => "status-reconciler",
            Component::Horologium => "horologium",
            Component::ProwControllerManager => "prow-controller-manager",
            Component::Sinker => "sinker",
        }
    }

    /// The component's settings in the instance's spec.
    pub fn spec(self, components: &ComponentsSpec) -> &ComponentSpec {
        match self {
            Component::Hook => &components.hook,
            Component::Deck => &components.deck,
            Component::Tide => &components.tide,
            Component::Crier => &components.crier,
            Component::Ghproxy => &components.ghproxy,
            Component::StatusReconciler => &components.status_reconciler,
            Component::Horologium => &components.horologium,
            Component::ProwControllerManager => &components.prow_controller_manager,
            Component::Sinker => &components.sinker,
        }
    }

    /// Whether the instance runs the component.
    pub fn enabled(self, spec: &ProwInstanceSpec) -> bool {
        self.spec(&spec.components).enabled
    }

    /// The image the component runs: the override, else `<imageRegistry>/<name>:<version>`.
    pub fn image(self, spec: &ProwInstanceSpec) -> String {
        match &self.spec(&spec.components).image {
            Some(image) if !image.is_empty() => image.clone(),
            _ => format!(
                "{}/{}:{}",
                spec.image_registry.trim_end_matches('/'),
                self.name(),
                spec.version
            ),
        }
    }

    /// The replica count: the override, else upstream's. Only hook and deck may run more than
    /// one replica; the others keep at most one (upstream runs them without leader election, or
    /// as active/standby where a second replica adds nothing).
    pub fn replicas(self, spec: &ProwInstanceSpec) -> i32 {
        let wanted = self.spec(&spec.components).replicas;
        match self {
            Component::Hook | Component::Deck => wanted.unwrap_or(2).max(0),
            _ => wanted.unwrap_or(1).clamp(0, 1),
        }
    }
}

/// Who runs each job function, as the instance's status shows it. The operator runs a function
/// natively unless `native` turns it off; the upstream counterpart runs only when enabled.
/// The part of the name of the Secret of build-cluster kubeconfigs the operator writes for the
/// components (`<instance>-build-clusters`), mounted for `--kubeconfig-dir`.
pub const BUILD_CLUSTERS_SECRET: &str = "build-clusters";

/// horologium, prow-controller-manager and sinker replace a native function entirely, so both
/// enabled is a conflict (the instance is refused). crier and hook do more than their job
/// function: beside the native one they run with it turned off (crier without its GitHub
/// reporter, hook without its `trigger` plugin, which the operator's check refuses).
pub fn functions(spec: &ProwInstanceSpec) -> Vec<FunctionStatus> {
    let native = &spec.native;
    [
        ("trigger", native.trigger, Component::Hook, false),
        ("schedule", native.schedule, Component::Horologium, true),
        ("execute", native.execute, Component::ProwControllerManager, true),
        ("report", native.report, Component::Crier, false),
        ("clean", native.clean, Component::Sinker, true),
    ]
    .into_iter()
    .map(|(name, native, component, exclusive)| {
        let upstream = component.enabled(spec);
        let implementation = match (native, upstream) {
            (true, true) if exclusive => "conflict",
            (true, _) => "native",
            (false, true) => "upstream",
            (false, false) => "none",
        };
        FunctionStatus {
            name: name.to_string(),
            implementation: implementation.to_string(),
            component: component.name().to_string(),
        }
    })
    .collect()
}

/// Every object of the enabled upstream components, and the Ingress; in no particular order.
pub fn render_components(ctx: &ComponentContext<'_>) -> Vec<Object> {
    let mut objects = Vec::new();
    for component in Component::ALL {
        if !component.enabled(ctx.spec) {
            continue;
        }
        objects.push(Object::Deployment(pod::deployment(ctx, component)));
        objects.extend(rbac::objects(ctx, component));
        objects.extend(network::component_objects(ctx, component));
    }
    objects.extend(network::ingress_objects(ctx));
    objects
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A sample-like instance and helpers to look into rendered objects.

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Container;
    use serde_json::json;

    use super::*;

    pub fn owner() -> Owner {
        Owner {
            name: "prow".into(),
            namespace: "prow".into(),
            version: "v20240802-66b115076".into(),
        }
    }

    /// The sample ProwInstance: deck, tide, crier and hook, S3 storage, Slack, a GitHub App with
    /// its id in a Secret, and an Ingress.
    pub fn sample_spec() -> ProwInstanceSpec {
        serde_json::from_value(json!({
            "version": "v20240802-66b115076",
            "github": {
                "org": "example-org",
                "auth": {"app": {
                    "appIdSecretRef": {"name": "github-token", "key": "appid"},
                    "privateKeySecretRef": {"name": "github-token", "key": "cert"}
                }},
                "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
            },
            "namespaces": {"prowJobs": "prow", "pods": "test-pods"},
            "storage": {"s3": {"bucket": "prow-logs",
                "credentialsSecretRef": {"name": "s3-credentials", "key": "service-account.json"}}},
            "ingress": {"host": "prow.example.com", "className": "nginx", "tlsSecretName": "prow-tls",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}},
            "components": {
                "deck": {"enabled": true, "replicas": 2,
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
                "tide": {"enabled": true},
                "crier": {"enabled": true},
                "hook": {"enabled": true}
            },
            "slack": {"tokenSecretRef": {"name": "slack-token", "key": "token"}}
        }))
        .expect("sample spec")
    }

    pub fn mounts() -> Mounts {
        Mounts {
            config: "prow-config".into(),
            plugins: "prow-plugins".into(),
            job_config: vec!["prow-job-config-0".into(), "prow-job-config-1".into()],
            config_map_hashes: BTreeMap::from([
                ("prow-config".into(), "c1".into()),
                ("prow-plugins".into(), "p1".into()),
                ("prow-job-config-0".into(), "j0".into()),
                ("prow-job-config-1".into(), "j1".into()),
            ]),
            secrets: Secrets::default(),
        }
    }

    pub fn render(spec: &ProwInstanceSpec, mounts: &Mounts) -> Vec<Object> {
        let owner = owner();
        let ctx = ComponentContext {
            owner: &owner,
            spec,
            prowjob_namespace: "prow",
            pod_namespace: "test-pods",
            mounts,
            operator_webhook: ("prow-operator-webhook.prow-operator-system.svc", 8888),
        };
        render_components(&ctx)
    }

    pub fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> Option<&'a Object> {
        objects
            .iter()
            .find(|o| o.kind() == kind && o.metadata().name.as_deref() == Some(name))
    }

    pub fn find_deployment<'a>(objects: &'a [Object], name: &str) -> &'a Deployment {
        match find(objects, "Deployment", name) {
            Some(Object::Deployment(d)) => d,
            _ => panic!("no Deployment {name}"),
        }
    }

    pub fn container(deployment: &Deployment) -> &Container {
        &deployment.spec.template.spec.as_ref().expect("pod spec").containers[0]
    }

    pub fn args_of(objects: &[Object], name: &str) -> Vec<String> {
        container(find_deployment(objects, name))
            .args
            .clone()
            .unwrap_or_default()
    }

    pub fn hash(objects: &[Object], name: &str) -> String {
        let template = &find_deployment(objects, name).spec.template;
        let annotations = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default();
        annotations
            .get(crate::render::meta::CONFIG_HASH_ANNOTATION)
            .cloned()
            .expect("config hash")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::testutil::*;
    use super::*;

    fn kinds_and_names(objects: &[Object]) -> BTreeSet<(String, String, String)> {
        objects
            .iter()
            .map(|o| {
                let meta = o.metadata();
                (
                    o.kind().to_string(),
                    meta.namespace.clone().unwrap_or_default(),
                    meta.name.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn sample_renders_the_expected_objects() {
        let objects = render(&sample_spec(), &mounts());
        let expected: BTreeSet<(String, String, String)> = [
            ("Deployment", "prow", "prow-hook"),
            ("ServiceAccount", "prow", "prow-hook"),
            ("Role", "prow", "prow-hook"),
            ("RoleBinding", "prow", "prow-hook"),
            ("Service", "prow", "prow-hook"),
            ("Deployment", "prow", "prow-deck"),
            ("ServiceAccount", "prow", "prow-deck"),
            ("Role", "prow", "prow-deck"),
            ("RoleBinding", "prow", "prow-deck"),
            ("Role", "test-pods", "prow-deck-pods"),
            ("RoleBinding", "test-pods", "prow-deck-pods"),
            ("Service", "prow", "prow-deck"),
            ("Deployment", "prow", "prow-tide"),
            ("ServiceAccount", "prow", "prow-tide"),
            ("Role", "prow", "prow-tide"),
            ("RoleBinding", "prow", "prow-tide"),
            ("Service", "prow", "prow-tide"),
            ("Deployment", "prow", "prow-crier"),
            ("ServiceAccount", "prow", "prow-crier"),
            ("Role", "prow", "prow-crier"),
            ("RoleBinding", "prow", "prow-crier"),
            ("Role", "test-pods", "prow-crier-pods"),
            ("RoleBinding", "test-pods", "prow-crier-pods"),
            ("Ingress", "prow", "prow-ingress"),
        ]
        .into_iter()
        .map(|(k, ns, n)| (k.to_string(), ns.to_string(), n.to_string()))
        .collect();
        assert_eq!(kinds_and_names(&objects), expected);
        assert_eq!(objects.len(), expected.len(), "no duplicates");
    }

    #[test]
    fn every_component_renders_without_duplicates() {
        let mut spec = sample_spec();
        for component in Component::ALL {
            let c = match component {
                Component::Hook => &mut spec.components.hook,
                Component::Deck => &mut spec.components.deck,
                Component::Tide => &mut spec.components.tide,
                Component::Crier => &mut spec.components.crier,
                Component::Ghproxy => &mut spec.components.ghproxy,
                Component::StatusReconciler => &mut spec.components.status_reconciler,
                Component::Horologium => &mut spec.components.horologium,
                Component::ProwControllerManager => &mut spec.components.prow_controller_manager,
                Component::Sinker => &mut spec.components.sinker,
            };
            c.enabled = true;
        }
        let objects = render(&spec, &mounts());
        assert_eq!(kinds_and_names(&objects).len(), objects.len());
        // ghproxy: Deployment, Service, PVC and no ServiceAccount or RBAC.
        assert!(find(&objects, "PersistentVolumeClaim", "prow-ghproxy").is_some());
        assert!(find(&objects, "Service", "prow-ghproxy").is_some());
        assert!(find(&objects, "ServiceAccount", "prow-ghproxy").is_none());
        assert!(find(&objects, "Role", "prow-ghproxy").is_none());
        for name in [
            "prow-status-reconciler",
            "prow-horologium",
            "prow-prow-controller-manager",
            "prow-sinker",
        ] {
            assert!(find(&objects, "Deployment", name).is_some(), "{name}");
            assert!(find(&objects, "ServiceAccount", name).is_some(), "{name}");
        }
        // Rendering is deterministic.
        assert_eq!(objects, render(&spec, &mounts()));
    }

    #[test]
    fn nothing_but_the_ingress_when_no_component_is_enabled() {
        let mut spec = sample_spec();
        spec.components = ComponentsSpec::default();
        let objects = render(&spec, &mounts());
        let kinds: BTreeSet<&str> = objects.iter().map(|o| o.kind()).collect();
        assert_eq!(kinds, BTreeSet::from(["Ingress", "Service"]));
        spec.ingress = None;
        assert!(render(&spec, &mounts()).is_empty());
    }

    #[test]
    fn image_override_is_honoured() {
        let mut spec = sample_spec();
        spec.components.tide.image = Some("registry.example.com/tide:patched".into());
        let objects = render(&spec, &mounts());
        assert_eq!(
            container(find_deployment(&objects, "prow-tide")).image.as_deref(),
            Some("registry.example.com/tide:patched")
        );
        assert_eq!(
            container(find_deployment(&objects, "prow-deck")).image.as_deref(),
            Some("us-docker.pkg.dev/k8s-infra-prow/images/deck:v20240802-66b115076")
        );
        assert_eq!(
            Component::StatusReconciler.image(&spec),
            "us-docker.pkg.dev/k8s-infra-prow/images/status-reconciler:v20240802-66b115076"
        );
    }

    #[test]
    fn replicas_are_clamped_for_singletons() {
        let mut spec = sample_spec();
        spec.components.tide.replicas = Some(3);
        spec.components.deck.replicas = Some(3);
        spec.components.hook.replicas = None;
        let objects = render(&spec, &mounts());
        let replicas = |name: &str| find_deployment(&objects, name).spec.replicas;
        assert_eq!(replicas("prow-tide"), Some(1));
        assert_eq!(replicas("prow-deck"), Some(3));
        assert_eq!(replicas("prow-hook"), Some(2));
        assert_eq!(replicas("prow-crier"), Some(1));
        spec.components.tide.replicas = Some(0);
        assert_eq!(Component::Tide.replicas(&spec), 0, "scaling to zero is allowed");
    }
}

#[cfg(test)]
mod function_tests {
    use super::testutil::{mounts, render, sample_spec};
    use super::*;

    fn implementations(spec: &ProwInstanceSpec) -> Vec<(String, String)> {
        functions(spec)
            .into_iter()
            .map(|f| (f.name, f.implementation))
            .collect()
    }

    fn pairs(expected: [(&str, &str); 5]) -> Vec<(String, String)> {
        expected.iter().map(|(n, i)| (n.to_string(), i.to_string())).collect()
    }

    #[test]
    fn native_functions_render_no_upstream_counterpart() {
        let spec = sample_spec();
        assert_eq!(
            implementations(&spec),
            pairs([
                ("trigger", "native"),
                ("schedule", "native"),
                ("execute", "native"),
                ("report", "native"),
                ("clean", "native")
            ])
        );
        let objects = render(&spec, &mounts());
        for counterpart in ["prow-horologium", "prow-prow-controller-manager", "prow-sinker"] {
            assert!(
                testutil::find(&objects, "Deployment", counterpart).is_none(),
                "{counterpart} runs beside its native function"
            );
        }
        let args = testutil::args_of(&objects, "prow-crier");
        assert!(
            !args.iter().any(|a| a.starts_with("--github-workers")),
            "crier runs without its GitHub reporter"
        );
    }

    #[test]
    fn each_function_can_be_upstream_and_both_ways_is_a_conflict() {
        let mut spec = sample_spec();
        spec.native.schedule = false;
        spec.native.execute = false;
        spec.native.report = false;
        spec.native.clean = false;
        spec.components.horologium.enabled = true;
        spec.components.prow_controller_manager.enabled = true;
        spec.components.sinker.enabled = true;
        assert_eq!(
            implementations(&spec),
            pairs([
                ("trigger", "native"),
                ("schedule", "upstream"),
                ("execute", "upstream"),
                ("report", "upstream"),
                ("clean", "upstream")
            ])
        );
        let objects = render(&spec, &mounts());
        for component in ["prow-horologium", "prow-prow-controller-manager", "prow-sinker"] {
            assert!(
                testutil::find(&objects, "Deployment", component).is_some(),
                "{component}"
            );
        }
        spec.native.clean = true;
        spec.components.crier.enabled = false;
        let functions = implementations(&spec);
        assert_eq!(functions[4], ("clean".to_string(), "conflict".to_string()));
        assert_eq!(
            functions[3],
            ("report".to_string(), "none".to_string()),
            "nothing reports"
        );
    }
}
