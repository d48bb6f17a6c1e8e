//! prow-operator: renders, checks and reconciles Prow installations, and runs the job lifecycle.

pub mod check;
pub mod cli;
pub mod controller;
pub mod crds;
pub mod cron;
pub mod duration;
pub mod engine;
pub mod github;
pub mod http;
pub mod ignored;
pub mod import;
pub mod input;
pub mod lease;
pub mod logging;
pub mod mkpj;
pub mod mkpod;
pub mod parallel;
pub mod patterns;
pub mod pipeline;
pub mod podspec;
pub mod render;
pub mod run;
pub mod select;
pub mod trigger_cli;
pub mod webhook;
