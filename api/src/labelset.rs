//! LabelSet: GitHub labels in label_sync's format.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kind::{KindDef, PrinterColumn, object};
use crate::status::{Condition, Finding};

#[doc = "LabelSet holds GitHub labels in label_sync's labels.yaml format: default labels for every repository, plus per-repository ones."]
// The fields have no doc comments: the CRD's schema takes the descriptions of `spec` and
// `status` from their types.
#[allow(missing_docs)]
#[derive(Deserialize, JsonSchema, Clone, Debug)]
pub struct LabelSet {
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: LabelSetSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<LabelSetStatus>,
}

impl LabelSet {
    /// The kind in the API: `operator.prow.dev/v1alpha1` `LabelSet`.
    pub const KIND: KindDef = KindDef {
        group: "operator.prow.dev",
        version: "v1alpha1",
        api_version: "operator.prow.dev/v1alpha1",
        kind: "LabelSet",
        plural: "labelsets",
        crd_name: "labelsets.operator.prow.dev",
        short_names: &["lbs"],
        categories: &["prow"],
        annotations: &[],
        printer_columns: &[
            PrinterColumn {
                name: "Ready",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].status",
                description: Some("Whether the labels are accepted and in effect."),
            },
            PrinterColumn {
                name: "Status",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].message",
                description: Some("The Ready condition's message."),
            },
            PrinterColumn {
                name: "Labels",
                type_: "integer",
                json_path: ".status.labels",
                description: Some("Labels defined."),
            },
            PrinterColumn {
                name: "Synced",
                type_: "string",
                json_path: ".status.repositoriesSynced",
                description: Some("Repositories whose labels match, out of those the LabelSet applies to."),
            },
            PrinterColumn {
                name: "Age",
                type_: "date",
                json_path: ".metadata.creationTimestamp",
                description: None,
            },
        ],
    };
}

object!(LabelSet, LabelSetSpec);

/// GitHub labels in label_sync's `labels.yaml` format: `default` labels for every repository,
/// plus per-repository ones.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct LabelSetSpec {
    /// Labels for every repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<RepoLabels>,
    /// More labels by `org/repo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repos: BTreeMap<String, RepoLabels>,
    /// Delete the labels that no LabelSet of the instance names (old names and labels still
    /// waiting for their `deleteAfter` count as named) from the repositories this LabelSet
    /// applies to. Off by default: upstream's label_sync leaves unknown labels alone. Where
    /// several LabelSets apply to a repository, only when every one of them turns it on.
    #[serde(default, rename = "deleteUnlisted", skip_serializing_if = "std::ops::Not::not")]
    pub delete_unlisted: bool,
}

/// The labels of a repository.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct RepoLabels {
    /// The labels.
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// A GitHub label.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// The label's name. Names, old ones included, are unique ignoring case.
    #[schemars(extend("minLength" = 1))]
    pub name: String,
    /// The color, as `rrggbb` or a color name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The description, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxLength" = 100))]
    pub description: Option<String>,
    /// What the label is for: `prs`, `issues` or `both` (label_sync reads any text, and only
    /// groups its documentation by it: `check` warns about another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The Prow plugin that adds the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_plugin: Option<String>,
    /// Whether `prowPlugin` is an external plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_external_plugin: Option<bool>,
    /// Who or what adds the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    /// Earlier versions of this label: they are renamed to it, or migrated into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previously: Vec<PreviousLabel>,
    /// When the label is deleted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<String>,
}

/// An earlier version of a label (the same fields as a label, without its own history).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PreviousLabel {
    /// The old name.
    #[schemars(extend("minLength" = 1))]
    pub name: String,
    /// The old color.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The old description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The old target (as `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The Prow plugin that added the old label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_plugin: Option<String>,
    /// Whether `prowPlugin` is an external plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_external_plugin: Option<bool>,
    /// Who or what added the old label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    /// When the old label is deleted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<String>,
}

/// The observed state of a LabelSet.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LabelSetStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled, with kstatus semantics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// How many labels are defined, defaults and per-repository ones together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<i64>,
    /// Every problem found in the spec, with its field path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// `synced/total`: the repositories whose GitHub labels were last found or made to match,
    /// out of those the LabelSet applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories_synced: Option<String>,
    /// The label sync of each repository the LabelSet applies to (every repository of the
    /// instance for `default` labels, else those of `repos`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<RepoSyncStatus>,
}

/// The label sync of one repository.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RepoSyncStatus {
    /// `org/repo`.
    pub repo: String,
    /// `Synced` (its labels match) or `Failed` (see `lastError`; it is retried).
    pub state: RepoSyncState,
    /// Labels the last sync created.
    #[serde(default)]
    pub created: i64,
    /// Labels the last sync updated (colour or description).
    #[serde(default)]
    pub updated: i64,
    /// Labels the last sync renamed (a case change, or an old name in `previously`), or migrated
    /// into their new name.
    #[serde(default)]
    pub renamed: i64,
    /// Labels the last sync deleted (`deleteAfter` passed).
    #[serde(default)]
    pub deleted: i64,
    /// Why the last sync failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the repository's labels were last found or made to match (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
}

/// Where one repository's label sync stands.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RepoSyncState {
    /// Its labels match the LabelSets.
    #[default]
    Synced,
    /// The last sync failed.
    Failed,
}
