//! What the webhook receivers of every replica tell the leader's webhook loop: the last signed
//! delivery of each target (for `status.webhooks[].lastDelivery`) and the last `meta` delivery
//! saying a webhook was deleted (the loop then re-reads the instance's webhooks at once). Pure.
//!
//! Replicas share nothing but the API server, so this travels as one annotation on the
//! ProwInstance, [`ACTIVITY_ANNOTATION`], a small JSON object. Any replica merges what it heard
//! into it (latest time per target wins; a write is a merge patch that names the
//! `resourceVersion` it merged with, so two replicas never erase each other's news), and only the
//! leader's loop writes `status.webhooks`, folding the annotation in: the receivers never write
//! status, so they cannot fight the loop's status writes.
//!
//! Writes are bounded per replica and instance, whatever arrives: news of a deletion is written
//! at most once per [`DELETION_INTERVAL`], other deliveries are coalesced and written at most once
//! per [`DELIVERY_INTERVAL`]. Only signed deliveries of a target the instance has count (its org,
//! or a repository its `status.webhooks` lists), so the annotation holds at most one entry per
//! target.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use prow_api::ProwInstance;
use prow_api::instance::{WebhookLevel, WebhookStatus};
use serde::{Deserialize, Serialize};

use crate::webhook::payload::{HookNotice, HookSource};

/// The annotation on the ProwInstance.
pub const ACTIVITY_ANNOTATION: &str = "operator.prow.dev/webhook-activity";

/// The least time between two writes of one replica that carry news of a deleted webhook.
pub const DELETION_INTERVAL: Duration = Duration::from_secs(10);

/// The least time between two writes of one replica that carry deliveries only.
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(60);

/// The content of [`ACTIVITY_ANNOTATION`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// When a replica last received a signed `meta` delivery saying one of the instance's
    /// webhooks was deleted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_deleted: Option<String>,
    /// When a replica last received a signed delivery for each target (`org` or `org/repo`, as
    /// `status.webhooks[].target` spells it), RFC 3339.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_delivery: BTreeMap<String, String>,
}

/// Whether RFC 3339 time `a` is later than `b`; a time that does not read is never later, and
/// any time is later than one that does not read.
fn later(a: &str, b: &str) -> bool {
    match (a.parse::<Timestamp>(), b.parse::<Timestamp>()) {
        (Ok(a), Ok(b)) => a > b,
        (Ok(_), Err(_)) => true,
        (Err(_), _) => false,
    }
}

fn latest(a: Option<&String>, b: Option<&String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if later(b, a) { b.clone() } else { a.clone() }),
        (a, b) => a.or(b).cloned(),
    }
}

impl Activity {
    /// The activity an object's annotations hold; none when the annotation is absent or does not
    /// read (the next write replaces it).
    pub fn of(annotations: &BTreeMap<String, String>) -> Activity {
        annotations
            .get(ACTIVITY_ANNOTATION)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    /// Whether nothing is in it.
    pub fn is_empty(&self) -> bool {
        self.hook_deleted.is_none() && self.last_delivery.is_empty()
    }

    /// This and `other` together: the later time of each entry.
    pub fn merged(&self, other: &Activity) -> Activity {
        let mut last_delivery = self.last_delivery.clone();
        for (target, time) in &other.last_delivery {
            let kept = latest(last_delivery.get(target), Some(time));
            if let Some(kept) = kept {
                last_delivery.insert(target.clone(), kept);
            }
        }
        Activity {
            hook_deleted: latest(self.hook_deleted.as_ref(), other.hook_deleted.as_ref()),
            last_delivery,
        }
    }

    /// The annotation's text.
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The target of `instance` a signed delivery from `source` counts for: the org itself when the
/// instance's webhook lives on the org (level `org`, or a GitHub App's webhook), else the
/// repository as its `status.webhooks` spells it; `None` when the instance does not manage its
/// webhooks, is being deleted, or has no such target.
pub fn target_of(instance: &ProwInstance, source: &HookSource) -> Option<String> {
    let github = &instance.spec.github;
    let webhook = github.webhook.as_ref().filter(|w| w.managed)?;
    if instance.metadata.deletion_timestamp.is_some() || !github.org.eq_ignore_ascii_case(source.org()) {
        return None;
    }
    if webhook.level == WebhookLevel::Org || github.auth.app.is_some() {
        return Some(github.org.clone());
    }
    let HookSource::Repo(repo) = source else {
        return None;
    };
    let full_name = repo.full_name();
    instance
        .status
        .as_ref()?
        .webhooks
        .iter()
        .find(|status| status.target.eq_ignore_ascii_case(&full_name))
        .map(|status| status.target.clone())
}

/// `statuses` with each `lastDelivery` the later of its own and `activity`'s.
pub fn fold(statuses: &[WebhookStatus], activity: &Activity) -> Vec<WebhookStatus> {
    statuses
        .iter()
        .map(|status| WebhookStatus {
            last_delivery: latest(
                status.last_delivery.as_ref(),
                activity.last_delivery.get(&status.target),
            ),
            ..status.clone()
        })
        .collect()
}

/// What one replica heard for one instance and has not written yet, and when it last wrote.
#[derive(Debug, Default)]
pub struct Pending {
    heard: Activity,
    last_write: Option<Instant>,
}

impl Pending {
    /// Notes a signed delivery for `target` received at `now` (RFC 3339).
    pub fn note(&mut self, target: &str, notice: &HookNotice, now: &str) {
        let news = Activity {
            hook_deleted: notice.deleted.then(|| now.to_string()),
            last_delivery: BTreeMap::from([(target.to_string(), now.to_string())]),
        };
        self.heard = self.heard.merged(&news);
    }

    /// When the news may be written, seen at `now`: at once the first time, then [`DELETION_INTERVAL`] after
    /// the last write when a deletion is among it, else [`DELIVERY_INTERVAL`] after; `None` when
    /// there is nothing to write.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        if self.heard.is_empty() {
            return None;
        }
        let Some(last) = self.last_write else {
            return Some(now);
        };
        let interval = if self.heard.hook_deleted.is_some() {
            DELETION_INTERVAL
        } else {
            DELIVERY_INTERVAL
        };
        Some(last + interval)
    }

    /// The news to write at `now`, counted as a write (a failed one too, so failures are bounded
    /// alike); nothing when it is not due yet.
    pub fn take(&mut self, now: Instant) -> Option<Activity> {
        if self.due(now).is_none_or(|due| due > now) {
            return None;
        }
        self.last_write = Some(now);
        Some(std::mem::take(&mut self.heard))
    }

    /// Puts back news a write could not carry, for the next one.
    pub fn put_back(&mut self, news: &Activity) {
        self.heard = self.heard.merged(news);
    }
}

/// The pending news of every instance, `(namespace, name)`.
pub type PendingByInstance = HashMap<(String, String), Pending>;

#[cfg(test)]
mod tests;
