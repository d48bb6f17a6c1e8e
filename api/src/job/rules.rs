//! CEL rules (`x-kubernetes-validations`) shared by the job types. Each states an invariant that
//! upstream's config loader enforces on a single job, so the API server rejects the job before the
//! operator ever sees it.

use kube::core::Rule;

/// A non-empty string field, in CEL. `size` costs the same for any string, where comparing with
/// `''` would be estimated at the field's longest length: the API server refuses a CRD whose
/// rules' estimated cost exceeds its budget.
fn set(field: &str) -> String {
    format!("(has(self.{field}) && size(self.{field}) != 0)")
}

/// Job names use `[A-Za-z0-9-._]`; only the jenkins agent may add `/`. The schema's `pattern`
/// admits `/`; this rule narrows it.
pub fn job_name() -> Rule {
    Rule::new("!self.name.contains('/') || (has(self.agent) && self.agent == 'jenkins')")
        .message("name must match ^[A-Za-z0-9-._]+$ (only jenkins jobs may contain '/')")
        .field_path(".name")
}

/// `max_concurrency` counts pending runs; 0 means unlimited and negative values mean nothing.
pub fn max_concurrency() -> Rule {
    Rule::new("!has(self.max_concurrency) || self.max_concurrency >= 0")
        .message("max_concurrency must be 0 (unlimited) or more")
        .field_path(".max_concurrency")
}

/// `run_if_changed` and `skip_if_only_changed` are two answers to one question.
pub fn change_matchers_exclusive() -> Rule {
    Rule::new(format!(
        "!({} && {})",
        set("run_if_changed"),
        set("skip_if_only_changed")
    ))
    .message("run_if_changed and skip_if_only_changed cannot both be set")
}

/// A job that always runs cannot also run only on some changes.
pub fn always_run_excludes_change_matchers() -> Rule {
    Rule::new(format!(
        "!(has(self.always_run) && self.always_run) || !({} || {})",
        set("run_if_changed"),
        set("skip_if_only_changed")
    ))
    .message("always_run: true cannot be combined with run_if_changed or skip_if_only_changed")
}

/// A custom `trigger` needs a `rerun_command` that it matches, and the other way round.
pub fn trigger_with_rerun_command() -> Rule {
    Rule::new(format!("{} == {}", set("trigger"), set("rerun_command")))
        .message("trigger and rerun_command must be set together")
}

/// A periodic runs on exactly one schedule.
pub fn exactly_one_schedule() -> Rule {
    Rule::new(format!(
        "[{}, {}, {}].filter(x, x).size() == 1",
        set("cron"),
        set("interval"),
        set("minimum_interval")
    ))
    .message("exactly one of cron, interval or minimum_interval must be set")
}
