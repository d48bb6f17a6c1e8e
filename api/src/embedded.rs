//! Kubernetes objects embedded in our types (PodSpecs, Tekton specs, resource requirements).
//!
//! Their full schemas would push the CRDs past the 256 KiB that a client-side `kubectl apply`
//! accepts, so they are schemaless in the CRDs (`x-kubernetes-preserve-unknown-fields`). The raw
//! value is kept exactly as written, so nothing is lost on a round trip, and the operator checks it
//! strictly against the typed Kubernetes model when it validates.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Names the Kubernetes type an [`Embedded`] value stands for, for schema descriptions.
pub trait EmbeddedKind {
    /// Human name, e.g. `core/v1 PodSpec`.
    const KIND: &'static str;
}

impl EmbeddedKind for k8s_openapi::api::core::v1::PodSpec {
    const KIND: &'static str = "core/v1 PodSpec";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::ResourceRequirements {
    const KIND: &'static str = "core/v1 ResourceRequirements";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::Affinity {
    const KIND: &'static str = "core/v1 Affinity";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::Toleration {
    const KIND: &'static str = "core/v1 Toleration";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::EnvVar {
    const KIND: &'static str = "core/v1 EnvVar";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::Volume {
    const KIND: &'static str = "core/v1 Volume";
}
impl EmbeddedKind for k8s_openapi::api::core::v1::VolumeMount {
    const KIND: &'static str = "core/v1 VolumeMount";
}

/// Marks an embedded Tekton `PipelineRunSpec`, which has no Rust model here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TektonPipelineRunSpec {}

impl EmbeddedKind for TektonPipelineRunSpec {
    const KIND: &'static str = "tekton.dev PipelineRunSpec";
}

/// A Kubernetes object of type `T`, kept as the raw JSON it was written as.
pub struct Embedded<T> {
    /// The value as compact JSON: a parsed `Value` costs several times the text's size, and a
    /// large installation holds thousands of PodSpecs.
    raw: Box<str>,
    kind: PhantomData<fn() -> T>,
}

impl<T> Embedded<T> {
    /// Wraps a raw value.
    pub fn from_raw(raw: Value) -> Self {
        Self {
            raw: raw.to_string().into_boxed_str(),
            kind: PhantomData,
        }
    }

    /// The value exactly as written (parsed from its stored text each time).
    pub fn raw(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }
}

impl<T: DeserializeOwned> Embedded<T> {
    /// Parses the value into the typed Kubernetes model as upstream Prow reads it (a number or
    /// boolean in a string field is its text, a key differing from a field only in case sets
    /// it: see [`crate::yaml::coerce`]). Unknown fields are ignored here; the checker reports
    /// them.
    pub fn parse(&self) -> Result<T, serde_json::Error> {
        crate::yaml::from_value(serde_json::from_str(&self.raw)?)
    }
}

impl<T: Serialize> Embedded<T> {
    /// Wraps a typed value.
    pub fn from_typed(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::from_raw(serde_json::to_value(value)?))
    }
}

impl<T> Clone for Embedded<T> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            kind: PhantomData,
        }
    }
}

impl<T> PartialEq for Embedded<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw || self.raw() == other.raw()
    }
}

impl<T: EmbeddedKind> fmt::Debug for Embedded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedded<{}>({})", T::KIND, self.raw)
    }
}

impl<T> Serialize for Embedded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from_raw)
    }
}

impl<T: EmbeddedKind> JsonSchema for Embedded<T> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("Embedded {}", T::KIND))
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "description": format!(
                "A Kubernetes {} (schemaless here to keep the CRD small; the operator validates it strictly).",
                T::KIND
            ),
        })
    }
}
