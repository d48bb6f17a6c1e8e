//! What a pass tells of each target, as `ProwInstance.status.webhooks[]`, and what the next pass
//! remembers from it. Pure.

use prow_api::instance::WebhookStatus;

use super::desired::Target;
use super::plan::{Known, secret_digest};
use super::sync::{TargetSync, TargetWork};

/// The state of a target served by a GitHub App's own webhook.
pub const APP_MANAGED: &str = "AppManaged";

/// What the operator remembers of `target` from `previous` statuses.
pub fn known(previous: &[WebhookStatus], target: &Target) -> Known {
    let name = target.name();
    previous
        .iter()
        .find(|status| status.target == name)
        .map(|status| Known {
            url: status.url.clone(),
            secret_digest: status.secret_digest.clone(),
        })
        .unwrap_or_default()
}

/// The status of each target after a pass (`work` and `results` in the same order): `Present`
/// when the webhook is as wanted (or was just made so); `Missing` or `Drifted` when the write
/// that would fix it failed; `Failed` when GitHub could not be read or the webhook cannot be
/// worked out. The URL and secret digest are the ones last set successfully; `lastDelivery` is
/// kept from `previous`.
pub fn statuses(
    work: &[TargetWork],
    results: &[TargetSync],
    previous: &[WebhookStatus],
    now: &str,
) -> Vec<WebhookStatus> {
    work.iter()
        .zip(results)
        .map(|(work, result)| {
            let name = work.target.name();
            let before = previous.iter().find(|status| status.target == name);
            let mut status = WebhookStatus {
                target: name.clone(),
                state: String::new(),
                url: before.and_then(|b| b.url.clone()),
                secret_digest: before.and_then(|b| b.secret_digest.clone()),
                last_delivery: before.and_then(|b| b.last_delivery.clone()),
                last_error: result.error.as_ref().map(ToString::to_string),
                last_sync_time: Some(now.to_string()),
            };
            status.state = match (&result.plan, &result.error) {
                (Some(plan), Some(_)) => plan.state().to_string(),
                (None, _) => "Failed".to_string(),
                (Some(_), None) => {
                    if let Ok(wanted) = &work.wanted {
                        status.url = Some(wanted.url.clone());
                        status.secret_digest = wanted.secret.as_deref().map(secret_digest).or(status.secret_digest);
                    }
                    "Present".to_string()
                }
            };
            status
        })
        .collect()
}

/// The status of an instance authenticating as a GitHub App: the App's own webhook (set on the
/// App, not per repository) serves the org; the operator makes no call.
pub fn app_managed(org: &str, previous: &[WebhookStatus], now: &str) -> Vec<WebhookStatus> {
    vec![WebhookStatus {
        target: org.to_string(),
        state: APP_MANAGED.to_string(),
        url: None,
        secret_digest: None,
        last_delivery: previous
            .iter()
            .find(|s| s.target == org)
            .and_then(|s| s.last_delivery.clone()),
        last_error: None,
        last_sync_time: Some(now.to_string()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooksync::desired::DesiredError;
    use crate::hooksync::plan::{HookAction, Plan, WantedHook};

    fn target(repo: &str) -> Target {
        Target::Repo {
            org: "o".into(),
            repo: repo.into(),
        }
    }

    fn work(repo: &str) -> TargetWork {
        TargetWork {
            target: target(repo),
            wanted: Ok(WantedHook {
                url: "https://new/hook".into(),
                events: Default::default(),
                secret: Some("tok".into()),
            }),
            known: Known::default(),
        }
    }

    #[test]
    fn a_pass_reports_each_target_and_remembers_what_it_set() {
        let previous = vec![WebhookStatus {
            target: "o/broken".into(),
            state: "Present".into(),
            url: Some("https://old/hook".into()),
            secret_digest: Some("d".into()),
            last_delivery: Some("2026-01-01T00:00:00Z".into()),
            ..WebhookStatus::default()
        }];
        let mut failed_read = work("unread");
        failed_read.wanted = Err(DesiredError::NoUrl);
        let work = vec![work("made"), work("broken"), failed_read];
        let results = vec![
            TargetSync {
                target: target("made"),
                plan: Some(Plan {
                    action: Some(HookAction::Create),
                }),
                applied: true,
                error: None,
            },
            TargetSync {
                target: target("broken"),
                plan: Some(Plan {
                    action: Some(HookAction::Update {
                        id: 1,
                        drift: Default::default(),
                    }),
                }),
                applied: false,
                error: Some(DesiredError::NoUrl.into()),
            },
            TargetSync {
                target: target("unread"),
                plan: None,
                applied: false,
                error: Some(DesiredError::NoUrl.into()),
            },
        ];
        let out = statuses(&work, &results, &previous, "now");
        let states: Vec<(&str, &str)> = out.iter().map(|s| (s.target.as_str(), s.state.as_str())).collect();
        assert_eq!(
            states,
            [("o/made", "Present"), ("o/broken", "Drifted"), ("o/unread", "Failed")]
        );
        assert_eq!(out[0].url.as_deref(), Some("https://new/hook"));
        assert_eq!(out[0].secret_digest, Some(secret_digest("tok")));
        // A failed write keeps what was last set, and the last delivery.
        assert_eq!(out[1].url.as_deref(), Some("https://old/hook"));
        assert_eq!(out[1].last_delivery.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(
            out[2].last_error.as_deref(),
            Some("spec.github.webhook.url is unset and there is no spec.ingress.host to derive it from")
        );
        assert_eq!(
            known(&previous, &target("broken")).url.as_deref(),
            Some("https://old/hook")
        );
        assert_eq!(known(&previous, &target("made")), Known::default());
        assert_eq!(app_managed("o", &previous, "now")[0].state, "AppManaged");
    }
}
