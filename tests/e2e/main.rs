//! End-to-end scenarios: the real `prow-operator run` binary against testkit (or a real cluster
//! with `E2E_KUBECONFIG`), driven through the API as a user would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod api_server;
mod build_clusters;
mod faults;
mod github;
mod harness;
mod install;
mod jobs;
mod labels;
mod rbac;
mod scenario;
mod trigger;
mod webhooks;
