//! Installing Prow from the samples, and living with it: edits, breakage, deletions, missing
//! Secrets and API faults.

use serde_json::{Value, json};

use crate::harness::{World, condition, http_get, logged_address, repo};

const OPERATOR: &str = "operator.prow.dev/v1alpha1";

/// The Secrets the sample ProwInstance names (`tests/e2e/sample-secrets.yaml`, which the live
/// benchmarks install too).
pub fn sample_secrets() -> Vec<Value> {
    let path = repo().join("tests/e2e/sample-secrets.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    prow_api::yaml::load_documents(&text).expect("YAML").values
}

async fn apply_samples(world: &World) {
    for name in [
        "prowinstance.yaml",
        "jobconfig-api.yaml",
        "jobconfig-website.yaml",
        "pluginconfig.yaml",
        "labelset.yaml",
    ] {
        world.apply_file(&repo().join("config/samples").join(name)).await;
    }
}

/// Waits until `kind/name` in `prow` has the condition `type_` with `status` (and, when given,
/// `reason`); returns the object.
pub async fn wait_condition(
    world: &World,
    kind: &str,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> Value {
    world
        .eventually(&format!("{kind} prow/{name} {type_}={status} {reason:?}"), || async {
            let object = world.get(OPERATOR, kind, "prow", name).await?;
            let generation = object["metadata"]["generation"].clone();
            let (actual, actual_reason, _) = condition(&object, type_)?;
            let current = object["status"]["observedGeneration"] == generation;
            (current && actual == status && reason.is_none_or(|r| r == actual_reason)).then_some(object)
        })
        .await
}

/// Waits until the instance is applied and not stalled. Where Pods come up (the fake, whose
/// Deployments the scenario marks available, and our real control plane, where the Deployment
/// controller and kwok make them available) that means Ready; on a cluster of `E2E_KUBECONFIG`
/// the component pods may not come up (the sample Secrets are fakes), so it means not Stalled.
pub async fn wait_applied(world: &World) -> Value {
    if world.runs_pods() {
        wait_condition(world, "ProwInstance", "prow", "Ready", "True", Some("Reconciled")).await
    } else {
        wait_condition(world, "ProwInstance", "prow", "Stalled", "False", None).await
    }
}

/// A started world with the samples, their Secrets, the operator and (on the fake) a played
/// Deployment controller, converged to Ready.
pub async fn installed() -> World {
    installed_in(World::start().await).await
}

/// [`installed`] on testkit: for the scenarios that inject faults or read the audit log.
pub async fn installed_on_fake() -> World {
    installed_in(World::start_fake().await).await
}

/// The samples installed into `world`, its operator started, converged.
pub async fn installed_in(mut world: World) -> World {
    for secret in sample_secrets() {
        world.apply_value(secret).await;
    }
    apply_samples(&world).await;
    world.play_deployment_controller("prow");
    world.start_operator();
    wait_applied(&world).await;
    world
}

fn job_config_data(world_map: &Value) -> String {
    world_map["data"]
        .as_object()
        .map(|d| d.values().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

#[tokio::test]
async fn the_samples_render_every_object_and_the_instance_becomes_ready() {
    let world = installed().await;
    let expected_text = std::process::Command::new(env!("CARGO_BIN_EXE_prow-operator"))
        .args(["render", "-f"])
        .arg(repo().join("config/samples"))
        .output()
        .expect("render");
    let rendered =
        prow_api::yaml::load_documents(&String::from_utf8_lossy(&expected_text.stdout)).expect("render output");
    for object in &rendered.values {
        let kind = object["kind"].as_str().unwrap();
        let name = object["metadata"]["name"].as_str().unwrap();
        let namespace = object["metadata"]["namespace"].as_str().unwrap();
        let live = world
            .get(object["apiVersion"].as_str().unwrap(), kind, namespace, name)
            .await
            .unwrap_or_else(|| panic!("{kind} {namespace}/{name} was not applied"));
        if kind == "ConfigMap" {
            assert_eq!(live["data"], object["data"], "{name} data");
        }
        assert_eq!(live["metadata"]["labels"]["operator.prow.dev/instance"], "prow");
        let owners = live["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if namespace == "prow" {
            assert_eq!(owners.len(), 1, "{kind} {name} has an owner reference");
            assert_eq!(owners[0]["kind"], "ProwInstance");
        } else {
            assert!(owners.is_empty(), "no cross-namespace owner reference on {kind} {name}");
        }
    }
    let instance = world.get(OPERATOR, "ProwInstance", "prow", "prow").await.unwrap();
    let status = &instance["status"];
    assert_eq!(status["components"].as_array().unwrap().len(), 4);
    assert!(
        status["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ready"] == true)
    );
    assert!(status["configHash"].as_str().is_some_and(|h| h.len() == 64));
    assert_eq!(status["selected"]["jobConfigs"].as_array().unwrap().len(), 2);
    assert!(status["jobs"]["presubmits"].as_i64().unwrap() > 0);
    assert_eq!(condition(&instance, "Stalled").unwrap().0, "False");
    for name in ["api", "website"] {
        let config = wait_condition(&world, "JobConfig", name, "Ready", "True", Some("Accepted")).await;
        assert!(config["status"]["jobs"].is_object());
    }
    wait_condition(&world, "PluginConfig", "example-org", "Ready", "True", Some("Accepted")).await;
    wait_condition(&world, "LabelSet", "example-org", "Ready", "True", Some("Accepted")).await;
}

#[tokio::test]
async fn a_broken_job_config_stalls_alone_and_its_last_good_version_stays() {
    let world = installed().await;
    let before = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await.unwrap();
    let before_text = job_config_data(&before);
    assert!(before_text.contains("website"));

    // Break the website JobConfig: a periodic-free presubmit with a bad regex in run_if_changed.
    let mut website = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/jobconfig-website.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    let good = website.clone();
    let presubmits = website["spec"]["presubmits"].as_object_mut().unwrap();
    let first_repo = presubmits.keys().next().unwrap().clone();
    let job = &mut presubmits[&first_repo][0];
    job["always_run"] = json!(false);
    job["run_if_changed"] = json!("([unclosed");
    world.apply_value(website).await;

    let stalled = wait_condition(&world, "JobConfig", "website", "Stalled", "True", Some("Rejected")).await;
    let findings = stalled["status"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["path"].as_str().unwrap().contains("run_if_changed")),
        "{findings:?}"
    );
    assert!(condition(&stalled, "Ready").unwrap().2.contains("stays in effect"));
    // The last good version stays in effect, the other JobConfig is untouched.
    let after = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await.unwrap();
    assert_eq!(job_config_data(&after), before_text);
    wait_condition(&world, "JobConfig", "api", "Ready", "True", Some("Accepted")).await;
    if world.runs_pods() {
        let instance = wait_condition(&world, "ProwInstance", "prow", "Ready", "True", None).await;
        assert!(condition(&instance, "Ready").unwrap().2.contains("1 rejected"));
    }

    // Fixing it brings it back.
    world.apply_value(good).await;
    wait_condition(&world, "JobConfig", "website", "Ready", "True", Some("Accepted")).await;
}

#[tokio::test]
async fn a_job_too_large_for_a_config_map_is_refused_alone_and_its_last_good_version_stays() {
    // One job of 1.2 MB cannot be in any job-config ConfigMap (1 MiB), however its JobConfig is
    // split: that JobConfig is refused alone, the instance stays Ready with everything else.
    let world = installed().await;
    let before = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await.unwrap();
    let before_text = job_config_data(&before);
    assert!(before_text.contains("pull-website-lint"));
    let accepted = wait_condition(&world, "JobConfig", "website", "Ready", "True", Some("Accepted")).await;
    let accepted_generation = accepted["metadata"]["generation"].clone();

    let mut website = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/jobconfig-website.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    let presubmits = website["spec"]["presubmits"].as_object_mut().unwrap();
    let first_repo = presubmits.keys().next().unwrap().clone();
    presubmits[&first_repo][0]["spec"]["containers"][0]["args"] = json!(["x".repeat(1_200_000)]);
    world.apply_value(website).await;

    let refused = wait_condition(&world, "JobConfig", "website", "Ready", "False", Some("TooLarge")).await;
    let (_, _, message) = condition(&refused, "Ready").unwrap();
    assert!(
        message.contains("pull-website-lint") && message.contains("1,032,192 bytes"),
        "{message}"
    );
    assert!(message.contains("stays in effect"), "{message}");
    assert_eq!(refused["status"]["acceptedGeneration"], accepted_generation);
    // Its last good version stays in the ConfigMaps; the other JobConfig and the instance are
    // untouched.
    let after = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await.unwrap();
    assert_eq!(job_config_data(&after), before_text);
    wait_condition(&world, "JobConfig", "api", "Ready", "True", Some("Accepted")).await;
    let instance = wait_applied(&world).await;
    assert_eq!(condition(&instance, "Stalled").unwrap().0, "False");
}

#[tokio::test]
async fn editing_a_job_config_changes_the_config_map_and_only_its_readers() {
    let world = installed().await;
    let hash = |d: &Value| d["spec"]["template"]["metadata"]["annotations"]["operator.prow.dev/config-hash"].clone();
    let mut before = std::collections::BTreeMap::new();
    for component in ["deck", "hook", "tide", "crier"] {
        let deployment = world
            .get("apps/v1", "Deployment", "prow", &format!("prow-{component}"))
            .await
            .unwrap();
        before.insert(component, hash(&deployment));
    }
    let mut api = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/jobconfig-api.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    let presubmits = api["spec"]["presubmits"].as_object_mut().unwrap();
    let first_repo = presubmits.keys().next().unwrap().clone();
    let mut extra = presubmits[&first_repo][0].clone();
    extra["name"] = json!("an-added-job");
    extra["context"] = json!("an-added-job");
    presubmits[&first_repo].as_array_mut().unwrap().push(extra);
    world.apply_value(api).await;

    world
        .eventually("the job config to hold the new job", || async {
            let map = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await?;
            job_config_data(&map).contains("an-added-job").then_some(())
        })
        .await;
    // deck, hook, tide and crier all read the job config in upstream's starter; whatever reads it
    // must change (the Deployments are applied one after another, so wait for all of them), and
    // nothing that does not read it.
    let mounts_job_config = |deployment: &Value| {
        deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| {
                v["configMap"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("prow-job-config"))
            })
    };
    let (readers, others) = world
        .eventually("every job-config reader to roll", || async {
            let (mut readers, mut others) = (Vec::new(), Vec::new());
            for (component, old) in &before {
                let deployment = world
                    .get("apps/v1", "Deployment", "prow", &format!("prow-{component}"))
                    .await?;
                let changed = hash(&deployment) != *old;
                if mounts_job_config(&deployment) {
                    if !changed {
                        return None;
                    }
                    readers.push(*component);
                } else {
                    others.push((*component, changed));
                }
            }
            Some((readers, others))
        })
        .await;
    assert!(!readers.is_empty(), "no Deployment reads the job config");
    for (component, changed) in others {
        assert!(
            !changed,
            "{component} does not read the job config, yet its pod template changed"
        );
    }
    let config = wait_condition(&world, "JobConfig", "api", "Ready", "True", Some("Accepted")).await;
    assert!(config["status"]["acceptedGeneration"].as_i64().unwrap() >= 2);
}

#[tokio::test]
async fn deleting_a_job_config_drops_its_jobs() {
    let world = installed().await;
    let map = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await.unwrap();
    assert!(map["data"].get("prow_website.yaml").is_some());
    world.delete(OPERATOR, "JobConfig", "prow", "website").await;
    world
        .eventually("the website jobs to leave the job config", || async {
            let map = world.get("v1", "ConfigMap", "prow", "prow-job-config-0").await?;
            map["data"].get("prow_website.yaml").is_none().then_some(())
        })
        .await;
    let instance = world
        .eventually("the instance to count one JobConfig", || async {
            let instance = world.get(OPERATOR, "ProwInstance", "prow", "prow").await?;
            (instance["status"]["selected"]["jobConfigs"].as_array()?.len() == 1).then_some(instance)
        })
        .await;
    assert_eq!(instance["status"]["selected"]["jobConfigs"][0]["name"], "api");
}

#[tokio::test]
async fn a_missing_secret_stalls_and_creating_it_recovers() {
    let mut world = World::start().await;
    for secret in sample_secrets() {
        if secret["metadata"]["name"] != "hmac-token" {
            world.apply_value(secret).await;
        }
    }
    apply_samples(&world).await;
    world.play_deployment_controller("prow");
    world.start_operator();
    let stalled = wait_condition(&world, "ProwInstance", "prow", "Stalled", "True", Some("SecretMissing")).await;
    let message = condition(&stalled, "Stalled").unwrap().2;
    assert!(message.contains("prow/hmac-token"), "{message}");
    assert!(message.contains("\"hmac\""), "{message}");
    assert_one_sentence(&message);
    // The rest is applied regardless.
    assert!(world.get("v1", "ConfigMap", "prow", "prow-config").await.is_some());
    wait_counted(&world, "SecretMissing").await;

    let hmac = sample_secrets()
        .into_iter()
        .find(|s| s["metadata"]["name"] == "hmac-token")
        .unwrap();
    world.apply_value(hmac).await;
    wait_applied(&world).await;
    let events = world.list("events.k8s.io/v1", "Event", "prow", "").await;
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(reasons.contains(&"SecretMissing"), "{reasons:?}");
    assert!(reasons.contains(&"Recovered"), "{reasons:?}");
    let recovered = events.iter().find(|e| e["reason"] == "Recovered").unwrap();
    let note = recovered["note"].as_str().unwrap_or_default();
    assert!(note.starts_with("SecretMissing resolved; "), "{note}");
}

/// Fails unless `message` is one human sentence: one line, bounded, no Rust debug output.
fn assert_one_sentence(message: &str) {
    for debug in ["Status {", "Some(", "ApiError", "ListMeta"] {
        assert!(!message.contains(debug), "debug output ({debug}) in: {message}");
    }
    assert!(!message.contains('\n'), "{message}");
    assert!(message.len() < 1024, "{} bytes: {message}", message.len());
}

/// Waits until `/metrics` counts a ProwInstance reconcile as an error with `reason`.
async fn wait_counted(world: &World, reason: &str) {
    let metrics = logged_address(&world.operator_log(), "metrics_address");
    let errors = format!("prow_operator_reconcile_errors_total{{kind=\"ProwInstance\",reason=\"{reason}\"}}");
    let failed = "prow_operator_reconciles_total{kind=\"ProwInstance\",result=\"error\"}";
    world
        .eventually(&format!("/metrics to count {reason}"), || async {
            let (_, text) = http_get(&metrics, "/metrics").await;
            (text.contains(&errors) && text.contains(failed)).then_some(())
        })
        .await;
}

/// The operator's Events on the instance with `reason`, as (name, note, series count).
async fn events_of(world: &World, reason: &str) -> Vec<(String, String, i64)> {
    let mut events: Vec<(String, String, i64)> = world
        .list("events.k8s.io/v1", "Event", "prow", "")
        .await
        .iter()
        .filter(|e| e["reason"] == reason && e["regarding"]["kind"] == "ProwInstance")
        .map(|e| {
            (
                e["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                e["note"].as_str().unwrap_or_default().to_string(),
                e["series"]["count"].as_i64().unwrap_or(1),
            )
        })
        .collect();
    events.sort();
    events
}

/// The pod template of every Deployment in `prow`, by name.
async fn pod_templates(world: &World) -> std::collections::BTreeMap<String, Value> {
    world
        .list("apps/v1", "Deployment", "prow", "")
        .await
        .into_iter()
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                d["spec"]["template"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deleting_a_mounted_secret_rolls_nothing_and_counts_as_an_error() {
    let world = installed().await;
    let before = pod_templates(&world).await;
    assert!(before.contains_key("prow-crier"), "{:?}", before.keys());
    // crier mounts the Slack token.
    world.delete("v1", "Secret", "prow", "slack-token").await;
    let stalled = wait_condition(&world, "ProwInstance", "prow", "Stalled", "True", Some("SecretMissing")).await;
    // Give a wrong roll time to show.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        pod_templates(&world).await,
        before,
        "no Deployment rolls onto a missing Secret"
    );
    let message = condition(&stalled, "Stalled").unwrap().2;
    assert!(message.contains("prow/slack-token"), "{message}");
    assert_one_sentence(&message);
    wait_counted(&world, "SecretMissing").await;

    let slack = sample_secrets()
        .into_iter()
        .find(|s| s["metadata"]["name"] == "slack-token")
        .unwrap();
    world.apply_value(slack).await;
    wait_applied(&world).await;
    // The same content is back: still nothing to roll.
    assert_eq!(pod_templates(&world).await, before);
}

#[tokio::test]
async fn an_object_the_api_server_refuses_is_named_in_one_sentence() {
    let mut world = World::start().await;
    for secret in sample_secrets() {
        world.apply_value(secret).await;
    }
    // Someone else already manages the labels ConfigMap's data: the operator's apply conflicts.
    world
        .apply_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "prow-labels", "namespace": "prow"},
            "data": {"labels.yaml": "default: {}\n"}
        }))
        .await;
    apply_samples(&world).await;
    world.play_deployment_controller("prow");
    world.start_operator();
    let stalled = wait_condition(&world, "ProwInstance", "prow", "Stalled", "True", Some("ApplyRefused")).await;
    let message = condition(&stalled, "Stalled").unwrap().2;
    assert!(
        message.starts_with("applying ConfigMap prow/prow-labels: Apply failed with 1 conflict"),
        "{message}"
    );
    assert_one_sentence(&message);
    wait_counted(&world, "ApplyRefused").await;
    let refused = events_of(&world, "ApplyRefused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_one_sentence(&refused[0].1);
}

#[tokio::test]
async fn a_restart_records_no_applied_event_and_an_edit_records_what_changed() {
    let mut world = installed().await;
    let applied = world
        .eventually("an Applied Event", || async {
            let events = events_of(&world, "Applied").await;
            (!events.is_empty()).then_some(events)
        })
        .await;
    assert!(world.stop_operator().await, "a clean stop\n{}", world.operator_log());
    world.start_operator();
    world
        .eventually("the restarted operator to reconcile", || async {
            world.operator_log().contains("reconciled").then_some(())
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        events_of(&world, "Applied").await,
        applied,
        "a restart that changes nothing records no Applied Event\n{}",
        world.operator_log()
    );
    assert!(
        applied
            .iter()
            .any(|(_, note, _)| note.contains("created ConfigMap prow/prow-config")),
        "{applied:?}"
    );

    // An edit: one new Event saying what changed; the earlier ones keep their notes.
    let mut api = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/jobconfig-api.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    let periodics = api["spec"]["periodics"].as_array_mut().expect("periodics");
    let mut extra = periodics[0].clone();
    extra["name"] = json!("an-added-periodic");
    periodics.push(extra);
    world.apply_value(api).await;
    let after = world
        .eventually("an Applied Event naming the job config", || async {
            let events = events_of(&world, "Applied").await;
            events
                .iter()
                .any(|(_, note, _)| note.contains("updated ConfigMap prow/prow-job-config-0"))
                .then_some(events)
        })
        .await;
    for earlier in &applied {
        assert!(after.contains(earlier), "{earlier:?} unchanged in {after:?}");
    }
    for (_, note, _) in &after {
        assert_one_sentence(note);
    }
}

#[tokio::test]
async fn health_and_metrics_are_served_and_sigterm_stops_cleanly() {
    let mut world = installed().await;
    let log = world.operator_log();
    let health = logged_address(&log, "health_address");
    let metrics = logged_address(&log, "metrics_address");
    assert_eq!(http_get(&health, "/healthz").await.0, 200);
    assert_eq!(http_get(&health, "/readyz").await.0, 200);
    let (code, text) = http_get(&metrics, "/metrics").await;
    assert_eq!(code, 200);
    for series in [
        "prow_operator_reconciles_total{kind=\"ProwInstance\",result=\"success\"}",
        "prow_operator_queue_depth",
        "prow_operator_reconcile_duration_seconds_bucket",
        "prow_operator_apply_duration_seconds_count{kind=\"ConfigMap\"}",
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
    assert_eq!(
        http_get(&metrics, "/healthz").await.0,
        404,
        "each port serves its own endpoints"
    );
    assert!(
        world.stop_operator().await,
        "exit status after SIGTERM\n{}",
        world.operator_log()
    );
}

#[tokio::test]
async fn job_configs_in_other_namespaces_follow_the_namespace_selector() {
    let world = installed().await;
    let namespace = |name: &str, labelled: bool| {
        let labels = if labelled {
            json!({"prow.example.com/jobs": "true"})
        } else {
            json!({})
        };
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    };
    for name in ["prow", "team-a"] {
        world.apply_value(namespace(name, true)).await;
    }
    let mut instance = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/prowinstance.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    instance["spec"]["jobConfigNamespaceSelector"] = json!({"matchLabels": {"prow.example.com/jobs": "true"}});
    world.apply_value(instance).await;
    let mut team = prow_api::yaml::load_documents(
        &std::fs::read_to_string(repo().join("config/samples/jobconfig-api.yaml")).unwrap(),
    )
    .unwrap()
    .values
    .remove(0);
    team["metadata"] = json!({"name": "team-jobs", "namespace": "team-a"});
    let presubmits = team["spec"]["presubmits"].as_object_mut().unwrap();
    for jobs in presubmits.values_mut() {
        for job in jobs.as_array_mut().unwrap() {
            let name = format!("team-{}", job["name"].as_str().unwrap());
            job["name"] = json!(name.clone());
            job["context"] = json!(name);
        }
    }
    team["spec"].as_object_mut().unwrap().remove("postsubmits");
    team["spec"].as_object_mut().unwrap().remove("periodics");
    world.apply_value(team).await;
    let has_team_file = |present: bool| {
        let world = &world;
        async move {
            let maps = world
                .list("v1", "ConfigMap", "prow", "operator.prow.dev/instance=prow")
                .await;
            let found = maps.iter().any(|m| m["data"].get("team-a_team-jobs.yaml").is_some());
            (found == present).then_some(())
        }
    };
    world
        .eventually("the team-a jobs in the job config", || has_team_file(true))
        .await;
    let config = world
        .eventually("the team-a JobConfig to be accepted", || async {
            let config = world.get(OPERATOR, "JobConfig", "team-a", "team-jobs").await?;
            (condition(&config, "Ready")?.1 == "Accepted").then_some(config)
        })
        .await;
    assert!(condition(&config, "Ready").unwrap().2.contains("prow/prow"));

    // Unlabelling the namespace (applying it without the label) drops its jobs, and the
    // JobConfig says why.
    world.apply_value(namespace("team-a", false)).await;
    world
        .eventually("the team-a jobs to leave", || has_team_file(false))
        .await;
    world
        .eventually("the team-a JobConfig to be NotSelected", || async {
            let config = world.get(OPERATOR, "JobConfig", "team-a", "team-jobs").await?;
            (condition(&config, "Stalled")?.1 == "NotSelected").then_some(())
        })
        .await;
}
