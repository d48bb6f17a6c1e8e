//! Component readiness from Deployment status. Pure.

use k8s_openapi::api::apps::v1::Deployment;
use prow_api::instance::{ComponentStatus, ProwInstanceSpec};

use crate::render::components::Component;
use crate::render::meta::Owner;

/// Whether a Deployment has rolled out its current spec: the controller saw this generation and
/// every desired replica is updated and available.
pub fn rolled_out(deployment: &Deployment) -> bool {
    let desired = deployment.spec.replicas.unwrap_or(1);
    let Some(status) = &deployment.status else {
        return false;
    };
    let observed = status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0);
    observed && status.updated_replicas.unwrap_or(0) >= desired && status.available_replicas.unwrap_or(0) >= desired
}

/// The state of each enabled component, from its Deployment as the cluster holds it (a component
/// whose Deployment is not there yet is not ready).
pub fn components(owner: &Owner, spec: &ProwInstanceSpec, deployments: &[Deployment]) -> Vec<ComponentStatus> {
    Component::ALL
        .into_iter()
        .filter(|c| c.enabled(spec))
        .map(|component| {
            let name = owner.name(component.name());
            let deployment = deployments.iter().find(|d| {
                d.metadata.name.as_deref() == Some(name.as_str())
                    && d.metadata.namespace.as_deref() == Some(owner.namespace.as_str())
            });
            let image = deployment
                .and_then(|d| d.spec.template.spec.as_ref())
                .and_then(|p| p.containers.first())
                .and_then(|c| c.image.clone())
                .or_else(|| Some(component.image(spec)));
            ComponentStatus {
                name: component.name().to_string(),
                implementation: "upstream".to_string(),
                ready: deployment.is_some_and(rolled_out),
                image,
                replicas: deployment
                    .and_then(|d| d.spec.replicas)
                    .or(Some(component.replicas(spec))),
                ready_replicas: deployment
                    .and_then(|d| d.status.as_ref())
                    .map(|s| s.available_replicas.unwrap_or(0)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, observed: i64, replicas: i32, available: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "prow-deck", "namespace": "prow", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {"spec": {"containers": [{"name": "deck", "image": "deck:v1"}]}}},
            "status": {"observedGeneration": observed, "updatedReplicas": available, "availableReplicas": available}
        }))
        .unwrap()
    }

    #[test]
    fn rolled_out_needs_the_current_generation_and_every_replica() {
        assert!(rolled_out(&deployment(2, 2, 2, 2)));
        assert!(!rolled_out(&deployment(3, 2, 2, 2)));
        assert!(!rolled_out(&deployment(2, 2, 2, 1)));
        assert!(rolled_out(&deployment(1, 1, 0, 0)));
        let mut fresh = deployment(1, 1, 1, 1);
        fresh.status = None;
        assert!(!rolled_out(&fresh));
    }
}
