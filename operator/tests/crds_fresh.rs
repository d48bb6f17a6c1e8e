//! `crds/` is exactly what `prow-operator crds` generates. Run `make crds` after changing a type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds")
}

#[test]
fn crds_directory_is_fresh() {
    let expected = prow_operator::crds::files().expect("CRDs render");
    let dir = crds_dir();
    for (name, text) in &expected {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(on_disk == *text, "crds/{name} is stale or missing: run `make crds`");
    }
    let wanted: BTreeSet<String> = expected.into_iter().map(|(name, _)| name).collect();
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("crds/ exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(present, wanted, "crds/ holds files the generator does not write");
}

#[test]
fn binary_prints_the_crd_files() {
    let output = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .arg("crds")
        .output()
        .expect("binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let concatenated: String = prow_operator::crds::files()
        .unwrap()
        .into_iter()
        .filter(|(name, _)| name != prow_operator::crds::KUSTOMIZATION)
        .map(|(name, _)| std::fs::read_to_string(crds_dir().join(name)).unwrap())
        .collect();
    assert!(
        String::from_utf8(output.stdout).unwrap() == concatenated,
        "`prow-operator crds` differs from crds/*.yaml"
    );
}

#[test]
fn binary_writes_a_crds_directory() {
    let dir = std::env::temp_dir().join(format!("prow-operator-crds-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(["crds", "--log-format", "json", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    // Logs go to standard error, one JSON object per line.
    let logs = String::from_utf8(output.stderr).unwrap();
    assert_eq!(logs.lines().count(), prow_operator::crds::files().unwrap().len());
    for line in logs.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(event["level"], "INFO");
        assert_eq!(event["message"], "wrote");
    }
    for (name, text) in prow_operator::crds::files().unwrap() {
        assert!(
            std::fs::read_to_string(dir.join(&name)).unwrap() == text,
            "{name} differs"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
