//! The label-sync planner: desired labels (LabelSets) and observed labels (one repository) in,
//! actions out. Pure: no I/O, no clock (the caller passes `now`).
//!
//! The rules are upstream's `label_sync` (`classifyLabels` and `syncLabels`), case by case:
//! - a label without `deleteAfter` is **required**: created when missing, renamed when only its
//!   case differs, updated when its colour or description differs;
//! - a label or old name (`previously`) whose `deleteAfter` has passed is **dead**: deleted where
//!   it exists;
//! - a label whose `deleteAfter` is still ahead is neither created nor updated (its old names are
//!   still renamed or migrated to it, as upstream does);
//! - an old name that is not dead is **archaic**: where it exists, it is renamed to its label when
//!   the label does not exist yet (one PATCH that also sets the label's colour and description),
//!   else **migrated** into it (its issues and pull requests moved, then it is deleted), after
//!   every other action;
//! - labels no LabelSet names are left alone, unless the LabelSets opt in to deleting them
//!   (`deleteUnlisted`, see [`crate::labelsync::merged`]; not in upstream): then they are
//!   deleted, first; a repository whose labels repeat a name ignoring
//!   case is refused (as upstream does), and so is a LabelSet date that is not RFC 3339.
//!
//! Deliberate differences, each to avoid a write that changes nothing or can never succeed:
//! a label without `color` keeps whatever colour GitHub has (upstream would set it to `""` on
//! every run); colours are compared ignoring ASCII case; a description longer than GitHub's 100
//! characters is cut (the checker reports it as an error first).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;
use prow_api::LabelSetSpec;
use prow_api::labelset::{Label, PreviousLabel};

/// GitHub's limit on a label description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 100;

/// A label as a LabelSet wants it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WantedLabel {
    /// The name, in the case wanted.
    pub name: String,
    /// `rrggbb` (or a colour name); `None` keeps GitHub's.
    pub color: Option<String>,
    /// The description (empty when the LabelSet gives none), at most 100 characters.
    pub description: String,
}

/// A label as GitHub has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLabel {
    /// The name.
    pub name: String,
    /// `rrggbb`.
    pub color: String,
    /// The description (empty when GitHub has none).
    pub description: String,
}

/// One change to a repository's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `POST /repos/{org}/{repo}/labels`.
    Create(WantedLabel),
    /// `PATCH /repos/{org}/{repo}/labels/{name}`: colour or description.
    Update(WantedLabel),
    /// `PATCH /repos/{org}/{repo}/labels/{from}` with the new name, colour and description: the
    /// label keeps its issues and pull requests.
    Rename {
        /// The name GitHub has.
        from: String,
        /// What it becomes.
        to: WantedLabel,
    },
    /// Move the open issues and pull requests labelled `from` to `to`, then delete `from`.
    Migrate {
        /// The old label, which GitHub has next to `to`.
        from: String,
        /// The label they move to.
        to: WantedLabel,
    },
    /// `DELETE /repos/{org}/{repo}/labels/{name}`.
    Delete {
        /// The name GitHub has.
        name: String,
    },
}

impl Action {
    /// The verb shown by `labels diff` and counted in status.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Create(_) => "create",
            Self::Update(_) => "update",
            Self::Rename { .. } => "rename",
            Self::Migrate { .. } => "migrate",
            Self::Delete { .. } => "delete",
        }
    }

    /// The action as one `labels diff` line about `repo` (`org/repo`):
    /// `create org/repo label`, `rename org/repo old new`, ...
    pub fn line(&self, repo: &str) -> String {
        let verb = self.verb();
        match self {
            Self::Create(label) | Self::Update(label) => format!("{verb} {repo} {}", label.name),
            Self::Rename { from, to } | Self::Migrate { from, to } => format!("{verb} {repo} {from} {}", to.name),
            Self::Delete { name } => format!("{verb} {repo} {name}"),
        }
    }
}

/// Why no plan could be made for a repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A `deleteAfter` that is not an RFC 3339 time.
    #[error("{path}: deleteAfter {value:?} is not an RFC 3339 time, such as 2025-01-31T00:00:00Z")]
    BadDate {
        /// The field path in the LabelSet.
        path: String,
        /// The value found.
        value: String,
    },
    /// GitHub reports two labels whose names differ only in case.
    #[error(
        "the repository has two labels named {first:?} and {second:?}, which differ only in case: remove one on GitHub"
    )]
    DuplicateObserved {
        /// The first name.
        first: String,
        /// The second name.
        second: String,
    },
}

/// An old name to be renamed or migrated into its current label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Archaic {
    /// The old name.
    name: String,
    /// The label it becomes.
    parent: WantedLabel,
}

/// What one repository should have: upstream's required, archaic and dead labels, keyed by
/// lowercase name. Its `Hash` tells whether what a repository should have changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Desired {
    required: BTreeMap<String, WantedLabel>,
    archaic: BTreeMap<String, Archaic>,
    dead: BTreeSet<String>,
    /// Every name the LabelSets use for the repository, old names and labels waiting for their
    /// `deleteAfter` included.
    named: BTreeSet<String>,
    /// Whether the labels not [`Desired::named`] are deleted.
    delete_unlisted: bool,
}

impl Desired {
    /// The labels `repo` (`org/repo`) should have under the merged LabelSets `spec` at `now`: the
    /// `default` labels, then `repos[repo]`'s (a later definition of the same name wins, as
    /// upstream's maps do).
    pub fn for_repo(spec: &LabelSetSpec, repo: &str, now: Timestamp) -> Result<Self, PlanError> {
        let mut desired = Self::default();
        if let Some(default) = &spec.default {
            desired.classify(&default.labels, "spec.default.labels", now)?;
        }
        if let Some(own) = spec.repos.get(repo) {
            desired.classify(&own.labels, &format!("spec.repos[{repo:?}].labels"), now)?;
        }
        Ok(desired)
    }

    /// Whether nothing is named at all (no required, archaic or dead label, none waiting for its
    /// `deleteAfter`).
    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// This, deleting the labels no LabelSet names when `delete` holds.
    pub fn deleting_unlisted(self, delete: bool) -> Self {
        Self {
            delete_unlisted: delete,
            ..self
        }
    }

    /// The labels to create or keep, in lowercase-name order.
    pub fn required(&self) -> impl Iterator<Item = &WantedLabel> {
        self.required.values()
    }

    fn classify(&mut self, labels: &[Label], path: &str, now: Timestamp) -> Result<(), PlanError> {
        for (index, label) in labels.iter().enumerate() {
            let label_path = format!("{path}[{index}]");
            let wanted = wanted(&label.name, label.color.as_deref(), label.description.as_deref());
            let lower = label.name.to_lowercase();
            self.named.insert(lower.clone());
            match deadline(label.delete_after.as_deref(), &label_path)? {
                None => {
                    self.required.insert(lower, wanted.clone());
                }
                Some(after) if now > after => {
                    self.dead.insert(lower);
                }
                Some(_) => {}
            }
            for (old_index, old) in label.previously.iter().enumerate() {
                self.classify_previous(old, &wanted, &format!("{label_path}.previously[{old_index}]"), now)?;
            }
        }
        Ok(())
    }

    fn classify_previous(
        &mut self,
        old: &PreviousLabel,
        parent: &WantedLabel,
        path: &str,
        now: Timestamp,
    ) -> Result<(), PlanError> {
        let lower = old.name.to_lowercase();
        self.named.insert(lower.clone());
        match deadline(old.delete_after.as_deref(), path)? {
            Some(after) if now > after => {
                self.dead.insert(lower);
            }
            _ => {
                self.archaic.insert(
                    lower,
                    Archaic {
                        name: old.name.clone(),
                        parent: parent.clone(),
                    },
                );
            }
        }
        Ok(())
    }
}

fn wanted(name: &str, color: Option<&str>, description: Option<&str>) -> WantedLabel {
    let description = description.unwrap_or_default();
    let description = match description.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((cut, _)) => &description[..cut],
        None => description,
    };
    WantedLabel {
        name: name.to_string(),
        color: color.map(str::to_string),
        description: description.to_string(),
    }
}

fn deadline(value: Option<&str>, path: &str) -> Result<Option<Timestamp>, PlanError> {
    value
        .map(|text| {
            text.parse::<Timestamp>().map_err(|_| PlanError::BadDate {
                path: format!("{path}.deleteAfter"),
                value: text.to_string(),
            })
        })
        .transpose()
}

/// Whether `observed` differs from `wanted` in colour (when one is wanted) or description.
fn differs(wanted: &WantedLabel, observed: &ObservedLabel) -> bool {
    let color_differs = wanted
        .color
        .as_deref()
        .is_some_and(|color| !color.eq_ignore_ascii_case(&observed.color));
    color_differs || wanted.description != observed.description
}

/// The actions that make `observed` (one repository's labels) agree with `desired`, in the order
/// to apply them: deletions of dead labels (and of unlisted ones, when opted in), renames of old names, creations, renames and updates
/// of required labels, then migrations. Empty when nothing is to do.
pub fn plan(desired: &Desired, observed: &[ObservedLabel]) -> Result<Vec<Action>, PlanError> {
    let mut current: BTreeMap<String, ObservedLabel> = BTreeMap::new();
    let mut actions = Vec::new();
    for label in observed {
        let lower = label.name.to_lowercase();
        if let Some(first) = current.get(&lower) {
            return Err(PlanError::DuplicateObserved {
                first: first.name.clone(),
                second: label.name.clone(),
            });
        }
        current.insert(lower, label.clone());
    }
    for (lower, label) in &current {
        let unlisted = desired.delete_unlisted && !desired.named.contains(lower);
        if unlisted || desired.dead.contains(lower) {
            actions.push(Action::Delete {
                name: label.name.clone(),
            });
        }
    }

    let mut migrations = Vec::new();
    for (lower, archaic) in &desired.archaic {
        let Some(old) = current.get(lower).cloned() else {
            continue;
        };
        match current.entry(archaic.parent.name.to_lowercase()) {
            Entry::Occupied(_) => migrations.push(Action::Migrate {
                from: old.name,
                to: archaic.parent.clone(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(ObservedLabel {
                    name: archaic.parent.name.clone(),
                    color: archaic.parent.color.clone().unwrap_or(old.color),
                    description: archaic.parent.description.clone(),
                });
                actions.push(Action::Rename {
                    from: old.name,
                    to: archaic.parent.clone(),
                });
            }
        }
    }

    for (lower, wanted) in &desired.required {
        match current.get(lower) {
            None => actions.push(Action::Create(wanted.clone())),
            Some(observed) if observed.name != wanted.name => actions.push(Action::Rename {
                from: observed.name.clone(),
                to: wanted.clone(),
            }),
            Some(observed) if differs(wanted, observed) => actions.push(Action::Update(wanted.clone())),
            Some(_) => {}
        }
    }
    actions.extend(migrations);
    Ok(actions)
}

#[cfg(test)]
mod tests;
