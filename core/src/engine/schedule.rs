//! Starting periodics, as horologium does (reference §7.4), decided from the periodic's newest
//! ProwJob, so a restart or a failover neither fires twice nor skips.

use std::time::Duration;

use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use prow_api::ProwJob;
use prow_api::job::Periodic;

use crate::cron::{self, Schedule};

/// horologium's default `tick_interval`.
pub const DEFAULT_TICK: Duration = Duration::from_secs(60);

/// The label saying which retry of its periodic's previous run a ProwJob is (upstream's).
pub const RERUN_LABEL: &str = "prow.k8s.io/re-run";

/// The most retries a run gets, whatever `retry.attempts` says (upstream's limit).
const MAX_RETRIES: u32 = 10;

/// The newest of a periodic's runs: the one that started last (the name breaks ties, so every
/// replica picks the same).
pub fn newest<'a>(runs: impl IntoIterator<Item = &'a ProwJob>) -> Option<&'a ProwJob> {
    runs.into_iter().max_by(|a, b| {
        let key = |job: &'a ProwJob| {
            (
                job.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0),
                job.metadata.name.as_deref(),
            )
        };
        key(a).cmp(&key(b))
    })
}

/// The name of the run that follows `latest` (the periodic's newest run, `None` for its first):
/// a UUID of the instance, the periodic and `latest`'s name. Every replica that decides to start
/// the same run names it the same, so only one create succeeds and the others get a 409; after a
/// restart the run is found as the newest and the decision moves on from it.
pub fn successor_name(instance_uid: &str, periodic: &str, latest: Option<&ProwJob>) -> String {
    let previous = latest.and_then(|j| j.metadata.name.as_deref()).unwrap_or_default();
    crate::engine::prowjob::uuid_name(&["periodic", instance_uid, periodic, previous])
}

/// Whether a periodic starts now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a run now.
    Start,
    /// Start retry number `n` (from 1) of the finished latest run now (`retry` of the periodic).
    Retry(u32),
    /// Not now; the reason says why.
    Wait(String),
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or_default()
}

/// The most recent time `cron` fired at or before `now`, after `after`.
fn fired_between(cron: &croner::Cron, after: Timestamp, now: Timestamp) -> Option<Timestamp> {
    let start = after.to_zoned(TimeZone::UTC);
    let next = cron.find_next_occurrence(&start, false).ok()?.timestamp();
    (next <= now).then_some(next)
}

/// Decides one periodic. `latest` is its newest ProwJob (by start time); `since` opens the
/// window of cron firings this decision sees: when the scheduler last looked, or when it first
/// saw the periodic if that is later (upstream's horologium adds a periodic to its cron
/// scheduler when it first reads it, so it only fires after that).
///
/// - `interval`: the latest run is complete and started more than the interval ago.
/// - `minimum_interval`: the latest run completed more than the value ago.
/// - `cron`: it fired in (`since`, `now`] and after the latest run started, and that run is
///   complete now. As upstream's queued flag, cleared on every tick: a firing is acted on at the
///   first tick after it, and lost when a run still goes on then; a periodic with no run yet
///   waits for its first firing.
/// - `@every d`: as an interval of `d`.
///
/// With no run at all, interval periodics start at once. When the schedule does not start a run,
/// a finished latest run is retried as its periodic's `retry` says (see [`retry`]).
pub fn decide(periodic: &Periodic, latest: Option<&ProwJob>, since: Timestamp, now: Timestamp) -> Decision {
    match scheduled(periodic, latest, since, now) {
        Decision::Wait(reason) => match latest.and_then(|run| retry(periodic, run, now)) {
            Some(Ok(n)) => Decision::Retry(n),
            Some(Err(retry_reason)) => Decision::Wait(format!("{reason}; {retry_reason}")),
            None => Decision::Wait(reason),
        },
        decision => decision,
    }
}

/// Whether the finished run `latest` is retried now: `Ok(n)` for retry `n`, `Err` with when it
/// will be, `None` when it is not retried. A run is retried `retry.attempts` times (at most 10,
/// counted by [`RERUN_LABEL`]), `retry.interval` after the start of the run before (at once
/// without an interval), and a success only with `retry.run_all`.
fn retry(periodic: &Periodic, latest: &ProwJob, now: Timestamp) -> Option<Result<u32, String>> {
    let retry = periodic.retry.as_ref()?;
    let status = latest.status.as_ref().filter(|s| s.completion_time.is_some())?;
    let attempts = u32::try_from(retry.attempts.unwrap_or(0)).unwrap_or(0).min(MAX_RETRIES);
    let done: u32 = latest
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(RERUN_LABEL))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let succeeded = status.state == prow_api::ProwJobState::Success;
    if done >= attempts || (succeeded && !retry.run_all.unwrap_or(false)) {
        return None;
    }
    let interval = match retry.interval.as_deref().filter(|t| !t.is_empty()) {
        None => Duration::ZERO,
        Some(text) => match crate::duration::parse(text) {
            Ok(interval) => interval,
            Err(error) => return Some(Err(format!("invalid retry interval: {error}"))),
        },
    };
    let started = status.start_time.as_ref().map_or(now, |t| t.0);
    let due = started + SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX);
    if now >= due {
        Some(Ok(done + 1))
    } else {
        Some(Err(format!("retry {} of {attempts} due after {due}", done + 1)))
    }
}

/// [`decide`] by the schedule alone.
fn scheduled(periodic: &Periodic, latest: Option<&ProwJob>, since: Timestamp, now: Timestamp) -> Decision {
    let status = latest.and_then(|job| job.status.as_ref());
    let started = status.and_then(|s| s.start_time.as_ref()).map(|t| t.0);
    let completed = status.and_then(|s| s.completion_time.as_ref()).map(|t| t.0);
    if latest.is_some() && completed.is_none() {
        return Decision::Wait("the latest run has not finished".to_string());
    }
    let interval =
        |text: &str| crate::duration::parse(text).map_err(|e| Decision::Wait(format!("invalid interval: {e}")));
    let run_after = |every: Duration, since: Option<Timestamp>, what: &str| match since {
        None => Decision::Start,
        Some(since) if elapsed(since, now) > every => Decision::Start,
        Some(since) => {
            let due = since + SignedDuration::try_from(every).unwrap_or(SignedDuration::MAX);
            Decision::Wait(format!("due after {due} ({what})"))
        }
    };
    if let Some(text) = periodic.interval.as_deref().filter(|t| !t.is_empty()) {
        return match interval(text) {
            Ok(every) => run_after(every, started, "interval from the latest start"),
            Err(wait) => wait,
        };
    }
    if let Some(text) = periodic.minimum_interval.as_deref().filter(|t| !t.is_empty()) {
        return match interval(text) {
            Ok(every) => run_after(every, completed, "minimum_interval from the latest completion"),
            Err(wait) => wait,
        };
    }
    let Some(spec) = periodic.cron.as_deref() else {
        return Decision::Wait("no schedule".to_string());
    };
    match cron::parse(spec) {
        Err(error) => Decision::Wait(format!("invalid cron: {error}")),
        Ok(Schedule::Every(every)) => run_after(every, started, "@every from the latest start"),
        Ok(Schedule::Cron(cron)) => {
            // A firing before the latest run started was that run's (or is past): never twice.
            let after = started.map_or(since, |started| started.max(since));
            match fired_between(&cron, after, now) {
                Some(_) => Decision::Start,
                None => Decision::Wait(format!("{spec:?} has not fired since {after}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn periodic(schedule: serde_json::Value) -> Periodic {
        let mut value = json!({"name": "p"});
        value
            .as_object_mut()
            .unwrap()
            .extend(schedule.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn run(started: Timestamp, completed: Option<Timestamp>) -> ProwJob {
        let mut status = json!({"state": "pending", "startTime": started.to_string()});
        if let Some(done) = completed {
            status["state"] = json!("success");
            status["completionTime"] = json!(done.to_string());
        }
        serde_json::from_value(json!({
            "apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": "r"},
            "spec": {"type": "periodic", "job": "p"}, "status": status
        }))
        .unwrap()
    }

    fn finished(state: &str, started: &str, retries: Option<u32>) -> ProwJob {
        let mut job = run(t(started), Some(t(started) + SignedDuration::from_mins(5)));
        if let Some(status) = job.status.as_mut() {
            status.state = serde_json::from_value(json!(state)).unwrap();
        }
        if let Some(n) = retries {
            job.metadata.labels = Some([(RERUN_LABEL.to_string(), n.to_string())].into());
        }
        job
    }

    #[test]
    fn failed_runs_are_retried_after_the_retry_interval_up_to_the_attempts() {
        let daily = periodic(json!({"interval": "24h", "retry": {"attempts": 2, "interval": "30m"}}));
        let previous = t("2026-11-24T09:00:00Z");
        let failed = finished("failure", "2026-11-24T10:00:00Z", None);
        assert!(
            matches!(decide(&daily, Some(&failed), previous, t("2026-11-24T10:20:00Z")), Decision::Wait(r) if r.contains("retry 1 of 2 due")),
            "not before the retry interval"
        );
        assert_eq!(
            decide(&daily, Some(&failed), previous, t("2026-11-24T10:30:00Z")),
            Decision::Retry(1)
        );
        let retried = finished("error", "2026-11-24T10:30:00Z", Some(1));
        assert_eq!(
            decide(&daily, Some(&retried), previous, t("2026-11-24T11:00:00Z")),
            Decision::Retry(2)
        );
        let last = finished("aborted", "2026-11-24T11:00:00Z", Some(2));
        assert!(
            matches!(
                decide(&daily, Some(&last), previous, t("2026-11-24T12:00:00Z")),
                Decision::Wait(_)
            ),
            "the attempts are used up"
        );
        assert_eq!(
            decide(&daily, Some(&last), previous, t("2026-11-25T11:00:01Z")),
            Decision::Start,
            "the schedule goes on"
        );
    }

    #[test]
    fn successes_are_retried_only_with_run_all_and_the_schedule_comes_first() {
        let previous = t("2026-11-24T09:00:00Z");
        let passed = finished("success", "2026-11-24T10:00:00Z", None);
        let retry = |extra: serde_json::Value| {
            let mut retry = json!({"attempts": 3});
            retry
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            periodic(json!({"interval": "1h", "retry": retry}))
        };
        let at = t("2026-11-24T10:10:00Z");
        assert!(matches!(
            decide(&retry(json!({})), Some(&passed), previous, at),
            Decision::Wait(_)
        ));
        assert_eq!(
            decide(&retry(json!({"run_all": true})), Some(&passed), previous, at),
            Decision::Retry(1)
        );
        let failed = finished("failure", "2026-11-24T10:00:00Z", None);
        assert_eq!(
            decide(&retry(json!({})), Some(&failed), previous, t("2026-11-24T11:00:01Z")),
            Decision::Start,
            "a due scheduled run is not a retry"
        );
        let many = periodic(json!({"interval": "1h", "retry": {"attempts": 50}}));
        let tenth = finished("failure", "2026-11-24T10:00:00Z", Some(10));
        assert!(
            matches!(decide(&many, Some(&tenth), previous, at), Decision::Wait(_)),
            "at most 10"
        );
    }

    #[test]
    fn interval_counts_from_the_latest_start_and_waits_for_completion() {
        let job = periodic(json!({"interval": "1h"}));
        let now = t("2026-11-24T12:00:00Z");
        assert_eq!(
            decide(&job, None, now, now),
            Decision::Start,
            "no run yet: start at once"
        );
        let running = run(t("2026-11-24T10:00:00Z"), None);
        assert!(matches!(decide(&job, Some(&running), now, now), Decision::Wait(_)));
        let recent = run(t("2026-11-24T11:30:00Z"), Some(t("2026-11-24T11:40:00Z")));
        assert!(matches!(decide(&job, Some(&recent), now, now), Decision::Wait(_)));
        let old = run(t("2026-11-24T10:30:00Z"), Some(t("2026-11-24T11:50:00Z")));
        assert_eq!(decide(&job, Some(&old), now, now), Decision::Start);
    }

    #[test]
    fn minimum_interval_counts_from_completion() {
        let job = periodic(json!({"minimum_interval": "1h"}));
        let now = t("2026-11-24T12:00:00Z");
        let finished_late = run(t("2026-11-24T09:00:00Z"), Some(t("2026-11-24T11:30:00Z")));
        assert!(matches!(
            decide(&job, Some(&finished_late), now, now),
            Decision::Wait(_)
        ));
        let finished_early = run(t("2026-11-24T09:00:00Z"), Some(t("2026-11-24T10:30:00Z")));
        assert_eq!(decide(&job, Some(&finished_early), now, now), Decision::Start);
    }

    #[test]
    fn cron_fires_in_utc_with_seconds_and_descriptors_and_loses_firings_during_a_run() {
        let tick = t("2026-11-24T05:59:00Z");
        let now = t("2026-11-24T06:00:30Z");
        for spec in ["0 6 * * *", "0 0 6 * * *", "@hourly", "@daily"] {
            let expect_start = spec != "@daily";
            let decision = decide(&periodic(json!({"cron": spec})), None, tick, now);
            assert_eq!(decision == Decision::Start, expect_start, "{spec}: {decision:?}");
        }
        // Fired at 06:00 while the run started at 05:50 was still going at the next tick: lost.
        let job = periodic(json!({"cron": "0 6 * * *"}));
        let going = run(t("2026-11-24T05:50:00Z"), None);
        assert!(matches!(decide(&job, Some(&going), tick, now), Decision::Wait(_)));
        let done = run(t("2026-11-24T05:50:00Z"), Some(t("2026-11-24T06:00:40Z")));
        assert!(matches!(
            decide(&job, Some(&done), now, t("2026-11-24T06:01:30Z")),
            Decision::Wait(_)
        ));
        let before = run(t("2026-11-23T06:00:00Z"), Some(t("2026-11-23T06:20:00Z")));
        assert_eq!(decide(&job, Some(&before), tick, now), Decision::Start);
    }

    #[test]
    fn a_cron_firing_is_taken_at_the_next_tick_when_the_run_finished_by_then() {
        // Issue 16: a `*/1` periodic whose run started at 23:22:41 and finished at 23:23:05
        // skipped the 23:23:00 firing; upstream's queued flag starts it at the next tick.
        let job = periodic(json!({"cron": "*/1 * * * *"}));
        let first = run(t("2026-12-05T23:22:41Z"), Some(t("2026-12-05T23:23:05Z")));
        assert_eq!(
            decide(&job, Some(&first), t("2026-12-05T23:22:41Z"), t("2026-12-05T23:23:41Z")),
            Decision::Start
        );
        // Not twice for one firing: a run started after it answers it.
        let second = run(t("2026-12-05T23:23:41Z"), Some(t("2026-12-05T23:23:50Z")));
        assert!(matches!(
            decide(
                &job,
                Some(&second),
                t("2026-12-05T23:23:30Z"),
                t("2026-12-05T23:23:55Z")
            ),
            Decision::Wait(_)
        ));
    }

    #[test]
    fn a_new_cron_periodic_waits_for_its_first_firing_after_it_was_first_seen() {
        // Issue 16: a `*/1` periodic added at 23:22:41 fired at once, for 23:22:00; upstream's
        // horologium fires it at 23:23:00, seen at the next tick.
        let job = periodic(json!({"cron": "*/1 * * * *"}));
        let first_seen = t("2026-12-05T23:22:41Z");
        assert!(matches!(decide(&job, None, first_seen, first_seen), Decision::Wait(_)));
        assert_eq!(
            decide(&job, None, first_seen, t("2026-12-05T23:23:41Z")),
            Decision::Start
        );
    }

    #[test]
    fn the_newest_run_decides_and_names_its_successor() {
        let mut a = run(t("2026-11-24T10:00:00Z"), Some(t("2026-11-24T10:05:00Z")));
        a.metadata.name = Some("a".into());
        let mut b = run(t("2026-11-24T11:00:00Z"), None);
        b.metadata.name = Some("b".into());
        assert_eq!(newest([&a, &b]).and_then(|j| j.metadata.name.as_deref()), Some("b"));
        assert_eq!(newest([&b, &a]).and_then(|j| j.metadata.name.as_deref()), Some("b"));
        assert!(newest(std::iter::empty()).is_none());
        let next = successor_name("uid", "p", Some(&b));
        assert_eq!(next, successor_name("uid", "p", Some(&b)), "racing creators agree");
        assert_ne!(next, successor_name("uid", "p", Some(&a)));
        assert_ne!(next, successor_name("uid", "p", None));
        assert_ne!(next, successor_name("other", "p", Some(&b)));
    }

    proptest! {
        /// Simulated restarts: whenever the scheduler looks (with any previous tick), a periodic
        /// that just started a run for a due time does not start again for the same due time.
        #[test]
        fn never_fires_twice_for_one_due_time(minutes in 1u32..300, ticks in prop::collection::vec(1u32..120, 1..20)) {
            let retried = json!({"interval": format!("{minutes}m"), "retry": {"attempts": 3, "interval": "2m", "run_all": true}});
            for schedule in [json!({"interval": format!("{minutes}m")}), json!({"cron": "*/15 * * * *"}), retried] {
                let job = periodic(schedule);
                let mut now = t("2026-11-24T00:00:00Z");
                let mut previous_tick = now;
                let mut latest: Option<ProwJob> = None;
                let mut starts: Vec<Timestamp> = Vec::new();
                let mut names: Vec<String> = Vec::new();
                let starts_now = |decision: &Decision| matches!(decision, Decision::Start | Decision::Retry(_));
                for step in &ticks {
                    now += SignedDuration::from_secs(i64::from(*step) * 60);
                    let decision = decide(&job, latest.as_ref(), previous_tick, now);
                    if starts_now(&decision) {
                        // The run starts and finishes within the minute, under the name every
                        // replica gives it (a retry labelled with its count).
                        let name = successor_name("uid", "p", latest.as_ref());
                        let mut started = run(now, Some(now + SignedDuration::from_secs(30)));
                        started.metadata.name = Some(name.clone());
                        if let Decision::Retry(n) = decision {
                            started.metadata.labels = Some([(RERUN_LABEL.to_string(), n.to_string())].into());
                        }
                        latest = Some(started);
                        names.push(name);
                        starts.push(now);
                        // Right after, with any restart point, it is not due again.
                        let again = now + SignedDuration::from_secs(45);
                        prop_assert!(!starts_now(&decide(&job, latest.as_ref(), previous_tick, again)));
                        prop_assert!(!starts_now(&decide(&job, latest.as_ref(), now, again)));
                    }
                    previous_tick = now;
                }
                let mut sorted = starts.clone();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), starts.len());
                let mut unique = names.clone();
                unique.sort();
                unique.dedup();
                prop_assert_eq!(unique.len(), names.len(), "each run has a name of its own");
            }
        }
    }
}
