//! The ProwInstance reconcile: read, then validate, then build, then apply, then status.
//!
//! Validation and rendering are the pure `pipeline` and `render` cores; this module reads their
//! inputs from the caches and the API, applies their output with [`Applier`], and writes what
//! happened into the status of the instance and of every object it selects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use prow_api::instance::{ProwInstanceStatus, SelectedObjects};
use prow_api::job::JobCounts;
use prow_api::status::{Finding, ObjectReference, Severity};
use prow_api::{JobConfig, LabelSet, PluginConfig, ProwInstance};
use serde_json::json;
use tracing::{info, warn};

use super::api_error;
use super::apply::{self, Desired, Plan};
use super::checked::Checked;
use super::configs::{self, InEffect, Outcome};
use super::last_good::{self, Accepted};
use super::notices::{self, Notice};
use super::readiness;
use super::secrets;
use super::status::{Health, Summary, conditions};
use super::{ConfigRef, Context, ReadError, ReconcileError, selected_by};
use super::{build_clusters, namespaces, storage_copy};
use crate::input::{Inputs, Source, Sourced};
use crate::instance_config::InstanceConfig;
use crate::pipeline::{self, ConfigKind, JobSettings, Report};
use crate::render::config_yaml::Namespaces;
use crate::render::meta::Owner;
use crate::render::object::Object;
use crate::render::{self, RenderError, RenderInput};

/// The finalizer that lets the operator delete what it rendered outside the instance's namespace
/// (Roles and RoleBindings in the ProwJob and pod namespaces), which owner references cannot
/// reach.
pub const FINALIZER: &str = "operator.prow.dev/cleanup";

/// How often an instance is reconciled with nothing changing, to repair drift on kinds the
/// operator does not watch.
const RESYNC: Duration = Duration::from_secs(600);

fn describe(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn source_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Source {
    Source::Cluster {
        uid: meta.uid.clone().unwrap_or_default(),
    }
}

/// Reconciles one ProwInstance.
#[tracing::instrument(skip_all, fields(instance = %describe(&instance.metadata)))]
pub async fn reconcile(instance: Arc<ProwInstance>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    ctx.reconciles.queue.started(&instance);
    let result = if instance.metadata.deletion_timestamp.is_some() {
        clean_up(&instance, &ctx).await.map(|action| (action, None))
    } else {
        reconcile_live(&instance, &ctx).await
    };
    let (outcome, reason) = metric_labels(result.as_ref().map(|(_, stall)| *stall));
    let elapsed = started.elapsed();
    info!(
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        result = outcome,
        reason = reason.unwrap_or_default(),
        "reconciled"
    );
    super::release_freed_memory();
    ctx.metrics.increment(
        "prow_operator_reconciles_total",
        "Reconciles by kind and result (error: it failed, or ended in a Stalled condition).",
        &[("kind", "ProwInstance"), ("result", outcome)],
    );
    if let Some(reason) = reason {
        ctx.metrics.increment(
            "prow_operator_reconcile_errors_total",
            "Failed reconciles by kind and reason (a Stalled condition's reason, or what failed).",
            &[("kind", "ProwInstance"), ("reason", reason)],
        );
    }
    ctx.metrics.observe(
        "prow_operator_reconcile_duration_seconds",
        "Reconcile duration by kind.",
        &[("kind", "ProwInstance")],
        elapsed.as_secs_f64(),
    );
    result.map(|(action, _)| action)
}

/// Why a reconcile ended with the instance `Stalled`: the closed set of its condition's reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// The instance's spec has errors; nothing was applied.
    InvalidSpec,
    /// The API server refused objects (invalid, owned by someone else, namespace missing).
    ApplyRefused,
    /// A Secret or key the spec names does not exist.
    SecretMissing,
    /// A Secret of build-cluster kubeconfigs is missing or holds a file that cannot be read.
    InvalidKubeconfig,
}

impl Stall {
    const ALL: [Stall; 4] = [
        Stall::InvalidSpec,
        Stall::ApplyRefused,
        Stall::SecretMissing,
        Stall::InvalidKubeconfig,
    ];

    /// The condition reason, also the metrics' `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidSpec => "InvalidSpec",
            Self::ApplyRefused => "ApplyRefused",
            Self::SecretMissing => "SecretMissing",
            Self::InvalidKubeconfig => "InvalidKubeconfig",
        }
    }

    /// The stall `summary` reports, if it is one.
    fn of(summary: &Summary) -> Option<Self> {
        (summary.health == Health::Stalled)
            .then(|| Self::ALL.into_iter().find(|s| s.reason() == summary.reason))
            .flatten()
    }
}

/// The `result` label of a reconcile and, for one that failed or stalled, its `reason` label;
/// both from closed sets (never a user's string).
fn metric_labels(result: Result<Option<Stall>, &ReconcileError>) -> (&'static str, Option<&'static str>) {
    match result {
        Ok(None) => ("success", None),
        Ok(Some(stall)) => ("error", Some(stall.reason())),
        Err(error) => ("error", Some(error.reason())),
    }
}

async fn clean_up(instance: &ProwInstance, ctx: &Context) -> Result<Action, ReconcileError> {
    let owner = Owner::of(instance);
    if !instance.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let (live, _) = ctx
        .reconciles
        .applier
        .live(&owner.name, &owner.namespace)
        .await
        .map_err(|source| ReconcileError::read("the instance's objects", source))?;
    for object in &live {
        ctx.reconciles
            .applier
            .delete(&object.key)
            .await
            .map_err(|source| ReconcileError::prune(&object.key, source))?;
    }
    let remaining: Vec<String> = instance
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let api: Api<ProwInstance> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let patch = json!({"metadata": {"finalizers": remaining, "resourceVersion": instance.resource_version()}});
    api.patch(&owner.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::write("the finalizer", source))?;
    let dropped = ctx.reconciles.selections.forget(&instance_key(instance));
    ctx.leadership.recheck(dropped);
    ctx.build_clusters.forget(&instance_key(instance));
    info!(deleted = live.len(), "instance deleted; its objects are removed");
    Ok(Action::await_change())
}

fn instance_key(instance: &ProwInstance) -> (String, String) {
    (instance.namespace().unwrap_or_default(), instance.name_any())
}

async fn ensure_finalizer(instance: &ProwInstance, ctx: &Context) -> Result<(), ReconcileError> {
    if instance.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut finalizers = instance.finalizers().to_vec();
    finalizers.push(FINALIZER.to_string());
    let api: Api<ProwInstance> = Api::namespaced(ctx.client.clone(), &instance.namespace().unwrap_or_default());
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": instance.resource_version()}});
    api.patch(&instance.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ReconcileError::write("the finalizer", source))?;
    Ok(())
}

/// The objects the instance selects, read from the caches: its PluginConfigs and LabelSets as
/// inputs, and its JobConfigs as the cache's own shared copies (they are large), in a stable
/// order.
fn snapshot(instance: &ProwInstance, ctx: &Context) -> (Inputs, Vec<Arc<JobConfig>>) {
    let mut inputs = Inputs::default();
    for namespace in ctx.stores.namespaces.state() {
        inputs
            .namespace_labels
            .insert(namespace.name_any(), namespace.labels().clone());
    }
    let labels_of = |namespace: &str| inputs.namespace_labels.get(namespace);
    let stores = &ctx.stores;
    let mut job_configs = selected_by(instance, ConfigKind::JobConfig, stores.job_configs.state(), labels_of);
    let mut plugin_configs = selected_by(
        instance,
        ConfigKind::PluginConfig,
        stores.plugin_configs.state(),
        labels_of,
    );
    let mut label_sets = selected_by(instance, ConfigKind::LabelSet, stores.label_sets.state(), labels_of);
    // The caches have no order; the rendered output must not depend on watch order.
    job_configs.sort_by_key(|c| describe(&c.metadata));
    plugin_configs.sort_by_key(|c| describe(&c.metadata));
    label_sets.sort_by_key(|c| describe(&c.metadata));
    inputs.plugin_configs = plugin_configs
        .iter()
        .map(|c| Sourced {
            source: source_of(&c.metadata),
            object: PluginConfig::clone(c),
        })
        .collect();
    inputs.label_sets = label_sets
        .iter()
        .map(|c| Sourced {
            source: source_of(&c.metadata),
            object: LabelSet::clone(c),
        })
        .collect();
    inputs.instances.push(Sourced {
        source: source_of(&instance.metadata),
        object: instance.clone(),
    });
    (inputs, job_configs)
}

/// A selected JobConfig and what the checks found in it.
struct Judged {
    config: Arc<JobConfig>,
    findings: Vec<Finding>,
}

impl Judged {
    fn rejected(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// What the live validate step finds, without the API: [`pipeline::validate_objects`], the one
/// validation `check` runs too, with each JobConfig's own findings remembered in `checked` (once
/// per generation and settings). `clusters` are the build-cluster aliases the operator knows.
pub fn validate_live(
    instance: &ProwInstance,
    clusters: Option<BTreeSet<String>>,
    job_configs: &[Arc<JobConfig>],
    plugin_configs: &[&PluginConfig],
    label_sets: &[&LabelSet],
    checked: &Checked,
) -> pipeline::Validation {
    let configs: Vec<&JobConfig> = job_configs.iter().map(Arc::as_ref).collect();
    pipeline::validate_objects(
        instance,
        clusters,
        &configs,
        plugin_configs,
        label_sets,
        &|config, settings| checked.findings(config, settings),
    )
}

/// The selected JobConfigs with what validation found in each.
fn judged(job_configs: &[Arc<JobConfig>], findings: Vec<Vec<Finding>>) -> Vec<Judged> {
    job_configs
        .iter()
        .zip(findings)
        .map(|(config, findings)| Judged {
            config: config.clone(),
            findings,
        })
        .collect()
}

/// The JobConfigs in effect for `instance` now, for the job loops: each selected one that passes
/// its checks, else its last accepted version when this replica knows it; and the settings its
/// jobs are created with.
pub fn job_configs_in_effect(instance: &ProwInstance, ctx: &Context) -> (Vec<Arc<JobConfig>>, JobSettings) {
    let (_, job_configs) = snapshot(instance, ctx);
    let declared = ctx.build_clusters.declared(&instance_key(instance));
    let validation = validate_live(instance, declared, &job_configs, &[], &[], &ctx.reconciles.checked);
    let in_effect = judged(&job_configs, validation.job_configs)
        .into_iter()
        .filter_map(|judged| {
            if !judged.rejected() {
                return Some(judged.config);
            }
            let uid = judged.config.metadata.uid.clone().unwrap_or_default();
            ctx.last_good.get(&uid).map(|good| good.config.clone())
        })
        .collect();
    (in_effect, validation.settings)
}

/// The JobConfigs in effect: each accepted one as it is, each rejected one as it last was
/// accepted (when known), with what stays in effect for the rejected ones' status.
struct Effective {
    in_effect: Vec<Arc<Accepted>>,
    fallbacks: BTreeMap<String, InEffect>,
}

async fn effective_job_configs(
    judged: &[Judged],
    live: &[apply::Live],
    owner: &Owner,
    ctx: &Context,
) -> Result<Effective, ValidateError> {
    let mut effective = Effective {
        in_effect: Vec::new(),
        fallbacks: BTreeMap::new(),
    };
    let mut maps: Option<Vec<ConfigMap>> = None;
    for entry in judged {
        let object = &entry.config;
        let uid = object.metadata.uid.clone().unwrap_or_default();
        if !entry.rejected() {
            effective.in_effect.push(ctx.last_good.accept(object.clone())?);
            continue;
        }
        let good = match ctx.last_good.get(&uid) {
            Some(good) => Some(good),
            None => {
                // After a restart: the rendered ConfigMaps hold what was in effect.
                if maps.is_none() {
                    maps = Some(job_config_maps(live, owner, ctx).await?);
                }
                match maps.as_deref().and_then(|m| last_good::recover(object, m)) {
                    Some(jobs) => {
                        let mut good = JobConfig::clone(object);
                        good.spec.jobs = jobs;
                        good.metadata.generation = object.status.as_ref().and_then(|s| s.accepted_generation);
                        Some(ctx.last_good.accept(Arc::new(good))?)
                    }
                    None => None,
                }
            }
        };
        if let Some(good) = good {
            effective.fallbacks.insert(
                uid,
                InEffect {
                    generation: good.config.metadata.generation,
                    jobs: good.config.spec.jobs.counts(),
                },
            );
            effective.in_effect.push(good);
        }
    }
    Ok(effective)
}

async fn job_config_maps(live: &[apply::Live], owner: &Owner, ctx: &Context) -> Result<Vec<ConfigMap>, ReadError> {
    let prefix = owner.name("job-config-");
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let mut maps = Vec::new();
    for object in live {
        let (kind, namespace, name) = &object.key;
        if kind == "ConfigMap"
            && *namespace == owner.namespace
            && name.starts_with(&prefix)
            && let Some(map) = api
                .get_opt(name)
                .await
                .map_err(|source| ReadError::new("the job-config ConfigMaps", source))?
        {
            maps.push(map);
        }
    }
    Ok(maps)
}

/// Reconciles a live instance: read, validate, build, apply, status. Returns when to look again
/// and whether it stalled.
async fn reconcile_live(instance: &ProwInstance, ctx: &Context) -> Result<(Action, Option<Stall>), ReconcileError> {
    ensure_finalizer(instance, ctx).await?;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let Some((read, mut deployments)) = read(instance, ctx).await? else {
        return Ok((Action::await_change(), None));
    };
    let validated = validate(instance, &read, ctx).await?;
    let mut applied = Applied::nothing(instance);
    if validated.instance_errors().is_empty() {
        let problems = create_namespaces(instance, &read.owner, &read.namespaces, ctx).await;
        let built = build(instance, &read, &validated, &deployments, ctx)?;
        applied = apply(instance, built, problems, &read, &mut deployments, ctx).await;
    }
    let summary = status(instance, &read, &validated, &applied, &deployments, &now, ctx).await?;
    record_selection(instance, &validated, ctx);
    if applied.problems.iter().any(|p| p.transient) {
        return Err(ApplyError::of(&applied.problems).into());
    }
    // Build clusters are probed again at least every minute.
    let resync = if read.clusters.is_empty() {
        RESYNC
    } else {
        build_clusters::PROBE_EVERY
    };
    Ok((Action::requeue(resync), Stall::of(&summary)))
}

/// The JobConfigs in effect could not be worked out (the validate step).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// After a restart, the rendered job-config ConfigMaps (what was in effect) could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An accepted JobConfig's files could not be rendered.
    #[error("rendering: {0}")]
    Render(#[from] RenderError),
}

/// The instance's objects could not be built (the build step).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The instance's configuration does not resolve; validation reports why, and the build
    /// step does not run then.
    #[error("the instance's configuration does not resolve")]
    Unresolved,
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// An object could not be made the body of an apply.
    #[error(transparent)]
    Body(#[from] serde_json::Error),
}

/// Some objects could not be applied or pruned, and a retry may help (the apply step).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApplyError {
    /// What failed, one sentence per object.
    pub message: String,
}

impl ApplyError {
    fn of(problems: &[Problem]) -> Self {
        let failed: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        Self {
            message: listed(&failed),
        }
    }
}

/// What the reconcile reads: the objects the instance selects, its Secrets, the objects it owns
/// and its build clusters. The live Deployments come beside it: the apply step updates them.
struct Read {
    owner: Owner,
    /// The instance, as the pipeline reads it.
    sourced: Sourced<ProwInstance>,
    /// What it may select (`select` picks).
    inputs: Inputs,
    job_configs: Vec<Arc<JobConfig>>,
    secret_uses: Vec<secrets::SecretUse>,
    observed: secrets::Observed,
    namespaces: Namespaces,
    storage_copy: storage_copy::StorageCopy,
    live: Vec<apply::Live>,
    kubeconfigs: build_clusters::Kubeconfigs,
    clusters: Vec<crate::cluster_aliases::Resolved>,
    cluster_problems: Vec<String>,
}

/// The read step: `None` when the instance is not in the cache.
async fn read(instance: &ProwInstance, ctx: &Context) -> Result<Option<(Read, Vec<Deployment>)>, ReadError> {
    let owner = Owner::of(instance);
    let (mut inputs, job_configs) = snapshot(instance, ctx);
    let Some(sourced) = inputs.instances.pop() else {
        return Ok(None);
    };
    let secret_uses = secrets::references(&instance.spec);
    let secrets_api: Api<Secret> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let instance_secrets = secrets::read(&secrets_api, &instance.spec)
        .await
        .map_err(|source| ReadError::new("the instance's Secrets", source))?;
    let observed = secrets::observe(&instance_secrets);
    let namespaces = Namespaces::of(&owner, &instance.spec);
    let storage_reference = storage_copy::source(&instance.spec);
    let storage = read_storage_secrets(ctx, &owner, &namespaces.pod, storage_reference, &instance_secrets).await?;
    let (live, deployments) = ctx
        .reconciles
        .applier
        .live(&owner.name, &owner.namespace)
        .await
        .map_err(|source| ReadError::new("the instance's objects", source))?;
    let (kubeconfigs, clusters, cluster_problems) = build_clusters::resolve(&instance.spec, &instance_secrets);
    ctx.build_clusters.declare(instance_key(instance), &clusters);
    let storage_copy = storage_copy::decide(
        &owner,
        &namespaces.pod,
        storage_reference,
        storage.source.as_ref(),
        storage.current.as_ref(),
    );
    let read = Read {
        owner,
        sourced,
        inputs,
        job_configs,
        secret_uses,
        observed,
        namespaces,
        storage_copy,
        live,
        kubeconfigs,
        clusters,
        cluster_problems,
    };
    Ok(Some((read, deployments)))
}

/// What the checks found: in the instance, each selected object, and which JobConfigs are in
/// effect.
struct Validated<'a> {
    selected: pipeline::Selected<'a>,
    config: Option<Arc<InstanceConfig>>,
    instance_report: Report,
    judged: Vec<Judged>,
    reports: Vec<Report>,
    effective: Effective,
}

impl Validated<'_> {
    /// The errors in the instance itself: with any, nothing is built or applied.
    fn instance_errors(&self) -> Vec<&Finding> {
        self.instance_report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect()
    }
}

/// The validate step.
async fn validate<'a>(instance: &ProwInstance, read: &'a Read, ctx: &Context) -> Result<Validated<'a>, ValidateError> {
    let selected = pipeline::select(&read.inputs, &read.sourced);
    let clusters = read.clusters.iter().map(|c| c.alias.clone()).collect();
    let validation = validate_live(
        instance,
        Some(clusters),
        &read.job_configs,
        &selected.plugin_config_objects(),
        &selected.label_set_objects(),
        &ctx.reconciles.checked,
    );
    let instance_report = Report {
        source: read.sourced.source.clone(),
        object: format!("ProwInstance {}", describe(&instance.metadata)),
        findings: validation.instance,
    };
    let config = validation.settings.config.clone();
    let judged = judged(&read.job_configs, validation.job_configs);
    let reports = selected.plugin_and_label_reports(validation.plugin_configs, validation.label_sets);
    let effective = effective_job_configs(&judged, &read.live, &read.owner, ctx).await?;
    Ok(Validated {
        selected,
        config,
        instance_report,
        judged,
        reports,
        effective,
    })
}

/// What the build step makes: every object the instance should have, and its configuration's
/// hash and job counts.
struct Built {
    desired: Vec<Desired>,
    config_hash: String,
    jobs: JobCounts,
}

/// The build step.
fn build(
    instance: &ProwInstance,
    read: &Read,
    validated: &Validated<'_>,
    deployments: &[Deployment],
    ctx: &Context,
) -> Result<Built, BuildError> {
    let mut in_effect: Vec<&Accepted> = validated.effective.in_effect.iter().map(Arc::as_ref).collect();
    in_effect.sort_by_key(|a| describe(&a.config.metadata));
    let jobs = in_effect.iter().fold(JobCounts::default(), |sum, a| {
        let c = a.config.spec.jobs.counts();
        JobCounts {
            presubmits: sum.presubmits + c.presubmits,
            postsubmits: sum.postsubmits + c.postsubmits,
            periodics: sum.periodics + c.periodics,
        }
    });
    let job_config_refs: Vec<&JobConfig> = in_effect.iter().map(|a| a.config.as_ref()).collect();
    let files: Vec<(String, String)> = in_effect.iter().flat_map(|a| a.files.iter().cloned()).collect();
    let plugin_configs = pipeline::accepted(&validated.selected.plugin_configs, &validated.reports);
    let label_sets = pipeline::accepted(&validated.selected.label_sets, &validated.reports);
    let config = validated.config.as_ref().ok_or(BuildError::Unresolved)?;
    let rendered = render::render(&RenderInput {
        instance,
        config: &config.yaml,
        job_configs: &job_config_refs,
        plugin_configs: &plugin_configs,
        label_sets: &label_sets,
        secrets: secrets::for_render(&read.secret_uses, &read.observed, deployments),
        operator_webhook: ctx.webhook.clone(),
        job_config_files: Some(files),
    })?;
    let storage_secret = match &read.storage_copy {
        storage_copy::StorageCopy::Keep(secret) => Some(Object::Secret(Secret::clone(secret))),
        storage_copy::StorageCopy::None | storage_copy::StorageCopy::Missing(_) => None,
    };
    let kubeconfigs_secret =
        build_clusters::kubeconfig_secret(&read.owner, &instance.spec, &read.clusters, &read.kubeconfigs)
            .map(Object::Secret);
    let desired = rendered
        .objects
        .iter()
        .chain(storage_secret.as_ref())
        .chain(kubeconfigs_secret.as_ref())
        .map(|object| with_owner(Desired::of(object), instance, &read.owner))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Built {
        desired,
        config_hash: rendered.config_hash,
        jobs,
    })
}

/// What the apply step did; with nothing applied, the configuration hash stays the last one.
struct Applied {
    problems: Vec<Problem>,
    changed: usize,
    config_hash: Option<String>,
    jobs: Option<JobCounts>,
}

impl Applied {
    fn nothing(instance: &ProwInstance) -> Self {
        Self {
            problems: Vec::new(),
            changed: 0,
            config_hash: instance.status.as_ref().and_then(|s| s.config_hash.clone()),
            jobs: None,
        }
    }
}

/// The apply step: applies what `built` holds beside `problems` (the namespaces that could not
/// be created), and brings `deployments` up to date with what it wrote.
async fn apply(
    instance: &ProwInstance,
    built: Built,
    mut problems: Vec<Problem>,
    read: &Read,
    deployments: &mut Vec<Deployment>,
    ctx: &Context,
) -> Applied {
    let plan = {
        let written = ctx.reconciles.written.lock().unwrap_or_else(|p| p.into_inner());
        apply::plan(built.desired, &read.live, &written)
    };
    let outcome = carry_out(&plan, &read.live, ctx).await;
    problems.extend(outcome.problems);
    for deployment in outcome.deployments {
        deployments.retain(|d| d.metadata.name != deployment.metadata.name);
        deployments.push(deployment);
    }
    info!(
        changed = outcome.changed.len(),
        pruned = outcome.pruned.len(),
        unchanged = plan.unchanged + outcome.unchanged,
        "applied"
    );
    if let Some(notice) = applied_notice(&outcome.changed, &outcome.pruned) {
        ctx.publish(&instance.object_ref(&()), &notice).await;
    }
    Applied {
        problems,
        changed: outcome.changed.len(),
        config_hash: Some(built.config_hash),
        jobs: Some(built.jobs),
    }
}

/// The status step: probes the build clusters (when their credentials change and every minute),
/// writes the instance's status and every selected object's, and publishes what changed.
async fn status(
    instance: &ProwInstance,
    read: &Read,
    validated: &Validated<'_>,
    applied: &Applied,
    deployments: &[Deployment],
    now: &Time,
    ctx: &Context,
) -> Result<Summary, ReconcileError> {
    let used = crate::cluster_aliases::used_aliases(validated.effective.in_effect.iter().map(|a| &a.config.spec.jobs));
    let cluster_statuses = ctx
        .build_clusters
        .refresh(
            instance_key(instance),
            &read.namespaces.pod,
            &read.clusters,
            &read.kubeconfigs,
            &used,
        )
        .await;
    let owner = &read.owner;
    let readiness = readiness::components(owner, &instance.spec, deployments);
    let mut secret_problems = secrets::problems(&owner.namespace, &read.secret_uses, &read.observed);
    if let storage_copy::StorageCopy::Missing(message) = &read.storage_copy {
        secret_problems.push(message.clone());
    }
    let judged = &validated.judged;
    let reports = &validated.reports;
    let rejected = judged.iter().filter(|j| j.rejected()).count() + reports.iter().filter(|r| r.has_errors()).count();
    let selected_objects = selected_refs(&validated.selected, judged);
    let summary = summarise(
        &validated.instance_errors(),
        &applied.problems,
        &Unusable {
            secrets: &secret_problems,
            kubeconfigs: &read.cluster_problems,
            clusters: &build_clusters::unavailable(&cluster_statuses),
        },
        &readiness,
        applied.changed,
        &selected_objects,
        rejected,
    );
    let previous = instance.status.clone().unwrap_or_default();
    let status = ProwInstanceStatus {
        observed_generation: instance.metadata.generation,
        conditions: conditions(&previous.conditions, &summary, instance.metadata.generation, now),
        components: readiness.into_iter().map(|r| r.status).collect(),
        jobs: applied.jobs.or(previous.jobs),
        config_hash: applied.config_hash.clone(),
        selected: Some(selected_objects),
        functions: crate::render::components::functions(&instance.spec),
        build_clusters_reachable: build_clusters::reachable_count(&cluster_statuses),
        build_clusters: cluster_statuses,
        // The webhook loop's (controller::webhooks): compared as it is, never written here.
        webhooks: previous.webhooks.clone(),
    };
    if let Some(notice) = notices::transition(&previous.conditions, &summary) {
        ctx.publish(&instance.object_ref(&()), &notice).await;
    }
    for notice in build_clusters::transitions(&previous.build_clusters, &status.build_clusters) {
        ctx.publish(&instance.object_ref(&()), &notice).await;
    }
    if status != previous {
        // A merge patch without `webhooks` (an empty list is not serialised), so what the
        // webhook loop wrote meanwhile is kept.
        let written = ProwInstanceStatus {
            webhooks: Vec::new(),
            ..status.clone()
        };
        patch_status::<ProwInstance>(ctx, &owner.namespace, &owner.name, &written).await?;
    }
    write_config_statuses(
        instance,
        &validated.selected,
        judged,
        reports,
        &validated.effective,
        ctx,
        now,
    )
    .await?;
    Ok(summary)
}

/// Records which objects the instance selects now, so that those it let go are looked at again.
fn record_selection(instance: &ProwInstance, validated: &Validated<'_>, ctx: &Context) {
    let mut now_selected = BTreeSet::new();
    now_selected.extend(
        validated
            .judged
            .iter()
            .map(|j| ConfigRef::of(ConfigKind::JobConfig, &j.config.metadata)),
    );
    now_selected.extend(
        validated
            .selected
            .plugin_configs
            .iter()
            .map(|c| ConfigRef::of(ConfigKind::PluginConfig, &c.object.metadata)),
    );
    now_selected.extend(
        validated
            .selected
            .label_sets
            .iter()
            .map(|c| ConfigRef::of(ConfigKind::LabelSet, &c.object.metadata)),
    );
    let dropped = ctx.reconciles.selections.record(instance_key(instance), now_selected);
    ctx.leadership.recheck(dropped);
}

/// The storage Secret as the instance's namespace holds it (taken from `instance_secrets`, the
/// instance's Secrets read already, which name it), and the Secret of that name in the pod
/// namespace: the inputs of [`storage_copy::decide`].
struct StorageSecrets {
    source: Option<Secret>,
    current: Option<Secret>,
}

async fn read_storage_secrets(
    ctx: &Context,
    owner: &Owner,
    pod_namespace: &str,
    reference: Option<&prow_api::instance::SecretKeyRef>,
    instance_secrets: &BTreeMap<String, Option<Secret>>,
) -> Result<StorageSecrets, ReadError> {
    let Some(reference) = reference.filter(|_| pod_namespace != owner.namespace) else {
        return Ok(StorageSecrets {
            source: None,
            current: None,
        });
    };
    let read = |namespace: &str| {
        let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
        let name = reference.name.clone();
        async move { api.get_opt(&name).await }
    };
    let failed = |source| ReadError::new("the storage Secret and its copy", source);
    let source = match instance_secrets.get(&reference.name) {
        Some(source) => source.clone(),
        None => read(&owner.namespace).await.map_err(failed)?,
    };
    Ok(StorageSecrets {
        source,
        current: read(pod_namespace).await.map_err(failed)?,
    })
}

/// Creates the instance's ProwJob and pod namespaces that do not exist (see [`namespaces`]);
/// returns what could not be created.
async fn create_namespaces(instance: &ProwInstance, owner: &Owner, wanted: &Namespaces, ctx: &Context) -> Vec<Problem> {
    let exists = |name: &str| {
        ctx.stores
            .namespaces
            .get(&kube::runtime::reflector::ObjectRef::new(name))
            .is_some()
    };
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let mut problems = Vec::new();
    for namespace in namespaces::missing(owner, wanted, exists) {
        let name = namespace.name_any();
        match api.create(&PostParams::default(), &namespace).await {
            Ok(_) => {
                info!(namespace = %name, "created a missing namespace");
                ctx.publish(
                    &instance.object_ref(&()),
                    &Notice {
                        warning: false,
                        reason: "NamespaceCreated".into(),
                        note: format!("created namespace {name}, which the instance runs jobs in"),
                    },
                )
                .await;
            }
            // Created meanwhile (the cache had not seen it yet).
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => {
                warn!(namespace = %name, %error, "creating a namespace failed");
                problems.push(Problem {
                    transient: transient(&error),
                    message: format!("creating Namespace {name}: {error}"),
                });
            }
        }
    }
    problems
}

fn with_owner(
    desired: Result<Desired, serde_json::Error>,
    instance: &ProwInstance,
    owner: &Owner,
) -> Result<Desired, serde_json::Error> {
    let mut desired = desired?;
    // Owner references cannot cross namespaces: objects elsewhere are removed by the finalizer.
    if desired.key.1 == owner.namespace
        && let Some(reference) = instance.controller_owner_ref(&())
    {
        desired.body["metadata"]["ownerReferences"] = serde_json::to_value([reference])?;
    }
    Ok(desired)
}

/// One object that could not be applied or pruned.
struct Problem {
    message: String,
    /// Whether retrying may help (server errors, throttling, timeouts) or the object itself is
    /// refused (invalid, or owned by someone else).
    transient: bool,
}

impl Problem {
    /// The failure of `verb` (`applying`, `pruning`) on the object `key`.
    fn of(verb: &str, key: &apply::Key, error: &kube::Error) -> Self {
        let (kind, namespace, name) = key;
        Self {
            message: api_error::describe(verb, &format!("{kind} {namespace}/{name}"), error),
            transient: transient(error),
        }
    }
}

struct Carried {
    /// What changed, as `created Kind namespace/name` or `updated ...`.
    changed: Vec<String>,
    /// What was deleted, as `deleted Kind namespace/name`.
    pruned: Vec<String>,
    /// How many applies changed nothing.
    unchanged: usize,
    deployments: Vec<Deployment>,
    problems: Vec<Problem>,
}

/// Whether retrying may help: server errors, throttling, timeouts and stale-version conflicts.
/// A field-manager conflict (someone else owns the field), an invalid object or a missing
/// namespace needs a change first.
fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) if status.code >= 500 || status.code == 429 => true,
        kube::Error::Api(status) if status.code == 409 => !status.message.contains("conflict with"),
        kube::Error::Api(_) => false,
        _ => true,
    }
}

async fn carry_out(plan: &Plan, live: &[apply::Live], ctx: &Context) -> Carried {
    let before: BTreeMap<&apply::Key, &apply::Live> = live.iter().map(|l| (&l.key, l)).collect();
    let mut carried = Carried {
        changed: Vec::new(),
        pruned: Vec::new(),
        unchanged: 0,
        deployments: Vec::new(),
        problems: Vec::new(),
    };
    for step in &plan.apply {
        let (kind, namespace, name) = &step.desired.key;
        let started = Instant::now();
        let result = ctx.reconciles.applier.apply(step).await;
        ctx.metrics.observe(
            "prow_operator_apply_duration_seconds",
            "Server-side apply latency by kind.",
            &[("kind", kind)],
            started.elapsed().as_secs_f64(),
        );
        match result {
            Ok(object) => {
                let written = apply::written(&object);
                let change = apply::change(before.get(&step.desired.key).copied(), &written, &step.desired.hash);
                ctx.reconciles
                    .written
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(step.desired.key.clone(), written);
                if kind == "Deployment"
                    && let Ok(deployment) = serde_json::to_value(&object).and_then(serde_json::from_value::<Deployment>)
                {
                    carried.deployments.push(deployment);
                }
                match change.verb() {
                    Some(verb) => carried.changed.push(format!("{verb} {kind} {namespace}/{name}")),
                    None => carried.unchanged += 1,
                }
            }
            Err(error) => {
                ctx.metrics.increment(
                    "prow_operator_apply_errors_total",
                    "Failed applies and deletes by kind.",
                    &[("kind", kind)],
                );
                let problem = Problem::of("applying", &step.desired.key, &error);
                warn!(message = %problem.message, "apply failed");
                carried.problems.push(problem);
            }
        }
    }
    for key in &plan.prune {
        match ctx.reconciles.applier.delete(key).await {
            Ok(()) => {
                ctx.reconciles
                    .written
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(key);
                carried.pruned.push(format!("deleted {} {}/{}", key.0, key.1, key.2));
            }
            Err(error) => {
                ctx.metrics.increment(
                    "prow_operator_apply_errors_total",
                    "Failed applies and deletes by kind.",
                    &[("kind", &key.0)],
                );
                let problem = Problem {
                    transient: true,
                    ..Problem::of("pruning", key, &error)
                };
                warn!(message = %problem.message, "prune failed");
                carried.problems.push(problem);
            }
        }
    }
    carried
}

/// What the instance's Secrets and build clusters hold up, one sentence each: Secrets or keys
/// missing, kubeconfig files that cannot be read (no alias known), and the build clusters some
/// job uses that are not reachable.
#[derive(Default)]
struct Unusable<'a> {
    secrets: &'a [String],
    kubeconfigs: &'a [String],
    clusters: &'a [String],
}

fn summarise(
    instance_errors: &[&Finding],
    problems: &[Problem],
    unusable: &Unusable<'_>,
    components: &[readiness::Readiness],
    applied: usize,
    selected: &SelectedObjects,
    rejected: usize,
) -> Summary {
    if let Some(first) = instance_errors.first() {
        return Summary::new(
            Health::Stalled,
            Stall::InvalidSpec.reason(),
            format!(
                "{} in the spec, nothing applied (first: {}: {})",
                if instance_errors.len() == 1 {
                    "1 error".to_string()
                } else {
                    format!("{} errors", instance_errors.len())
                },
                first.path,
                first.message
            ),
        );
    }
    let refused: Vec<&str> = problems
        .iter()
        .filter(|p| !p.transient)
        .map(|p| p.message.as_str())
        .collect();
    if !refused.is_empty() {
        return Summary::new(Health::Stalled, Stall::ApplyRefused.reason(), listed(&refused));
    }
    if !unusable.secrets.is_empty() {
        return Summary::new(
            Health::Stalled,
            Stall::SecretMissing.reason(),
            listed(&unusable.secrets.iter().map(String::as_str).collect::<Vec<_>>()),
        );
    }
    if !unusable.kubeconfigs.is_empty() {
        return Summary::new(
            Health::Stalled,
            Stall::InvalidKubeconfig.reason(),
            listed(&unusable.kubeconfigs.iter().map(String::as_str).collect::<Vec<_>>()),
        );
    }
    if !problems.is_empty() {
        let failed: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        return Summary::new(
            Health::Progressing,
            "ApplyFailed",
            format!("retrying: {}", listed(&failed)),
        );
    }
    let waiting: Vec<&str> = components.iter().filter_map(|c| c.waiting.as_deref()).collect();
    if !waiting.is_empty() {
        return Summary::new(
            Health::Progressing,
            "ComponentsProgressing",
            format!("waiting for {}", waiting.join(", ")),
        );
    }
    if !unusable.clusters.is_empty() {
        return Summary::new(
            Health::Progressing,
            "BuildClustersUnavailable",
            format!(
                "waiting for {}",
                listed(&unusable.clusters.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        );
    }
    let mut message = format!(
        "{} components available; {} JobConfigs, {} PluginConfigs, {} LabelSets selected",
        components.len(),
        selected.job_configs.len(),
        selected.plugin_configs.len(),
        selected.label_sets.len()
    );
    if rejected > 0 {
        message.push_str(&format!("; {rejected} rejected (see their status)"));
    }
    if applied > 0 {
        message.push_str(&format!("; {applied} objects changed"));
    }
    Summary::new(Health::Ready, "Reconciled", message)
}

/// How many objects an `Applied` Event names before it only counts the rest.
const NAMED_CHANGES: usize = 10;

/// The `Applied` Event for what an apply `changed` and `pruned`; none when nothing changed.
fn applied_notice(changed: &[String], pruned: &[String]) -> Option<Notice> {
    let all: Vec<&str> = changed.iter().chain(pruned).map(String::as_str).collect();
    if all.is_empty() {
        return None;
    }
    let mut note = all.iter().take(NAMED_CHANGES).copied().collect::<Vec<_>>().join(", ");
    if all.len() > NAMED_CHANGES {
        note.push_str(&format!(" and {} more", all.len() - NAMED_CHANGES));
    }
    Some(Notice {
        warning: false,
        reason: "Applied".into(),
        note,
    })
}

/// How many failures a message lists before it only counts the rest.
const LISTED_FAILURES: usize = 3;

/// The first few of `messages`, separated by `; `, and how many more there are.
fn listed(messages: &[&str]) -> String {
    let mut text = messages
        .iter()
        .take(LISTED_FAILURES)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if messages.len() > LISTED_FAILURES {
        text.push_str(&format!("; and {} more", messages.len() - LISTED_FAILURES));
    }
    text
}

fn selected_refs(selected: &pipeline::Selected<'_>, judged: &[Judged]) -> SelectedObjects {
    let reference = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| ObjectReference {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
    };
    SelectedObjects {
        job_configs: judged.iter().map(|j| reference(&j.config.metadata)).collect(),
        plugin_configs: selected
            .plugin_configs
            .iter()
            .map(|c| reference(&c.object.metadata))
            .collect(),
        label_sets: selected
            .label_sets
            .iter()
            .map(|c| reference(&c.object.metadata))
            .collect(),
    }
}

async fn write_config_statuses(
    instance: &ProwInstance,
    selected: &pipeline::Selected<'_>,
    judged: &[Judged],
    reports: &[Report],
    effective: &Effective,
    ctx: &Context,
    now: &Time,
) -> Result<(), ReconcileError> {
    let name = describe(&instance.metadata);
    let outcome = |findings: Vec<Finding>| Outcome::Selected {
        instances: vec![name.clone()],
        findings,
    };
    let findings_of = |source: &Source| {
        reports
            .iter()
            .find(|r| &r.source == source)
            .map(|r| r.findings.clone())
            .unwrap_or_default()
    };
    for entry in judged {
        let object = entry.config.as_ref();
        let uid = object.metadata.uid.clone().unwrap_or_default();
        let status = configs::job_config_status(
            object,
            &outcome(entry.findings.clone()),
            effective.fallbacks.get(&uid).copied(),
            now,
        );
        ctx.update_config_status(object, status).await?;
    }
    for config in &selected.plugin_configs {
        let status = configs::plugin_config_status(&config.object, &outcome(findings_of(&config.source)), now);
        ctx.update_config_status(&config.object, status).await?;
    }
    for set in &selected.label_sets {
        let sync = ctx.label_sync.view(instance, &set.object);
        let status = configs::label_set_status(&set.object, &outcome(findings_of(&set.source)), sync.as_ref(), now);
        ctx.update_config_status(&set.object, status).await?;
    }
    Ok(())
}

/// Writes `status` to the status subresource of the `K` named `name`.
pub async fn patch_status<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &impl serde::Serialize,
) -> Result<(), ReconcileError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    match api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Deleted meanwhile: nothing to report on.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(ReconcileError::write(
            &format!("the status of {} {namespace}/{name}", K::kind(&())),
            source,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::api_error::tests::not_found;

    fn api_error(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(kube::core::Status::failure(message, "Conflict").with_code(code).boxed())
    }

    #[test]
    fn a_refused_apply_is_one_sentence_per_object_and_the_list_is_bounded() {
        let problems: Vec<Problem> = ["prow-crier", "prow-deck", "prow-hook", "prow-tide", "prow-sinker"]
            .iter()
            .map(|name| {
                let key = ("Role".to_string(), "test-pods".to_string(), name.to_string());
                Problem::of("applying", &key, &not_found())
            })
            .collect();
        assert_eq!(
            problems[0].message,
            "applying Role test-pods/prow-crier: namespaces \"test-pods\" not found"
        );
        let summary = summarise(
            &[],
            &problems,
            &Unusable::default(),
            &[],
            0,
            &SelectedObjects::default(),
            0,
        );
        assert_eq!(summary.reason, "ApplyRefused");
        assert!(!summary.message.contains("Status {"), "{}", summary.message);
        assert!(!summary.message.contains("Some("), "{}", summary.message);
        assert!(summary.message.ends_with("; and 2 more"), "{}", summary.message);
        assert!(summary.message.len() < 400, "{}", summary.message);
    }

    #[test]
    fn an_applied_event_names_what_changed_and_only_when_something_did() {
        assert_eq!(applied_notice(&[], &[]), None);
        let changed: Vec<String> = (0..12).map(|i| format!("updated ConfigMap prow/c{i}")).collect();
        let pruned = vec!["deleted Role test-pods/prow-old".to_string()];
        let notice = applied_notice(&changed[..1], &pruned).unwrap();
        assert_eq!(notice.reason, "Applied");
        assert_eq!(
            notice.note,
            "updated ConfigMap prow/c0, deleted Role test-pods/prow-old"
        );
        let many = applied_notice(&changed, &pruned).unwrap();
        assert!(
            many.note.ends_with("updated ConfigMap prow/c9 and 3 more"),
            "{}",
            many.note
        );
    }

    #[test]
    fn a_reconcile_that_stalls_counts_as_an_error_with_its_reason() {
        let selected = SelectedObjects::default();
        let missing =
            vec!["Secret prow/hmac-token not found (named by spec.github.hmacSecretRef, key \"hmac\")".to_string()];
        let summary = summarise(
            &[],
            &[],
            &Unusable {
                secrets: &missing,
                ..Unusable::default()
            },
            &[],
            0,
            &selected,
            0,
        );
        assert_eq!(metric_labels(Ok(Stall::of(&summary))), ("error", Some("SecretMissing")));
        let ready = summarise(&[], &[], &Unusable::default(), &[], 0, &selected, 0);
        assert_eq!(metric_labels(Ok(Stall::of(&ready))), ("success", None));
        let failed = ReconcileError::read("the instance's Secrets", not_found());
        assert_eq!(metric_labels(Err(&failed)), ("error", Some("ReadFailed")));
        // Every stall summarise can report has a label of the closed set.
        for stall in Stall::ALL {
            let summary = Summary::new(Health::Stalled, stall.reason(), "x");
            assert_eq!(Stall::of(&summary), Some(stall));
        }
    }

    #[test]
    fn an_unusable_kubeconfig_stalls_and_an_unreachable_used_cluster_holds_ready() {
        let selected = SelectedObjects::default();
        let unreadable = ["the kubeconfig in Secret \"kc\" key \"a\" (spec.buildClusterSecrets[0]) cannot be read: it is not UTF-8 text".to_string()];
        let unusable = Unusable {
            kubeconfigs: &unreadable,
            ..Unusable::default()
        };
        let summary = summarise(&[], &[], &unusable, &[], 0, &selected, 0);
        assert_eq!(
            metric_labels(Ok(Stall::of(&summary))),
            ("error", Some("InvalidKubeconfig"))
        );
        assert_eq!(summary.message, unreadable[0]);
        let waiting = ["build cluster \"gpu\" is Unreachable: its API server did not answer".to_string()];
        let unusable = Unusable {
            clusters: &waiting,
            ..Unusable::default()
        };
        let summary = summarise(&[], &[], &unusable, &[], 0, &selected, 0);
        assert_eq!(summary.health, Health::Progressing);
        assert_eq!(summary.reason, "BuildClustersUnavailable");
        assert_eq!(
            summary.message,
            "waiting for build cluster \"gpu\" is Unreachable: its API server did not answer"
        );
    }

    #[test]
    fn a_failed_build_keeps_its_cause_and_says_rendering() {
        let cause = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let expected = format!("rendering: {cause}");
        let error = ReconcileError::from(BuildError::from(cause));
        assert_eq!(error.to_string(), expected);
        assert_eq!(metric_labels(Err(&error)), ("error", Some("RenderFailed")));
        let source = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<BuildError>());
        assert!(matches!(source, Some(BuildError::Body(_))), "{source:?}");
    }

    #[test]
    fn a_failed_read_says_what_the_api_server_said() {
        let error = ReconcileError::read("the instance's Secrets", not_found());
        assert_eq!(
            error.to_string(),
            "reading the instance's Secrets: namespaces \"test-pods\" not found"
        );
    }

    #[test]
    fn only_errors_a_retry_can_fix_are_transient() {
        assert!(transient(&api_error(500, "etcd timeout")));
        assert!(transient(&api_error(429, "slow down")));
        assert!(transient(&api_error(409, "the object has been modified")));
        assert!(!transient(&api_error(
            409,
            "Apply failed with 1 conflict: conflict with \"helm\": .data.k"
        )));
        assert!(!transient(&api_error(422, "spec.ports: Required value")));
        assert!(!transient(&api_error(404, "namespaces \"test-pods\" not found")));
    }
}
