use super::*;
use proptest::prelude::*;

fn wanted() -> WantedHook {
    WantedHook {
        url: "https://prow.example/hook".into(),
        events: ["push", "pull_request"].iter().map(|e| e.to_string()).collect(),
        secret: Some("newest".into()),
    }
}

fn known() -> Known {
    Known {
        url: Some("https://prow.example/hook".into()),
        secret_digest: Some(secret_digest("newest")),
    }
}

fn hook(id: u64, url: &str) -> ObservedHook {
    ObservedHook {
        id,
        url: url.into(),
        content_type: "json".into(),
        events: wanted().events,
        active: true,
        has_secret: true,
    }
}

fn drift(plan: &Plan) -> Vec<Drift> {
    match &plan.action {
        Some(HookAction::Update { drift, .. }) => drift.iter().copied().collect(),
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn a_missing_hook_is_created_and_other_hooks_are_left_alone() {
    let others = [
        hook(1, "https://ci.example/other"),
        hook(2, "https://prow.example/hook2"),
    ];
    let planned = plan(&wanted(), &others, &known());
    assert_eq!(planned.action, Some(HookAction::Create));
    assert_eq!(planned.state(), "Missing");
    assert_eq!(
        planned.line("o/r", "https://prow.example/hook").as_deref(),
        Some("create o/r https://prow.example/hook")
    );
}

#[test]
fn a_hook_as_wanted_needs_nothing() {
    let planned = plan(
        &wanted(),
        &[
            hook(1, "https://ci.example/other"),
            hook(7, "https://prow.example/hook"),
        ],
        &known(),
    );
    assert_eq!(planned.action, None);
    assert_eq!(planned.state(), "Present");
    assert_eq!(planned.line("o/r", "u"), None);
}

#[test]
fn only_the_fields_that_drift_are_updated() {
    let mut form = hook(7, "https://prow.example/hook");
    form.content_type = "form".into();
    assert_eq!(drift(&plan(&wanted(), &[form], &known())), [Drift::ContentType]);

    let mut events = hook(7, "https://prow.example/hook");
    events.events.insert("issues".into());
    let planned = plan(&wanted(), &[events], &known());
    assert_eq!(
        planned.action,
        Some(HookAction::Update {
            id: 7,
            drift: [Drift::Events].into()
        })
    );
    assert_eq!(planned.state(), "Drifted");

    let mut inactive = hook(7, "https://prow.example/hook");
    inactive.active = false;
    inactive.has_secret = false;
    assert_eq!(
        drift(&plan(&wanted(), &[inactive], &known())),
        [Drift::Secret, Drift::Active]
    );
}

#[test]
fn a_rotated_or_unknown_secret_is_set_again() {
    let rotated = Known {
        secret_digest: Some(secret_digest("older")),
        ..known()
    };
    assert_eq!(
        drift(&plan(&wanted(), &[hook(7, "https://prow.example/hook")], &rotated)),
        [Drift::Secret]
    );
    let forgotten = Known {
        url: None,
        secret_digest: None,
    };
    assert_eq!(
        drift(&plan(&wanted(), &[hook(7, "https://prow.example/hook")], &forgotten)),
        [Drift::Secret]
    );
}

#[test]
fn without_the_secret_at_hand_only_a_hook_without_a_secret_drifts() {
    let unknown = WantedHook {
        secret: None,
        ..wanted()
    };
    let forgotten = Known::default();
    let present = hook(7, "https://prow.example/hook");
    assert_eq!(plan(&unknown, std::slice::from_ref(&present), &forgotten).action, None);
    let unsigned = ObservedHook {
        has_secret: false,
        ..present
    };
    assert_eq!(drift(&plan(&unknown, &[unsigned], &forgotten)), [Drift::Secret]);
}

#[test]
fn the_hook_at_the_url_last_set_is_moved_to_the_new_url() {
    let moved = Known {
        url: Some("https://old.example/hook".into()),
        ..known()
    };
    let observed = [hook(3, "https://ci.example/other"), hook(5, "https://old.example/hook")];
    let planned = plan(&wanted(), &observed, &moved);
    assert_eq!(
        planned.action,
        Some(HookAction::Update {
            id: 5,
            drift: [Drift::Url].into()
        })
    );
    // Once a hook has the wanted URL, that one is the operator's; the old one is left alone.
    let both = [
        hook(5, "https://old.example/hook"),
        hook(9, "https://prow.example/hook"),
    ];
    assert_eq!(plan(&wanted(), &both, &moved).action, None);
}

#[test]
fn the_digest_does_not_show_the_secret() {
    let digest = secret_digest("newest");
    assert_eq!(digest.len(), 16);
    assert!(!digest.contains("newest"));
    assert_ne!(digest, secret_digest("older"));
    assert!(!format!("{:?}", wanted()).contains("newest"));
}

/// GitHub after the plan is applied, as the adapter would leave it.
fn apply(wanted: &WantedHook, observed: &mut Vec<ObservedHook>, known: &mut Known, planned: &Plan) {
    let fixed = |hook: &mut ObservedHook, drift: &BTreeSet<Drift>| {
        if drift.iter().any(|d| d.in_config()) {
            hook.url = wanted.url.clone();
            hook.content_type = CONTENT_TYPE.into();
            hook.has_secret = true;
        }
        if drift.contains(&Drift::Events) {
            hook.events = wanted.events.clone();
        }
        if drift.contains(&Drift::Active) {
            hook.active = true;
        }
    };
    match &planned.action {
        None => return,
        Some(HookAction::Create) => {
            let id = observed.iter().map(|h| h.id).max().unwrap_or(0) + 1;
            let mut created = hook(id, &wanted.url);
            created.events = wanted.events.clone();
            observed.push(created);
        }
        Some(HookAction::Update { id, drift }) => {
            let target = observed.iter_mut().find(|h| h.id == *id).unwrap();
            fixed(target, drift);
        }
    }
    known.url = Some(wanted.url.clone());
    known.secret_digest = wanted.secret.as_deref().map(secret_digest);
}

const URLS: [&str; 3] = [
    "https://prow.example/hook",
    "https://old.example/hook",
    "https://ci.example/other",
];
const EVENTS: [&str; 3] = ["push", "pull_request", "*"];

fn arb_hook() -> impl Strategy<Value = ObservedHook> {
    (
        1u64..20,
        0usize..3,
        any::<bool>(),
        proptest::collection::btree_set(0usize..3, 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(id, url, json, events, active, has_secret)| ObservedHook {
            id,
            url: URLS[url].into(),
            content_type: if json { "json" } else { "form" }.into(),
            events: events.into_iter().map(|e| EVENTS[e].to_string()).collect(),
            active,
            has_secret,
        })
}

proptest! {
    #[test]
    fn planning_again_after_the_plan_is_applied_gives_nothing(
        observed in proptest::collection::vec(arb_hook(), 0..5),
        url in 0usize..2,
        events in proptest::collection::btree_set(0usize..3, 1..3),
        last_url in proptest::option::of(0usize..3),
        last_secret in proptest::option::of(prop_oneof![Just("newest"), Just("older")]),
    ) {
        let wanted = WantedHook {
            url: URLS[url].into(),
            events: events.into_iter().map(|e| EVENTS[e].to_string()).collect(),
            secret: Some("newest".into()),
        };
        let mut observed = observed;
        observed.sort_by_key(|h| h.id);
        observed.dedup_by_key(|h| h.id);
        let others: Vec<ObservedHook> = observed.iter().filter(|h| h.url == URLS[2] && Some(2) != last_url).cloned().collect();
        let mut known = Known {
            url: last_url.map(|u| URLS[u].to_string()),
            secret_digest: last_secret.map(secret_digest),
        };
        let first = plan(&wanted, &observed, &known);
        apply(&wanted, &mut observed, &mut known, &first);
        let second = plan(&wanted, &observed, &known);
        prop_assert_eq!(second.action, None);
        // Webhooks that are not the operator's are untouched.
        for other in others {
            if other.url != wanted.url {
                prop_assert!(observed.contains(&other));
            }
        }
    }
}
