//! Build clusters on real control planes: other control planes serve as build clusters; the
//! instance's status says, cluster by cluster, what the operator found there, and each job runs
//! on the cluster it names, one that goes away holding only its own jobs.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::api_server::real_cluster;
use crate::harness::{World, condition, repo};
use crate::install::{installed_in, wait_condition};
use crate::jobs::{direct_prowjob, kubelet_status, state_of};

const OPERATOR: &str = "operator.prow.dev/v1alpha1";

/// A Secret `name` in `prow` with `kubeconfig` as its key `kubeconfig`.
fn kubeconfig_secret(name: &str, kubeconfig: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": "prow"},
           "stringData": {"kubeconfig": kubeconfig}})
}

/// Gives the build cluster's operator identity `verbs` on pods in `test-pods` there.
async fn grant(build: &cluster::Cluster, verbs: &[&str]) {
    let client = build.admin_client().await.expect("build cluster admin");
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test-pods"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "prow-pods", "namespace": "test-pods"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": verbs}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "prow-pods", "namespace": "test-pods"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "prow-pods"},
               "subjects": [{"kind": "User", "name": cluster::OPERATOR_USER}]}),
    ];
    for object in objects {
        let object: DynamicObject = serde_json::from_value(object).expect("an object");
        let resource = match object.types.as_ref().map(|t| t.kind.as_str()) {
            Some("Namespace") => ApiResource::erase::<Namespace>(&()),
            Some("Role") => ApiResource::erase::<Role>(&()),
            _ => ApiResource::erase::<RoleBinding>(&()),
        };
        let api: Api<DynamicObject> = match object.metadata.namespace.as_deref() {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let name = object.metadata.name.clone().expect("a name");
        api.patch(&name, &PatchParams::apply("e2e").force(), &Patch::Apply(&object))
            .await
            .expect("applied on the build cluster");
    }
}

/// `kubectl apply -k config/build-cluster` on the build cluster, and a kubeconfig of its
/// ServiceAccount's token, made as the README says.
async fn shipped_kubeconfig(world: &World, build: &cluster::Cluster) -> String {
    let output = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(build.admin_kubeconfig())
        .args(["apply", "-k", "config/build-cluster"])
        .current_dir(repo())
        .output()
        .expect("kubectl is on PATH");
    assert!(
        output.status.success(),
        "kubectl apply -k config/build-cluster: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(build.admin_client().await.expect("admin"), "test-pods");
    let token = world
        .eventually("the token controller fills prow-build-token", || async {
            let secret = secrets.get_opt("prow-build-token").await.ok()??;
            let token = secret.data?.get("token")?.0.clone();
            Some(String::from_utf8(token).expect("token"))
        })
        .await;
    let admin = std::fs::read_to_string(build.admin_kubeconfig()).expect("kubeconfig");
    let ca = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .expect("the admin kubeconfig's CA")
        .to_string();
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: build\n\
         clusters: [{{name: build, cluster: {{server: '{}', certificate-authority-data: {ca}}}}}]\n\
         contexts: [{{name: build, context: {{cluster: build, user: prow-build}}}}]\n\
         users: [{{name: prow-build, user: {{token: {token}}}}}]\n",
        build.server()
    )
}

/// The instance's status entry for build cluster `name`, once it has `state`.
async fn cluster_in_state(world: &World, name: &str, state: &str) -> (Value, Value) {
    world
        .eventually(&format!("build cluster {name} {state}"), || async {
            let instance = world.get(OPERATOR, "ProwInstance", "prow", "prow").await?;
            let entry = instance["status"]["buildClusters"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == name && c["state"] == state)?
                .clone();
            Some((instance, entry))
        })
        .await
}

#[tokio::test]
async fn each_build_cluster_reports_whether_jobs_can_run_there_and_only_used_ones_hold_ready() {
    let world = World::start().await;
    if !world.runs_pods() {
        return; // Needs real control planes.
    }
    let Some(build) = real_cluster().await else {
        return;
    };
    let world = installed_in(world).await;
    // The build cluster's operator identity may do everything upstream needs but patch.
    grant(&build, &["create", "delete", "list", "watch", "get"]).await;
    let operator_kubeconfig = std::fs::read_to_string(build.operator_kubeconfig()).expect("kubeconfig");
    let unreachable = operator_kubeconfig.replace(build.server(), "https://127.0.0.1:1");
    let token_file = "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
                      clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n\
                      contexts: [{name: c, context: {cluster: x, user: u}}]\n\
                      users: [{name: u, user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}]\n";
    world
        .apply_value(kubeconfig_secret("build-kubeconfig", &operator_kubeconfig))
        .await;
    world
        .apply_value(kubeconfig_secret("unreachable-kubeconfig", &unreachable))
        .await;
    world
        .apply_value(kubeconfig_secret("token-file-kubeconfig", token_file))
        .await;
    let instances: Api<prow_api::instance::ProwInstance> = Api::namespaced(world.client.clone(), "prow");
    let clusters = json!({"spec": {"buildClusters": [
        {"name": "gke_e2e_build", "kubeconfigSecretRef": {"name": "build-kubeconfig", "key": "kubeconfig"}},
        {"name": "unreachable", "kubeconfigSecretRef": {"name": "unreachable-kubeconfig", "key": "kubeconfig"}},
        {"name": "token-file", "kubeconfigSecretRef": {"name": "token-file-kubeconfig", "key": "kubeconfig"}},
    ]}});
    instances
        .patch("prow", &PatchParams::default(), &Patch::Merge(&clusters))
        .await
        .expect("build clusters added");

    // Each cluster's state, with why; no job uses them, so the instance stays Ready.
    let (_, build_entry) = cluster_in_state(&world, "gke_e2e_build", "MissingPermissions").await;
    assert_eq!(build_entry["missingVerbs"], json!(["patch"]), "{build_entry}");
    // The test cluster is built from source without a version stamp: it says `v0.0.0-master…`.
    assert!(
        build_entry["serverVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with('v')),
        "{build_entry}"
    );
    assert_eq!(
        build_entry["lastError"],
        "the credentials may not patch pods in namespace \"test-pods\""
    );
    let (_, unreachable_entry) = cluster_in_state(&world, "unreachable", "Unreachable").await;
    assert!(
        unreachable_entry["lastError"]
            .as_str()
            .is_some_and(|e| e.starts_with("its API server did not answer")),
        "{unreachable_entry}"
    );
    let (instance, token_entry) = cluster_in_state(&world, "token-file", "InvalidKubeconfig").await;
    assert_eq!(
        token_entry["lastError"],
        "the kubeconfig in Secret \"token-file-kubeconfig\" key \"kubeconfig\": the kubeconfig's context \"c\" uses tokenFile (a file path; use token): only inline credentials are accepted"
    );
    assert_eq!(instance["status"]["buildClustersReachable"], "0/3");
    // The components reach the usable clusters through one kubeconfig file each, named by alias.
    let kubeconfigs = world
        .eventually("the components' kubeconfig Secret", || async {
            let secret = world.get("v1", "Secret", "prow", "prow-build-clusters").await?;
            let keys: Vec<String> = secret["data"].as_object()?.keys().cloned().collect();
            (keys.len() == 2).then_some(keys)
        })
        .await;
    assert_eq!(kubeconfigs, ["cluster-0.kubeconfig", "cluster-2.kubeconfig"]);
    let deck = world
        .get("apps/v1", "Deployment", "prow", "prow-deck")
        .await
        .expect("deck");
    let args = deck["spec"]["template"]["spec"]["containers"][0]["args"].clone();
    assert!(
        args.as_array()
            .is_some_and(|a| a.iter().any(|x| x == "--kubeconfig-dir=/etc/build-clusters")),
        "{args}"
    );
    // deck and crier roll out with the kubeconfigs mounted, then the instance is Ready: no job
    // uses the clusters.
    let instance = wait_condition(&world, "ProwInstance", "prow", "Ready", "True", None).await;
    assert_eq!(instance["status"]["buildClustersReachable"], "0/3");

    // A rotated Secret is probed again at once: the credentials of config/build-cluster, as the
    // README makes them, may do everything jobs need.
    let shipped = shipped_kubeconfig(&world, &build).await;
    world.apply_value(kubeconfig_secret("build-kubeconfig", &shipped)).await;
    let (instance, build_entry) = cluster_in_state(&world, "gke_e2e_build", "Reachable").await;
    assert_eq!(build_entry["missingVerbs"], Value::Null, "{build_entry}");
    // Each change of state is an Event on the instance, naming the cluster.
    let notes = world
        .eventually("the Events of the clusters' states", || async {
            let notes: Vec<String> = world
                .list("events.k8s.io/v1", "Event", "prow", "")
                .await
                .iter()
                .filter(|e| e["regarding"]["kind"] == "ProwInstance")
                .filter(|e| e["reason"].as_str().is_some_and(|r| r.starts_with("BuildCluster")))
                .map(|e| {
                    format!(
                        "{} {}",
                        e["reason"].as_str().unwrap_or_default(),
                        e["note"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            notes
                .iter()
                .any(|n| n.starts_with("BuildClusterReachable "))
                .then_some(notes)
        })
        .await;
    assert!(
        notes.iter().any(|n| n
            == "BuildClusterMissingPermissions build cluster \"gke_e2e_build\" is MissingPermissions: the credentials may not patch pods in namespace \"test-pods\""),
        "{notes:?}"
    );
    assert!(
        notes.contains(&"BuildClusterReachable build cluster \"gke_e2e_build\" is Reachable".to_string()),
        "{notes:?}"
    );
    assert_eq!(instance["status"]["buildClustersReachable"], "1/3");

    // A job on the unreachable cluster holds Ready, naming the cluster and why.
    world
        .apply_value(json!({"apiVersion": OPERATOR, "kind": "JobConfig",
            "metadata": {"name": "elsewhere", "namespace": "prow"},
            "spec": {"periodics": [{"name": "on-unreachable", "cluster": "unreachable", "interval": "24h",
                "spec": {"containers": [{"image": "alpine", "command": ["true"]}]}}]}}))
        .await;
    let instance = world
        .eventually("the instance waits for the unreachable cluster", || async {
            let instance = world.get(OPERATOR, "ProwInstance", "prow", "prow").await?;
            let (status, reason, message) = condition(&instance, "Ready")?;
            (status == "False" && reason == "BuildClustersUnavailable").then_some((instance, message))
        })
        .await;
    assert!(
        instance
            .1
            .starts_with("waiting for build cluster \"unreachable\" is Unreachable: its API server did not answer"),
        "{}",
        instance.1
    );
    let entry = instance.0["status"]["buildClusters"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "unreachable").cloned())
        .expect("unreachable entry");
    assert_eq!(entry["used"], true);
}

/// A triggered ProwJob `name` for the cluster `alias`.
fn job_on(name: &str, alias: &str) -> Value {
    let mut job = direct_prowjob(name);
    job["spec"]["cluster"] = json!(alias);
    job
}

/// The pod `name` in `test-pods` of the cluster `client` reaches, once it exists.
async fn pod_in(world: &World, client: &Client, name: &str) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test-pods");
    world
        .eventually(&format!("pod {name}"), || async {
            pods.get_opt(name).await.ok().flatten()
        })
        .await
}

/// Plays the kubelet of the cluster `client` reaches: the pod `name` succeeded.
async fn succeed(world: &World, client: &Client, name: &str) {
    let pod = serde_json::to_value(pod_in(world, client, name).await).expect("JSON");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test-pods");
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&kubelet_status(&pod, "Succeeded", 0)),
    )
    .await
    .expect("the pod succeeded");
}

/// The ProwJob `name` once its description is `description` (a prefix when it ends in `…`).
async fn described(world: &World, name: &str, state: &str, description: &str) -> Value {
    world
        .eventually(&format!("ProwJob {name} {state}: {description}"), || async {
            let job = world.get("prow.k8s.io/v1", "ProwJob", "prow", name).await?;
            let seen = job["status"]["description"].as_str()?;
            let matches = match description.strip_suffix('…') {
                Some(prefix) => seen.starts_with(prefix),
                None => seen == description,
            };
            (job["status"]["state"] == state && matches).then_some(job)
        })
        .await
}

#[tokio::test]
async fn jobs_run_on_the_cluster_they_name_and_one_that_goes_away_holds_only_its_own() {
    let world = World::start().await;
    if !world.runs_pods() {
        return; // Needs real control planes.
    }
    let (Some(east), Some(mut west)) = (real_cluster().await, real_cluster().await) else {
        return;
    };
    let world = installed_in(world).await;
    let mut west_kubeconfig = String::new();
    for (name, build) in [("east", &east), ("west", &west)] {
        let kubeconfig = shipped_kubeconfig(&world, build).await;
        world
            .apply_value(kubeconfig_secret(&format!("{name}-kubeconfig"), &kubeconfig))
            .await;
        west_kubeconfig = kubeconfig;
    }
    let instances: Api<prow_api::instance::ProwInstance> = Api::namespaced(world.client.clone(), "prow");
    let clusters = json!({"spec": {"buildClusters": [
        {"name": "east", "kubeconfigSecretRef": {"name": "east-kubeconfig", "key": "kubeconfig"}},
        {"name": "west", "kubeconfigSecretRef": {"name": "west-kubeconfig", "key": "kubeconfig"}},
    ]}});
    instances
        .patch("prow", &PatchParams::default(), &Patch::Merge(&clusters))
        .await
        .expect("build clusters added");
    cluster_in_state(&world, "east", "Reachable").await;
    cluster_in_state(&world, "west", "Reachable").await;
    let (east_admin, west_admin) = (
        east.admin_client().await.expect("east"),
        west.admin_client().await.expect("west"),
    );

    // Each job's pod is made in the cluster it names; a cluster the instance does not have ends
    // its job in upstream's words, naming the ones it has.
    for (name, alias) in [
        ("on-east", "east"),
        ("on-west", "west"),
        ("at-home", "default"),
        ("on-gpu", "gpu"),
    ] {
        world.apply_value(job_on(name, alias)).await;
    }
    pod_in(&world, &east_admin, "on-east").await;
    pod_in(&world, &west_admin, "on-west").await;
    pod_in(&world, &world.client, "at-home").await;
    described(
        &world,
        "on-gpu",
        "error",
        r#"Terminal error: unknown cluster alias "gpu". The instance's clusters are "default", "east", "west"."#,
    )
    .await;
    let before = state_of(&world, "on-west", "pending").await;
    for (client, name) in [(&east_admin, "on-east"), (&west_admin, "on-west")] {
        let pods: Api<Pod> = Api::namespaced(client.clone(), "test-pods");
        let others = pods.list(&Default::default()).await.expect("pods");
        assert_eq!(others.items.len(), 1, "only {name} runs there");
    }

    // West goes away mid-run: its jobs wait, saying why; the others go on.
    west.stop_api_server();
    world.apply_value(job_on("on-west-later", "west")).await;
    succeed(&world, &east_admin, "on-east").await;
    succeed(&world, &world.client, "at-home").await;
    state_of(&world, "on-east", "success").await;
    state_of(&world, "at-home", "success").await;
    described(
        &world,
        "on-west",
        "pending",
        "Waiting for build cluster \"west\", which is Unreachable: …",
    )
    .await;
    described(
        &world,
        "on-west-later",
        "triggered",
        "Waiting for build cluster \"west\", which is Unreachable: …",
    )
    .await;
    cluster_in_state(&world, "west", "Unreachable").await;

    // West comes back: the held jobs go on where they were, nothing lost or made twice.
    west.start_api_server().await.expect("west is back");
    described(&world, "on-west-later", "pending", "Job triggered.").await;
    described(&world, "on-west", "pending", "Job triggered.").await;
    succeed(&world, &west_admin, "on-west").await;
    succeed(&world, &west_admin, "on-west-later").await;
    let after = state_of(&world, "on-west", "success").await;
    state_of(&world, "on-west-later", "success").await;
    assert_eq!(
        after["status"]["build_id"], before["status"]["build_id"],
        "the same run"
    );
    assert_eq!(after["status"]["pod_revival_count"], Value::Null, "{after}");
    let pods: Api<Pod> = Api::namespaced(west_admin.clone(), "test-pods");
    let mut names: Vec<String> = pods
        .list(&Default::default())
        .await
        .expect("pods")
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["on-west", "on-west-later"]);
    cluster_in_state(&world, "west", "Reachable").await;

    // Credentials west refuses hold its jobs; the rotated Secret runs them, without a restart.
    let token_at = west_kubeconfig.find("token: ").expect("a token") + "token: ".len();
    let refused = format!("{}refused}}}}]\n", &west_kubeconfig[..token_at]);
    world.apply_value(kubeconfig_secret("west-kubeconfig", &refused)).await;
    cluster_in_state(&world, "west", "Unreachable").await;
    world.apply_value(job_on("on-west-rotated", "west")).await;
    described(
        &world,
        "on-west-rotated",
        "triggered",
        "Waiting for build cluster \"west\", which is Unreachable: …",
    )
    .await;
    world
        .apply_value(kubeconfig_secret("west-kubeconfig", &west_kubeconfig))
        .await;
    described(&world, "on-west-rotated", "pending", "Job triggered.").await;
    pod_in(&world, &west_admin, "on-west-rotated").await;
}
