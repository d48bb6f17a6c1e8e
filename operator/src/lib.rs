//! prow-operator: renders, checks and reconciles Prow installations, and runs the job lifecycle.
//!
//! The pure core (checks, rendering, pods, the job engine) is the `prow-core` crate; its modules
//! are re-exported here under their old paths. This crate holds what talks to the world: the CLI,
//! the controllers, GitHub, the HTTP endpoints and webhooks.

pub mod cli;
pub mod controller;
pub mod crds;
pub mod github;
pub mod github_diff;
pub mod hooksync;
pub mod http;
pub mod labels_cli;
pub mod labelsync;
pub mod lease;
pub mod logging;
pub mod mkpj;
pub mod mkpod;
pub mod run;
pub mod trigger;
pub mod webhook;
pub mod webhooks_cli;

pub use prow_core::{
    check, cluster_aliases, cron, duration, engine, field_path, ignored, import, input, instance_config, job_labels,
    parallel, patterns, pipeline, podspec, render, rule, select,
};
