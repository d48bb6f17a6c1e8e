//! prow-operator: renders, checks and reconciles Prow installations, and runs the job lifecycle.

pub mod cli;
pub mod crds;
pub mod logging;
