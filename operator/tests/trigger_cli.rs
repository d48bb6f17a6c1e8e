//! `prow-operator trigger`: the ProwJobs an event would create, through the binary, on the
//! samples; and every shared webhook payload of the two event types parses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn payload(name: &str, body: serde_json::Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("prow-operator-{}-{name}.json", std::process::id()));
    std::fs::write(&path, body.to_string()).unwrap();
    path
}

fn pull_request(action: &str, base: &str) -> serde_json::Value {
    serde_json::json!({
        "action": action,
        "number": 5,
        "pull_request": {
            "number": 5, "title": "Fix typo", "user": {"login": "alice"}, "draft": false,
            "head": {"ref": "typo", "sha": "abc123"},
            "base": {"ref": base, "sha": "def456", "repo": {"name": "website", "owner": {"login": "example-org"}}}
        },
        "sender": {"login": "alice"}
    })
}

#[test]
fn a_trusted_pull_request_creates_prowjobs_with_upstream_labels() {
    let file = payload("opened", pull_request("opened", "main"));
    let (code, stdout, stderr) = run(&[
        "trigger",
        "-f",
        "config/samples",
        "--event-type",
        "pull_request",
        "--payload",
        file.to_str().unwrap(),
        "--changed-file",
        "src/index.md",
        "--trusted",
        "--explain",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("kind: ProwJob"), "{stdout}");
    assert!(stdout.contains("job: pull-website-lint"), "{stdout}");
    assert!(stdout.contains("prow.k8s.io/refs.pull: \"5\""), "{stdout}");
    assert!(stdout.contains("state: triggered"), "{stdout}");
    assert!(
        stderr.contains("pull-website-lint"),
        "--explain names every job: {stderr}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn an_untrusted_pull_request_creates_nothing_and_says_why() {
    let file = payload("untrusted", pull_request("opened", "main"));
    let (code, stdout, stderr) = run(&[
        "trigger",
        "-f",
        "config/samples",
        "--event-type",
        "pull_request",
        "--payload",
        file.to_str().unwrap(),
        "--explain",
    ]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("kind: ProwJob"));
    assert!(stderr.contains("not trusted"), "{stderr}");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn synchronize_aborts_unfinished_presubmits() {
    let file = payload("sync", pull_request("synchronize", "main"));
    let (_, stdout, _) = run(&[
        "trigger",
        "-f",
        "config/samples",
        "--event-type",
        "pull_request",
        "--payload",
        file.to_str().unwrap(),
        "--trusted",
    ]);
    assert!(
        stdout.contains("# would abort every unfinished presubmit of example-org/website#5"),
        "{stdout}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn a_push_to_main_runs_the_postsubmit() {
    let file = payload(
        "push",
        serde_json::json!({
            "ref": "refs/heads/main", "after": "abc123", "deleted": false,
            "commits": [{"added": [], "removed": [], "modified": ["content/post.md"]}],
            "repository": {"name": "website", "owner": {"login": "example-org", "name": "example-org"}}
        }),
    );
    let (code, stdout, stderr) = run(&[
        "trigger",
        "-f",
        "config/samples",
        "--event-type",
        "push",
        "--payload",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("job: post-website-publish"), "{stdout}");
    assert!(stdout.contains("type: postsubmit"), "{stdout}");
    assert!(
        stdout.contains("name: DEPLOY_TOKEN"),
        "the job's preset is merged into its pod: {stdout}"
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn every_shared_payload_of_the_trigger_events_parses() {
    let shared = workspace().join("../shared");
    let mut seen = 0;
    for (event, dir) in [
        ("pull_request", shared.join("webhooks/pull_request")),
        ("push", shared.join("webhooks/push")),
    ] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let (code, _, stderr) = run(&[
                "trigger",
                "-f",
                "config/samples",
                "--event-type",
                event,
                "--payload",
                entry.path().to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{}: {stderr}", entry.path().display());
            seen += 1;
        }
    }
    for name in ["opened_pr.json", "reopened_pr.json", "push.json"] {
        let path = shared
            .join("corpus/kubernetes-sigs__prow/cmd/phony/examples")
            .join(name);
        let event = if name == "push.json" { "push" } else { "pull_request" };
        let (code, _, stderr) = run(&[
            "trigger",
            "-f",
            "config/samples",
            "--event-type",
            event,
            "--payload",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}: {stderr}");
        seen += 1;
    }
    assert!(seen > 10);
}

/// `trigger --explain` on each real configuration of the corpus, imported into custom resources:
/// a trusted pull request against each repository's first presubmit's branch explains every
/// presubmit of that repository, one line each.
#[test]
fn explain_works_on_the_imported_corpus() {
    let corpus = workspace().join("../shared/corpus");
    let instances = [
        ("gardener__ci-infra", "config/prow/config.yaml", "config/jobs"),
        ("knative__infra", "prow/config.yaml", "prow/jobs"),
        (
            "metal3-io__project-infra",
            "prow/config/config.yaml",
            "prow/config/jobs",
        ),
        (
            "kubernetes-sigs__prow",
            "test/integration/config/prow/config.yaml",
            "test/integration/config/prow/jobs",
        ),
    ];
    for (dir, config, jobs) in instances {
        let output = std::env::temp_dir().join(format!("prow-operator-explain-{}-{dir}", std::process::id()));
        let root = corpus.join(dir);
        let (code, _, stderr) = run(&[
            "import",
            "--config",
            root.join(config).to_str().unwrap(),
            "--job-config",
            root.join(jobs).to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{dir}: import: {stderr}");

        // The repository of the first imported presubmit, and the presubmits it has in all.
        let mut files: Vec<PathBuf> = std::fs::read_dir(output.join("jobconfigs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut repo: Option<(String, String)> = None;
        let mut presubmits = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for document in prow_api::yaml::load_documents(&text).unwrap().values {
                let Some(by_repo) = document["spec"]["presubmits"].as_object() else {
                    continue;
                };
                for (name, jobs) in by_repo {
                    let jobs = jobs.as_array().cloned().unwrap_or_default();
                    if repo.is_none() && !jobs.is_empty() {
                        let branch = jobs[0]["branches"][0].as_str().unwrap_or("main");
                        let branch = branch.trim_start_matches('^').trim_end_matches('$').to_string();
                        repo = Some((name.clone(), branch));
                    }
                    if repo.as_ref().is_some_and(|(r, _)| r == name) {
                        presubmits += jobs.len();
                    }
                }
            }
        }
        let (repo, branch) = repo.unwrap_or_else(|| panic!("{dir}: no presubmits imported"));
        let (org, name) = repo.split_once('/').unwrap();
        let event = pull_request("opened", &branch);
        let mut event = event;
        event["pull_request"]["base"]["repo"] = serde_json::json!({"name": name, "owner": {"login": org}});
        let file = payload(&format!("explain-{dir}"), event);
        let (code, stdout, stderr) = run(&[
            "trigger",
            "-f",
            output.to_str().unwrap(),
            "--event-type",
            "pull_request",
            "--payload",
            file.to_str().unwrap(),
            "--changed-file",
            "README.md",
            "--trusted",
            "--explain",
        ]);
        assert_eq!(code, 0, "{dir}: {stderr}");
        let explained = stderr
            .lines()
            .chain(stdout.lines())
            .filter(|l| l.starts_with("runs ") || l.starts_with("skips "))
            .count();
        assert_eq!(
            explained, presubmits,
            "{dir} ({repo}@{branch}): every presubmit explained:\n{stderr}"
        );
        std::fs::remove_dir_all(&output).unwrap();
        std::fs::remove_file(file).unwrap();
    }
}
