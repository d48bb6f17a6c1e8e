//! The kube side of our kinds (feature `resource`): each is a `kube::Resource` and a
//! `CustomResourceExt`, and the CustomResourceDefinitions of every kind, as
//! `prow-operator crds` prints them and as the `crds/` directory holds them, are built from the
//! kinds' [`KindDef`]s and their types' schemas, as kube's `CustomResource` derive builds them.

use std::borrow::Cow;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResourceExt;
use kube::core::schema::{OptionalEnum, OptionalIntOrString, StructuralSchemaRewriter};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::AddNullable;

use crate::kind::KindDef;
use crate::yaml::{self, YamlError};
use crate::{JobConfig, LabelSet, PluginConfig, ProwInstance, ProwJob};

/// Makes a kind (a struct with `metadata`, `spec`, `status` and a `KIND`) a namespaced
/// `kube::Resource` with a CRD.
macro_rules! resource {
    ($kind:ty) => {
        impl kube::Resource for $kind {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn group(_: &()) -> Cow<'_, str> {
                Self::KIND.group.into()
            }

            fn kind(_: &()) -> Cow<'_, str> {
                Self::KIND.kind.into()
            }

            fn version(_: &()) -> Cow<'_, str> {
                Self::KIND.version.into()
            }

            fn api_version(_: &()) -> Cow<'_, str> {
                Self::KIND.api_version.into()
            }

            fn plural(_: &()) -> Cow<'_, str> {
                Self::KIND.plural.into()
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl CustomResourceExt for $kind {
            fn crd() -> CustomResourceDefinition {
                definition::<Self>(&Self::KIND)
            }

            fn crd_name() -> &'static str {
                Self::KIND.crd_name
            }

            fn api_resource() -> kube::core::dynamic::ApiResource {
                kube::core::dynamic::ApiResource::erase::<Self>(&())
            }

            fn shortnames() -> &'static [&'static str] {
                Self::KIND.short_names
            }
        }
    };
}

resource!(ProwInstance);
resource!(JobConfig);
resource!(PluginConfig);
resource!(LabelSet);
resource!(ProwJob);

/// The CRD of a kind: its names and columns from `def`, its schema from the type `K`, generated
/// with the settings and transforms of kube's `CustomResource` derive (OpenAPI 3, inlined, no
/// `$schema`, structural).
fn definition<K: JsonSchema>(def: &KindDef) -> CustomResourceDefinition {
    let generator = SchemaSettings::openapi3()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .with_transform(AddNullable::default())
        .with_transform(StructuralSchemaRewriter)
        .with_transform(OptionalEnum)
        .with_transform(OptionalIntOrString)
        .into_generator();
    // schemars' output is always valid JSONSchemaProps; were it not, the CRD would have no schema,
    // which the CRD tests (every spec has a description) and `crds_fresh` catch.
    let schema: Option<JSONSchemaProps> = serde_json::to_value(generator.into_root_schema_for::<K>())
        .and_then(serde_json::from_value)
        .ok();
    let present = |values: &[&str]| (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect());
    let columns = def
        .printer_columns
        .iter()
        .map(|column| CustomResourceColumnDefinition {
            description: column.description.map(str::to_string),
            format: None,
            json_path: column.json_path.to_string(),
            name: column.name.to_string(),
            priority: None,
            type_: column.type_.to_string(),
        })
        .collect::<Vec<_>>();
    CustomResourceDefinition {
        metadata: ObjectMeta {
            annotations: def.annotation_map(),
            name: Some(def.crd_name.to_string()),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: def.group.to_string(),
            names: CustomResourceDefinitionNames {
                categories: present(def.categories),
                kind: def.kind.to_string(),
                plural: def.plural.to_string(),
                short_names: present(def.short_names),
                singular: Some(def.singular()),
                ..CustomResourceDefinitionNames::default()
            },
            scope: "Namespaced".to_string(),
            versions: vec![CustomResourceDefinitionVersion {
                additional_printer_columns: (!columns.is_empty()).then_some(columns),
                name: def.version.to_string(),
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: schema,
                }),
                served: true,
                storage: true,
                subresources: Some(CustomResourceSubresources {
                    scale: None,
                    status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
                }),
                ..CustomResourceDefinitionVersion::default()
            }],
            ..CustomResourceDefinitionSpec::default()
        },
        ..CustomResourceDefinition::default()
    }
}

/// Every CRD, in a stable order: our kinds, then upstream's ProwJob.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        ProwInstance::crd(),
        JobConfig::crd(),
        PluginConfig::crd(),
        LabelSet::crd(),
        prowjob(),
    ];
    for crd in &mut crds {
        // The API server would default it; stating it matches upstream's (controller-gen) CRDs.
        crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    }
    crds
}

/// Upstream's ProwJob CRD has no status subresource: deck, crier and plank write the status with
/// ordinary updates, which a status subresource would silently drop. Ours matches.
fn prowjob() -> CustomResourceDefinition {
    let mut crd = ProwJob::crd();
    for version in &mut crd.spec.versions {
        version.subresources = Some(CustomResourceSubresources::default());
    }
    crd
}

/// The file name of a CRD in `crds/`: `<group>_<plural>.yaml`, as controller-gen names them.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// A CRD as a YAML document, exactly as `crds/` holds it.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, YamlError> {
    Ok(format!("---\n{}", yaml::to_string(crd)?))
}
