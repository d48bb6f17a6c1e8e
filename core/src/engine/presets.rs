//! Presets: env, volumes and volume mounts merged into a job's pod when the job carries every
//! label of the preset (a preset without labels applies to every job), as upstream merges them at
//! load time. The pod is kept as raw JSON, so nothing else in it changes.

use std::collections::BTreeMap;

use prow_api::job::Preset;
use serde_json::Value;

/// Whether `preset` applies to a job with `labels`.
pub fn selects(preset: &Preset, labels: Option<&BTreeMap<String, String>>) -> bool {
    preset
        .labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.and_then(|l| l.get(key)) == Some(value))
}

/// Merges every preset that selects the job into `pod` (a PodSpec): its env and volume mounts
/// into every container, its volumes into the pod. Clashes are `check`'s business.
pub fn apply(presets: &[Preset], labels: Option<&BTreeMap<String, String>>, pod: &mut Value) {
    for preset in presets.iter().filter(|p| selects(p, labels)) {
        if let Some(containers) = pod.get_mut("containers").and_then(Value::as_array_mut) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                extend(container, "env", preset.env.iter().flatten().map(|e| e.raw()));
                extend(
                    container,
                    "volumeMounts",
                    preset.volume_mounts.iter().flatten().map(|m| m.raw()),
                );
            }
        }
        if let Some(pod) = pod.as_object_mut() {
            extend(pod, "volumes", preset.volumes.iter().flatten().map(|v| v.raw()));
        }
    }
}

fn extend(object: &mut serde_json::Map<String, Value>, key: &str, values: impl Iterator<Item = Value>) {
    let values: Vec<Value> = values.collect();
    if values.is_empty() {
        return;
    }
    let list = object.entry(key).or_insert(Value::Null);
    if list.is_null() {
        // `env:` with nothing under it: Go reads an empty list and appends the preset's.
        *list = Value::Array(Vec::new());
    }
    if let Some(list) = list.as_array_mut() {
        list.extend(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found on kubernetes' post-test-infra-test-all by the mkpj oracle: its container's `env:`
    /// has nothing under it, and the preset's variables were not added (upstream adds them).
    #[test]
    fn a_list_without_a_value_takes_the_presets_items() {
        let presets: Vec<Preset> = serde_json::from_value(json!([
            {"labels": {"preset-creds": "true"}, "env": [{"name": "CREDS", "value": "/etc/creds"}],
             "volumes": [{"name": "creds", "emptyDir": {}}]}
        ]))
        .unwrap();
        let labels = BTreeMap::from([("preset-creds".to_string(), "true".to_string())]);
        let mut pod = json!({"containers": [{"image": "golang", "env": null}], "volumes": null});
        apply(&presets, Some(&labels), &mut pod);
        assert_eq!(
            pod,
            json!({"containers": [{"image": "golang", "env": [{"name": "CREDS", "value": "/etc/creds"}]}],
                   "volumes": [{"name": "creds", "emptyDir": {}}]})
        );
    }

    #[test]
    fn merges_selected_presets_only() {
        let presets: Vec<Preset> = serde_json::from_value(json!([
            {"labels": {"preset-creds": "true"}, "env": [{"name": "CREDS", "value": "/etc/creds"}],
             "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}],
             "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]},
            {"labels": {"preset-other": "true"}, "env": [{"name": "OTHER", "value": "1"}]},
            {"env": [{"name": "EVERYONE", "value": "yes"}]}
        ]))
        .unwrap();
        let labels = BTreeMap::from([("preset-creds".to_string(), "true".to_string())]);
        let mut pod = json!({"containers": [{"name": "test", "env": [{"name": "OWN", "value": "x"}]}]});
        apply(&presets, Some(&labels), &mut pod);
        let env: Vec<&str> = pod["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(env, ["OWN", "CREDS", "EVERYONE"]);
        assert_eq!(pod["containers"][0]["volumeMounts"][0]["mountPath"], "/etc/creds");
        assert_eq!(pod["volumes"][0]["name"], "creds");
        let mut unlabeled = json!({"containers": [{"name": "test"}]});
        apply(&presets, None, &mut unlabeled);
        assert_eq!(
            unlabeled["containers"][0]["env"],
            json!([{"name": "EVERYONE", "value": "yes"}])
        );
    }
}
