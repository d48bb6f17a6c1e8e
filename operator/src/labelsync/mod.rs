//! Native label sync: the LabelSets' labels made true on GitHub, repository by repository, as
//! upstream's `label_sync` does (kubernetes/test-infra `label_sync/main.go`).
//!
//! - [`merged`]: pure. An instance's LabelSets as one, and where unlisted labels are deleted.
//! - [`plan`]: pure. The labels a repository should have (from the merged LabelSets) and the
//!   labels it has give the list of [`Action`]s that make them agree.
//! - [`sync`]: the GitHub side: which repositories, one list call each, then the plan's writes;
//!   one repository's failure never stops the others.
//! - [`schedule`]: pure. Which repositories a pass visits (incremental passes, a periodic full
//!   one, retries with backoff) and what is remembered of each, as status.

pub mod merged;
pub mod plan;
pub mod schedule;
pub mod sync;

pub use merged::Merged;
pub use plan::{Action, Desired, ObservedLabel, PlanError, WantedLabel, plan};
pub use sync::{Mode, RepoSync, SyncError, repositories, sync_repo, sync_repos};
