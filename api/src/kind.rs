//! What the API server knows of each of our kinds besides its fields: group, version, names,
//! printer columns and annotations; and the wire form every object of them shares (`apiVersion`,
//! `kind`, `metadata`, `spec`, `status`). The kinds are plain structs, usable without a Kubernetes
//! client; with the `resource` feature, [`crate::crd`] makes them `kube` resources and builds
//! their CRDs from these definitions.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::ser::SerializeStruct;

/// One of our kinds as the API server sees it. Every kind is namespaced, served and stored in
/// one version, and has a status subresource unless its CRD says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindDef {
    /// The API group, such as `operator.prow.dev`.
    pub group: &'static str,
    /// The version, such as `v1alpha1`.
    pub version: &'static str,
    /// `group/version`.
    pub api_version: &'static str,
    /// The kind, such as `ProwInstance`.
    pub kind: &'static str,
    /// The resource name, such as `prowinstances`.
    pub plural: &'static str,
    /// The CRD's name: `plural.group`.
    pub crd_name: &'static str,
    /// Short names for `kubectl get`.
    pub short_names: &'static [&'static str],
    /// Categories for `kubectl get`.
    pub categories: &'static [&'static str],
    /// Annotations of the CRD, and of an object made with the kind's `new`.
    pub annotations: &'static [(&'static str, &'static str)],
    /// The columns `kubectl get` prints besides the name.
    pub printer_columns: &'static [PrinterColumn],
}

/// A column `kubectl get` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// The header.
    pub name: &'static str,
    /// The OpenAPI type: `string`, `integer`, `date`...
    pub type_: &'static str,
    /// The JSONPath of the value in the object.
    pub json_path: &'static str,
    /// What it shows.
    pub description: Option<&'static str>,
}

impl KindDef {
    /// The singular resource name: the kind in lower case.
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// The annotations as an object's or CRD's metadata holds them; none when there are none.
    pub fn annotation_map(&self) -> Option<BTreeMap<String, String>> {
        (!self.annotations.is_empty()).then(|| {
            self.annotations
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect()
        })
    }

    /// The metadata of a new object named `name`.
    pub fn new_metadata(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            annotations: self.annotation_map(),
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        }
    }

    /// Writes an object of this kind: `apiVersion`, `kind`, `metadata`, `spec`, and `status` when
    /// there is one.
    pub fn serialize<S, Spec, Status>(
        &self,
        serializer: S,
        metadata: &ObjectMeta,
        spec: &Spec,
        status: Option<&Status>,
    ) -> Result<S::Ok, S::Error>
    where
        S: serde::Serializer,
        Spec: Serialize,
        Status: Serialize,
    {
        let mut object = serializer.serialize_struct(self.kind, 4 + usize::from(status.is_some()))?;
        object.serialize_field("apiVersion", self.api_version)?;
        object.serialize_field("kind", self.kind)?;
        object.serialize_field("metadata", metadata)?;
        object.serialize_field("spec", spec)?;
        if let Some(status) = status {
            object.serialize_field("status", status)?;
        }
        object.end()
    }
}

/// The inherent `KIND`-based parts of a kind's struct (`Name { metadata, spec, status }`): its
/// constructor and its wire form.
macro_rules! object {
    ($kind:ident, $spec:ty) => {
        impl $kind {
            /// A new object named `name` with `spec` and no status.
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: Self::KIND.new_metadata(name),
                    spec,
                    status: None,
                }
            }
        }

        impl serde::Serialize for $kind {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                Self::KIND.serialize(serializer, &self.metadata, &self.spec, self.status.as_ref())
            }
        }
    };
}
pub(crate) use object;

#[cfg(test)]
mod tests {
    use crate::{JobConfig, LabelSet, PluginConfig, ProwInstance, ProwJob};

    #[test]
    fn derived_names_agree_with_their_parts() {
        for def in [
            ProwInstance::KIND,
            JobConfig::KIND,
            PluginConfig::KIND,
            LabelSet::KIND,
            ProwJob::KIND,
        ] {
            assert_eq!(def.api_version, format!("{}/{}", def.group, def.version));
            assert_eq!(def.crd_name, format!("{}.{}", def.plural, def.group));
            assert_eq!(def.plural, format!("{}s", def.singular()));
        }
    }
}
