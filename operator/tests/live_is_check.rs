//! Live validation is `check`: on every configuration of the corpus, the findings the live
//! reconcile's validate step reports for the imported custom resources are the findings
//! `prow-operator check` reports for them (same object, rule, path, severity and message).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prow_api::status::Finding;
use prow_api::{JobConfig, LabelSet, PluginConfig};
use prow_operator::check::rule;
use prow_operator::cluster_aliases;
use prow_operator::controller::checked::Checked;
use prow_operator::controller::instance::validate_live;
use prow_operator::import::Imported;
use prow_operator::pipeline;

/// One finding as the user sees it: object, rule, path, severity, message.
type Seen = (String, String, String, String, String);

fn seen(object: String, finding: &Finding) -> Seen {
    (
        object,
        finding.rule.clone().unwrap_or_default(),
        finding.path.clone(),
        format!("{:?}", finding.severity),
        finding.message.clone(),
    )
}

fn object(kind: &str, meta: &ObjectMeta) -> String {
    format!(
        "{kind} {}/{}",
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// What `check` reports on the imported objects.
fn by_check(imported: &Imported) -> Vec<Seen> {
    let mut found: Vec<Seen> = pipeline::check_all(&support::inputs(imported))
        .iter()
        .flat_map(|report| report.findings.iter().map(|f| seen(report.object.clone(), f)))
        .collect();
    found.sort();
    found
}

/// What the live validate step reports on the imported objects, as the operator reads them from
/// its caches. Its build clusters are the instance's own, and when it names kubeconfig Secrets
/// (`spec.buildClusterSecrets`, which `check` cannot read), every alias the jobs use, as if the
/// Secrets held them.
fn by_live_reconcile(imported: &Imported) -> Vec<Seen> {
    let instance = &imported.instance;
    let job_configs: Vec<Arc<JobConfig>> = imported.job_configs.iter().cloned().map(Arc::new).collect();
    let plugin_configs: Vec<&PluginConfig> = imported.plugin_config.iter().collect();
    let label_sets: Vec<&LabelSet> = imported.label_set.iter().collect();
    let mut clusters: BTreeSet<String> = instance.spec.build_clusters.iter().map(|c| c.name.clone()).collect();
    if !instance.spec.build_cluster_secrets.is_empty() {
        clusters.extend(cluster_aliases::used_aliases(job_configs.iter().map(|c| &c.spec.jobs)));
    }
    let validation = validate_live(
        instance,
        Some(clusters),
        &job_configs,
        &plugin_configs,
        &label_sets,
        &Checked::default(),
    );
    let mut found: Vec<Seen> = Vec::new();
    let instance_object = object("ProwInstance", &instance.metadata);
    found.extend(validation.instance.iter().map(|f| seen(instance_object.clone(), f)));
    for (config, findings) in job_configs.iter().zip(&validation.job_configs) {
        found.extend(findings.iter().map(|f| seen(object("JobConfig", &config.metadata), f)));
    }
    for (config, findings) in plugin_configs.iter().zip(&validation.plugin_configs) {
        found.extend(
            findings
                .iter()
                .map(|f| seen(object("PluginConfig", &config.metadata), f)),
        );
    }
    for (set, findings) in label_sets.iter().zip(&validation.label_sets) {
        found.extend(findings.iter().map(|f| seen(object("LabelSet", &set.metadata), f)));
    }
    found.sort();
    found
}

#[test]
fn the_live_reconcile_finds_what_check_finds_on_every_corpus_configuration() {
    let configurations = support::configs::configurations();
    assert!(configurations.len() >= 4, "the corpus has four configurations");
    let (mut compared, mut decoration) = (0, 0);
    for configuration in configurations {
        let mut imported = configuration
            .import(None)
            .unwrap_or_else(|e| panic!("{}: {e}", configuration.name));
        let check = by_check(&imported);
        assert_eq!(by_live_reconcile(&imported), check, "{}", configuration.name);
        compared += check.len();

        // Without storage (the instance's, and plank's decoration defaults), every decorated job
        // that names no bucket of its own is refused: an error only the decoration checks find,
        // with the instance's defaults merged in. Live and check refuse the same ones.
        imported.instance.spec.storage = None;
        if let Some(plank) = imported
            .instance
            .spec
            .config
            .as_mut()
            .and_then(|c| c.get_mut("plank"))
            .and_then(|p| p.as_object_mut())
        {
            plank.remove("default_decoration_config_entries");
            plank.remove("default_decoration_configs");
        }
        let check = by_check(&imported);
        decoration += check.iter().filter(|seen| seen.1 == rule::DECORATION).count();
        compared += check.len();
        assert_eq!(
            by_live_reconcile(&imported),
            check,
            "{}, without storage",
            configuration.name
        );
    }
    assert!(compared > 0, "the corpus has findings to compare");
    assert!(decoration > 0, "decorated jobs without storage are refused");
}
