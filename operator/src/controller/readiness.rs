//! Component readiness from Deployment status. Pure.

use k8s_openapi::api::apps::v1::Deployment;
use prow_api::instance::{ComponentStatus, ProwInstanceSpec};

use crate::render::components::Component;
use crate::render::meta::Owner;

/// How far a Deployment has rolled out its current spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// The Deployment controller has not yet seen this generation (or reported any status).
    NotObserved {
        /// The generation it has not seen.
        generation: i64,
    },
    /// Fewer replicas than desired run the current pod template.
    Updating {
        /// Replicas running the current template.
        updated: i32,
        /// Replicas desired.
        desired: i32,
    },
    /// Every replica runs the current template, but fewer than desired are available.
    Unavailable {
        /// Available replicas.
        available: i32,
        /// Replicas desired.
        desired: i32,
    },
    /// The controller saw this generation and every desired replica is updated and available.
    Done,
}

impl std::fmt::Display for Rollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotObserved { generation } => {
                write!(f, "generation {generation} not yet seen by the Deployment controller")
            }
            Self::Updating { updated, desired } => {
                write!(f, "rolling out: {updated} of {desired} replicas updated")
            }
            Self::Unavailable { available, desired } => write!(f, "{available} of {desired} replicas available"),
            Self::Done => write!(f, "rolled out"),
        }
    }
}

/// How far `deployment` has rolled out its current spec.
pub fn rollout(deployment: &Deployment) -> Rollout {
    let desired = deployment.spec.replicas.unwrap_or(1);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = &deployment.status else {
        return Rollout::NotObserved { generation };
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Rollout::NotObserved { generation };
    }
    let updated = status.updated_replicas.unwrap_or(0);
    if updated < desired {
        return Rollout::Updating { updated, desired };
    }
    let available = status.available_replicas.unwrap_or(0);
    if available < desired {
        return Rollout::Unavailable { available, desired };
    }
    Rollout::Done
}

/// Whether a Deployment has rolled out its current spec: the controller saw this generation and
/// every desired replica is updated and available.
pub fn rolled_out(deployment: &Deployment) -> bool {
    rollout(deployment) == Rollout::Done
}

/// One enabled component: its status, and while it is not ready, what it waits for.
#[derive(Clone, Debug, PartialEq)]
pub struct Readiness {
    /// The status reported for it.
    pub status: ComponentStatus,
    /// `None` when ready; else what is missing, such as `crier (rolling out: 0 of 1 replicas
    /// updated)`.
    pub waiting: Option<String>,
}

/// The state of each enabled component, from its Deployment as the cluster holds it (a component
/// whose Deployment is not there yet is not ready).
pub fn components(owner: &Owner, spec: &ProwInstanceSpec, deployments: &[Deployment]) -> Vec<Readiness> {
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
            let rollout = deployment.map(rollout);
            let waiting = match rollout {
                Some(Rollout::Done) => None,
                Some(rollout) => Some(format!("{} ({rollout})", component.name())),
                None => Some(format!("{} (Deployment {name} not created yet)", component.name())),
            };
            let status = ComponentStatus {
                name: component.name().to_string(),
                implementation: "upstream".to_string(),
                ready: waiting.is_none(),
                image,
                replicas: deployment
                    .and_then(|d| d.spec.replicas)
                    .or(Some(component.replicas(spec))),
                ready_replicas: deployment
                    .and_then(|d| d.status.as_ref())
                    .map(|s| s.available_replicas.unwrap_or(0)),
            };
            Readiness { status, waiting }
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

    #[test]
    fn what_a_rollout_waits_for_is_said_truly() {
        // A new pod template: the old replica is still available, the new one is not there yet.
        let mut rolling = deployment(2, 2, 1, 1);
        rolling.status.as_mut().unwrap().updated_replicas = Some(0);
        assert_eq!(rollout(&rolling).to_string(), "rolling out: 0 of 1 replicas updated");
        assert_eq!(
            rollout(&deployment(3, 2, 1, 1)).to_string(),
            "generation 3 not yet seen by the Deployment controller"
        );
        let mut starting = deployment(1, 1, 2, 2);
        starting.status.as_mut().unwrap().available_replicas = Some(1);
        assert_eq!(rollout(&starting).to_string(), "1 of 2 replicas available");
    }

    #[test]
    fn a_waiting_component_says_why_and_never_that_all_are_available() {
        let owner = Owner {
            name: "prow".into(),
            namespace: "prow".into(),
            version: "v1".into(),
        };
        let spec: ProwInstanceSpec = serde_json::from_value(json!({
            "version": "v1",
            "github": {"org": "acme", "auth": {"token": {"secretRef": {"name": "t", "key": "t"}}},
                       "hmacSecretRef": {"name": "h", "key": "h"}},
            "components": {"deck": {"enabled": true}, "crier": {"enabled": true}}
        }))
        .unwrap();
        let mut deck = deployment(2, 2, 1, 1);
        deck.status.as_mut().unwrap().updated_replicas = Some(0);
        let all = components(&owner, &spec, &[deck]);
        let deck = all.iter().find(|r| r.status.name == "deck").unwrap();
        assert!(!deck.status.ready);
        assert_eq!(
            deck.waiting.as_deref(),
            Some("deck (rolling out: 0 of 1 replicas updated)")
        );
        for readiness in &all {
            assert_eq!(readiness.status.ready, readiness.waiting.is_none());
            assert!(!readiness.waiting.as_deref().unwrap_or_default().contains("1/1"));
        }
        let crier = all.iter().find(|r| r.status.name == "crier").unwrap();
        assert_eq!(
            crier.waiting.as_deref(),
            Some("crier (Deployment prow-crier not created yet)")
        );
    }
}
