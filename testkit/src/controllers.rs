//! Stand-ins for the cluster's own controllers, which the fake does not run.

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use tokio::task::JoinHandle;

/// Plays the Deployment controller in `namespace`: every Deployment reports all its replicas
/// updated, ready and available for its current generation. Runs until the handle is aborted.
pub fn play_deployment_controller(client: kube::Client, namespace: &str) -> JoinHandle<()> {
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher::watcher(api.clone(), watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let (Ok(Event::Apply(deployment)) | Ok(Event::InitApply(deployment))) = event else {
                continue;
            };
            let generation = deployment.metadata.generation.unwrap_or(1);
            let replicas = deployment.spec.replicas.unwrap_or(1);
            let current = deployment.status.as_ref();
            if current.and_then(|s| s.observed_generation) == Some(generation)
                && current.and_then(|s| s.available_replicas) == Some(replicas)
            {
                continue;
            }
            let status = json!({"status": {
                "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas,
            }});
            let name = deployment.metadata.name.clone().unwrap_or_default();
            let _ = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await;
        }
    })
}
