//! The native job engine's pure decisions: which ProwJobs an event creates, and how they are
//! built. The controllers around them only read state and apply the results.

pub mod clean;
pub mod commands;
pub mod events;
pub mod execute;
pub mod failure_comment;
pub mod labels;
pub mod limits;
pub mod presets;
pub mod prowjob;
pub mod report;
pub mod schedule;
pub mod trigger;
