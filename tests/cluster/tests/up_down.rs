//! `cluster up` and `cluster down` (`make cluster-up`, `make cluster-down`) as a developer runs
//! them: the control plane outlives `up`, serves, and `down` leaves no process and no directory.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn up_serves_until_down_which_leaves_no_process_and_no_directory() {
    let binaries = cluster::Binaries::for_tests("`cluster up` is not tried").expect("the real control plane");
    if binaries.is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("prow-operator-cluster-up-{}", std::process::id()));
    let up = Command::new(env!("CARGO_BIN_EXE_cluster"))
        .args(["up", "--dir"])
        .arg(&dir)
        .output()
        .expect("cluster up");
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "cluster up failed: {stderr}");
    let kubeconfig = PathBuf::from(String::from_utf8_lossy(&up.stdout).trim());
    assert!(
        kubeconfig.is_file(),
        "up prints the admin kubeconfig's path: {kubeconfig:?}"
    );
    let pids: Vec<u32> = std::fs::read_to_string(dir.join("pids"))
        .expect("the pids file")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(
        pids.len(),
        5,
        "etcd, kube-apiserver, the controller manager, the scheduler, kwok"
    );
    assert!(pids.iter().all(|p| cluster::process::exists(*p)), "they outlive `up`");

    let nodes = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "nodes,pods", "-A"])
        .output();
    if let Ok(nodes) = nodes {
        let text = String::from_utf8_lossy(&nodes.stdout);
        assert!(nodes.status.success() && text.contains(cluster::NODE_NAME), "{text}");
    }
    let again = Command::new(env!("CARGO_BIN_EXE_cluster"))
        .args(["up", "--dir"])
        .arg(&dir)
        .output()
        .expect("cluster up");
    assert!(
        !again.status.success(),
        "a second `up` in the same directory is refused"
    );

    let down = Command::new(env!("CARGO_BIN_EXE_cluster"))
        .args(["down", "--dir"])
        .arg(&dir)
        .output()
        .expect("cluster down");
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert!(
        pids.iter().all(|p| !cluster::process::exists(*p)),
        "every process stopped"
    );
    assert!(!dir.exists(), "its directory removed");
}
