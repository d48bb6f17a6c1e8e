//! `prow-api`: the types of prow-operator.
//!
//! - Our custom resources in `operator.prow.dev/v1alpha1`: [`ProwInstance`], [`JobConfig`],
//!   [`PluginConfig`] and [`LabelSet`].
//! - Upstream's [`ProwJob`] (`prow.k8s.io/v1`), as our own type.
//! - Upstream Prow's job format ([`job`]), shared by JobConfigs and ProwJobs.
//! - YAML reading that handles what real Prow configurations contain ([`yaml`]).
//! - The generated CRDs ([`crd`]), with the `resource` feature (on by default).
//!
//! Without the `resource` feature the crate has no `kube` (and no HTTP client) in its tree: the
//! kinds are plain structs ([`kind`]), and [`schema`] validates against the committed CRDs.
//! With it, the kinds are `kube` resources and the CRDs are generated from the types, their CEL
//! rules included.

#[cfg(feature = "resource")]
pub mod crd;
pub mod embedded;
pub mod instance;
pub mod job;
pub mod jobconfig;
pub mod kind;
pub mod labelset;
pub mod pluginconfig;
pub mod prowjob;
pub mod schema;
pub mod status;
pub mod upstream;
pub mod yaml;

pub use instance::{ProwInstance, ProwInstanceSpec, ProwInstanceStatus};
pub use jobconfig::{JobConfig, JobConfigSpec, JobConfigStatus};
pub use labelset::{LabelSet, LabelSetSpec, LabelSetStatus};
pub use pluginconfig::{PluginConfig, PluginConfigSpec, PluginConfigStatus};
pub use prowjob::{ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType};

/// The derive of our types' OpenAPI schemas: kube's, which adds the CEL rules of `#[x_kube]`
/// attributes (those are `cfg_attr(feature = "resource", ...)`), when the CRDs are generated;
/// schemars' plain one otherwise.
#[cfg(feature = "resource")]
pub(crate) use kube::KubeSchema;
#[cfg(not(feature = "resource"))]
pub(crate) use schemars::JsonSchema as KubeSchema;
