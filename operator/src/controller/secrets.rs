//! The Secrets an instance needs: which ones its spec names (pure), whether they and their keys
//! exist, and a hash of each, so a rotated Secret restarts the pods that mount it. A deleted
//! Secret restarts nothing: the Deployments that use it keep their config hash until it is back.
//!
//! Secret values never leave this module: only key names, presence and a SHA-256 are kept, and
//! nothing here logs.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use prow_api::instance::{ProwInstanceSpec, SecretKeyRef};
use sha2::{Digest, Sha256};

use crate::render::Secrets;
use crate::render::meta::CONFIG_HASH_ANNOTATION;

/// One Secret key the spec names, and what it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretUse {
    /// The field path that names it, such as `spec.github.hmacSecretRef`.
    pub path: String,
    /// The Secret and key.
    pub reference: SecretKeyRef,
}

/// Every Secret key `spec` names, with the field that names it.
pub fn references(spec: &ProwInstanceSpec) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    let mut add = |path: String, reference: &SecretKeyRef| {
        uses.push(SecretUse {
            path,
            reference: reference.clone(),
        })
    };
    let auth = &spec.github.auth;
    if let Some(app) = &auth.app {
        if let Some(id) = &app.app_id_secret_ref {
            add("spec.github.auth.app.appIdSecretRef".into(), id);
        }
        add(
            "spec.github.auth.app.privateKeySecretRef".into(),
            &app.private_key_secret_ref,
        );
    }
    if let Some(token) = &auth.token {
        add("spec.github.auth.token.secretRef".into(), &token.secret_ref);
    }
    add("spec.github.hmacSecretRef".into(), &spec.github.hmac_secret_ref);
    if let Some(storage) = &spec.storage {
        for (kind, bucket) in [("s3", &storage.s3), ("gcs", &storage.gcs)] {
            if let Some(bucket) = bucket {
                add(
                    format!("spec.storage.{kind}.credentialsSecretRef"),
                    &bucket.credentials_secret_ref,
                );
            }
        }
    }
    if let Some(slack) = &spec.slack {
        add("spec.slack.tokenSecretRef".into(), &slack.token_secret_ref);
    }
    for (index, cluster) in spec.build_clusters.iter().enumerate() {
        add(
            format!("spec.buildClusters[{index}].kubeconfigSecretRef"),
            &cluster.kubeconfig_secret_ref,
        );
    }
    uses
}

/// Every Secret `spec` names: those of its key references and the Secrets of build-cluster
/// kubeconfig files, read whole.
pub fn names(spec: &ProwInstanceSpec) -> BTreeSet<String> {
    references(spec)
        .into_iter()
        .map(|u| u.reference.name)
        .chain(spec.build_cluster_secrets.iter().map(|s| s.name.clone()))
        .collect()
}

/// What was found of one Secret: its keys and a hash of its whole content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The keys it holds.
    pub keys: BTreeSet<String>,
    /// SHA-256 of its keys and values, as hex.
    pub hash: String,
}

/// The Secrets of one namespace as read: `None` for a Secret that does not exist.
pub type Observed = BTreeMap<String, Option<Found>>;

/// The problems with `uses` given what was `observed`: one message per missing Secret or key,
/// naming the Secret, the key and the field.
pub fn problems(namespace: &str, uses: &[SecretUse], observed: &Observed) -> Vec<String> {
    let mut problems = Vec::new();
    for secret_use in uses {
        let SecretKeyRef { name, key } = &secret_use.reference;
        match observed.get(name) {
            Some(Some(found)) if found.keys.contains(key) => {}
            Some(Some(_)) => problems.push(format!(
                "Secret {namespace}/{name} has no key {key:?} (named by {})",
                secret_use.path
            )),
            _ => problems.push(format!(
                "Secret {namespace}/{name} not found (named by {}, key {key:?})",
                secret_use.path
            )),
        }
    }
    problems.dedup();
    problems
}

/// What rendering needs to know of the Secrets: the hash of every Secret found, the Secrets
/// that are missing or lack a key `uses` names, and the config hash each of the instance's
/// `deployments` has now (kept by those that use such a Secret).
pub fn for_render(uses: &[SecretUse], observed: &Observed, deployments: &[Deployment]) -> Secrets {
    let hashes = observed
        .iter()
        .filter_map(|(name, found)| found.as_ref().map(|f| (name.clone(), f.hash.clone())))
        .collect();
    let unusable = uses
        .iter()
        .filter(
            |u| !matches!(observed.get(&u.reference.name), Some(Some(found)) if found.keys.contains(&u.reference.key)),
        )
        .map(|u| u.reference.name.clone())
        .collect();
    let kept = deployments
        .iter()
        .filter_map(|deployment| {
            let hash = deployment
                .spec
                .template
                .metadata
                .as_ref()?
                .annotations
                .as_ref()?
                .get(CONFIG_HASH_ANNOTATION)?;
            Some((deployment.metadata.name.clone()?, hash.clone()))
        })
        .collect();
    Secrets { hashes, unusable, kept }
}

/// The keys and hash of a Secret.
pub fn summarise(secret: &Secret) -> Found {
    let mut hasher = Sha256::new();
    let mut keys = BTreeSet::new();
    let data = secret.data.iter().flatten().map(|(k, v)| (k.as_str(), v.0.as_slice()));
    let string_data = secret
        .string_data
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_bytes()));
    let mut entries: Vec<(&str, &[u8])> = data.chain(string_data).collect();
    entries.sort();
    for (key, value) in entries {
        keys.insert(key.to_string());
        hasher.update((key.len() as u64).to_le_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    }
    Found {
        keys,
        hash: hex::encode(hasher.finalize()),
    }
}

/// The Secrets `spec` names ([`names`]), read whole from `api` (one namespace), by name; `None`
/// for an absent one (a 404). Other errors are returned.
pub async fn read(api: &Api<Secret>, spec: &ProwInstanceSpec) -> Result<BTreeMap<String, Option<Secret>>, kube::Error> {
    let mut read = BTreeMap::new();
    for name in names(spec) {
        let secret = api.get_opt(&name).await?;
        read.insert(name, secret);
    }
    Ok(read)
}

/// What the checks and the config hash need of the Secrets [`read`] returned.
pub fn observe(read: &BTreeMap<String, Option<Secret>>) -> Observed {
    read.iter()
        .map(|(name, secret)| (name.clone(), secret.as_ref().map(summarise)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn spec() -> ProwInstanceSpec {
        serde_json::from_value(serde_json::json!({
            "version": "v20240801-abc",
            "github": {
                "org": "acme",
                "auth": {"app": {"appId": "1", "privateKeySecretRef": {"name": "github-app", "key": "cert"}}},
                "hmacSecretRef": {"name": "hmac-token", "key": "hmac"}
            },
            "storage": {"s3": {"bucket": "logs", "credentialsSecretRef": {"name": "s3", "key": "service-account.json"}}},
            "slack": {"tokenSecretRef": {"name": "slack", "key": "token"}}
        }))
        .unwrap()
    }

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    #[test]
    fn every_secret_field_is_referenced_with_its_path() {
        let paths: Vec<String> = references(&spec()).into_iter().map(|u| u.path).collect();
        assert_eq!(
            paths,
            [
                "spec.github.auth.app.privateKeySecretRef",
                "spec.github.hmacSecretRef",
                "spec.storage.s3.credentialsSecretRef",
                "spec.slack.tokenSecretRef"
            ]
        );
    }

    #[test]
    fn missing_secrets_and_keys_are_named() {
        let uses = references(&spec());
        let observed = Observed::from([
            ("github-app".to_string(), Some(summarise(&secret(&[("cert", "pem")])))),
            ("hmac-token".to_string(), Some(summarise(&secret(&[("other", "x")])))),
            ("s3".to_string(), None),
            ("slack".to_string(), Some(summarise(&secret(&[("token", "t")])))),
        ]);
        assert_eq!(
            problems("prow", &uses, &observed),
            [
                "Secret prow/hmac-token has no key \"hmac\" (named by spec.github.hmacSecretRef)",
                "Secret prow/s3 not found (named by spec.storage.s3.credentialsSecretRef, key \"service-account.json\")",
            ]
        );
        let secrets = for_render(&uses, &observed, &[]);
        assert_eq!(secrets.hashes.len(), 3);
        assert_eq!(
            secrets.unusable,
            BTreeSet::from(["hmac-token".to_string(), "s3".to_string()])
        );
    }

    #[test]
    fn each_deployments_current_config_hash_is_known() {
        let deployment: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "prow-crier", "namespace": "prow"},
            "spec": {"selector": {}, "template": {
                "metadata": {"annotations": {CONFIG_HASH_ANNOTATION: "abc"}},
                "spec": {"containers": []}
            }}
        }))
        .unwrap();
        let secrets = for_render(&[], &Observed::new(), &[deployment, Deployment::default()]);
        assert_eq!(
            secrets.kept,
            BTreeMap::from([("prow-crier".to_string(), "abc".to_string())])
        );
    }

    #[test]
    fn the_hash_follows_content_not_order() {
        let a = summarise(&secret(&[("a", "1"), ("b", "2")]));
        let b = summarise(&secret(&[("b", "2"), ("a", "1")]));
        let c = summarise(&secret(&[("a", "1"), ("b", "3")]));
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }
}
