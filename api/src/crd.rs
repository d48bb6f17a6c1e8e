//! The CustomResourceDefinitions of every kind, as `prow-operator crds` prints them and as the
//! `crds/` directory holds them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceSubresources,
};
use kube::CustomResourceExt;

use crate::yaml::{self, YamlError};
use crate::{JobConfig, LabelSet, PluginConfig, ProwInstance, ProwJob};

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
