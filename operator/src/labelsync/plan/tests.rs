use super::*;
use proptest::prelude::*;
use serde_json::json;

fn spec(value: serde_json::Value) -> LabelSetSpec {
    serde_json::from_value(value).unwrap()
}

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

fn seen(name: &str, color: &str, description: &str) -> ObservedLabel {
    ObservedLabel {
        name: name.into(),
        color: color.into(),
        description: description.into(),
    }
}

fn lines(spec: &LabelSetSpec, observed: &[ObservedLabel]) -> Vec<String> {
    let desired = Desired::for_repo(spec, "o/r", now()).unwrap();
    plan(&desired, observed)
        .unwrap()
        .iter()
        .map(|a| a.line("o/r"))
        .collect()
}

#[test]
fn missing_labels_are_created_and_drift_is_updated() {
    let s = spec(json!({"default": {"labels": [
        {"name": "lgtm", "color": "15dd18", "description": "Looks good"},
        {"name": "hold", "color": "e11d21"},
        {"name": "bug", "color": "ee0701", "description": "A bug"},
    ]}}));
    let observed = [seen("hold", "000000", ""), seen("bug", "EE0701", "Old text")];
    assert_eq!(
        lines(&s, &observed),
        ["update o/r bug", "update o/r hold", "create o/r lgtm"]
    );
}

#[test]
fn a_case_only_difference_is_a_rename() {
    let s = spec(json!({"default": {"labels": [{"name": "LGTM", "color": "15dd18"}]}}));
    let desired = Desired::for_repo(&s, "o/r", now()).unwrap();
    let actions = plan(&desired, &[seen("lgtm", "15dd18", "")]).unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].line("o/r"), "rename o/r lgtm LGTM");
}

#[test]
fn an_old_name_alone_is_renamed_in_one_patch_with_the_new_colour_and_description() {
    let s = spec(json!({"default": {"labels": [{
        "name": "kind/bug", "color": "e11d21", "description": "Categorizes issue as a bug",
        "previously": [{"name": "bug", "color": "ffffff", "description": "old"}],
    }]}}));
    let desired = Desired::for_repo(&s, "o/r", now()).unwrap();
    let actions = plan(&desired, &[seen("Bug", "ffffff", "old")]).unwrap();
    assert_eq!(
        actions,
        [Action::Rename {
            from: "Bug".into(),
            to: WantedLabel {
                name: "kind/bug".into(),
                color: Some("e11d21".into()),
                description: "Categorizes issue as a bug".into(),
            },
        }]
    );
}

#[test]
fn an_old_name_next_to_the_new_one_is_migrated_last() {
    let s = spec(json!({"default": {"labels": [
        {"name": "kind/bug", "color": "e11d21", "previously": [{"name": "bug"}]},
        {"name": "zzz", "color": "000000"},
    ]}}));
    let observed = [seen("bug", "e11d21", ""), seen("kind/bug", "e11d21", "")];
    assert_eq!(lines(&s, &observed), ["create o/r zzz", "migrate o/r bug kind/bug"]);
}

#[test]
fn two_old_names_and_no_new_one_rename_the_first_and_migrate_the_second() {
    let s = spec(json!({"default": {"labels": [
        {"name": "kind/bug", "color": "e11d21", "previously": [{"name": "bug"}, {"name": "defect"}]},
    ]}}));
    let observed = [seen("bug", "e11d21", ""), seen("defect", "e11d21", "")];
    assert_eq!(
        lines(&s, &observed),
        ["rename o/r bug kind/bug", "migrate o/r defect kind/bug"]
    );
}

#[test]
fn delete_after_in_the_past_deletes_and_in_the_future_neither_creates_nor_updates() {
    let s = spec(json!({"default": {"labels": [
        {"name": "gone", "color": "000000", "deleteAfter": "2026-01-01T00:00:00Z"},
        {"name": "retiring", "color": "000000", "deleteAfter": "2027-01-01T00:00:00Z"},
        {"name": "later", "color": "000000", "deleteAfter": "2027-01-01T00:00:00Z"},
        {"name": "kept", "color": "000000", "previously": [{"name": "ancient", "deleteAfter": "2020-01-01T00:00:00Z"}]},
    ]}}));
    let observed = [
        seen("Gone", "000000", ""),
        seen("retiring", "ffffff", "drifted"),
        seen("ancient", "000000", ""),
        seen("kept", "000000", ""),
    ];
    assert_eq!(lines(&s, &observed), ["delete o/r ancient", "delete o/r Gone"]);
}

#[test]
fn the_old_names_of_a_retiring_label_still_move_to_it_as_upstream() {
    // Upstream classifies an old name by its own date only, its parent's does not matter.
    let s = spec(json!({"default": {"labels": [
        {"name": "new", "color": "000000", "deleteAfter": "2027-01-01T00:00:00Z", "previously": [{"name": "old"}]},
    ]}}));
    assert_eq!(lines(&s, &[seen("old", "111111", "")]), ["rename o/r old new"]);
}

#[test]
fn labels_no_label_set_names_are_left_alone() {
    let s = spec(json!({"default": {"labels": [{"name": "lgtm", "color": "15dd18"}]}}));
    assert_eq!(
        lines(&s, &[seen("lgtm", "15dd18", ""), seen("wontfix", "ffffff", "")]),
        Vec::<String>::new()
    );
}

#[test]
fn repository_labels_add_to_the_defaults_and_win_over_them() {
    let s = spec(json!({
        "default": {"labels": [{"name": "lgtm", "color": "15dd18"}]},
        "repos": {
            "o/r": {"labels": [{"name": "LGTM", "color": "000000"}, {"name": "area/x", "color": "111111"}]},
            "o/other": {"labels": [{"name": "area/y", "color": "111111"}]},
        },
    }));
    assert_eq!(lines(&s, &[]), ["create o/r area/x", "create o/r LGTM"]);
}

#[test]
fn a_label_without_colour_keeps_github_s_and_descriptions_are_cut_to_100() {
    let long = "x".repeat(130);
    let s = spec(json!({"default": {"labels": [
        {"name": "plain"},
        {"name": "wordy", "color": "000000", "description": long},
    ]}}));
    let desired = Desired::for_repo(&s, "o/r", now()).unwrap();
    let observed = [seen("plain", "abcdef", ""), seen("wordy", "000000", &"x".repeat(100))];
    assert_eq!(plan(&desired, &observed).unwrap(), []);
}

#[test]
fn a_bad_date_and_duplicate_github_labels_are_refused_with_a_sentence() {
    let s = spec(
        json!({"repos": {"o/r": {"labels": [{"name": "a", "previously": [{"name": "b", "deleteAfter": "soon"}]}]}}}),
    );
    let err = Desired::for_repo(&s, "o/r", now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.repos[\"o/r\"].labels[0].previously[0].deleteAfter: deleteAfter \"soon\" is not an RFC 3339 time, such as 2025-01-31T00:00:00Z"
    );
    let err = plan(&Desired::default(), &[seen("Bug", "0", ""), seen("bug", "0", "")]).unwrap_err();
    assert!(err.to_string().contains("\"Bug\" and \"bug\""), "{err}");
}

// ------------------------------------------------------------------ property

/// Applies `actions` to a model of GitHub's labels, keyed by lowercase name.
fn apply(labels: &mut BTreeMap<String, ObservedLabel>, actions: &[Action]) {
    for action in actions {
        match action {
            Action::Create(w) => {
                let color = w.color.clone().unwrap_or_else(|| "ededed".into());
                let old = labels.insert(w.name.to_lowercase(), seen(&w.name, &color, &w.description));
                assert!(old.is_none(), "created an existing label {}", w.name);
            }
            Action::Update(w) => {
                let l = labels
                    .get_mut(&w.name.to_lowercase())
                    .expect("update of a missing label");
                assert_eq!(l.name, w.name);
                if let Some(c) = &w.color {
                    l.color = c.clone();
                }
                l.description = w.description.clone();
            }
            Action::Rename { from, to } => {
                let old = labels.remove(&from.to_lowercase()).expect("rename of a missing label");
                assert_eq!(&old.name, from);
                let color = to.color.clone().unwrap_or(old.color);
                let clash = labels.insert(to.name.to_lowercase(), seen(&to.name, &color, &to.description));
                assert!(clash.is_none(), "renamed onto an existing label {}", to.name);
            }
            Action::Migrate { from, to } => {
                assert!(
                    labels.contains_key(&to.name.to_lowercase()),
                    "migrate into a missing label"
                );
                labels.remove(&from.to_lowercase()).expect("migrate of a missing label");
            }
            Action::Delete { name } => {
                labels.remove(&name.to_lowercase()).expect("delete of a missing label");
            }
        }
    }
}

/// Distinct lowercase stems; each label uses one, in a random case.
const STEMS: [&str; 10] = [
    "lgtm", "hold", "bug", "kind/bug", "old", "older", "area/x", "gone", "wontfix", "help",
];

fn cased(stem: &str, upper: bool) -> String {
    if upper { stem.to_uppercase() } else { stem.to_string() }
}

#[derive(Debug, Clone)]
struct Case {
    spec: LabelSetSpec,
    observed: Vec<ObservedLabel>,
}

fn case() -> impl Strategy<Value = Case> {
    // Per stem: its role in the LabelSet (0 none, 1 required, 2 old name of the previous
    // required stem, 3 dead) and how GitHub has it (None absent, or case, colour, description).
    let role = 0u8..4;
    let on_github = proptest::option::of((any::<bool>(), 0u8..3, 0u8..2));
    let wanted = (any::<bool>(), proptest::option::of(0u8..3), 0u8..2);
    proptest::collection::vec((role, on_github, wanted), STEMS.len()).prop_map(|stems| {
        let colors = ["000000", "ffffff", "e11d21"];
        let descriptions = ["", "some text"];
        let mut labels: Vec<serde_json::Value> = Vec::new();
        let mut observed = Vec::new();
        for (stem, (role, github, (upper, color, description))) in STEMS.iter().zip(stems) {
            let name = cased(stem, upper);
            let mut label = json!({"name": name, "description": descriptions[description as usize]});
            if let Some(c) = color {
                label["color"] = json!(colors[c as usize]);
            }
            match role {
                1 => labels.push(label),
                2 => match labels.last_mut() {
                    Some(parent) if parent.get("deleteAfter").is_none() => {
                        parent["previously"]
                            .as_array_mut()
                            .map(|p| p.push(json!({"name": name})))
                            .unwrap_or_else(|| parent["previously"] = json!([{"name": name}]));
                    }
                    _ => labels.push(label),
                },
                3 => {
                    label["deleteAfter"] = json!("2020-01-01T00:00:00Z");
                    labels.push(label);
                }
                _ => {}
            }
            if let Some((upper, c, d)) = github {
                observed.push(seen(&cased(stem, upper), colors[c as usize], descriptions[d as usize]));
            }
        }
        Case {
            spec: spec(json!({"default": {"labels": labels}})),
            observed,
        }
    })
}

proptest! {
    #[test]
    fn applying_the_plan_yields_the_desired_labels_in_one_pass(case in case()) {
        let desired = Desired::for_repo(&case.spec, "o/r", now()).unwrap();
        let actions = plan(&desired, &case.observed).unwrap();
        let mut github: BTreeMap<String, ObservedLabel> =
            case.observed.iter().map(|l| (l.name.to_lowercase(), l.clone())).collect();
        apply(&mut github, &actions);

        // Nothing left to do.
        let again: Vec<ObservedLabel> = github.values().cloned().collect();
        prop_assert_eq!(plan(&desired, &again).unwrap(), vec![]);
        // Every required label is there, exactly.
        for wanted in desired.required() {
            let have = github.get(&wanted.name.to_lowercase());
            prop_assert!(have.is_some(), "{} missing", wanted.name);
            let have = have.unwrap();
            prop_assert_eq!(&have.name, &wanted.name);
            prop_assert_eq!(&have.description, &wanted.description);
            if let Some(c) = &wanted.color {
                prop_assert!(have.color.eq_ignore_ascii_case(c));
            }
        }
        // Dead and old names are gone; labels no LabelSet names are untouched.
        for lower in desired.dead.iter().chain(desired.archaic.keys()) {
            prop_assert!(!github.contains_key(lower), "{} still there", lower);
        }
        for label in &case.observed {
            let lower = label.name.to_lowercase();
            if !desired.required.contains_key(&lower) && !desired.dead.contains(&lower)
                && !desired.archaic.contains_key(&lower)
            {
                prop_assert_eq!(github.get(&lower), Some(label));
            }
        }
        // At most one write per label named (a migration is one action).
        prop_assert!(actions.len() <= desired.required.len() + desired.archaic.len() + desired.dead.len());
    }
}
