//! Native label sync: the LabelSets' labels made true on GitHub, repository by repository, as
//! upstream's `label_sync` does (kubernetes/test-infra `label_sync/main.go`).
//!
//! - [`plan`]: pure. The labels a repository should have (from the merged LabelSets) and the
//!   labels it has give the list of [`Action`]s that make them agree.

pub mod plan;

pub use plan::{Action, Desired, ObservedLabel, PlanError, WantedLabel, plan};
