//! ServiceAccounts, Roles and RoleBindings with exactly the verbs of upstream's starter manifest.
//!
//! Each component gets one Role in the ProwJob namespace and, where upstream has one, one in the
//! pod namespace. The pod-namespace Role and its binding are named `<instance>-<component>-pods`,
//! so the two never clash when both namespaces are the same.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{Component, ComponentContext};
use crate::render::object::Object;

/// The lease (and ConfigMap) prow-controller-manager's leader election holds.
const PCM_LEADER_LOCK: &str = "prow-controller-manager-leader-lock";
/// The lease (and ConfigMap) sinker's leader election holds.
const SINKER_LEADER_LOCK: &str = "prow-sinker-leaderlock";

const PROW_GROUP: &str = "prow.k8s.io";
const COORDINATION_GROUP: &str = "coordination.k8s.io";
const CORE_GROUP: &str = "";

fn rule(group: &str, resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(vec![group.to_string()]),
        resources: Some(strings(resources)),
        resource_names: (!names.is_empty()).then(|| strings(names)),
        verbs: strings(verbs),
        non_resource_urls: None,
    }
}

fn prowjobs(verbs: &[&str]) -> PolicyRule {
    rule(PROW_GROUP, &["prowjobs"], &[], verbs)
}

/// The rules of a component's leader election on `lock`, as upstream grants them.
fn leader_election(lock: &str) -> [PolicyRule; 4] {
    [
        rule(COORDINATION_GROUP, &["leases"], &[lock], &["get", "update"]),
        rule(COORDINATION_GROUP, &["leases"], &[], &["create"]),
        rule(CORE_GROUP, &["configmaps"], &[lock], &["get", "update"]),
        rule(CORE_GROUP, &["configmaps", "events"], &[], &["create"]),
    ]
}

/// The rules of `component` in the ProwJob namespace and in the pod namespace (`None` when
/// there is no Role there; ghproxy has none at all).
pub(super) fn rules(component: Component) -> Option<(Vec<PolicyRule>, Option<Vec<PolicyRule>>)> {
    let rules = match component {
        Component::Hook => (
            vec![
                prowjobs(&["create", "get", "list", "update"]),
                rule(CORE_GROUP, &["configmaps"], &[], &["create", "get", "update"]),
            ],
            None,
        ),
        Component::ProwControllerManager => {
            let mut prowjob = vec![prowjobs(&["get", "list", "watch", "update", "patch"])];
            prowjob.extend(leader_election(PCM_LEADER_LOCK));
            let pods = vec![rule(
                CORE_GROUP,
                &["pods"],
                &[],
                &["create", "delete", "get", "list", "patch", "watch"],
            )];
            (prowjob, Some(pods))
        }
        Component::Deck => (
            vec![prowjobs(&["get", "list", "watch"])],
            Some(vec![rule(CORE_GROUP, &["pods/log"], &[], &["get"])]),
        ),
        Component::Horologium => (vec![prowjobs(&["create", "list", "watch"])], None),
        Component::Sinker => {
            let mut prowjob = vec![prowjobs(&["delete", "list", "watch", "get"])];
            prowjob.extend(leader_election(SINKER_LEADER_LOCK));
            let pods = vec![rule(
                CORE_GROUP,
                &["pods"],
                &[],
                &["delete", "list", "watch", "get", "patch"],
            )];
            (prowjob, Some(pods))
        }
        Component::Tide => (vec![prowjobs(&["create", "list", "get", "watch"])], None),
        Component::Crier => (
            vec![prowjobs(&["get", "watch", "list", "patch"])],
            Some(vec![
                rule(CORE_GROUP, &["pods", "events"], &[], &["get", "list"]),
                rule(CORE_GROUP, &["pods"], &[], &["patch"]),
            ]),
        ),
        Component::StatusReconciler => (vec![prowjobs(&["create"])], None),
        Component::Ghproxy => return None,
    };
    Some(rules)
}

/// A Role named `<instance>-<part>` in `namespace` and its binding to the component's
/// ServiceAccount.
fn role_and_binding(
    ctx: &ComponentContext<'_>,
    component: Component,
    part: &str,
    namespace: &str,
    rules: Vec<PolicyRule>,
) -> [Object; 2] {
    let owner = ctx.owner;
    let meta = owner.meta(part, namespace, component.name());
    let role = Role {
        metadata: meta.clone(),
        rules: Some(rules),
    };
    let binding = RoleBinding {
        metadata: meta,
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_string()),
            kind: "Role".to_string(),
            name: owner.name(part),
        },
        subjects: Some(vec![Subject {
            api_group: None,
            kind: "ServiceAccount".to_string(),
            name: owner.name(component.name()),
            namespace: Some(owner.namespace.clone()),
        }]),
    };
    [Object::Role(role), Object::RoleBinding(binding)]
}

/// The ServiceAccount, Roles and RoleBindings of `component` (nothing for ghproxy).
pub(super) fn objects(ctx: &ComponentContext<'_>, component: Component) -> Vec<Object> {
    let Some((prowjob_rules, pod_rules)) = rules(component) else {
        return Vec::new();
    };
    let owner = ctx.owner;
    let name = component.name();
    let mut objects = vec![Object::ServiceAccount(ServiceAccount {
        metadata: owner.meta(name, &owner.namespace, name),
        ..ServiceAccount::default()
    })];
    objects.extend(role_and_binding(
        ctx,
        component,
        name,
        ctx.prowjob_namespace,
        prowjob_rules,
    ));
    if let Some(pod_rules) = pod_rules {
        objects.extend(role_and_binding(
            ctx,
            component,
            &format!("{name}-pods"),
            ctx.pod_namespace,
            pod_rules,
        ));
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    /// A compact form of a rule: (group, resources, resourceNames, verbs).
    type Compact = (String, Vec<String>, Vec<String>, Vec<String>);

    fn compact(rules: &[PolicyRule]) -> Vec<Compact> {
        rules
            .iter()
            .map(|r| {
                (
                    r.api_groups.clone().unwrap_or_default().join(","),
                    r.resources.clone().unwrap_or_default(),
                    r.resource_names.clone().unwrap_or_default(),
                    r.verbs.clone(),
                )
            })
            .collect()
    }

    fn c(group: &str, resources: &[&str], names: &[&str], verbs: &[&str]) -> Compact {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        (group.to_string(), v(resources), v(names), v(verbs))
    }

    fn role_rules(objects: &[Object], namespace: &str, name: &str) -> Vec<Compact> {
        let role = objects.iter().find_map(|o| match o {
            Object::Role(r)
                if r.metadata.name.as_deref() == Some(name) && r.metadata.namespace.as_deref() == Some(namespace) =>
            {
                Some(r)
            }
            _ => None,
        });
        compact(role.and_then(|r| r.rules.as_deref()).unwrap_or_default())
    }

    fn all_enabled() -> Vec<Object> {
        let mut spec = sample_spec();
        for c in [
            &mut spec.components.horologium,
            &mut spec.components.sinker,
            &mut spec.components.prow_controller_manager,
            &mut spec.components.status_reconciler,
            &mut spec.components.ghproxy,
        ] {
            c.enabled = true;
        }
        render(&spec, &mounts())
    }

    #[test]
    fn pcm_rules_are_upstreams() {
        let objects = all_enabled();
        let lock = "prow-controller-manager-leader-lock";
        assert_eq!(
            role_rules(&objects, "prow", "prow-prow-controller-manager"),
            [
                c(
                    "prow.k8s.io",
                    &["prowjobs"],
                    &[],
                    &["get", "list", "watch", "update", "patch"]
                ),
                c("coordination.k8s.io", &["leases"], &[lock], &["get", "update"]),
                c("coordination.k8s.io", &["leases"], &[], &["create"]),
                c("", &["configmaps"], &[lock], &["get", "update"]),
                c("", &["configmaps", "events"], &[], &["create"]),
            ]
        );
        assert_eq!(
            role_rules(&objects, "test-pods", "prow-prow-controller-manager-pods"),
            [c(
                "",
                &["pods"],
                &[],
                &["create", "delete", "get", "list", "patch", "watch"]
            )]
        );
    }

    #[test]
    fn sinker_rules_are_upstreams() {
        let objects = all_enabled();
        let lock = "prow-sinker-leaderlock";
        assert_eq!(
            role_rules(&objects, "prow", "prow-sinker"),
            [
                c("prow.k8s.io", &["prowjobs"], &[], &["delete", "list", "watch", "get"]),
                c("coordination.k8s.io", &["leases"], &[lock], &["get", "update"]),
                c("coordination.k8s.io", &["leases"], &[], &["create"]),
                c("", &["configmaps"], &[lock], &["get", "update"]),
                c("", &["configmaps", "events"], &[], &["create"]),
            ]
        );
        assert_eq!(
            role_rules(&objects, "test-pods", "prow-sinker-pods"),
            [c("", &["pods"], &[], &["delete", "list", "watch", "get", "patch"])]
        );
    }

    #[test]
    fn other_rules_are_upstreams() {
        let objects = all_enabled();
        let pj = |verbs: &[&str]| vec![c("prow.k8s.io", &["prowjobs"], &[], verbs)];
        let mut hook = pj(&["create", "get", "list", "update"]);
        hook.push(c("", &["configmaps"], &[], &["create", "get", "update"]));
        assert_eq!(role_rules(&objects, "prow", "prow-hook"), hook);
        assert_eq!(role_rules(&objects, "prow", "prow-deck"), pj(&["get", "list", "watch"]));
        assert_eq!(
            role_rules(&objects, "test-pods", "prow-deck-pods"),
            [c("", &["pods/log"], &[], &["get"])]
        );
        assert_eq!(
            role_rules(&objects, "prow", "prow-horologium"),
            pj(&["create", "list", "watch"])
        );
        assert_eq!(
            role_rules(&objects, "prow", "prow-tide"),
            pj(&["create", "list", "get", "watch"])
        );
        assert_eq!(
            role_rules(&objects, "prow", "prow-crier"),
            pj(&["get", "watch", "list", "patch"])
        );
        assert_eq!(
            role_rules(&objects, "test-pods", "prow-crier-pods"),
            [
                c("", &["pods", "events"], &[], &["get", "list"]),
                c("", &["pods"], &[], &["patch"])
            ]
        );
        assert_eq!(role_rules(&objects, "prow", "prow-status-reconciler"), pj(&["create"]));
        // Roles exist only where upstream has them.
        for name in [
            "prow-hook-pods",
            "prow-tide-pods",
            "prow-horologium-pods",
            "prow-status-reconciler-pods",
        ] {
            assert!(find(&objects, "Role", name).is_none(), "{name}");
        }
        assert!(!objects.iter().any(|o| {
            o.metadata()
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("prow-ghproxy"))
                && matches!(o, Object::Role(_) | Object::RoleBinding(_) | Object::ServiceAccount(_))
        }));
    }

    #[test]
    fn bindings_name_the_service_account_in_the_instance_namespace() {
        let objects = all_enabled();
        let bindings: Vec<&RoleBinding> = objects
            .iter()
            .filter_map(|o| match o {
                Object::RoleBinding(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(bindings.len(), 12);
        for binding in bindings {
            let name = binding.metadata.name.clone().unwrap_or_default();
            assert_eq!(binding.role_ref.name, name);
            assert_eq!(binding.role_ref.kind, "Role");
            let subjects = binding.subjects.clone().unwrap_or_default();
            assert_eq!(subjects.len(), 1);
            assert_eq!(subjects[0].kind, "ServiceAccount");
            assert_eq!(subjects[0].namespace.as_deref(), Some("prow"));
            assert_eq!(subjects[0].name, name.trim_end_matches("-pods"));
            assert!(find(&objects, "ServiceAccount", &subjects[0].name).is_some());
        }
    }
}
