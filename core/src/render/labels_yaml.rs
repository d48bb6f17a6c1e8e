//! `labels.yaml`: the selected LabelSets merged in label_sync's format.

use prow_api::{LabelSet, LabelSetSpec};

/// Merges LabelSets, in the order given: default labels are concatenated, and so are the labels
/// of each repository. Names repeated across LabelSets are the checker's business.
pub fn build(label_sets: &[&LabelSet]) -> LabelSetSpec {
    let mut merged = LabelSetSpec::default();
    for set in label_sets {
        if let Some(default) = &set.spec.default {
            merged
                .default
                .get_or_insert_with(Default::default)
                .labels
                .extend(default.labels.iter().cloned());
        }
        for (repo, labels) in &set.spec.repos {
            merged
                .repos
                .entry(repo.clone())
                .or_default()
                .labels
                .extend(labels.labels.iter().cloned());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn concatenates_default_and_repo_labels() {
        let set = |spec| LabelSet::new("l", serde_json::from_value(spec).unwrap());
        let a = set(json!({"default": {"labels": [{"name": "lgtm"}]}, "repos": {"o/r": {"labels": [{"name": "x"}]}}}));
        let b = set(json!({"default": {"labels": [{"name": "hold"}]}, "repos": {"o/r": {"labels": [{"name": "y"}]}}}));
        let merged = build(&[&a, &b]);
        let names = |labels: &[prow_api::labelset::Label]| labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&merged.default.unwrap().labels), ["lgtm", "hold"]);
        assert_eq!(names(&merged.repos["o/r"].labels), ["x", "y"]);
    }
}
