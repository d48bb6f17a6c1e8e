//! The webhook HMAC tokens in force: each native-trigger instance's Secret, scoped to the
//! instance's org, so one installation's token never signs another's events.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use tracing::warn;

use super::Context;
use crate::webhook::signature::Tokens;

/// Reads the HMAC Secret of every instance that runs the native trigger. An instance whose
/// Secret or key is missing contributes nothing (its status says `SecretMissing`); a failed
/// read is logged and leaves that instance out until the next refresh.
pub async fn tokens(ctx: &Context) -> Tokens {
    let mut tokens = Tokens::default();
    for instance in ctx.stores.instances.state() {
        if !instance.spec.native.trigger || instance.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let namespace = instance.namespace().unwrap_or_default();
        let reference = &instance.spec.github.hmac_secret_ref;
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
        match secrets.get_opt(&reference.name).await {
            Ok(Some(secret)) => {
                let value = secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&reference.key))
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned());
                if let Some(text) = value {
                    tokens.merge(Tokens::parse(&text).scoped_to(&instance.spec.github.org));
                }
            }
            Ok(None) => {}
            Err(error) => warn!(
                instance = %format!("{namespace}/{}", instance.name_any()),
                secret = %reference.name,
                error = %super::api_error::cause(&error),
                "cannot read the HMAC Secret"
            ),
        }
    }
    tokens
}
