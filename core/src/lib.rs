//! prow-core: the pure core of prow-operator, functions from data to data. It reads Prow's
//! configuration and our custom resources, checks them, renders upstream's files and manifests,
//! builds job pods and decides the job lifecycle; the operator's controllers read the cluster,
//! call it and apply its answers. Its dependencies hold no Kubernetes client, async runtime or
//! HTTP crate, so purity here is a boundary, not a discipline.
//!
//! - Inputs: [`input`] (reading files and objects), [`import`] (upstream files into our kinds),
//!   [`select`] (which objects belong to an instance), [`pipeline`] (input to checked, rendered
//!   output, as `check` and `render` run it).
//! - [`instance_config`]: an instance's config.yaml resolved once, read by render, the pod
//!   builder, the job loops and the trigger.
//! - [`check`]: every finding about a configuration, with its field path.
//! - [`render`]: upstream Prow's files and the Kubernetes manifests of an installation.
//! - [`podspec`]: a ProwJob's pod, decorated as upstream's plank builds it.
//! - [`trigger`]: which ProwJobs a GitHub event creates or aborts, and who is trusted.
//! - [`engine`]: the job lifecycle's decisions (schedule, execute, report, clean) and ProwJobs.
//! - Shared vocabulary: [`rule`] (rule names of findings and pod errors), [`field_path`],
//!   [`job_labels`] (the labels of ProwJobs and their pods).
//! - Utilities: [`cron`], [`duration`], [`patterns`], [`ignored`], [`parallel`],
//!   [`cluster_aliases`].

pub mod check;
pub mod cluster_aliases;
pub mod cron;
pub mod duration;
pub mod engine;
pub mod field_path;
pub mod ignored;
pub mod import;
pub mod input;
pub mod instance_config;
pub mod job_labels;
pub mod parallel;
pub mod patterns;
pub mod pipeline;
pub mod podspec;
pub mod render;
pub mod rule;
pub mod select;
pub mod trigger;
