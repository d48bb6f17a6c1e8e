//! An instance's LabelSets as one: their labels merged (upstream's `labels.yaml`), and the
//! repositories where labels no LabelSet names are deleted (`spec.deleteUnlisted`). Pure.
//!
//! The rule for `deleteUnlisted`: a LabelSet *applies to* a repository when it has `default`
//! labels (then it applies to every repository the instance serves) or names the repository in
//! `repos`. Unlisted labels are deleted from a repository only when at least one LabelSet applies
//! to it and every LabelSet that applies to it turns `deleteUnlisted` on: one LabelSet that does
//! not keeps them, as its author expects labels it does not know to be left alone. A label is
//! unlisted when no LabelSet of the instance names it for that repository (its `default` labels
//! and that repository's own, old names and labels waiting for their `deleteAfter` included).

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use prow_api::{LabelSet, LabelSetSpec};

use super::plan::{Desired, PlanError};
use crate::render::labels_yaml;

/// The merged LabelSets of an instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// The labels, merged as upstream's `labels.yaml`.
    pub spec: LabelSetSpec,
    /// Whether every LabelSet with `default` labels opts in (`None`: there is none).
    everywhere: Option<bool>,
    /// Whether every LabelSet naming a repository (lowercase `org/repo`) opts in.
    by_repo: BTreeMap<String, bool>,
}

impl Merged {
    /// `sets`, in the order given.
    pub fn of(sets: &[&LabelSet]) -> Merged {
        let mut merged = Merged {
            spec: labels_yaml::build(sets),
            ..Merged::default()
        };
        for set in sets {
            merged.note_opt_in(&set.spec);
        }
        merged
    }

    fn note_opt_in(&mut self, spec: &LabelSetSpec) {
        let opts_in = spec.delete_unlisted;
        if spec.default.as_ref().is_some_and(|d| !d.labels.is_empty()) {
            self.everywhere = Some(self.everywhere.unwrap_or(true) && opts_in);
        }
        for repo in spec.repos.keys() {
            let all = self.by_repo.entry(repo.to_lowercase()).or_insert(true);
            *all = *all && opts_in;
        }
    }

    /// Whether unlisted labels are deleted from `repo` (`org/repo`).
    pub fn deletes_unlisted(&self, repo: &str) -> bool {
        let own = self.by_repo.get(&repo.to_lowercase()).copied();
        match (self.everywhere, own) {
            (None, None) => false,
            (everywhere, own) => everywhere.unwrap_or(true) && own.unwrap_or(true),
        }
    }

    /// The labels `repo` (`org/repo`) should have at `now`.
    pub fn desired(&self, repo: &str, now: Timestamp) -> Result<Desired, PlanError> {
        Ok(Desired::for_repo(&self.spec, repo, now)?.deleting_unlisted(self.deletes_unlisted(repo)))
    }
}

impl From<LabelSetSpec> for Merged {
    /// One LabelSet's spec alone.
    fn from(spec: LabelSetSpec) -> Merged {
        let mut merged = Merged::default();
        merged.note_opt_in(&spec);
        merged.spec = spec;
        merged
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(name: &str, spec: serde_json::Value) -> LabelSet {
        LabelSet::new(name, serde_json::from_value(spec).unwrap())
    }

    #[test]
    fn unlisted_labels_go_only_where_every_applying_label_set_opts_in() {
        let org_wide = set(
            "org",
            json!({"deleteUnlisted": true, "default": {"labels": [{"name": "lgtm"}]}}),
        );
        let team = set("team", json!({"repos": {"o/api": {"labels": [{"name": "area/api"}]}}}));
        let team_opted = set(
            "team2",
            json!({"deleteUnlisted": true, "repos": {"o/web": {"labels": [{"name": "area/web"}]}}}),
        );
        let merged = Merged::of(&[&org_wide, &team, &team_opted]);
        assert!(merged.deletes_unlisted("o/docs"), "only the org-wide set applies");
        assert!(!merged.deletes_unlisted("O/API"), "team applies to api and keeps them");
        assert!(merged.deletes_unlisted("o/web"), "both sets applying to web opt in");
        let keeper = set("keeper", json!({"default": {"labels": [{"name": "hold"}]}}));
        let merged = Merged::of(&[&org_wide, &keeper, &team_opted]);
        assert!(!merged.deletes_unlisted("o/docs"));
        assert!(!merged.deletes_unlisted("o/web"), "keeper applies everywhere");
        // Only repository sets: where none applies, nothing is deleted.
        let merged = Merged::of(&[&team_opted]);
        assert!(merged.deletes_unlisted("o/web"));
        assert!(!merged.deletes_unlisted("o/docs"));
        assert!(!Merged::of(&[&team, &keeper]).deletes_unlisted("o/api"));
    }
}
