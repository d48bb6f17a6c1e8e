//! Which build clusters an instance has: each alias a job may name in `cluster`, and the
//! kubeconfig (Secret, key, context) that reaches it. Pure: the Secrets come in already read and
//! their kubeconfigs parsed down to their context names.
//!
//! Upstream's rules (prow-controller-manager, `pkg/kube/config.go`) for the Secret form
//! ([`prow_api::instance::BuildClusterSecret`]): every key is a kubeconfig file unless it starts with `..` or lacks the
//! suffix, and every context of every file is a cluster named after the context. Upstream refuses
//! to start when a context name occurs twice; here only that alias is unusable, with a message
//! naming both places, and every other cluster goes on (a deliberate difference).

use std::collections::{BTreeMap, BTreeSet};

use prow_api::instance::ProwInstanceSpec;

/// The context names of one kubeconfig file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Contexts {
    /// Every context's name, in the file's order.
    pub names: Vec<String>,
    /// The current context, when set.
    pub current: Option<String>,
}

/// The kubeconfig files of one Secret as read, by key: parsed to their contexts, or why not.
pub type SecretFiles = BTreeMap<String, Result<Contexts, String>>;

/// Where a build cluster's credentials are: a Secret key and the context in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    /// The Secret, in the instance's namespace.
    pub secret: String,
    /// The key holding the kubeconfig.
    pub key: String,
    /// The context to use.
    pub context: String,
}

/// One build cluster: its alias and its credentials, or why it has none that can be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The alias jobs use in `cluster`.
    pub alias: String,
    /// The credentials, or one sentence saying why they cannot be used.
    pub access: Result<Access, String>,
}

/// By alias, each place that defines it (its field) and the credentials found there.
type Candidates = BTreeMap<String, Vec<(String, Result<Access, String>)>>;

/// The build clusters `spec` declares, given its Secrets as read (`None`: the Secret does not
/// exist), sorted by alias; and the problems that belong to no alias (a Secret of kubeconfig
/// files that is missing, a file in it that cannot be read).
pub fn resolve(
    spec: &ProwInstanceSpec,
    secrets: &BTreeMap<String, Option<SecretFiles>>,
) -> (Vec<Resolved>, Vec<String>) {
    let mut candidates = Candidates::new();
    let mut problems = Vec::new();
    for (index, cluster) in spec.build_clusters.iter().enumerate() {
        let field = format!("spec.buildClusters[{index}]");
        let reference = &cluster.kubeconfig_secret_ref;
        let place = format!("Secret {:?} key {:?}", reference.name, reference.key);
        let access = match secrets.get(&reference.name) {
            None | Some(None) => Err(format!("Secret {:?} does not exist", reference.name)),
            Some(Some(files)) => match files.get(&reference.key) {
                None => Err(format!("Secret {:?} has no key {:?}", reference.name, reference.key)),
                Some(Err(error)) => Err(format!("the kubeconfig in {place} cannot be read: {error}")),
                Some(Ok(contexts)) => {
                    context_of(contexts, cluster.context.as_deref(), &place, &field).map(|context| Access {
                        secret: reference.name.clone(),
                        key: reference.key.clone(),
                        context,
                    })
                }
            },
        };
        candidates
            .entry(cluster.name.clone())
            .or_default()
            .push((field, access));
    }
    for (index, source) in spec.build_cluster_secrets.iter().enumerate() {
        let field = format!("spec.buildClusterSecrets[{index}]");
        let Some(Some(files)) = secrets.get(&source.name) else {
            problems.push(format!("Secret {:?} ({field}) does not exist", source.name));
            continue;
        };
        let suffix = source.key_suffix.as_deref().unwrap_or_default();
        for (key, file) in files {
            if key.starts_with("..") || !key.ends_with(suffix) {
                continue;
            }
            match file {
                Err(error) => problems.push(format!(
                    "the kubeconfig in Secret {:?} key {key:?} ({field}) cannot be read: {error}",
                    source.name
                )),
                Ok(contexts) => {
                    for context in &contexts.names {
                        candidates.entry(context.clone()).or_default().push((
                            format!("{field} key {key:?}"),
                            Ok(Access {
                                secret: source.name.clone(),
                                key: key.clone(),
                                context: context.clone(),
                            }),
                        ));
                    }
                }
            }
        }
    }
    let resolved = candidates
        .into_iter()
        .map(|(alias, mut places)| {
            let access = if places.len() == 1 {
                places.remove(0).1
            } else {
                let named: Vec<String> = places.into_iter().map(|(field, _)| field).collect();
                Err(format!(
                    "build cluster {alias:?} is defined more than once ({}); rename or remove all but one",
                    named.join(", ")
                ))
            };
            Resolved { alias, access }
        })
        .collect();
    (resolved, problems)
}

/// The context a build cluster uses: the one `wanted`, which must exist, or the file's current one.
fn context_of(contexts: &Contexts, wanted: Option<&str>, place: &str, field: &str) -> Result<String, String> {
    let known = |name: &str| contexts.names.iter().any(|n| n == name);
    match wanted {
        Some(name) if known(name) => Ok(name.to_string()),
        Some(name) => Err(format!(
            "the kubeconfig in {place} has no context {name:?} ({field}.context); it has {}",
            listed(&contexts.names)
        )),
        None => match contexts.current.as_deref() {
            Some(current) if known(current) => Ok(current.to_string()),
            Some(current) => Err(format!(
                "the current context {current:?} of the kubeconfig in {place} is not one of its contexts"
            )),
            None => Err(format!(
                "the kubeconfig in {place} has no current context; set {field}.context to one of {}",
                listed(&contexts.names)
            )),
        },
    }
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "no contexts".to_string()
    } else {
        names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
    }
}

/// Every cluster alias the jobs of `job_sets` name (`default` for those that name none).
pub fn used_aliases<'a>(job_sets: impl IntoIterator<Item = &'a prow_api::job::JobSet>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for set in job_sets {
        let presubmits = set.presubmits.values().flatten().map(|j| &j.base);
        let postsubmits = set.postsubmits.values().flatten().map(|j| &j.base);
        let periodics = set.periodics.iter().map(|j| &j.base);
        for base in presubmits.chain(postsubmits).chain(periodics) {
            if !used.contains(base.cluster()) {
                used.insert(base.cluster().to_string());
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(extra: serde_json::Value) -> ProwInstanceSpec {
        let mut value = json!({
            "version": "v20260819-7593870dc",
            "github": {"org": "acme", "auth": {"token": {"secretRef": {"name": "github", "key": "token"}}},
                       "hmacSecretRef": {"name": "hmac", "key": "hmac"}},
        });
        if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            object.extend(extra.clone());
        }
        serde_json::from_value(value).expect("spec")
    }

    fn contexts(names: &[&str], current: Option<&str>) -> Result<Contexts, String> {
        Ok(Contexts {
            names: names.iter().map(|n| n.to_string()).collect(),
            current: current.map(str::to_string),
        })
    }

    fn secret(files: Vec<(&str, Result<Contexts, String>)>) -> Option<SecretFiles> {
        Some(files.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn access(secret: &str, key: &str, context: &str) -> Result<Access, String> {
        Ok(Access {
            secret: secret.into(),
            key: key.into(),
            context: context.into(),
        })
    }

    #[test]
    fn a_named_cluster_uses_its_context_or_the_current_one() {
        let spec = spec(json!({"buildClusters": [
            {"name": "gke_proj_zone_build", "kubeconfigSecretRef": {"name": "kc", "key": "a"}},
            {"name": "eks", "kubeconfigSecretRef": {"name": "kc", "key": "b"}, "context": "second"},
        ]}));
        let secrets = BTreeMap::from([(
            "kc".to_string(),
            secret(vec![
                ("a", contexts(&["one"], Some("one"))),
                ("b", contexts(&["first", "second"], Some("first"))),
            ]),
        )]);
        let (resolved, problems) = resolve(&spec, &secrets);
        assert!(problems.is_empty());
        assert_eq!(
            resolved,
            vec![
                Resolved {
                    alias: "eks".into(),
                    access: access("kc", "b", "second")
                },
                Resolved {
                    alias: "gke_proj_zone_build".into(),
                    access: access("kc", "a", "one")
                },
            ]
        );
    }

    #[test]
    fn each_unusable_kubeconfig_says_why_in_one_sentence() {
        let spec = spec(json!({"buildClusters": [
            {"name": "gone", "kubeconfigSecretRef": {"name": "missing", "key": "k"}},
            {"name": "nokey", "kubeconfigSecretRef": {"name": "kc", "key": "other"}},
            {"name": "broken", "kubeconfigSecretRef": {"name": "kc", "key": "broken"}},
            {"name": "nocurrent", "kubeconfigSecretRef": {"name": "kc", "key": "plain"}},
            {"name": "wrong", "kubeconfigSecretRef": {"name": "kc", "key": "plain"}, "context": "nope"},
        ]}));
        let secrets = BTreeMap::from([
            ("missing".to_string(), None),
            (
                "kc".to_string(),
                secret(vec![
                    ("broken", Err("expected a mapping at line 1".into())),
                    ("plain", contexts(&["a", "b"], None)),
                ]),
            ),
        ]);
        let (resolved, _) = resolve(&spec, &secrets);
        let errors: BTreeMap<String, String> = resolved
            .into_iter()
            .map(|r| (r.alias, r.access.expect_err("unusable")))
            .collect();
        assert_eq!(errors["gone"], r#"Secret "missing" does not exist"#);
        assert_eq!(errors["nokey"], r#"Secret "kc" has no key "other""#);
        assert_eq!(
            errors["broken"],
            r#"the kubeconfig in Secret "kc" key "broken" cannot be read: expected a mapping at line 1"#
        );
        assert_eq!(
            errors["nocurrent"],
            r#"the kubeconfig in Secret "kc" key "plain" has no current context; set spec.buildClusters[3].context to one of "a", "b""#
        );
        assert_eq!(
            errors["wrong"],
            r#"the kubeconfig in Secret "kc" key "plain" has no context "nope" (spec.buildClusters[4].context); it has "a", "b""#
        );
    }

    #[test]
    fn a_secret_of_kubeconfig_files_makes_every_context_a_cluster_as_upstream_does() {
        let spec = spec(json!({"buildClusterSecrets": [{"name": "kubeconfigs", "keySuffix": ".yaml"}]}));
        let secrets = BTreeMap::from([(
            "kubeconfigs".to_string(),
            secret(vec![
                ("..data", contexts(&["hidden"], None)),
                (
                    "build-01.yaml",
                    contexts(&["k8s-infra-prow-build", "eks-prow-build-cluster"], None),
                ),
                ("default.yaml", contexts(&["default"], Some("default"))),
                ("notes.txt", contexts(&["ignored"], None)),
                ("broken.yaml", Err("not YAML".into())),
            ]),
        )]);
        let (resolved, problems) = resolve(&spec, &secrets);
        let aliases: Vec<&str> = resolved.iter().map(|r| r.alias.as_str()).collect();
        assert_eq!(aliases, ["default", "eks-prow-build-cluster", "k8s-infra-prow-build"]);
        assert_eq!(
            resolved[1].access,
            access("kubeconfigs", "build-01.yaml", "eks-prow-build-cluster")
        );
        assert_eq!(
            problems,
            [
                r#"the kubeconfig in Secret "kubeconfigs" key "broken.yaml" (spec.buildClusterSecrets[0]) cannot be read: not YAML"#
            ]
        );
    }

    #[test]
    fn an_alias_defined_twice_is_unusable_and_the_others_go_on() {
        let spec = spec(json!({
            "buildClusters": [{"name": "build", "kubeconfigSecretRef": {"name": "kc", "key": "a"}}],
            "buildClusterSecrets": [{"name": "kubeconfigs"}, {"name": "absent"}],
        }));
        let secrets = BTreeMap::from([
            ("kc".to_string(), secret(vec![("a", contexts(&["x"], Some("x")))])),
            (
                "kubeconfigs".to_string(),
                secret(vec![("one", contexts(&["build", "other"], None))]),
            ),
            ("absent".to_string(), None),
        ]);
        let (resolved, problems) = resolve(&spec, &secrets);
        assert_eq!(
            resolved[0].access,
            Err(r#"build cluster "build" is defined more than once (spec.buildClusters[0], spec.buildClusterSecrets[0] key "one"); rename or remove all but one"#.to_string())
        );
        assert_eq!(resolved[1].access, access("kubeconfigs", "one", "other"));
        assert_eq!(
            problems,
            [r#"Secret "absent" (spec.buildClusterSecrets[1]) does not exist"#]
        );
    }
}
