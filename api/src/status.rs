//! Status building blocks shared by our kinds: kstatus conditions and findings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// The condition types every kind reports, with kstatus semantics.
pub mod condition_type {
    /// The object is reconciled and in effect.
    pub const READY: &str = "Ready";
    /// The operator is working towards the object's desired state.
    pub const RECONCILING: &str = "Reconciling";
    /// The operator cannot make progress without a change to the object or its inputs.
    pub const STALLED: &str = "Stalled";
}

/// How serious a finding is.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The object cannot be used as it is.
    Error,
    /// The object works, but something in it is likely a mistake.
    Warning,
}

/// A problem found in an object, pointing at the field that has it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or Warning.
    pub severity: Severity,
    /// The field path, such as `spec.presubmits["org/repo"][3].run_if_changed`.
    pub path: String,
    /// What is wrong, and how to fix it.
    pub message: String,
    /// The check that raised it, named as upstream checkconfig names it where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// Another object, by namespace and name.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectReference {
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}
