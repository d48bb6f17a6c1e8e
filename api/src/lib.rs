//! `prow-api`: the types of prow-operator.
//!
//! - Our custom resources in `operator.prow.dev/v1alpha1`: [`ProwInstance`], [`JobConfig`],
//!   [`PluginConfig`] and [`LabelSet`].
//! - Upstream's [`ProwJob`] (`prow.k8s.io/v1`), as our own type.
//! - Upstream Prow's job format ([`job`]), shared by JobConfigs and ProwJobs.
//! - YAML reading that handles what real Prow configurations contain ([`yaml`]).
//! - The generated CRDs ([`crd`]).

pub mod crd;
pub mod embedded;
pub mod instance;
pub mod job;
pub mod jobconfig;
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
