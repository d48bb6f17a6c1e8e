//! Building ProwJobs from configured jobs, as upstream's `pjutil` does.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use prow_api::embedded::Embedded;
use prow_api::job::{JobBase, Periodic, Postsubmit, Preset, Presubmit, Refs, ReporterConfig};
use prow_api::{ProwJob, ProwJobSpec, ProwJobStatus, ProwJobType};
use serde_json::Value;

use super::job_defaults::JobDefaults;
use super::{presets, quantity};
use crate::ignored;
use crate::job_labels as labels;
use crate::podspec;

/// What a new ProwJob needs besides its job: its identity, the moment it is made, and the
/// instance's presets.
#[derive(Clone, Debug)]
pub struct Creation {
    /// The ProwJob's name (a random UUID).
    pub name: String,
    /// The ProwJob namespace.
    pub namespace: String,
    /// Now.
    pub start_time: Time,
    /// Labels the creator adds (`event-GUID`, `prow.k8s.io/retest`, …).
    pub extra_labels: BTreeMap<String, String>,
    /// config.yaml's `decorate_all_jobs`.
    pub decorate_all_jobs: bool,
    /// `name` is a prefix for the API server to complete (`generateName`).
    pub generate_name: bool,
    /// Every preset of the instance; those that select the job are merged into its pod. Shared:
    /// the trigger makes a `Creation` per ProwJob.
    pub presets: Arc<[Preset]>,
    /// The instance's defaults resolved into every ProwJob (namespace, decoration, tenant).
    pub defaults: Arc<JobDefaults>,
    /// Made for a GitHub event by the trigger (not by hand, as `mkpj` makes them): presubmits
    /// then carry `prow.k8s.io/is-optional`, as upstream's trigger writes it and its `mkpj` does not.
    pub from_event: bool,
}

impl Creation {
    /// Names nothing yet: the ProwJob gets `generateName: <job>-` (for tools that apply nothing).
    pub fn named(mut self, job: &str) -> Self {
        self.name = format!("{}-", job.chars().take(50).collect::<String>().to_lowercase());
        self.generate_name = true;
        self
    }
}

/// The ProwJob of a presubmit, for the pull request in `refs`.
pub fn presubmit(job: &Presubmit, refs: Refs, creation: &Creation) -> ProwJob {
    presubmit_with_pod(job, refs, creation, job_pod(&job.base, &creation.presets))
}

/// [`presubmit`] with the job's `pod` already worked out by [`job_pod`] (with `creation`'s
/// presets), for a caller that makes many ProwJobs of the same jobs.
pub fn presubmit_with_pod(job: &Presubmit, refs: Refs, creation: &Creation, pod: Option<Embedded<PodSpec>>) -> ProwJob {
    let mut spec = base_spec(&job.base, ProwJobType::Presubmit, Some(refs), creation, pod);
    spec.report = Some(!job.skip_report.unwrap_or(false));
    spec.context = Some(job.context().to_string());
    spec.rerun_command = Some(
        job.rerun_command
            .clone()
            .unwrap_or_else(|| format!("/test {}", job.base.name)),
    );
    spec.jenkins_spec = job.jenkins_spec.clone();
    if !creation.from_event {
        return assemble(spec, &job.base, creation);
    }
    let mut creation = creation.clone();
    creation.extra_labels.insert(
        labels::IS_OPTIONAL.to_string(),
        job.optional.unwrap_or(false).to_string(),
    );
    assemble(spec, &job.base, &creation)
}

/// The ProwJob of a postsubmit, for the push in `refs`.
pub fn postsubmit(job: &Postsubmit, refs: Refs, creation: &Creation) -> ProwJob {
    let pod = job_pod(&job.base, &creation.presets);
    let mut spec = base_spec(&job.base, ProwJobType::Postsubmit, Some(refs), creation, pod);
    spec.report = Some(!job.skip_report.unwrap_or(false));
    spec.context = Some(
        job.context
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| job.base.name.clone()),
    );
    spec.jenkins_spec = job.jenkins_spec.clone();
    assemble(spec, &job.base, creation)
}

/// The ProwJob of a periodic.
pub fn periodic(job: &Periodic, creation: &Creation) -> ProwJob {
    let pod = job_pod(&job.base, &creation.presets);
    let mut spec = base_spec(&job.base, ProwJobType::Periodic, None, creation, pod);
    spec.report = Some(true);
    assemble(spec, &job.base, creation)
}

/// The job's pod as its ProwJobs carry it: its `spec` with the `presets` that select it merged in,
/// as upstream reads it, every container named and quantities canonical. It depends only on the
/// job and the presets, so it is the same for every ProwJob of one configuration.
pub fn job_pod(job: &JobBase, presets: &[Preset]) -> Option<Embedded<PodSpec>> {
    job.spec.as_ref().map(|spec| {
        let mut pod = spec.raw();
        presets::apply(presets, job.labels.as_ref(), &mut pod);
        as_upstream_reads(&mut pod);
        with_container_names(&mut pod);
        quantity::canonical_pod_spec(&mut pod);
        Embedded::from_raw(pod)
    })
}

/// The spec fields every job type shares, with the instance's defaults resolved in as upstream
/// resolves them when it loads its configuration: the pod namespace, the decoration settings of a
/// decorated job (matched on its repository, its first extra refs' for periodics, and its
/// cluster), `blobless_fetch` on its refs, and its ProwJob defaults. The job's clone settings go
/// into the primary refs.
fn base_spec(
    job: &JobBase,
    job_type: ProwJobType,
    refs: Option<Refs>,
    creation: &Creation,
    pod_spec: Option<Embedded<PodSpec>>,
) -> ProwJobSpec {
    let refs = refs.map(|mut refs| {
        refs.path_alias = job.path_alias.clone().or(refs.path_alias);
        refs.clone_uri = job.clone_uri.clone().or(refs.clone_uri);
        refs.skip_submodules = job.skip_submodules.or(refs.skip_submodules);
        refs.clone_depth = job.clone_depth.or(refs.clone_depth);
        refs.skip_fetch_head = job.skip_fetch_head.or(refs.skip_fetch_head);
        refs
    });
    let mut spec = ProwJobSpec {
        job_type,
        agent: Some(job.agent().to_string()),
        cluster: Some(job.cluster().to_string()),
        namespace: creation.defaults.namespace(job.namespace.as_deref()),
        job: job.name.clone(),
        refs,
        extra_refs: job.extra_refs.clone(),
        report: None,
        context: None,
        rerun_command: None,
        max_concurrency: job.max_concurrency,
        error_on_eviction: job.error_on_eviction,
        pod_spec,
        jenkins_spec: None,
        pipeline_run_spec: job.pipeline_run_spec.clone(),
        tekton_pipeline_run_spec: job.tekton_pipeline_run_spec.clone(),
        decoration_config: None,
        reporter_config: job.reporter_config.clone().map(with_slack_report),
        rerun_auth_config: job.rerun_auth_config.clone(),
        hidden: job.hidden,
        prowjob_defaults: None,
        job_queue_name: job.job_queue_name.clone(),
    };
    let (repo, cluster) = podspec::job_scope(&spec);
    let decorated = job.decorate.unwrap_or(creation.decorate_all_jobs);
    spec.decoration_config = if decorated {
        Some(
            creation
                .defaults
                .decoration(&repo, &cluster, job.decoration_config.as_ref()),
        )
    } else {
        job.decoration_config.clone()
    };
    if let Some(blobless) = spec.decoration_config.as_ref().map(|d| d.blobless_fetch) {
        let all_refs = spec.refs.iter_mut().chain(spec.extra_refs.iter_mut().flatten());
        for refs in all_refs {
            refs.blobless_fetch = refs.blobless_fetch.or(blobless);
        }
    }
    spec.prowjob_defaults = Some(
        creation
            .defaults
            .prowjob_defaults(&repo, &cluster, job.prowjob_defaults.as_ref()),
    );
    spec
}

/// Slack reporting says whether it reports, as upstream writes it: not when
/// `job_states_to_report` is an empty list, else yes.
fn with_slack_report(mut config: ReporterConfig) -> ReporterConfig {
    if let Some(slack) = config.slack.as_mut() {
        let none = slack.job_states_to_report.as_ref().is_some_and(Vec::is_empty);
        slack.report = Some(!none);
    }
    config
}

/// Gives every container a `name`, empty when the job has none, as upstream writes a ProwJob: Go
/// always serialises `Container.Name`, and upstream's ProwJob CRD requires the key (a real API
/// server refused our ProwJobs of single-container jobs without it). The pod builder names such
/// a container `test`, as upstream's does.
fn with_container_names(pod: &mut serde_json::Value) {
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let containers = pod.get_mut(list).and_then(serde_json::Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            if let Some(container) = container.as_object_mut() {
                container
                    .entry("name")
                    .or_insert_with(|| serde_json::Value::String(String::new()));
            }
        }
    }
}

fn assemble(spec: ProwJobSpec, job: &JobBase, creation: &Creation) -> ProwJob {
    let (labels, annotations) = labels::metadata(
        &spec,
        &creation.extra_labels,
        job.labels.as_ref(),
        job.annotations.as_ref(),
    );
    ProwJob {
        metadata: ObjectMeta {
            name: (!creation.generate_name).then(|| creation.name.clone()),
            generate_name: creation.generate_name.then(|| creation.name.clone()),
            namespace: Some(creation.namespace.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec,
        status: Some(ProwJobStatus::triggered(Some(creation.start_time.clone()))),
    }
}

/// A ProwJob name that is a UUID derived from `parts` (such as the webhook delivery and the job
/// name): a redelivered event, or a retry after a restart, names the same ProwJob, so the API
/// server's "already exists" makes creation idempotent. The UUID is version 8 (RFC 9562's
/// custom version): the first 16 bytes of the SHA-256 of the parts, with the version and variant
/// bits set.
pub fn uuid_name(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Rewrites the pod as upstream reads it into its PodSpec: scalars in string fields as their text
/// (`0` is "0", `true` is "true"; see [`prow_api::yaml::coerce`]), in the job's own values and in
/// its presets' alike, and keys the PodSpec has no field for left out (a container's misplaced
/// `limits`) and keys without a value (`resources:` with nothing under it: Go reads the empty
/// value and writes none), so the ProwJob holds what upstream's holds and its CRD accepts. A pod
/// that does not read as a PodSpec is left as it is: `check` reports it.
fn as_upstream_reads(pod: &mut Value) {
    let mut read = pod.clone();
    let mut dropped = Vec::new();
    let typed = serde_ignored::deserialize(prow_api::yaml::Coercing::new(&mut read), |path| {
        dropped.push(ignored::segments_of(&path));
    });
    let typed: Result<k8s_openapi::api::core::v1::PodSpec, _> = typed;
    if typed.is_ok() {
        for segments in &dropped {
            ignored::remove(&mut read, segments);
        }
        without_nulls(&mut read);
        with_zero_divisors(&mut read);
        *pod = read;
    }
}

/// Gives every `resourceFieldRef` without a `divisor` the `"0"` Go writes for it: the divisor is a
/// Quantity held by value, whose zero value `omitempty` does not leave out.
fn with_zero_divisors(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(reference)) = map.get_mut("resourceFieldRef") {
                reference.entry("divisor").or_insert_with(|| Value::String("0".into()));
            }
            map.values_mut().for_each(with_zero_divisors);
        }
        Value::Array(items) => items.iter_mut().for_each(with_zero_divisors),
        _ => {}
    }
}

/// Removes the members whose value is `null`, at any depth.
fn without_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(without_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(without_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prow_api::ProwJobState;
    use prow_api::job::Pull;
    use serde_json::json;

    fn creation() -> Creation {
        Creation {
            name: "0b1c".into(),
            namespace: "prow".into(),
            start_time: Time("2026-11-24T00:00:00Z".parse().unwrap()),
            extra_labels: BTreeMap::from([(labels::EVENT_GUID.to_string(), "guid-1".to_string())]),
            decorate_all_jobs: false,
            generate_name: false,
            presets: Arc::default(),
            defaults: Arc::new(JobDefaults::default()),
            from_event: true,
        }
    }

    fn refs() -> Refs {
        Refs {
            org: "org".into(),
            repo: "repo".into(),
            base_ref: Some("release/1.0".into()),
            base_sha: Some("abc".into()),
            pulls: Some(vec![Pull {
                number: 7,
                author: "alice".into(),
                sha: "def".into(),
                ..Pull::default()
            }]),
            ..Refs::default()
        }
    }

    #[test]
    fn uuid_names_are_stable_valid_and_distinct() {
        let a = uuid_name(&["delivery-1", "pull-unit"]);
        assert_eq!(a, uuid_name(&["delivery-1", "pull-unit"]));
        assert_ne!(a, uuid_name(&["delivery-1", "pull-lint"]));
        assert_ne!(uuid_name(&["ab", "c"]), uuid_name(&["a", "bc"]));
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('8'), "version 8: {a}");
        assert!(
            matches!(groups[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
            "variant: {a}"
        );
    }

    #[test]
    fn presubmit_prowjob_has_upstream_spec_labels_and_annotations() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit", "optional": true, "decorate": true, "path_alias": "k8s.io/repo",
            "labels": {"team": "ci"}, "annotations": {"testgrid-dashboards": "ci"},
            "spec": {"containers": [{"image": "golang"}]}
        }))
        .unwrap();
        let pj = presubmit(&job, refs(), &creation());
        assert_eq!(pj.spec.job_type, ProwJobType::Presubmit);
        assert_eq!(pj.spec.context.as_deref(), Some("pull-unit"));
        assert_eq!(pj.spec.rerun_command.as_deref(), Some("/test pull-unit"));
        assert_eq!(pj.spec.report, Some(true));
        assert_eq!(pj.spec.agent.as_deref(), Some("kubernetes"));
        assert_eq!(
            pj.spec.refs.as_ref().unwrap().path_alias.as_deref(),
            Some("k8s.io/repo")
        );
        assert!(pj.spec.decoration_config.is_some());
        assert_eq!(pj.status.as_ref().unwrap().state, ProwJobState::Triggered);
        let labels = pj.metadata.labels.unwrap();
        for (key, value) in [
            ("created-by-prow", "true"),
            ("prow.k8s.io/type", "presubmit"),
            ("prow.k8s.io/job", "pull-unit"),
            ("prow.k8s.io/context", "pull-unit"),
            ("prow.k8s.io/refs.org", "org"),
            ("prow.k8s.io/refs.repo", "repo"),
            ("prow.k8s.io/refs.base_ref", "1.0"),
            ("prow.k8s.io/refs.pull", "7"),
            ("prow.k8s.io/is-optional", "true"),
            ("event-GUID", "guid-1"),
            ("team", "ci"),
        ] {
            assert_eq!(labels.get(key).map(String::as_str), Some(value), "{key}");
        }
        let annotations = pj.metadata.annotations.unwrap();
        assert_eq!(annotations["prow.k8s.io/job"], "pull-unit");
        assert_eq!(annotations["testgrid-dashboards"], "ci");
    }

    #[test]
    fn every_container_has_a_name_key_as_upstreams_crd_requires() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit",
            "spec": {"containers": [{"image": "golang"}, {"name": "db", "image": "postgres"}],
                     "initContainers": [{"image": "busybox"}]}
        }))
        .unwrap();
        let pj = presubmit(&job, refs(), &creation());
        let pod = pj.spec.pod_spec.unwrap().raw();
        assert_eq!(pod["containers"][0]["name"], "");
        assert_eq!(pod["containers"][1]["name"], "db");
        assert_eq!(pod["initContainers"][0]["name"], "");
    }

    /// Found on cert-manager's configuration by the mkpj oracle: a preset's `value: TRUE` (a YAML
    /// 1.1 boolean) was written into the ProwJob as the boolean true, which upstream's CRD refuses;
    /// upstream reads it into the string field as "true".
    #[test]
    fn scalars_in_string_fields_of_the_pod_are_strings_as_upstream_reads_them() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit",
            "spec": {"containers": [{"image": "golang", "env": [{"name": "N", "value": 0}]}]}
        }))
        .unwrap();
        let mut creation = creation();
        creation.presets =
            serde_json::from_value::<Vec<Preset>>(json!([{"env": [{"name": "GINKGO_NO_COLOR", "value": true}]}]))
                .unwrap()
                .into();
        let pj = presubmit(&job, refs(), &creation);
        let env = &pj.spec.pod_spec.unwrap().raw()["containers"][0]["env"];
        assert_eq!(env[0]["value"], "0");
        assert_eq!(env[1]["value"], "true");
    }

    /// Found on ppc64le-cloud's and kubesphere's configurations by the mkpj oracle: keys a
    /// PodSpec has no field for (a container's `limits`, a misspelt `priviledged`) were kept in
    /// the ProwJob; upstream's Go types drop them.
    #[test]
    fn keys_the_pod_spec_has_no_field_for_are_left_out() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit",
            "spec": {"containers": [{"image": "golang", "limits": {"cpu": "1"},
                                     "securityContext": {"priviledged": true, "privileged": true}}]}
        }))
        .unwrap();
        let pj = presubmit(&job, refs(), &creation());
        let container = &pj.spec.pod_spec.unwrap().raw()["containers"][0];
        assert_eq!(
            container,
            &json!({"name": "", "image": "golang", "securityContext": {"privileged": true}})
        );
    }

    /// Found on ppc64le-cloud's configuration by the mkpj oracle's CRD check: a `resources:` with
    /// nothing under it (the keys below it misindented) was kept as `null`, which upstream's CRD
    /// refuses; Go reads it as the empty value and writes none.
    #[test]
    fn a_key_without_a_value_is_left_out_as_go_reads_it() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit",
            "spec": {"containers": [{"image": "golang", "resources": null, "env": [{"name": "A", "value": null}]}],
                     "nodeSelector": null}
        }))
        .unwrap();
        let pj = presubmit(&job, refs(), &creation());
        assert_eq!(
            pj.spec.pod_spec.unwrap().raw(),
            json!({"containers": [{"name": "", "image": "golang", "env": [{"name": "A"}]}]})
        );
    }

    /// Found on kubernetes' pull-container-object-storage-interface-e2e by the mkpj oracle: an env
    /// var from a `resourceFieldRef` without a divisor; upstream's ProwJob holds `divisor: "0"`.
    #[test]
    fn a_resource_field_ref_gets_the_zero_divisor_go_writes() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit",
            "spec": {"containers": [{"image": "golang", "env": [{"name": "GOMAXPROCS",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}]}
        }))
        .unwrap();
        let pj = presubmit(&job, refs(), &creation());
        assert_eq!(
            pj.spec.pod_spec.unwrap().raw()["containers"][0]["env"][0]["valueFrom"],
            json!({"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}})
        );
    }

    fn instance_defaults() -> Arc<JobDefaults> {
        Arc::new(JobDefaults {
            pod_namespace: Some("test-pods".into()),
            decoration: serde_json::from_value(json!([
                {"config": {"timeout": "2h", "grace_period": "15s", "blobless_fetch": true,
                            "gcs_configuration": {"bucket": "logs", "path_strategy": "explicit"},
                            "utility_images": {"clonerefs": "c", "initupload": "i", "entrypoint": "e", "sidecar": "s"}}},
                {"repo": "org/repo", "config": {"timeout": "30m"}}
            ]))
            .unwrap(),
            prowjob: serde_json::from_value(json!([{"repo": "org", "config": {"tenant_id": "org-tenant"}}])).unwrap(),
        })
    }

    #[test]
    fn prowjobs_carry_the_instances_defaults_as_upstream_resolves_them() {
        let job: Presubmit = serde_json::from_value(json!({
            "name": "pull-unit", "decorate": true,
            "extra_refs": [{"org": "other", "repo": "tools", "base_ref": "main"}],
            "reporter_config": {"slack": {"channel": "ci"}},
            "spec": {"containers": [{"image": "golang", "resources": {"requests": {"cpu": 0.5, "memory": "1024Mi"}, "limits": {"cpu": 4}}}]}
        }))
        .unwrap();
        let creation = Creation {
            defaults: instance_defaults(),
            ..creation()
        };
        let pj = presubmit(&job, refs(), &creation);
        assert_eq!(pj.spec.namespace.as_deref(), Some("test-pods"));
        let decoration = pj.spec.decoration_config.as_ref().unwrap();
        assert_eq!(
            decoration.timeout.as_deref(),
            Some("30m0s"),
            "the repo entry, as Go writes it"
        );
        assert_eq!(decoration.grace_period.as_deref(), Some("15s"));
        assert_eq!(
            decoration.gcs_configuration.as_ref().unwrap().bucket.as_deref(),
            Some("logs")
        );
        assert_eq!(
            decoration.utility_images.as_ref().unwrap().sidecar.as_deref(),
            Some("s")
        );
        assert_eq!(pj.spec.refs.as_ref().unwrap().blobless_fetch, Some(true));
        assert_eq!(pj.spec.extra_refs.as_ref().unwrap()[0].blobless_fetch, Some(true));
        let tenant = pj.spec.prowjob_defaults.as_ref().unwrap().tenant_id.as_deref();
        assert_eq!(tenant, Some("org-tenant"));
        let slack = pj.spec.reporter_config.as_ref().unwrap().slack.as_ref().unwrap();
        assert_eq!(slack.report, Some(true));
        let pod = pj.spec.pod_spec.as_ref().unwrap().raw();
        assert_eq!(
            pod["containers"][0]["resources"],
            json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "4"}})
        );

        let undecorated: Periodic = serde_json::from_value(json!({"name": "ci-lint", "interval": "1h"})).unwrap();
        let pj = periodic(&undecorated, &creation);
        assert_eq!(pj.spec.decoration_config, None);
        assert_eq!(
            pj.spec.prowjob_defaults.unwrap().tenant_id.as_deref(),
            Some(super::super::job_defaults::DEFAULT_TENANT_ID)
        );
    }

    #[test]
    fn only_presubmits_made_for_an_event_say_whether_they_are_optional() {
        let job: Presubmit = serde_json::from_value(json!({"name": "pull-unit", "optional": true})).unwrap();
        let by_hand = Creation {
            from_event: false,
            ..creation()
        };
        let labels = presubmit(&job, refs(), &by_hand).metadata.labels.unwrap();
        assert!(
            !labels.contains_key(labels::IS_OPTIONAL),
            "upstream's mkpj writes no is-optional"
        );
        let labels = presubmit(&job, refs(), &creation()).metadata.labels.unwrap();
        assert_eq!(labels[labels::IS_OPTIONAL], "true");
    }

    #[test]
    fn slack_reporting_with_no_states_says_it_does_not_report() {
        let job: Periodic = serde_json::from_value(json!({
            "name": "ci-lint", "interval": "1h", "reporter_config": {"slack": {"channel": "ci", "job_states_to_report": []}}
        }))
        .unwrap();
        let pj = periodic(&job, &creation());
        let slack = pj.spec.reporter_config.unwrap().slack.unwrap();
        assert_eq!(slack.report, Some(false));
    }

    #[test]
    fn long_job_names_keep_their_full_name_in_the_annotation() {
        let name = format!("pull-{}", "x".repeat(70));
        let job: Presubmit = serde_json::from_value(json!({"name": name})).unwrap();
        let pj = presubmit(&job, refs(), &creation());
        assert_eq!(pj.metadata.labels.unwrap()["prow.k8s.io/job"].len(), 63);
        assert_eq!(pj.metadata.annotations.unwrap()["prow.k8s.io/job"], name);
    }

    #[test]
    fn periodics_take_their_repo_labels_from_extra_refs_and_always_report() {
        let job: Periodic = serde_json::from_value(json!({
            "name": "ci-nightly", "interval": "24h", "extra_refs": [{"org": "o", "repo": "r", "base_ref": "main"}]
        }))
        .unwrap();
        let pj = periodic(&job, &creation());
        assert_eq!(pj.spec.report, Some(true));
        assert!(pj.spec.refs.is_none());
        let labels = pj.metadata.labels.unwrap();
        assert_eq!(labels["prow.k8s.io/refs.repo"], "r");
        assert_eq!(labels["prow.k8s.io/context"], "");
    }
}
