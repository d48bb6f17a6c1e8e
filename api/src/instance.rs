//! ProwInstance: one Prow installation.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::KubeSchema;
use crate::job::JobCounts;
use crate::kind::{KindDef, PrinterColumn, object};
use crate::status::{Condition, ObjectReference};

/// The registry of upstream Prow's images.
pub const DEFAULT_IMAGE_REGISTRY: &str = "us-docker.pkg.dev/k8s-infra-prow/images";
/// The namespace of job pods when none is given, as in upstream's starter manifest.
pub const DEFAULT_POD_NAMESPACE: &str = "test-pods";

#[doc = "ProwInstance is one Prow installation: its version and components, GitHub connection, storage, public URL, reporting, and the JobConfigs, PluginConfigs and LabelSets that belong to it."]
// The fields have no doc comments: the CRD's schema takes the descriptions of `spec` and
// `status` from their types.
#[allow(missing_docs)]
#[derive(Deserialize, JsonSchema, Clone, Debug)]
pub struct ProwInstance {
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: ProwInstanceSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ProwInstanceStatus>,
}

impl ProwInstance {
    /// The kind in the API: `operator.prow.dev/v1alpha1` `ProwInstance`.
    pub const KIND: KindDef = KindDef {
        group: "operator.prow.dev",
        version: "v1alpha1",
        api_version: "operator.prow.dev/v1alpha1",
        kind: "ProwInstance",
        plural: "prowinstances",
        crd_name: "prowinstances.operator.prow.dev",
        short_names: &["pi"],
        categories: &["prow"],
        annotations: &[],
        printer_columns: &[
            PrinterColumn {
                name: "Ready",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].status",
                description: Some("Whether the installation is reconciled and available."),
            },
            PrinterColumn {
                name: "Status",
                type_: "string",
                json_path: ".status.conditions[?(@.type==\"Ready\")].message",
                description: Some("The Ready condition's message."),
            },
            PrinterColumn {
                name: "Clusters",
                type_: "string",
                json_path: ".status.buildClustersReachable",
                description: Some("Reachable build clusters out of all."),
            },
            PrinterColumn {
                name: "Version",
                type_: "string",
                json_path: ".spec.version",
                description: Some("The upstream Prow image tag."),
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

object!(ProwInstance, ProwInstanceSpec);

/// One Prow installation in the namespace it lives in: its version and components, GitHub
/// connection, storage, public URL, reporting, and which JobConfigs, PluginConfigs and LabelSets
/// belong to it.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new(
    "!(self.components.horologium.enabled && self.native.schedule)"
).message("native schedule and horologium cannot both run: set native.schedule: false or disable horologium")))]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new(
    "!(self.components.prowControllerManager.enabled && self.native.execute)"
).message("native execute and prow-controller-manager cannot both run: set native.execute: false or disable prowControllerManager")))]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new(
    "!(self.components.sinker.enabled && self.native.clean)"
).message("native clean and sinker cannot both run: set native.clean: false or disable sinker")))]
pub struct ProwInstanceSpec {
    /// The upstream image tag of every component, such as `v20240802-66b115076`.
    #[schemars(extend("minLength" = 1))]
    pub version: String,
    /// The registry the component images come from.
    #[serde(default = "default_image_registry")]
    pub image_registry: String,
    /// The GitHub organisation, repositories and credentials.
    pub github: GitHubSpec,
    /// Where ProwJobs and their pods live.
    #[serde(default)]
    pub namespaces: NamespacesSpec,
    /// Where job artifacts and logs are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// The public URL, served through an Ingress: `/` goes to deck and `/hook` to the webhook
    /// receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    /// The upstream components to run, and their overrides.
    #[serde(default)]
    pub components: ComponentsSpec,
    /// The job functions the operator runs itself. Each one replaces an upstream component,
    /// and a function may not run both ways at once.
    #[serde(default)]
    pub native: NativeFunctions,
    /// Slack reporting, done by crier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackSpec>,
    /// Build clusters besides the one the operator runs in, each reached through a kubeconfig in
    /// a Secret. A job runs in the cluster its `cluster` field names; `default` is the operator's
    /// own cluster unless a build cluster is named `default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub build_clusters: Vec<BuildCluster>,
    /// Secrets holding kubeconfig files in upstream's form (what upstream's `gencred` writes and
    /// prow-controller-manager reads with `--kubeconfig-dir`): every context of every file is a
    /// build cluster named after the context. For moving from upstream Prow without new Secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16))]
    pub build_cluster_secrets: Vec<BuildClusterSecret>,
    /// Which JobConfigs belong to this instance. Unset selects all of them (in the selected
    /// namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_config_selector: Option<LabelSelector>,
    /// The namespaces JobConfigs are taken from. Unset means the instance's own namespace; `{}`
    /// means every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_config_namespace_selector: Option<LabelSelector>,
    /// Which PluginConfigs belong to this instance. Unset selects all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_config_selector: Option<LabelSelector>,
    /// The namespaces PluginConfigs are taken from. Unset means the instance's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_config_namespace_selector: Option<LabelSelector>,
    /// Which LabelSets belong to this instance. Unset selects all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_set_selector: Option<LabelSelector>,
    /// The namespaces LabelSets are taken from. Unset means the instance's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_set_namespace_selector: Option<LabelSelector>,
    /// Keys merged into the rendered `config.yaml` (tide, deck, plank, branch-protection, …),
    /// with upstream's names. Values set here win over the ones the operator derives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub config: Option<Value>,
}

fn default_image_registry() -> String {
    DEFAULT_IMAGE_REGISTRY.to_string()
}

fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "description": "Keys merged into the rendered config.yaml, with upstream Prow's names (tide, deck, plank, branch-protection, ...). Values set here win over the ones the operator derives."
    })
}

/// A key in a Secret in the instance's namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(extend("minLength" = 1))]
    pub name: String,
    /// The key within the Secret.
    #[schemars(extend("minLength" = 1))]
    pub key: String,
}

/// The GitHub side of the installation.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitHubSpec {
    /// The organisation whose repositories Prow serves.
    #[schemars(extend("minLength" = 1))]
    pub org: String,
    /// The repositories (names within `org`) Prow serves; all of the org's when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// How the operator and components authenticate to GitHub.
    pub auth: GitHubAuth,
    /// The Secret key holding the webhook HMAC secret (upstream's `hmac-token`/`hmac`). It may
    /// hold one token, or upstream's YAML list of tokens, so a token can be rotated.
    pub hmac_secret_ref: SecretKeyRef,
    /// The GitHub API endpoint (for GitHub Enterprise).
    #[serde(default = "default_github_api")]
    pub api_url: String,
    /// The webhook GitHub delivers events to, registered and kept right by the operator when
    /// `managed` (upstream's `add-hook`, done continuously).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSpec>,
}

/// The GitHub webhook the operator manages (`spec.github.webhook`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSpec {
    /// Whether the operator creates the webhook where it is missing and repairs it where it
    /// drifts. Off by default, so an existing installation is left as it is.
    #[serde(default)]
    pub managed: bool,
    /// The URL GitHub delivers to; `https://<spec.ingress.host>/hook` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("pattern" = "^https?://"))]
    pub url: Option<String>,
    /// `repos` (default): one webhook per repository served; `org`: one webhook on the org.
    #[serde(default)]
    pub level: WebhookLevel,
    /// The events delivered; when empty, the events the enabled components need (the native
    /// trigger's, or every event (`*`) when hook runs, as upstream's `add-hook`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// How often the webhooks are read back from GitHub (one list call per repository or org),
    /// as a Go duration (`10m`, the default).
    #[serde(default = "default_webhook_resync")]
    #[schemars(extend("pattern" = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"))]
    pub resync_period: String,
}

impl Default for WebhookSpec {
    fn default() -> Self {
        WebhookSpec {
            managed: false,
            url: None,
            level: WebhookLevel::default(),
            events: Vec::new(),
            resync_period: default_webhook_resync(),
        }
    }
}

fn default_webhook_resync() -> String {
    "10m".to_string()
}

/// Where the managed webhook lives.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum WebhookLevel {
    /// One webhook on the org (`/orgs/{org}/hooks`).
    Org,
    /// One webhook per repository served (`/repos/{org}/{repo}/hooks`).
    #[default]
    Repos,
}

fn default_github_api() -> String {
    "https://api.github.com".to_string()
}

/// GitHub credentials: a GitHub App (preferred), or a personal access token.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new("has(self.app) != has(self.token)")
    .message("set exactly one of app or token")))]
pub struct GitHubAuth {
    /// Authenticate as a GitHub App.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<GitHubAppAuth>,
    /// Authenticate with a token (upstream's `oauth-token`/`oauth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<GitHubTokenAuth>,
}

/// A GitHub App: its id and private key.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new("has(self.appId) != has(self.appIdSecretRef)")
    .message("set exactly one of appId or appIdSecretRef")))]
pub struct GitHubAppAuth {
    /// The App's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The Secret key holding the App's id (upstream's `github-token`/`appid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id_secret_ref: Option<SecretKeyRef>,
    /// The Secret key holding the App's private key (upstream's `github-token`/`cert`).
    pub private_key_secret_ref: SecretKeyRef,
}

/// A GitHub token.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitHubTokenAuth {
    /// The Secret key holding the token.
    pub secret_ref: SecretKeyRef,
}

/// Where ProwJobs and job pods live.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct NamespacesSpec {
    /// The namespace of ProwJobs (`prowjob_namespace`); the instance's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prow_jobs: Option<String>,
    /// The namespace of job pods (`pod_namespace`); `test-pods` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<String>,
}

/// Artifact storage: an S3-compatible or a GCS bucket.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "resource", x_kube(validation = kube::core::Rule::new("has(self.s3) != has(self.gcs)")
    .message("set exactly one of s3 or gcs")))]
pub struct StorageSpec {
    /// An S3-compatible bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<BucketSpec>,
    /// A Google Cloud Storage bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<BucketSpec>,
}

/// A bucket and the credentials to write to it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BucketSpec {
    /// The bucket's name, without a scheme.
    #[schemars(extend("minLength" = 1))]
    pub bucket: String,
    /// The Secret holding the credentials file (upstream's key is `service-account.json`). It
    /// must exist in the pod namespace too, for job pods to upload.
    pub credentials_secret_ref: SecretKeyRef,
}

/// The public URL of the installation.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// The host name, such as `prow.example.com`.
    #[schemars(extend("minLength" = 1))]
    pub host: String,
    /// The IngressClass to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// The Secret holding the TLS certificate for `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    /// Annotations of the Ingress, such as `cert-manager.io/cluster-issuer`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The upstream components, each off unless enabled.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentsSpec {
    /// hook: runs the plugins on GitHub webhooks. It may run beside the native trigger: GitHub
    /// then sends webhooks to hook, which forwards them to the operator as an external plugin,
    /// and hook's own `trigger` plugin is refused. With `native.trigger: false`, hook's `trigger`
    /// plugin starts the jobs instead.
    #[serde(default)]
    pub hook: ComponentSpec,
    /// deck: the web UI and Spyglass.
    #[serde(default)]
    pub deck: ComponentSpec,
    /// tide: merges pull requests.
    #[serde(default)]
    pub tide: ComponentSpec,
    /// crier: reports to Slack and other reporters (GitHub statuses are native unless
    /// `native.report` is false).
    #[serde(default)]
    pub crier: ComponentSpec,
    /// ghproxy: a caching GitHub API proxy.
    #[serde(default)]
    pub ghproxy: ComponentSpec,
    /// status-reconciler: retires and adds contexts when presubmits change.
    #[serde(default)]
    pub status_reconciler: ComponentSpec,
    /// horologium: starts periodics; replaces the native schedule.
    #[serde(default)]
    pub horologium: ComponentSpec,
    /// prow-controller-manager (plank): runs ProwJobs as pods; replaces the native execute.
    #[serde(default)]
    pub prow_controller_manager: ComponentSpec,
    /// sinker: cleans up old ProwJobs and pods; replaces the native clean.
    #[serde(default)]
    pub sinker: ComponentSpec,
}

/// One upstream component: whether it runs, and overrides of its defaults.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Runs the component.
    #[serde(default)]
    pub enabled: bool,
    /// The full image reference, instead of `<imageRegistry>/<component>:<version>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The replica count, instead of the upstream default. Components that must not scale keep
    /// one replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0))]
    pub replicas: Option<i32>,
    /// The container's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ComputeResources>,
    /// Arguments appended to the upstream ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
}

/// Resource requests and limits, as quantities (`500m`, `1Gi`, `2`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ComputeResources {
    /// Resource limits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, IntOrString>,
    /// Resource requests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, IntOrString>,
}

/// The job functions the operator runs itself, each on by default.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct NativeFunctions {
    /// Turns GitHub webhooks into presubmit and postsubmit ProwJobs (upstream: hook's `trigger`).
    #[serde(default = "enabled")]
    pub trigger: bool,
    /// Starts periodics (upstream: horologium).
    #[serde(default = "enabled")]
    pub schedule: bool,
    /// Runs ProwJobs as pods (upstream: prow-controller-manager).
    #[serde(default = "enabled")]
    pub execute: bool,
    /// Reports ProwJob states as GitHub statuses and the failure comment (upstream: crier's
    /// GitHub reporter).
    #[serde(default = "enabled")]
    pub report: bool,
    /// Deletes old ProwJobs and pods (upstream: sinker).
    #[serde(default = "enabled")]
    pub clean: bool,
}

fn enabled() -> bool {
    true
}

impl Default for NativeFunctions {
    fn default() -> Self {
        Self {
            trigger: true,
            schedule: true,
            execute: true,
            report: true,
            clean: true,
        }
    }
}

/// Slack reporting through crier.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlackSpec {
    /// The Secret key holding the Slack bot token.
    pub token_secret_ref: SecretKeyRef,
    /// Reporting rules by `*`, `org` or `org/repo` (upstream's `slack_reporter_configs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reporter_configs: BTreeMap<String, SlackReporterRule>,
}

/// Which jobs are reported to which Slack channel.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlackReporterRule {
    /// The channel to post to.
    #[schemars(extend("minLength" = 1))]
    pub channel: String,
    /// The job types reported; upstream's default when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("items" = {"type": "string", "enum": ["presubmit", "postsubmit", "periodic", "batch"]}))]
    pub job_types_to_report: Vec<String>,
    /// The job states reported; upstream's default when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_states_to_report: Vec<String>,
    /// A Go template of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_template: Option<String>,
}

/// A build cluster reached through a kubeconfig.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildCluster {
    /// The name jobs use in their `cluster` field: any alias upstream accepts, kubeconfig
    /// context names such as `gke_project_zone_name` included.
    #[schemars(extend("pattern" = CLUSTER_ALIAS_PATTERN, "maxLength" = 253))]
    pub name: String,
    /// The Secret key holding the cluster's kubeconfig.
    pub kubeconfig_secret_ref: SecretKeyRef,
    /// The kubeconfig's context to use; its current context when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minLength" = 1, "maxLength" = 253))]
    pub context: Option<String>,
}

/// What a build cluster's alias may be: letters, digits and `-_.:@/`, starting with a letter or a
/// digit (kubeconfig context names as upstream's tools write them).
pub const CLUSTER_ALIAS_PATTERN: &str = "^[A-Za-z0-9][-A-Za-z0-9_.:@/]*$";

/// A Secret of kubeconfig files, as upstream's `--kubeconfig-dir` reads them.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildClusterSecret {
    /// The Secret's name, in the instance's namespace.
    #[schemars(extend("minLength" = 1, "maxLength" = 253))]
    pub name: String,
    /// Only keys ending with this are kubeconfig files (upstream's `--kubeconfig-suffix`); every
    /// key when unset. Keys starting with `..` are never read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxLength" = 253))]
    pub key_suffix: Option<String>,
}

/// What the operator last found of one build cluster.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BuildClusterStatus {
    /// The cluster's alias.
    pub name: String,
    /// `Reachable` (jobs can run there), `Unreachable` (its API server did not answer),
    /// `MissingPermissions` (the credentials lack pod verbs in the pod namespace) or
    /// `InvalidKubeconfig` (the kubeconfig cannot be used).
    #[schemars(extend("enum" = ["Reachable", "Unreachable", "MissingPermissions", "InvalidKubeconfig"]))]
    pub state: String,
    /// Whether some job of the instance names it (only those hold up Ready).
    #[serde(default)]
    pub used: bool,
    /// The API server's version (`v1.37.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The verbs on pods in the pod namespace the credentials lack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_verbs: Vec<String>,
    /// What went wrong, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was last probed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<String>,
}

/// The observed state of a ProwInstance.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProwInstanceStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled, with kstatus semantics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Each upstream component that runs, and each job function with the implementation in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentStatus>,
    /// The accepted jobs of the selected JobConfigs, by type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobCounts>,
    /// The hash of the rendered configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// The objects selected by the instance's selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<SelectedObjects>,
    /// Who runs each job function (trigger, schedule, execute, report, clean): the operator
    /// itself or the upstream component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionStatus>,
    /// Each build cluster, as last probed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_clusters: Vec<BuildClusterStatus>,
    /// Reachable build clusters out of all (`2/3`); unset without build clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_clusters_reachable: Option<String>,
    /// Each webhook target (the org, or each repository served), as last read from GitHub.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookStatus>,
}

/// What the operator last found of the webhook of one target.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStatus {
    /// `org` (level `org`) or `org/repo`.
    pub target: String,
    /// `Present` (as wanted), `Drifted` (found different; repaired unless a dry run),
    /// `Missing` (not found; created unless a dry run), `Failed` (GitHub could not be read or
    /// written: see `lastError`) or `AppManaged` (a GitHub App's own webhook is used: it is set
    /// on the App, not per repository, and the operator only reports it).
    #[schemars(extend("enum" = ["Present", "Drifted", "Missing", "Failed", "AppManaged"]))]
    pub state: String,
    /// The URL the operator last set on the webhook, by which it recognises its own hook after
    /// `url` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A digest of the HMAC token the operator last set as the webhook's secret (GitHub never
    /// shows it), so a rotation is noticed across restarts; not the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_digest: Option<String>,
    /// When the operator last received a delivery for the target (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<String>,
    /// What went wrong, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the webhook was last read from GitHub (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
}

/// Which implementation runs one job function.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus {
    /// The function: `trigger`, `schedule`, `execute`, `report` or `clean`.
    pub name: String,
    /// `native` when the operator runs it; `upstream` when the upstream component does; `none`
    /// when neither is enabled (nothing does the work); `conflict` when both are (refused: the
    /// instance is Stalled, and neither is started by it).
    #[schemars(extend("enum" = ["native", "upstream", "none", "conflict"]))]
    pub implementation: String,
    /// The upstream counterpart: `hook` (its trigger plugin), `horologium`,
    /// `prow-controller-manager`, `crier` (its GitHub reporter) or `sinker`.
    pub component: String,
}

/// The state of one component or job function.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// The component (`deck`, `tide`, …) or job function (`trigger`, `schedule`, …).
    pub name: String,
    /// `native` when the operator does the work itself, `upstream` when an upstream component
    /// does.
    #[schemars(extend("enum" = ["native", "upstream"]))]
    pub implementation: String,
    /// Whether it is available.
    pub ready: bool,
    /// The image in use (upstream components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The desired replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The replicas that are ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
}

/// The objects an instance selected.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SelectedObjects {
    /// The selected JobConfigs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_configs: Vec<ObjectReference>,
    /// The selected PluginConfigs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugin_configs: Vec<ObjectReference>,
    /// The selected LabelSets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_sets: Vec<ObjectReference>,
}
