//! kwok's configuration: its own stages (copied from its module by `build.sh`) for Nodes and
//! Pods, and ours for job Pods, which end them as [`JobPods`] says.

use crate::JobPods;

/// kwok's own stages, as `build.sh` copies them next to the binaries.
const KWOK_STAGES: [&str; 4] = [
    "node-initialize.yaml",
    "node-heartbeat.yaml",
    "pod-ready.yaml",
    "pod-delete.yaml",
];

/// The label a job (and so its Pod) carries to choose its end under
/// [`JobPods::CompleteAfter`]: `failure` or `hold`; anything else succeeds.
pub const RESULT_LABEL: &str = "kwok.prow.dev/result";

/// The YAML documents of `--config`: kwok's stages from `stages_dir` plus the job-pod stages.
pub fn config(stages_dir: &std::path::Path, job_pods: JobPods) -> Result<String, crate::Error> {
    let mut documents = Vec::new();
    for name in KWOK_STAGES {
        let path = stages_dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|source| crate::Error::Io {
            what: format!("reading kwok's stage {}", path.display()),
            source,
        })?;
        documents.push(text.trim().to_string());
    }
    if let JobPods::CompleteAfter(after) = job_pods {
        let delay = after.as_millis();
        documents.push(job_pod_stage(
            "prow-job-pod-succeed",
            "NotIn",
            &["failure", "hold"],
            delay,
            "Succeeded",
            0,
        ));
        documents.push(job_pod_stage(
            "prow-job-pod-fail",
            "In",
            &["failure"],
            delay,
            "Failed",
            1,
        ));
    }
    Ok(documents.join("\n---\n") + "\n")
}

fn job_pod_stage(name: &str, operator: &str, values: &[&str], delay_ms: u128, phase: &str, exit_code: u8) -> String {
    let values = values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    format!(
        r#"apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: {name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.labels["created-by-prow"]'
      operator: 'In'
      values: ['true']
    - key: '.metadata.labels["{RESULT_LABEL}"]'
      operator: '{operator}'
      values: [{values}]
  delay:
    durationMilliseconds: {delay_ms}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {exit_code}
            finishedAt: {{{{ $now | Quote }}}}
            reason: {reason}
            startedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
      phase: {phase}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_job_pods_get_only_kwoks_own_stages() {
        let dir = std::env::temp_dir().join(format!("stages-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for name in KWOK_STAGES {
            std::fs::write(dir.join(name), format!("kind: Stage\nmetadata:\n  name: {name}\n")).expect("stage");
        }
        let held = config(&dir, JobPods::Held).expect("config");
        assert_eq!(held.matches("kind: Stage").count(), 4);
        let completing = config(&dir, JobPods::CompleteAfter(std::time::Duration::from_millis(1500))).expect("config");
        assert_eq!(completing.matches("kind: Stage").count(), 6);
        assert!(completing.contains("durationMilliseconds: 1500"));
        assert!(completing.contains("exitCode: 1"));
        assert!(completing.contains("{{ range .spec.containers }}"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
