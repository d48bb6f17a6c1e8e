//! The resource table: which group/version/plural the fake serves.

use serde_json::Value;

/// One served resource (group, version, plural), built in or registered from a CRD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, `""` for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    /// Whether the resource has a `/status` subresource.
    pub status_subresource: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Registered from a CustomResourceDefinition (and removed with it).
    pub from_crd: bool,
}

impl ResourceDef {
    pub fn new(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        ResourceDef {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            list_kind: format!("{kind}List"),
            namespaced,
            status_subresource: false,
            short_names: Vec::new(),
            categories: Vec::new(),
            from_crd: false,
        }
    }

    /// Declares the `/status` subresource.
    pub fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn with_categories(mut self, cats: &[&str]) -> Self {
        self.categories = cats.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` or `plural.group`, as used in API error messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub(crate) fn is_crd_kind(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.plural == "customresourcedefinitions"
    }

    pub(crate) fn is_namespace_kind(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }

    /// The resources a CustomResourceDefinition object declares: one per served version.
    pub fn from_crd_object(crd: &Value) -> Vec<ResourceDef> {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let names = &spec["names"];
        let (Some(plural), Some(kind)) = (names["plural"].as_str(), names["kind"].as_str()) else {
            return Vec::new();
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let Some(versions) = spec["versions"].as_array() else {
            return Vec::new();
        };
        versions
            .iter()
            .filter(|v| v["served"].as_bool() != Some(false))
            .filter_map(|v| {
                let version = v["name"].as_str()?;
                let mut def = ResourceDef::new(group, version, plural, kind, namespaced);
                if let Some(s) = names["singular"].as_str() {
                    def.singular = s.to_string();
                }
                if let Some(l) = names["listKind"].as_str() {
                    def.list_kind = l.to_string();
                }
                def.short_names = strings(&names["shortNames"]);
                def.categories = strings(&names["categories"]);
                def.status_subresource = v["subresources"]["status"].is_object();
                def.from_crd = true;
                Some(def)
            })
            .collect()
    }
}

/// Orders versions the way Kubernetes does: GA before beta before alpha, higher first.
pub(crate) fn version_priority(v: &str) -> (u8, u64, u64, String) {
    let parse = || -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((3, major, 0));
        }
        let (rank, n) = if let Some(n) = tail.strip_prefix("beta") {
            (2, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (1, n)
        } else {
            return None;
        };
        Some((rank, major, n.parse().ok()?))
    };
    match parse() {
        // Sort key: smaller is preferred.
        Some((rank, major, minor)) => (3 - rank, u64::MAX - major, u64::MAX - minor, String::new()),
        None => (9, 0, 0, v.to_string()),
    }
}

pub(crate) fn builtins() -> Vec<ResourceDef> {
    let core = |plural: &str, kind: &str, namespaced: bool| ResourceDef::new("", "v1", plural, kind, namespaced);
    vec![
        core("pods", "Pod", true)
            .with_status()
            .with_short_names(&["po"])
            .with_categories(&["all"]),
        core("configmaps", "ConfigMap", true).with_short_names(&["cm"]),
        core("secrets", "Secret", true),
        core("services", "Service", true)
            .with_status()
            .with_short_names(&["svc"])
            .with_categories(&["all"]),
        core("serviceaccounts", "ServiceAccount", true).with_short_names(&["sa"]),
        core("namespaces", "Namespace", false)
            .with_status()
            .with_short_names(&["ns"]),
        core("events", "Event", true).with_short_names(&["ev"]),
        core("persistentvolumeclaims", "PersistentVolumeClaim", true)
            .with_status()
            .with_short_names(&["pvc"]),
        core("endpoints", "Endpoints", true).with_short_names(&["ep"]),
        core("nodes", "Node", false).with_status().with_short_names(&["no"]),
        ResourceDef::new("apps", "v1", "deployments", "Deployment", true)
            .with_status()
            .with_short_names(&["deploy"])
            .with_categories(&["all"]),
        ResourceDef::new("apps", "v1", "statefulsets", "StatefulSet", true)
            .with_status()
            .with_short_names(&["sts"])
            .with_categories(&["all"]),
        ResourceDef::new("apps", "v1", "replicasets", "ReplicaSet", true)
            .with_status()
            .with_short_names(&["rs"])
            .with_categories(&["all"]),
        ResourceDef::new("apps", "v1", "daemonsets", "DaemonSet", true)
            .with_status()
            .with_short_names(&["ds"])
            .with_categories(&["all"]),
        ResourceDef::new("batch", "v1", "jobs", "Job", true)
            .with_status()
            .with_categories(&["all"]),
        ResourceDef::new("batch", "v1", "cronjobs", "CronJob", true)
            .with_status()
            .with_short_names(&["cj"])
            .with_categories(&["all"]),
        ResourceDef::new("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
        ResourceDef::new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
        ResourceDef::new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
        ResourceDef::new(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
        ),
        ResourceDef::new("networking.k8s.io", "v1", "ingresses", "Ingress", true)
            .with_status()
            .with_short_names(&["ing"]),
        ResourceDef::new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true)
            .with_status()
            .with_short_names(&["pdb"]),
        ResourceDef::new("coordination.k8s.io", "v1", "leases", "Lease", true),
        ResourceDef::new("events.k8s.io", "v1", "events", "Event", true).with_short_names(&["ev"]),
        ResourceDef::new(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        )
        .with_status()
        .with_short_names(&["crd", "crds"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_resources() {
        let crd = json!({"spec": {
        "group": "operator.prow.dev", "scope": "Namespaced",
        "names": {"plural": "prowinstances", "singular": "prowinstance", "kind": "ProwInstance",
                  "listKind": "ProwInstanceList", "shortNames": ["pi"], "categories": ["prow"]},
        "versions": [
            {"name": "v1alpha1", "served": true, "storage": true, "subresources": {"status": {}}},
            {"name": "v1alpha0", "served": false, "storage": false}
        ]}});
        let defs = ResourceDef::from_crd_object(&crd);
        assert_eq!(defs.len(), 1);
        assert!(defs[0].status_subresource && defs[0].namespaced && defs[0].from_crd);
        assert_eq!(defs[0].api_version(), "operator.prow.dev/v1alpha1");
        assert_eq!(defs[0].short_names, ["pi"]);
    }

    #[test]
    fn version_order() {
        let mut v = vec!["v1alpha1", "v2", "v1beta1", "v1", "v1beta2", "foo"];
        v.sort_by_key(|v| version_priority(v));
        assert_eq!(v, ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }
}
