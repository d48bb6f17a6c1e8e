//! PluginConfig: upstream's `plugins.yaml`, merged across the selected objects.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kind::{KindDef, PrinterColumn, object};
use crate::status::{Condition, Finding};

#[doc = "PluginConfig holds upstream Prow's plugins.yaml content: plugins per org and org/repo, external_plugins, triggers and the per-plugin sections. The selected PluginConfigs are merged."]
// The fields have no doc comments: the CRD's schema takes the descriptions of `spec` and
// `status` from their types.
#[allow(missing_docs)]
#[derive(Deserialize, JsonSchema, Clone, Debug)]
pub struct PluginConfig {
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: PluginConfigSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PluginConfigStatus>,
}

impl PluginConfig {
    /// The kind in the API: `operator.prow.dev/v1alpha1` `PluginConfig`.
    pub const KIND: KindDef = KindDef {
        group: "operator.prow.dev",
        version: "v1alpha1",
        api_version: "operator.prow.dev/v1alpha1",
        kind: "PluginConfig",
        plural: "pluginconfigs",
        crd_name: "pluginconfigs.operator.prow.dev",
        short_names: &["plc"],
        categories: &["prow"],
        annotations: &[],
        printer_columns: &[
            PrinterColumn {
                name: "Ready",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].status",
                description: Some("Whether the plugin configuration is accepted and in effect."),
            },
            PrinterColumn {
                name: "Status",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].message",
                description: Some("The Ready condition's message."),
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

object!(PluginConfig, PluginConfigSpec);

/// The content of upstream's `plugins.yaml`: which plugins run where, external plugins,
/// `triggers`, and each plugin's own section, with upstream's names.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct PluginConfigSpec {
    /// Plugins by `org` or `org/repo`. A repository gets its org's plugins plus its own; an
    /// entry with no value (as real configs have) has no plugins of its own.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_values_as_default"
    )]
    pub plugins: BTreeMap<String, OrgPlugins>,
    /// External plugins by `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_plugins: BTreeMap<String, Vec<ExternalPlugin>>,
    /// Trust settings of the trigger, per set of repositories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<TriggerConfig>,
    /// Every other top-level section of `plugins.yaml` (`approve`, `lgtm`, `config_updater`, …),
    /// kept as written.
    #[serde(flatten)]
    #[schemars(skip)]
    pub sections: BTreeMap<String, Value>,
}

/// Reads a map whose values may be `null`, as upstream does: a `null` is the zero value.
fn null_values_as_default<'de, D, T>(deserializer: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    let entries = BTreeMap::<String, Option<T>>::deserialize(deserializer)?;
    Ok(entries
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect())
}

/// The plugins of one org or repository.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct OrgPlugins {
    /// The plugin names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
    /// Repositories of the org that do not get the org's plugins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_repos: Vec<String>,
}

/// A plugin served by another program, which hook forwards events to.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ExternalPlugin {
    /// The plugin's name.
    pub name: String,
    /// Where events are sent; default `http://<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The GitHub event types sent; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

/// Who the trigger trusts, for a set of repositories.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct TriggerConfig {
    /// The `org` or `org/repo` entries this applies to. The first entry naming the repository
    /// wins, then the first naming its org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// GitHub Apps (names without `[bot]`) whose pull requests are trusted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_apps: Vec<String>,
    /// Deprecated: an org whose members are trusted too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_org: Option<String>,
    /// The URL shown to untrusted authors to join the org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_org_url: Option<String>,
    /// Trusts org members only, not repository collaborators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_org_members: Option<bool>,
    /// Ignores `/ok-to-test`: untrusted pull requests never run jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_ok_to_test: Option<bool>,
    /// Also (re)runs GitHub workflows on `/test` and `/retest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_github_workflows: Option<bool>,
    /// Invitations of frequent contributors to the org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "org_invite_schema")]
    pub org_invite: Option<Value>,
}

fn org_invite_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "description": "Invitations of frequent contributors to the org (upstream's org_invite)."
    })
}

/// The observed state of a PluginConfig.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfigStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled, with kstatus semantics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// How many orgs and repositories have plugins configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_scopes: Option<i64>,
    /// Every problem found in the spec, with its field path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}
