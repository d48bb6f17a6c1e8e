use serde_json::json;

use super::*;
use crate::webhook::payload::RepoName;

fn instance(webhook: serde_json::Value, targets: &[&str]) -> ProwInstance {
    let statuses: Vec<serde_json::Value> = targets
        .iter()
        .map(|t| json!({"target": t, "state": "Present"}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "operator.prow.dev/v1alpha1", "kind": "ProwInstance",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"version": "v1", "github": {"org": "Acme",
            "auth": {"token": {"secretRef": {"name": "t", "key": "k"}}},
            "hmacSecretRef": {"name": "h", "key": "hmac"}, "webhook": webhook}},
        "status": {"webhooks": statuses},
    }))
    .unwrap()
}

fn repo(full_name: &str) -> HookSource {
    HookSource::Repo(RepoName::parse(full_name).unwrap())
}

#[test]
fn a_delivery_counts_for_the_instances_own_target_only() {
    let repos = instance(json!({"managed": true}), &["Acme/app"]);
    assert_eq!(target_of(&repos, &repo("acme/APP")).as_deref(), Some("Acme/app"));
    // A repository without a webhook target of the instance, another org, an org hook.
    assert_eq!(target_of(&repos, &repo("acme/other")), None);
    assert_eq!(target_of(&repos, &repo("globex/app")), None);
    assert_eq!(target_of(&repos, &HookSource::Org("acme".into())), None);
    let org = instance(json!({"managed": true, "level": "org"}), &["Acme"]);
    assert_eq!(target_of(&org, &repo("acme/any")).as_deref(), Some("Acme"));
    assert_eq!(
        target_of(&org, &HookSource::Org("ACME".into())).as_deref(),
        Some("Acme")
    );
    let unmanaged = instance(json!({"managed": false}), &["Acme/app"]);
    assert_eq!(target_of(&unmanaged, &repo("acme/app")), None);
}

#[test]
fn merging_keeps_the_later_time_of_each_entry() {
    let older = Activity {
        hook_deleted: Some("2026-01-01T00:00:00Z".into()),
        last_delivery: BTreeMap::from([
            ("o/a".into(), "2026-01-01T00:00:05Z".into()),
            ("o/b".into(), "2026-01-01T00:00:09.5Z".into()),
        ]),
    };
    let newer = Activity {
        hook_deleted: None,
        last_delivery: BTreeMap::from([
            ("o/a".into(), "2026-01-01T00:01:00Z".into()),
            // Not later: "09Z" sorts after "09.5Z" as text, not as time.
            ("o/b".into(), "2026-01-01T00:00:09Z".into()),
            ("o/c".into(), "not a time".into()),
        ]),
    };
    let merged = older.merged(&newer);
    assert_eq!(merged.hook_deleted.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(merged.last_delivery["o/a"], "2026-01-01T00:01:00Z");
    assert_eq!(merged.last_delivery["o/b"], "2026-01-01T00:00:09.5Z");
    assert_eq!(merged, newer.merged(&older), "the order of the merge does not matter");
    let text = merged.render();
    let annotations = BTreeMap::from([(ACTIVITY_ANNOTATION.to_string(), text)]);
    assert_eq!(Activity::of(&annotations), merged);
    let garbage = BTreeMap::from([(ACTIVITY_ANNOTATION.to_string(), "{".to_string())]);
    assert_eq!(Activity::of(&garbage), Activity::default());
}

#[test]
fn folding_sets_the_last_delivery_of_the_targets_listed() {
    let statuses = vec![
        WebhookStatus {
            target: "o/a".into(),
            last_delivery: Some("2026-01-01T00:00:00Z".into()),
            ..WebhookStatus::default()
        },
        WebhookStatus {
            target: "o/b".into(),
            last_delivery: Some("2026-02-01T00:00:00Z".into()),
            ..WebhookStatus::default()
        },
    ];
    let activity = Activity {
        hook_deleted: None,
        last_delivery: BTreeMap::from([
            ("o/a".into(), "2026-01-02T00:00:00Z".into()),
            ("o/b".into(), "2026-01-02T00:00:00Z".into()),
            ("o/gone".into(), "2026-01-02T00:00:00Z".into()),
        ]),
    };
    let folded = fold(&statuses, &activity);
    let times: Vec<_> = folded.iter().map(|s| s.last_delivery.as_deref()).collect();
    assert_eq!(times, [Some("2026-01-02T00:00:00Z"), Some("2026-02-01T00:00:00Z")]);
}

/// However many deliveries arrive, a replica writes for an instance at most once per
/// DELETION_INTERVAL when a deletion is among them and once per DELIVERY_INTERVAL otherwise.
#[test]
fn writes_are_bounded_whatever_arrives() {
    let delivery = HookNotice {
        source: repo("o/a"),
        deleted: false,
    };
    let deletion = HookNotice {
        source: repo("o/a"),
        deleted: true,
    };
    let start = Instant::now();
    let mut pending = Pending::default();
    assert_eq!(pending.due(start), None);
    let mut writes = Vec::new();
    // Ten minutes of a delivery every 100 ms, and a deletion every second.
    for tick in 0..6000u64 {
        let now = start + Duration::from_millis(100 * tick);
        let notice = if tick % 10 == 0 { &deletion } else { &delivery };
        pending.note("o/a", notice, &format!("2026-01-01T00:00:{:02}Z", tick % 60));
        if let Some(news) = pending.take(now) {
            writes.push((now - start, news.hook_deleted.is_some()));
        }
    }
    assert_eq!(writes.len(), 60, "one write per 10 s");
    assert!(writes.windows(2).all(|w| w[1].0 - w[0].0 >= DELETION_INTERVAL));
    // Deliveries only: one write per minute.
    let mut pending = Pending::default();
    let mut count = 0;
    for tick in 0..6000u64 {
        pending.note("o/a", &delivery, "2026-01-01T00:00:00Z");
        if pending.take(start + Duration::from_millis(100 * tick)).is_some() {
            count += 1;
        }
    }
    assert_eq!(count, 10, "one write per minute");
    // News a failed write could not carry is written next time.
    let mut pending = Pending::default();
    pending.note("o/a", &deletion, "2026-01-01T00:00:00Z");
    let news = pending.take(start).unwrap();
    pending.put_back(&news);
    assert_eq!(pending.take(start + Duration::from_secs(1)), None);
    assert_eq!(pending.take(start + DELETION_INTERVAL), Some(news));
}
