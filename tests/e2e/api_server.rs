//! What only a real API server shows: the README's install commands as a new user types them,
//! the API server's own CEL refusing the invalid samples, and deletion through the instance's
//! finalizer and the garbage collector. On testkit (no real control plane built) the scenarios
//! that need the real server say so and stop.

use std::path::Path;
use std::process::Command;

use crate::harness::{Setup, World, forbidden_requests, repo};
use crate::install::{installed, wait_condition};
use crate::jobs::state_of;

/// A real control plane of its own, or `None` (said on stderr) when its binaries are missing and
/// CI does not require them.
pub async fn real_cluster() -> Option<cluster::Cluster> {
    let binaries = cluster::Binaries::for_tests("this scenario does not run").expect("the real control plane")?;
    let options = cluster::Options {
        binaries,
        job_pods: cluster::JobPods::Held,
        dir: None,
        detached: false,
    };
    let started = cluster::Cluster::start(options).await;
    Some(started.unwrap_or_else(|e| panic!("starting the real control plane: {e}")))
}

/// `kubectl --kubeconfig <admin> ARGS`: (exit status, stdout and stderr).
fn kubectl(cluster: &cluster::Cluster, args: &[&str]) -> (bool, String) {
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.admin_kubeconfig())
        .args(args)
        .current_dir(repo())
        .output()
        .expect("kubectl is on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The `# expect-error:` line of an invalid sample.
fn expected_error(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("sample");
    text.lines()
        .find_map(|l| l.strip_prefix("# expect-error:"))
        .map(|e| e.trim().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_readme_install_commands_succeed_and_the_invalid_samples_are_refused() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    // The README's "Install into a cluster", as a new user runs it.
    let (ok, out) = kubectl(&cluster, &["apply", "-k", "config/default"]);
    assert!(ok, "kubectl apply -k config/default:\n{out}");
    let (ok, out) = kubectl(
        &cluster,
        &["wait", "--for=condition=Established", "crd", "--all", "--timeout=30s"],
    );
    assert!(ok, "the CRDs are established:\n{out}");
    let (ok, out) = kubectl(&cluster, &["create", "namespace", "prow"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&cluster, &["apply", "-k", "config/samples"]);
    assert!(ok, "kubectl apply -k config/samples:\n{out}");
    let (ok, out) = kubectl(&cluster, &["get", "prow", "-n", "prow"]);
    assert!(ok && out.contains("prowinstance.operator.prow.dev/prow"), "{out}");

    // Every invalid sample is refused by the API server itself, most by our CEL rules; the
    // message names the field and the rule's reason.
    let mut files: Vec<_> = std::fs::read_dir(repo().join("config/samples/invalid"))
        .expect("config/samples/invalid")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the invalid samples");
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let (ok, out) = kubectl(
            &cluster,
            &[
                "create",
                "--dry-run=server",
                "-f",
                &format!("config/samples/invalid/{name}"),
            ],
        );
        assert!(!ok, "{name} was accepted:\n{out}");
        assert!(
            out.contains("is invalid"),
            "{name} was refused for another reason:\n{out}"
        );
        let expected = expected_error(file);
        // Where the sample states a rule's message, the API server gives that message (the
        // schema's own refusals, such as a missing field or a pattern, are worded by it).
        if RULE_MESSAGES.iter().any(|m| expected.contains(m)) {
            assert!(out.contains(&expected), "{name}: expected {expected:?} in:\n{out}");
        }
    }
}

#[tokio::test]
async fn the_crds_directory_applies_with_kubectl_apply_f_and_with_kustomize() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    // `crds/` holds only Kubernetes objects: kubectl reads every .yaml file of a directory.
    let (ok, out) = kubectl(&cluster, &["apply", "-f", "crds/", "--dry-run=server"]);
    assert!(ok, "kubectl apply -f crds/ --dry-run=server:\n{out}");
    let (ok, out) = kubectl(&cluster, &["apply", "-f", "crds/"]);
    assert!(ok, "kubectl apply -f crds/:\n{out}");
    assert_eq!(out.matches("customresourcedefinition").count(), 5, "{out}");
    // And kustomize users still get them through config/crd (and config/default).
    let (ok, out) = kubectl(&cluster, &["kustomize", "config/default"]);
    assert!(ok, "kubectl kustomize config/default:\n{out}");
    assert_eq!(out.matches("kind: CustomResourceDefinition").count(), 5, "{out}");
}

/// The commands of the README's "Install into a cluster", as written there.
fn readme_install_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme
        .split("## Install into a cluster")
        .nth(1)
        .expect("the install section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the install commands");
    block
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn the_readme_install_on_a_fresh_cluster_ends_ready_and_runs_job_pods_in_the_pod_namespace() {
    // Nothing made beforehand: no CRDs, no namespaces, no RBAC, no Secret copies.
    let setup = Setup {
        bare: true,
        ..Setup::default()
    };
    let mut world = World::start_with(setup).await;
    let Some(cluster) = world.real.as_ref() else {
        return; // kubectl needs a real API server.
    };
    // A user's directory: the repository's config/, the GitHub App key and the storage
    // credentials the README's commands read.
    let home = std::env::temp_dir().join(format!("prow-operator-readme-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("a directory");
    let _ = std::fs::remove_file(home.join("config"));
    std::os::unix::fs::symlink(repo().join("config"), home.join("config")).expect("config/");
    std::fs::write(home.join("app.pem"), "-----BEGIN RSA PRIVATE KEY-----\n").expect("app.pem");
    std::fs::write(home.join("service-account.json"), "{\"region\": \"us-east-1\"}").expect("credentials");
    for command in readme_install_commands() {
        let output = Command::new("sh")
            .args(["-c", &command])
            .env("KUBECONFIG", cluster.admin_kubeconfig())
            .current_dir(&home)
            .output()
            .expect("sh");
        assert!(
            output.status.success(),
            "{command}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&home);
    // config/default's Deployment is the operator; kwok does not run its image, so the binary
    // runs beside it as the same ServiceAccount, with only the rights config/default granted.
    world.start_operator();

    let instance = wait_condition(&world, "ProwInstance", "prow", "Ready", "True", Some("Reconciled")).await;
    assert_eq!(crate::harness::condition(&instance, "Stalled").unwrap().0, "False");
    let pods_namespace = world.get("v1", "Namespace", "", "test-pods").await.expect("test-pods");
    assert_eq!(
        pods_namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "prow-operator"
    );
    assert_eq!(
        pods_namespace["metadata"]["annotations"]["operator.prow.dev/created-for"],
        "ProwInstance prow/prow"
    );
    let source = world
        .get("v1", "Secret", "prow", "s3-credentials")
        .await
        .expect("the source");
    let copy = world
        .get("v1", "Secret", "test-pods", "s3-credentials")
        .await
        .expect("the copy in the pod namespace");
    assert_eq!(copy["data"], source["data"]);
    assert_eq!(copy["metadata"]["labels"]["operator.prow.dev/instance"], "prow");

    // The samples' interval periodic runs at once: its Pod is made in the pod namespace.
    let periodic = world
        .eventually("the first run of periodic-api-dependency-audit", || async {
            let runs = world
                .list(
                    "prow.k8s.io/v1",
                    "ProwJob",
                    "prow",
                    "prow.k8s.io/job=periodic-api-dependency-audit",
                )
                .await;
            runs.into_iter().next()
        })
        .await;
    let name = periodic["metadata"]["name"].as_str().unwrap().to_string();
    let pending = state_of(&world, &name, "pending").await;
    assert_eq!(pending["status"]["description"], "Job triggered.");
    let pod = world.get("v1", "Pod", "test-pods", &name).await.expect("the job's Pod");
    let mounts_copy = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["secret"]["secretName"] == "s3-credentials");
    assert!(mounts_copy, "the decorated Pod mounts the storage Secret: {pod}");

    // The copy follows its source.
    let mut rotated = source.clone();
    rotated["data"]["service-account.json"] = serde_json::json!("eyJyZWdpb24iOiAiZXUtd2VzdC0xIn0=");
    rotated["metadata"] = serde_json::json!({"name": "s3-credentials", "namespace": "prow"});
    world.apply_value(rotated).await;
    world
        .eventually("the copy to follow the rotated Secret", || async {
            let copy = world.get("v1", "Secret", "test-pods", "s3-credentials").await?;
            (copy["data"]["service-account.json"] == "eyJyZWdpb24iOiAiZXUtd2VzdC0xIn0=").then_some(())
        })
        .await;

    // Deleting the instance removes the copy; the namespace it created stays, with its Pod.
    world
        .delete("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await;
    world
        .eventually("the instance and the copy to go", || async {
            let instance = world
                .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
                .await;
            let copy = world.get("v1", "Secret", "test-pods", "s3-credentials").await;
            (instance.is_none() && copy.is_none()).then_some(())
        })
        .await;
    let namespace = world
        .get("v1", "Namespace", "", "test-pods")
        .await
        .expect("test-pods stays");
    assert!(namespace["metadata"]["deletionTimestamp"].is_null());
    assert!(world.get("v1", "Pod", "test-pods", &name).await.is_some());
    let forbidden = forbidden_requests(&world.operator_log());
    assert!(forbidden.is_empty(), "{forbidden:?}");
}

/// Fragments of our CEL rules' messages, which the API server repeats verbatim.
const RULE_MESSAGES: [&str; 6] = [
    "only jenkins jobs may contain '/'",
    "exactly one of cron, interval or minimum_interval",
    "cannot both be set",
    "cannot be combined",
    "must be set together",
    "set exactly one",
];

#[tokio::test]
async fn deleting_the_instance_collects_its_objects_and_its_finalizer_cleans_other_namespaces() {
    let world = installed().await;
    if !world.runs_pods() {
        return; // A cluster of E2E_KUBECONFIG may run other instances.
    }
    let instance = wait_condition(&world, "ProwInstance", "prow", "Ready", "True", None).await;
    assert!(
        instance["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "operator.prow.dev/cleanup")),
        "the instance holds its cleanup finalizer"
    );
    assert!(
        world
            .get("rbac.authorization.k8s.io/v1", "Role", "test-pods", "prow-deck-pods")
            .await
            .is_some()
    );
    if world.real.is_some() {
        let pods = world.list("v1", "Pod", "prow", "app.kubernetes.io/name=deck").await;
        assert!(!pods.is_empty(), "deck's Deployment runs pods (kwok's)");
    }
    world
        .delete("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
        .await;
    world
        .eventually(
            "the instance, its Deployments and its other-namespace Roles to go",
            || async {
                let instance = world
                    .get("operator.prow.dev/v1alpha1", "ProwInstance", "prow", "prow")
                    .await;
                let deck = world.get("apps/v1", "Deployment", "prow", "prow-deck").await;
                let config = world.get("v1", "ConfigMap", "prow", "prow-config").await;
                let role = world
                    .get("rbac.authorization.k8s.io/v1", "Role", "test-pods", "prow-deck-pods")
                    .await;
                (instance.is_none() && deck.is_none() && config.is_none() && role.is_none()).then_some(())
            },
        )
        .await;
    if world.real.is_some() {
        // The garbage collector took the ReplicaSets and Pods too.
        world
            .eventually("the component pods to go", || async {
                world
                    .list("v1", "Pod", "prow", "app.kubernetes.io/name=deck")
                    .await
                    .is_empty()
                    .then_some(())
            })
            .await;
    }
}
