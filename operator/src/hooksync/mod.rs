//! Managed webhooks: the `add-hook` step of an upstream installation, done continuously. The
//! instance's webhook (URL, `json` content, events, the newest HMAC token as secret) made true on
//! GitHub, on its org or on each repository it serves.
//!
//! - [`desired`]: pure. The webhook an instance wants (`spec.github.webhook`, the ingress host,
//!   the enabled components, the HMAC Secret), target by target.
//! - [`plan`]: pure. The wanted webhook and the webhooks GitHub lists for a target give one
//!   create, one update (of the fields that drift) or nothing; other webhooks are left alone.
//! - [`status`]: pure. `status.webhooks[]` from a pass, and what the next pass remembers.
//! - [`activity`]: pure. What the webhook receivers of every replica heard (last delivery per
//!   target, a deleted webhook), carried to the leader's loop by an annotation, with bounded
//!   writes.
//! - [`sync`]: the GitHub side: one list call per target, then the plan's write; one target's
//!   failure never stops the others.

pub mod activity;
pub mod desired;
pub mod plan;
pub mod status;
pub mod sync;

pub use desired::{DesiredError, Target, desired_url, events, newest_token, wanted};
pub use plan::{Drift, HookAction, Known, ObservedHook, Plan, WantedHook, plan, secret_digest};
pub use sync::{HookSyncError, TargetSync, TargetWork, sync_target, sync_targets};
