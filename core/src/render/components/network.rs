//! Services, ghproxy's cache volume, and the Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, Service, ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{DECK_PORT, GHPROXY_PORT, HOOK_PORT, TIDE_PORT};
use super::{Component, ComponentContext};
use crate::render::object::Object;

/// deck's and tide's Service port.
const HTTP_PORT: i32 = 80;
/// ghproxy's metrics port.
const METRICS_PORT: i32 = 9090;
/// The size of ghproxy's cache volume.
const GHPROXY_CACHE_SIZE: &str = "100Gi";

fn port(name: &str, port: i32, target: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port,
        target_port: Some(IntOrString::Int(target)),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// The ClusterIP Service `<instance>-<component>` in front of the component's pods.
fn service(ctx: &ComponentContext<'_>, component: Component, ports: Vec<ServicePort>) -> Service {
    let owner = ctx.owner;
    let name = component.name();
    Service {
        metadata: owner.meta(name, &owner.namespace, name),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(owner.selector_labels(name)),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The Services of `component` (hook, deck, tide, ghproxy) and ghproxy's cache volume.
pub(super) fn component_objects(ctx: &ComponentContext<'_>, component: Component) -> Vec<Object> {
    match component {
        Component::Hook => vec![Object::Service(service(
            ctx,
            component,
            vec![port("http", HOOK_PORT, HOOK_PORT)],
        ))],
        Component::Deck => vec![Object::Service(service(
            ctx,
            component,
            vec![port("http", HTTP_PORT, DECK_PORT)],
        ))],
        Component::Tide => vec![Object::Service(service(
            ctx,
            component,
            vec![port("http", HTTP_PORT, TIDE_PORT)],
        ))],
        Component::Ghproxy => {
            let ports = vec![
                port("main", HTTP_PORT, GHPROXY_PORT),
                port("metrics", METRICS_PORT, METRICS_PORT),
            ];
            let owner = ctx.owner;
            let name = component.name();
            let claim = PersistentVolumeClaim {
                metadata: owner.meta(name, &owner.namespace, name),
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".to_string()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_string(),
                            Quantity(GHPROXY_CACHE_SIZE.to_string()),
                        )])),
                        limits: None,
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                status: None,
            };
            vec![
                Object::Service(service(ctx, component, ports)),
                Object::PersistentVolumeClaim(claim),
            ]
        }
        _ => Vec::new(),
    }
}

fn path(path: &str, service: String, port: i32) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(path.to_string()),
        path_type: "Prefix".to_string(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service,
                port: Some(ServiceBackendPort {
                    name: None,
                    number: Some(port),
                }),
            }),
            resource: None,
        },
    }
}

/// The Ingress (when the instance has one): `/` to deck when it runs, and `/hook` to hook when
/// it runs, else to the `<instance>-webhook` ExternalName Service of the operator's own webhook
/// (an Ingress only routes to Services in its own namespace).
pub(super) fn ingress_objects(ctx: &ComponentContext<'_>) -> Vec<Object> {
    let Some(spec) = &ctx.spec.ingress else {
        return Vec::new();
    };
    let owner = ctx.owner;
    let mut objects = Vec::new();
    let mut paths = Vec::new();
    if Component::Deck.enabled(ctx.spec) {
        paths.push(path("/", owner.name(Component::Deck.name()), HTTP_PORT));
    }
    if Component::Hook.enabled(ctx.spec) {
        paths.push(path("/hook", owner.name(Component::Hook.name()), HOOK_PORT));
    } else {
        let (host, webhook_port) = ctx.operator_webhook;
        let webhook = Service {
            metadata: owner.meta("webhook", &owner.namespace, "webhook"),
            spec: Some(ServiceSpec {
                type_: Some("ExternalName".to_string()),
                external_name: Some(host.to_string()),
                ports: Some(vec![port("http", webhook_port, webhook_port)]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        objects.push(Object::Service(webhook));
        paths.push(path("/hook", owner.name("webhook"), webhook_port));
    }
    let mut metadata = owner.meta("ingress", &owner.namespace, "ingress");
    if !spec.annotations.is_empty() {
        metadata.annotations = Some(spec.annotations.clone());
    }
    let ingress = Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            tls: spec.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![spec.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(spec.host.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            default_backend: None,
        }),
        status: None,
    };
    objects.push(Object::Ingress(ingress));
    objects
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn ingress(objects: &[Object]) -> &Ingress {
        match find(objects, "Ingress", "prow-ingress") {
            Some(Object::Ingress(i)) => i,
            _ => panic!("no Ingress"),
        }
    }

    fn service<'a>(objects: &'a [Object], name: &str) -> &'a Service {
        match find(objects, "Service", name) {
            Some(Object::Service(s)) => s,
            _ => panic!("no Service {name}"),
        }
    }

    /// (path, service, port) of every route.
    fn routes(ingress: &Ingress) -> Vec<(String, String, i32)> {
        let rules = ingress.spec.as_ref().and_then(|s| s.rules.clone()).unwrap_or_default();
        rules
            .into_iter()
            .flat_map(|r| r.http.map(|h| h.paths).unwrap_or_default())
            .map(|p| {
                let backend = p.backend.service.expect("service backend");
                (
                    p.path.unwrap_or_default(),
                    backend.name,
                    backend.port.and_then(|p| p.number).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn ingress_routes_to_deck_and_hook() {
        let objects = render(&sample_spec(), &mounts());
        let ingress = ingress(&objects);
        assert_eq!(
            routes(ingress),
            [
                ("/".to_string(), "prow-deck".to_string(), 80),
                ("/hook".to_string(), "prow-hook".to_string(), 8888)
            ]
        );
        let spec = ingress.spec.as_ref().expect("spec");
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        let tls = spec.tls.clone().unwrap_or_default();
        assert_eq!(tls[0].secret_name.as_deref(), Some("prow-tls"));
        assert_eq!(tls[0].hosts.clone().unwrap_or_default(), ["prow.example.com"]);
        let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        assert!(find(&objects, "Service", "prow-webhook").is_none());
    }

    #[test]
    fn ingress_routes_hook_to_the_operator_without_hook() {
        let mut spec = sample_spec();
        spec.components.hook.enabled = false;
        let objects = render(&spec, &mounts());
        assert_eq!(
            routes(ingress(&objects)),
            [
                ("/".to_string(), "prow-deck".to_string(), 80),
                ("/hook".to_string(), "prow-webhook".to_string(), 8888)
            ]
        );
        let webhook = service(&objects, "prow-webhook").spec.as_ref().expect("spec");
        assert_eq!(webhook.type_.as_deref(), Some("ExternalName"));
        assert_eq!(
            webhook.external_name.as_deref(),
            Some("prow-operator-webhook.prow-operator-system.svc")
        );
        assert!(webhook.selector.is_none());

        spec.components.deck.enabled = false;
        let objects = render(&spec, &mounts());
        assert_eq!(
            routes(ingress(&objects)),
            [("/hook".to_string(), "prow-webhook".to_string(), 8888)]
        );
    }

    #[test]
    fn services_match_the_starter() {
        let mut spec = sample_spec();
        spec.components.ghproxy.enabled = true;
        let objects = render(&spec, &mounts());
        let ports = |name: &str| {
            let s = service(&objects, name).spec.as_ref().expect("spec");
            assert_eq!(
                s.selector.as_ref(),
                Some(&owner().selector_labels(name.trim_start_matches("prow-")))
            );
            s.ports
                .iter()
                .flatten()
                .map(|p| (p.name.clone().unwrap_or_default(), p.port, p.target_port.clone()))
                .collect::<Vec<_>>()
        };
        let t = |n: i32| Some(IntOrString::Int(n));
        assert_eq!(ports("prow-hook"), [("http".to_string(), 8888, t(8888))]);
        assert_eq!(ports("prow-deck"), [("http".to_string(), 80, t(8080))]);
        assert_eq!(ports("prow-tide"), [("http".to_string(), 80, t(8888))]);
        assert_eq!(
            ports("prow-ghproxy"),
            [
                ("main".to_string(), 80, t(8888)),
                ("metrics".to_string(), 9090, t(9090))
            ]
        );
        let Some(Object::PersistentVolumeClaim(pvc)) = find(&objects, "PersistentVolumeClaim", "prow-ghproxy") else {
            panic!("no PVC");
        };
        let pvc = pvc.spec.as_ref().expect("spec");
        assert_eq!(pvc.access_modes.clone().unwrap_or_default(), ["ReadWriteOnce"]);
        let size = pvc
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .map(|r| r["storage"].0.clone());
        assert_eq!(size.as_deref(), Some("100Gi"));
    }
}
