//! The synthetic jobs both benchmarks use: shaped and sized like large real configurations (about
//! 2 KB a job, as the 8 MB job config of a 3,800-job Prow): decorated, with branches, change
//! filters, labels, annotations, resources, env and volumes; 70% presubmits, 10% postsubmits,
//! 20% periodics.

use serde_json::{Value, json};

/// The job set (upstream's job-config file shape) of `org/repo-<repo>`, with `count` jobs.
pub fn job_set(repo: usize, count: usize) -> Value {
    let (mut presubmits, mut postsubmits, mut periodics) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..count {
        let mut job = json!({
            "decorate": true,
            "labels": {"preset-service-account": "true"},
            "annotations": {
                "testgrid-dashboards": format!("org-repo-{repo}, sig-testing-presubmits"),
                "testgrid-tab-name": format!("repo-{repo}-{index}"),
                "description": "Runs the conformance tests of one area against a fresh cluster built from the change."
            },
            "decoration_config": {"timeout": "2h", "grace_period": "15m"},
            "spec": {
                "serviceAccountName": "prowjob-default-sa",
                "containers": [{
                    "image": "gcr.io/k8s-staging-test-infra/kubekins-e2e:v20240101-abcdef0123-master",
                    "command": ["runner.sh"],
                    "args": [
                        "./hack/jenkins/test-dockerized.sh",
                        format!("--focus=\\[sig-{}\\].*\\[Conformance\\]", ["node", "network", "storage", "apps"][index % 4]),
                        "--skip=\\[Flaky\\]|\\[Serial\\]|\\[Disruptive\\]",
                        format!("--test-args=--ginkgo.timeout=2h --report-dir=$(ARTIFACTS) --pkg=./pkg/{index}/..."),
                    ],
                    "env": [
                        {"name": "GO111MODULE", "value": "on"},
                        {"name": "GOPROXY", "value": "https://proxy.golang.org"},
                        {"name": "KUBE_GCE_REGION", "value": "us-central1"},
                        {"name": "DOCKER_IN_DOCKER_ENABLED", "value": "true"}
                    ],
                    "securityContext": {"privileged": true},
                    "volumeMounts": [{"name": "cache", "mountPath": "/root/.cache"}],
                    "resources": {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}
                }],
                "volumes": [{"name": "cache", "emptyDir": {}}],
                "nodeSelector": {"cloud.google.com/gke-nodepool": "pool-5"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "e2e", "effect": "NoSchedule"}]
            }
        });
        let extra = match index % 10 {
            0..=6 => json!({
                "name": format!("pull-repo-{repo}-{index}"),
                "run_if_changed": format!("^(pkg/{index}/|go.mod)"),
                "optional": index % 3 == 0,
                "branches": ["^main$", "^release-1\\.\\d+$"],
            }),
            7 => json!({"name": format!("post-repo-{repo}-{index}"), "branches": ["^main$"]}),
            _ => json!({
                "name": format!("ci-repo-{repo}-{index}"),
                "interval": format!("{}h", 1 + index % 24),
                "extra_refs": [{"org": "org", "repo": format!("repo-{repo}"), "base_ref": "main"}],
            }),
        };
        if let (Value::Object(job), Value::Object(extra)) = (&mut job, extra) {
            job.extend(extra);
        }
        match index % 10 {
            0..=6 => presubmits.push(job),
            7 => postsubmits.push(job),
            _ => periodics.push(job),
        }
    }
    json!({
        "presubmits": {format!("org/repo-{repo}"): presubmits},
        "postsubmits": {format!("org/repo-{repo}"): postsubmits},
        "periodics": periodics
    })
}
