//! The native job engine's pure decisions, with upstream Prow's semantics. The controllers
//! around them only read state and apply the results.
//!
//! - ProwJobs: [`prowjob`] and [`presets`] build them, labelled by [`crate::job_labels`] (the trigger, in
//!   [`crate::trigger`], decides which a GitHub event creates or aborts), with the instance's
//!   [`job_defaults`] resolved in and [`quantity`] values written canonically;
//! - execute ([`execute`], [`limits`]): what a pending job's pod means, superseded duplicates,
//!   concurrency limits; [`job_pod`] is what they read of a job's pod; [`placement`], the
//!   cluster it runs in;
//! - schedule ([`schedule`]): when a periodic starts;
//! - report ([`report`], [`failure_comment`]): GitHub statuses and the failure comment;
//! - clean ([`clean`]): which ProwJobs and pods go.

pub mod clean;
pub mod execute;
pub mod failure_comment;
pub mod job_defaults;
pub mod job_pod;
pub mod limits;
pub mod placement;
pub mod presets;
pub mod prowjob;
pub mod quantity;
pub mod report;
pub mod schedule;
