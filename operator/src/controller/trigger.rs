//! The native trigger, live: accepted webhook events in, ProwJobs out, with the pure decisions of
//! `engine::trigger`.
//!
//! This part handles `push` (postsubmits), which needs nothing from GitHub. Pull requests and
//! comments, which need GitHub for trust and changed files, come next; until they do, `run` does
//! not serve `/hook`, so no delivery is acknowledged and then dropped.
//!
//! ProwJobs are named by [`prowjob::uuid_name`] of the delivery and the job, so a redelivered
//! event, or a retry after a failure, creates nothing twice: the API server answers 409.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::PostParams;
use kube::{Api, ResourceExt};
use prow_api::{ProwInstance, ProwJob};
use tracing::{info, warn};

use super::Context;
use super::instance::job_configs_in_effect;
use crate::engine::events::PushEvent;
use crate::engine::prowjob::{self, Creation};
use crate::engine::trigger;
use crate::http::Event;
use crate::render::config_yaml::Namespaces;
use crate::render::meta::Owner;

/// The label upstream puts on ProwJobs with the delivery that started them.
const EVENT_GUID_LABEL: &str = "event-GUID";

/// Why an event could not be handled (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The payload does not parse as its event type.
    #[error("delivery {delivery}: the payload is not a valid {event} event: {message}")]
    Payload {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// `X-GitHub-Event`.
        event: String,
        /// Why.
        message: String,
    },
    /// A ProwJob could not be created.
    #[error("delivery {delivery}: creating ProwJob {name} for {job}: {source}")]
    Create {
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The ProwJob's name.
        name: String,
        /// The job.
        job: String,
        /// The API error.
        source: kube::Error,
    },
}

/// What handling an event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// The ProwJobs created (`namespace/name`), or found already created by an earlier attempt.
    pub created: Vec<String>,
}

/// Whether `instance` serves `org/repo` with the native trigger.
pub fn serves(instance: &ProwInstance, org: &str, repo: &str) -> bool {
    let github = &instance.spec.github;
    instance.spec.native.trigger
        && instance.metadata.deletion_timestamp.is_none()
        && github.org.eq_ignore_ascii_case(org)
        && (github.repos.is_empty() || github.repos.iter().any(|r| r.eq_ignore_ascii_case(repo)))
}

/// Handles one accepted event.
#[tracing::instrument(skip_all, fields(event = %event.event, delivery = %event.delivery))]
pub async fn handle(event: &Event, ctx: &Context) -> Result<Handled, TriggerError> {
    match event.event.as_str() {
        "push" => {
            let push: PushEvent = serde_json::from_value(event.payload.clone()).map_err(|e| TriggerError::Payload {
                delivery: event.delivery.clone(),
                event: event.event.clone(),
                message: e.to_string(),
            })?;
            on_push(&push, &event.delivery, ctx).await
        }
        _ => Ok(Handled::default()),
    }
}

async fn on_push(push: &PushEvent, delivery: &str, ctx: &Context) -> Result<Handled, TriggerError> {
    let org = &push.repository.owner.login;
    let repo = &push.repository.name;
    let full_name = format!("{org}/{repo}");
    let mut handled = Handled::default();
    for instance in ctx.stores.instances.state() {
        if !serves(&instance, org, repo) {
            continue;
        }
        let (configs, settings) = job_configs_in_effect(&instance, ctx);
        let postsubmits: Vec<_> = configs
            .iter()
            .flat_map(|c| c.spec.jobs.postsubmits.get(&full_name).into_iter().flatten().cloned())
            .collect();
        let decision = trigger::on_push(push, &postsubmits);
        if decision.run.is_empty() {
            continue;
        }
        let owner = Owner::of(&instance);
        let namespace = Namespaces::of(&owner, &instance.spec).prowjob;
        let template = Creation {
            name: String::new(),
            namespace: namespace.clone(),
            start_time: Time(k8s_openapi::jiff::Timestamp::now()),
            extra_labels: BTreeMap::from([(EVENT_GUID_LABEL.to_string(), delivery.to_string())]),
            decorate_all_jobs: settings.decorate_all_jobs,
            generate_name: false,
            presets: configs
                .iter()
                .flat_map(|c| c.spec.jobs.presets.iter().cloned())
                .collect(),
        };
        let refs = trigger::push_refs(push);
        let api: Api<ProwJob> = Api::namespaced(ctx.client.clone(), &namespace);
        for job in decision.run {
            let name = prowjob::uuid_name(&[delivery, &instance.name_any(), &job.base.name]);
            let creation = Creation {
                name: name.clone(),
                ..template.clone()
            };
            let prowjob = prowjob::postsubmit(job, refs.clone(), &creation);
            match api.create(&PostParams::default(), &prowjob).await {
                Ok(_) => info!(prowjob = %name, job = %job.base.name, "created"),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    info!(prowjob = %name, job = %job.base.name, "already created by an earlier attempt")
                }
                Err(source) => {
                    warn!(prowjob = %name, job = %job.base.name, error = %source, "create failed");
                    return Err(TriggerError::Create {
                        delivery: delivery.to_string(),
                        name,
                        job: job.base.name.clone(),
                        source,
                    });
                }
            }
            handled.created.push(format!("{namespace}/{name}"));
        }
    }
    Ok(handled)
}
