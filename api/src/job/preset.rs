//! Presets: env, volumes and mounts added to every job whose labels select them.

use std::collections::BTreeMap;

use crate::KubeSchema;
use k8s_openapi::api::core::v1::{EnvVar, Toleration, Volume, VolumeMount};
use serde::{Deserialize, Serialize};

use super::refs::UnknownFields;
use crate::embedded::Embedded;

/// Settings added to every job that carries all of `labels`; a preset without labels applies
/// to every job.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
pub struct Preset {
    /// The job labels that select this preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Environment variables added to every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<Embedded<EnvVar>>>,
    /// Volumes added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Embedded<Volume>>>,
    /// Volume mounts added to every container.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "volumeMounts")]
    pub volume_mounts: Option<Vec<Embedded<VolumeMount>>>,
    /// Tolerations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Embedded<Toleration>>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}
