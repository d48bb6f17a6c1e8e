//! Living with a real API server's failures and with other controllers: injected 409s and 500s,
//! a dropped watch, and an autoscaler that owns a Deployment's replicas.

use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use testkit::{Fault, Verb};

use crate::harness::{World, repo};
use crate::install::{installed, installed_on_fake, wait_applied, wait_condition};
use crate::jobs::{direct_prowjob, state_of};

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("config/samples").join(name)).unwrap();
    prow_api::yaml::load_documents(&text).unwrap().values.remove(0)
}

/// The sample JobConfig `file` with one more presubmit named `job`.
fn with_extra_job(file: &str, job: &str) -> Value {
    let mut config = sample(file);
    let presubmits = config["spec"]["presubmits"].as_object_mut().unwrap();
    let repo = presubmits.keys().next().unwrap().clone();
    let mut extra = presubmits[&repo][0].clone();
    extra["name"] = json!(job);
    extra["context"] = json!(job);
    presubmits[&repo].as_array_mut().unwrap().push(extra);
    config
}

async fn wait_for_job(world: &World, job: &str) {
    world
        .eventually(&format!("job {job} in the job config"), || async {
            let map = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await?;
            let data = map["data"].as_object()?;
            data.values()
                .any(|v| v.as_str().is_some_and(|t| t.contains(job)))
                .then_some(())
        })
        .await;
}

#[tokio::test]
async fn it_converges_after_conflicts_server_errors_and_a_dropped_watch() {
    let world = installed_on_fake().await;
    let fake = world.fake.as_ref().expect("a world on testkit");
    let faults = fake.faults();
    faults.inject(Fault::status(500).verb(Verb::Patch).resource("configmaps").times(3));
    faults.inject(Fault::status(409).verb(Verb::Patch).resource("configmaps").times(2));
    world
        .apply_value(with_extra_job("jobconfig-api.yaml", "after-server-errors"))
        .await;
    wait_for_job(&world, "after-server-errors").await;
    assert_eq!(faults.pending(), 0, "every injected fault was hit");

    faults.drop_watches();
    world
        .apply_value(with_extra_job("jobconfig-website.yaml", "after-a-dropped-watch"))
        .await;
    wait_for_job(&world, "after-a-dropped-watch").await;

    faults.inject(Fault::status(500).verb(Verb::Patch).resource("jobconfigs").times(2));
    world
        .delete("operator.prow.dev/v1alpha1", "JobConfig", "prow", "website")
        .await;
    world
        .eventually("the website jobs to leave", || async {
            let map = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await?;
            map["data"].get("prow_website.yaml").is_none().then_some(())
        })
        .await;
    // Nothing lost: the api JobConfig's added job is still there, and everything is Ready.
    wait_for_job(&world, "after-server-errors").await;
    wait_applied(&world).await;
    wait_condition(&world, "JobConfig", "api", "Ready", "True", Some("Accepted")).await;
}

#[tokio::test]
async fn a_pod_refused_for_a_passing_reason_is_made_again_and_an_invalid_one_ends_its_job() {
    let world = installed_on_fake().await;
    let faults = world.fake.as_ref().expect("a world on testkit").faults();
    // A missing namespace, a server error and throttling: the job waits and its pod comes.
    for fault in [Fault::status(404), Fault::status(500), Fault::too_many_requests(1)] {
        faults.inject(fault.verb(Verb::Create).resource("pods"));
    }
    world.apply_value(direct_prowjob("retried")).await;
    let pending = state_of(&world, "retried", "pending").await;
    assert_eq!(faults.pending(), 0, "every injected fault was hit");
    assert_eq!(pending["status"]["description"], "Job triggered.");
    assert!(world.get("v1", "Pod", "test-pods", "retried").await.is_some());

    // An invalid pod is refused for good: the job ends in error, saying why in one sentence.
    faults.inject(Fault::status(422).verb(Verb::Create).resource("pods"));
    world.apply_value(direct_prowjob("refused")).await;
    let refused = state_of(&world, "refused", "error").await;
    assert_eq!(
        refused["status"]["description"],
        "Pod can not be created: injected fault: 422."
    );
    assert!(refused["status"]["completionTime"].is_string());
}

#[tokio::test]
async fn replicas_owned_by_an_autoscaler_survive_reconciles() {
    let world = installed().await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(world.client.clone(), "prow");
    let autoscaler = PatchParams {
        field_manager: Some("horizontal-pod-autoscaler".into()),
        ..PatchParams::default()
    };
    deployments
        .patch(
            "prow-deck",
            &autoscaler,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let before = deployments.get("prow-deck").await.unwrap();
    let hash = |d: &k8s_openapi::api::apps::v1::Deployment| {
        d.spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get("operator.prow.dev/config-hash").cloned())
    };
    // A change every component reads makes the operator apply the Deployments again.
    world
        .apply_value(with_extra_job("jobconfig-api.yaml", "after-autoscaling"))
        .await;
    wait_for_job(&world, "after-autoscaling").await;
    let after = world
        .eventually("deck to be applied again", || async {
            let after = deployments.get("prow-deck").await.ok()?;
            (hash(&after) != hash(&before)).then_some(after)
        })
        .await;
    assert_eq!(after.spec.replicas, Some(5), "the autoscaler's replicas stay");
}

#[tokio::test]
async fn with_two_replicas_one_reconciles_and_the_other_takes_over() {
    let mut world = installed().await;
    world.start_operator();
    let lease = world
        .get(
            "coordination.k8s.io/v1",
            "Lease",
            "prow-operator-system",
            "prow-operator",
        )
        .await
        .expect("the Lease exists");
    let first_holder = lease["spec"]["holderIdentity"].clone();
    // The first replica leads; stopping it releases the Lease and the second takes over.
    assert!(
        world.stop_operator().await,
        "the leader exits cleanly\n{}",
        world.operator_log()
    );
    world
        .eventually("the second replica to hold the Lease", || async {
            let lease = world
                .get(
                    "coordination.k8s.io/v1",
                    "Lease",
                    "prow-operator-system",
                    "prow-operator",
                )
                .await?;
            let holder = &lease["spec"]["holderIdentity"];
            (holder.is_string() && *holder != first_holder).then_some(())
        })
        .await;
    world
        .apply_value(with_extra_job("jobconfig-api.yaml", "after-failover"))
        .await;
    wait_for_job(&world, "after-failover").await;
}

#[tokio::test]
async fn sigterm_before_the_instance_cache_filled_stops_the_operator() {
    // Found by the randomized scenario (issue 16): SIGTERM a moment after the replica began to
    // lead, before the instance controller's cache filled, and it never exited.
    let mut world = installed_on_fake().await;
    assert!(world.stop_operator().await, "a clean stop\n{}", world.operator_log());
    let faults = world.fake.as_ref().expect("a world on testkit").faults();
    // Both lists of the instances (the shared cache's, then the controller's) answer late.
    faults.inject(
        Fault::delay(std::time::Duration::from_secs(3))
            .verb(Verb::List)
            .resource("prowinstances")
            .times(2),
    );
    world.start_operator();
    world
        .eventually("the new replica to lead", || async {
            (world.operator_log().matches("leading: starting the controller").count() == 2).then_some(())
        })
        .await;
    let asked = std::time::Instant::now();
    assert!(
        world.stop_operator().await,
        "no exit within 20 s of SIGTERM\n{}",
        world.operator_log()
    );
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
}
