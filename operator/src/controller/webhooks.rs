//! The managed-webhook loop (on the leader): each instance with `spec.github.webhook.managed`
//! gets its webhook on its org or each repository it serves, with its credentials.
//!
//! An instance is visited every `resyncPeriod` (one list call per target, plus the write a
//! drifting target needs), and at once when its spec, its HMAC Secret or its served repositories
//! change, or when any replica received a signed `meta` delivery saying one of its webhooks was
//! deleted. One target's failure stays its own. The last delivery of each target, which any
//! replica may have received, comes in by the instance's activity annotation
//! ([`crate::hooksync::activity`]) and is folded into `status.webhooks[].lastDelivery` here: this
//! loop is the only writer of `status.webhooks`. With a GitHub App, the App's own webhook serves
//! the org: the status says so and no call is made. The outcome goes to
//! `status.webhooks[]` and Events.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Resource, ResourceExt};
use prow_api::ProwInstance;
use prow_api::instance::{WebhookLevel, WebhookStatus};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use tracing::{Instrument, info, warn};

use super::Context;
use super::instance::patch_status;
use super::notices::Notice;
use crate::hooksync::activity::{Activity, fold};
use crate::hooksync::status::{app_managed, known, statuses};
use crate::hooksync::{DesiredError, Target, TargetSync, TargetWork, sync_targets, wanted};
use crate::labelsync::{Mode, repositories};

/// The resync period when `resyncPeriod` cannot be read (the CRD's pattern refuses most such
/// values first).
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(600);

/// How soon a pass is tried again when it could not start (no credentials, no repositories).
const RETRY: Duration = Duration::from_secs(60);

/// What the loop keeps per instance.
#[derive(Debug, Clone)]
struct Visit {
    /// What the last pass was computed from (spec, Secret, repositories), hashed.
    fingerprint: String,
    /// When the next pass is due.
    due: Instant,
    /// The statuses the last pass wrote.
    statuses: Vec<WebhookStatus>,
    /// The webhook deletion (its time in the activity annotation) the last pass came after.
    deletion_seen: Option<String>,
}

/// Runs the loop until `shutdown` completes.
pub async fn lead(ctx: Arc<Context>, shutdown: impl Future<Output = ()>) {
    let passes = async {
        let mut visits: HashMap<(String, String), Visit> = HashMap::new();
        loop {
            let instances = ctx.stores.instances.state();
            visits.retain(|key, _| instances.iter().any(|i| &key_of(i) == key));
            let mut wake = Instant::now() + DEFAULT_RESYNC;
            for instance in instances {
                let key = key_of(&instance);
                let managed = instance.spec.github.webhook.as_ref().is_some_and(|w| w.managed);
                if !managed || instance.metadata.deletion_timestamp.is_some() {
                    visits.remove(&key);
                    continue;
                }
                let span = tracing::info_span!("webhooks", instance = %format!("{}/{}", key.0, key.1));
                let visit = visit_instance(&ctx, &instance, visits.get(&key)).instrument(span).await;
                wake = wake.min(visit.due);
                visits.insert(key, visit);
            }
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = ctx.changed.webhooks.notified() => {}
            }
        }
    };
    tokio::select! {
        () = passes => {}
        () = shutdown => {}
    }
    info!("webhook loop stopped");
}

fn key_of(instance: &ProwInstance) -> (String, String) {
    (instance.namespace().unwrap_or_default(), instance.name_any())
}

fn resync(instance: &ProwInstance) -> Duration {
    let text = instance
        .spec
        .github
        .webhook
        .as_ref()
        .map(|w| w.resync_period.as_str())
        .unwrap_or("10m");
    match crate::duration::parse(text) {
        Ok(period) if !period.is_zero() => period,
        _ => {
            warn!(
                resync_period = text,
                "spec.github.webhook.resyncPeriod is not a positive duration: using 10m"
            );
            DEFAULT_RESYNC
        }
    }
}

/// The HMAC Secret's content, or why it cannot be read.
async fn hmac_text(ctx: &Context, instance: &ProwInstance) -> Result<String, DesiredError> {
    let reference = &instance.spec.github.hmac_secret_ref;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &instance.namespace().unwrap_or_default());
    let missing = |reason: &str| DesiredError::NoSecret {
        name: reference.name.clone(),
        key: reference.key.clone(),
        reason: reason.to_string(),
    };
    match secrets.get_opt(&reference.name).await {
        Ok(Some(secret)) => secret
            .data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            .ok_or_else(|| missing("the key is missing")),
        Ok(None) => Err(missing("the Secret is missing")),
        Err(error) => Err(missing(&super::api_error::cause(&error))),
    }
}

fn fingerprint(instance: &ProwInstance, hmac: &Result<String, DesiredError>, repos: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&instance.spec.github).unwrap_or_default());
    hasher.update(serde_json::to_vec(&instance.spec.ingress).unwrap_or_default());
    hasher.update([u8::from(instance.spec.components.hook.enabled)]);
    match hmac {
        Ok(text) => hasher.update(text.as_bytes()),
        Err(error) => hasher.update(error.to_string().as_bytes()),
    }
    hasher.update(repos.join("\n").as_bytes());
    hex::encode(hasher.finalize())
}

/// One visit of an instance: a pass when it is due or its inputs changed.
async fn visit_instance(ctx: &Context, instance: &ProwInstance, last: Option<&Visit>) -> Visit {
    let now = Instant::now();
    let activity = Activity::of(instance.annotations());
    let previous: Vec<WebhookStatus> = match last {
        Some(last) => last.statuses.clone(),
        None => instance.status.as_ref().map(|s| s.webhooks.clone()).unwrap_or_default(),
    };
    let previous = fold(&previous, &activity);
    let deletion_seen = activity.hook_deleted.clone();
    let github = &instance.spec.github;
    let stamp = Timestamp::now().to_string();
    if github.auth.app.is_some() {
        let fingerprint = fingerprint(instance, &Ok(String::new()), &[]);
        if let Some(last) = last.filter(|l| l.fingerprint == fingerprint) {
            return unchanged(ctx, instance, last, previous).await;
        }
        let statuses = app_managed(&github.org, &previous, &stamp);
        write(ctx, instance, &statuses).await;
        return Visit {
            fingerprint,
            due: now + resync(instance),
            statuses,
            deletion_seen,
        };
    }
    let secrets = Api::namespaced(ctx.client.clone(), &instance.namespace().unwrap_or_default());
    let client = match ctx.github.client_for(instance, &secrets).await {
        Ok(client) => client,
        Err(error) => {
            // The instance's own status reports its credentials.
            warn!(%error, "no GitHub client: webhooks not checked");
            return Visit {
                fingerprint: String::new(),
                due: now + RETRY,
                statuses: previous,
                deletion_seen,
            };
        }
    };
    let level = github.webhook.as_ref().map(|w| w.level).unwrap_or_default();
    let hmac = hmac_text(ctx, instance).await;
    // A webhook deleted since the last pass (any replica may have heard of it) is re-read now.
    let deleted_since = deletion_seen.is_some() && last.is_some_and(|l| l.deletion_seen != deletion_seen);
    let due_anyway = deleted_since || last.is_none_or(|l| now >= l.due);
    // The org's repositories are listed only when a pass is due anyway.
    let repos = match level {
        WebhookLevel::Org => Vec::new(),
        WebhookLevel::Repos if !github.repos.is_empty() => github.repos.clone(),
        WebhookLevel::Repos if !due_anyway => last.map(|l| listed_repos(&l.statuses)).unwrap_or_default(),
        WebhookLevel::Repos => match repositories(&client, &github.org, &[]).await {
            Ok(repos) => repos,
            Err(error) => {
                warn!(%error, "cannot list the org's repositories: webhooks not checked");
                notify(
                    ctx,
                    instance,
                    &[],
                    &[format!("cannot list the repositories of {}: {error}", github.org)],
                )
                .await;
                return Visit {
                    fingerprint: String::new(),
                    due: now + RETRY,
                    statuses: previous,
                    deletion_seen,
                };
            }
        },
    };
    let fingerprint = fingerprint(instance, &hmac, &repos);
    if let Some(last) = last.filter(|l| !due_anyway && l.fingerprint == fingerprint) {
        return unchanged(ctx, instance, last, previous).await;
    }
    if deleted_since {
        info!("a webhook was deleted: reading the webhooks again now");
    }
    let work: Vec<TargetWork> = Target::all(&github.org, level, &repos)
        .into_iter()
        .map(|target| TargetWork {
            wanted: hmac
                .clone()
                .and_then(|text| wanted(&instance.spec, &target, Some(&text))),
            known: known(&previous, &target),
            target,
        })
        .collect();
    info!(targets = work.len(), "webhook pass");
    let results = sync_targets(&client, &work, Mode::Apply).await;
    let statuses = statuses(&work, &results, &previous, &Timestamp::now().to_string());
    write(ctx, instance, &statuses).await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.target.name())))
        .collect();
    notify(ctx, instance, &results, &failures).await;
    let retry_after = results
        .iter()
        .filter_map(|r| r.error.as_ref().and_then(crate::hooksync::HookSyncError::retry_after))
        .max();
    let period = resync(instance);
    Visit {
        fingerprint,
        due: now + retry_after.map_or(period, |wait| wait.min(period)),
        statuses,
        deletion_seen,
    }
}

/// A visit with no pass: the last one's, with the deliveries heard since (`statuses`) written
/// when they change the status.
async fn unchanged(ctx: &Context, instance: &ProwInstance, last: &Visit, statuses: Vec<WebhookStatus>) -> Visit {
    if statuses != last.statuses {
        write(ctx, instance, &statuses).await;
    }
    Visit {
        statuses,
        ..last.clone()
    }
}

/// The repositories the statuses name (`org/repo` targets), to compare with between passes.
fn listed_repos(statuses: &[WebhookStatus]) -> Vec<String> {
    statuses
        .iter()
        .filter_map(|s| s.target.split_once('/').map(|(_, repo)| repo.to_string()))
        .collect()
}

async fn write(ctx: &Context, instance: &ProwInstance, statuses: &[WebhookStatus]) {
    let current = instance
        .status
        .as_ref()
        .map(|s| s.webhooks.as_slice())
        .unwrap_or_default();
    let unchanged = |a: &[WebhookStatus], b: &[WebhookStatus]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                WebhookStatus {
                    last_sync_time: None,
                    ..x.clone()
                } == WebhookStatus {
                    last_sync_time: None,
                    ..y.clone()
                }
            })
    };
    if unchanged(current, statuses) {
        return;
    }
    let (namespace, name) = key_of(instance);
    let patch = serde_json::json!({ "webhooks": statuses });
    if let Err(error) = patch_status::<ProwInstance>(ctx, &namespace, &name, &patch).await {
        warn!(%error, "cannot write status.webhooks");
    }
}

/// One Event for the webhooks created or updated, one for the failures.
async fn notify(ctx: &Context, instance: &ProwInstance, results: &[TargetSync], failures: &[String]) {
    let reference = instance.object_ref(&());
    let (mut created, mut updated) = (0, 0);
    for result in results.iter().filter(|r| r.applied) {
        match result.plan.as_ref().map(|p| p.state()) {
            Some("Missing") => created += 1,
            _ => updated += 1,
        }
    }
    if created + updated > 0 {
        let notice = Notice {
            warning: false,
            reason: "WebhooksSynced".into(),
            note: format!("webhooks: {created} created, {updated} updated"),
        };
        ctx.publish(&reference, &notice).await;
    }
    if let Some(first) = failures.first() {
        let notice = Notice {
            warning: true,
            reason: "WebhookSyncFailed".into(),
            note: format!(
                "{} webhook targets could not be synced (first: {first})",
                failures.len()
            ),
        };
        ctx.publish(&reference, &notice).await;
    }
}
