//! A LabelSet (label_sync's `labels.yaml`): names unique ignoring case (old names included),
//! descriptions GitHub accepts, colors, targets and deletion dates.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use prow_api::LabelSetSpec;
use prow_api::labelset::{Label, RepoLabels};

use super::{Findings, field, item, key, rule};

/// GitHub's limit on label descriptions.
const MAX_DESCRIPTION: usize = 100;
/// The targets label_sync knows.
const TARGETS: [&str; 3] = ["prs", "issues", "both"];

static HEX_COLOR: LazyLock<Regex> = LazyLock::new(|| crate::patterns::literal(r"^[0-9a-fA-F]{6}$"));
static RFC3339: LazyLock<Regex> = LazyLock::new(|| {
    crate::patterns::literal(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$")
});

/// The CSS color names (which some label files use instead of `rrggbb`).
const COLOR_NAMES: &str = "aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue \
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue \
    darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid \
    darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink \
    deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold \
    goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush \
    lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey \
    lightpink lightsalmon lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime \
    limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen \
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin \
    navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise \
    palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue \
    saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow \
    springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen";

/// Checks a LabelSet at `root`.
pub(crate) fn check(spec: &LabelSetSpec, root: &str, findings: &mut Findings) {
    // Names (lowercased) of the default labels, with their paths; every repository is checked
    // against them plus its own.
    let mut default_names: BTreeMap<String, String> = BTreeMap::new();
    if let Some(default) = &spec.default {
        check_repo(
            default,
            &field(&field(root, "default"), "labels"),
            &mut default_names,
            findings,
        );
    }
    for (repo, labels) in &spec.repos {
        let mut names = default_names.clone();
        check_repo(
            labels,
            &field(&key(&field(root, "repos"), repo), "labels"),
            &mut names,
            findings,
        );
    }
}

fn check_repo(labels: &RepoLabels, path: &str, names: &mut BTreeMap<String, String>, findings: &mut Findings) {
    for (index, label) in labels.labels.iter().enumerate() {
        let label_path = item(path, index);
        check_label(label, &label_path, findings);
        unique_name(&label.name, &field(&label_path, "name"), names, findings);
        for (old_index, old) in label.previously.iter().enumerate() {
            let old_path = item(&field(&label_path, "previously"), old_index);
            unique_name(&old.name, &field(&old_path, "name"), names, findings);
            check_fields(
                &Fields {
                    description: old.description.as_deref(),
                    color: old.color.as_deref(),
                    target: old.target.as_deref(),
                    delete_after: old.delete_after.as_deref(),
                },
                &old_path,
                findings,
            );
        }
    }
}

fn unique_name(name: &str, path: &str, names: &mut BTreeMap<String, String>, findings: &mut Findings) {
    if name.trim().is_empty() {
        findings.error(path, rule::LABEL_SYNC, "every label needs a name");
        return;
    }
    let lower = name.to_lowercase();
    if let Some(first) = names.get(&lower) {
        let message = format!(
            "label {name:?} is already defined at {first} (names are compared ignoring case, old names in previously included): remove or rename one"
        );
        // label_sync refuses a name defined twice, but does not record `previously` names.
        if is_previous(path) || is_previous(first) {
            findings.warning(path, rule::LABEL_SYNC, message);
        } else {
            findings.error(path, rule::LABEL_SYNC, message);
        }
    } else {
        names.insert(lower, path.to_string());
    }
}

/// Whether a label's path is that of an old name, in a `previously` list.
fn is_previous(path: &str) -> bool {
    path.contains(".previously[")
}

struct Fields<'a> {
    description: Option<&'a str>,
    color: Option<&'a str>,
    target: Option<&'a str>,
    delete_after: Option<&'a str>,
}

fn check_label(label: &Label, path: &str, findings: &mut Findings) {
    check_fields(
        &Fields {
            description: label.description.as_deref(),
            color: label.color.as_deref(),
            target: label.target.as_deref(),
            delete_after: label.delete_after.as_deref(),
        },
        path,
        findings,
    );
}

fn check_fields(fields: &Fields<'_>, path: &str, findings: &mut Findings) {
    if let Some(description) = fields.description
        && description.chars().count() > MAX_DESCRIPTION
    {
        findings.error(
            field(path, "description"),
            rule::LABEL_SYNC,
            format!(
                "the description is {} characters long; GitHub accepts at most {MAX_DESCRIPTION}: shorten it",
                description.chars().count()
            ),
        );
    }
    if let Some(color) = fields.color
        && !HEX_COLOR.is_match(color)
        && !COLOR_NAMES
            .split_whitespace()
            .any(|name| name.eq_ignore_ascii_case(color))
    {
        findings.warning(
            field(path, "color"),
            rule::LABEL_SYNC,
            format!(
                "color {color:?} is neither rrggbb (six hex digits, no '#') nor a color name: GitHub may refuse it"
            ),
        );
    }
    if let Some(target) = fields.target
        && !TARGETS.contains(&target)
    {
        // label_sync reads any target; it only groups its documentation by the three.
        findings.warning(
            field(path, "target"),
            rule::LABEL_SYNC,
            format!(
                "target {target:?} is not one of prs, issues or both: label_sync leaves the label out of its documentation's groups"
            ),
        );
    }
    if let Some(date) = fields.delete_after
        && !is_rfc3339(date)
    {
        findings.error(
            field(path, "deleteAfter"),
            rule::LABEL_SYNC,
            format!("deleteAfter {date:?} is not an RFC 3339 time, such as 2025-01-31T00:00:00Z"),
        );
    }
}

/// Whether `text` is an RFC 3339 date-time with fields in range.
fn is_rfc3339(text: &str) -> bool {
    let Some(captures) = RFC3339.captures(text) else {
        return false;
    };
    let number = |index: usize| captures.get(index).and_then(|m| m.as_str().parse::<u32>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (number(1), number(2), number(3), number(4), number(5), number(6))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    let offset_ok = match (number(9), number(10)) {
        (Some(h), Some(m)) => h < 24 && m < 60,
        _ => true,
    };
    (1..=days_in_month).contains(&day) && hour < 24 && minute < 60 && second < 61 && offset_ok
}

#[cfg(test)]
mod tests {
    use prow_api::status::{Finding, Severity};
    use serde_json::json;

    use super::*;

    fn run(value: serde_json::Value) -> Vec<Finding> {
        let spec: LabelSetSpec = serde_json::from_value(value).expect("label set");
        let mut findings = Findings::default();
        check(&spec, "spec", &mut findings);
        findings.into_vec()
    }

    fn paths(value: serde_json::Value) -> Vec<String> {
        run(value).into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn a_valid_set() {
        let findings = run(json!({
            "default": {"labels": [
                {"name": "lgtm", "color": "15dd18", "description": "Looks good", "target": "prs", "prowPlugin": "lgtm", "addedBy": "reviewers"},
                {"name": "kind/bug", "color": "e11d21", "previously": [{"name": "bug", "color": "red"}], "deleteAfter": "2024-02-29T12:00:00+01:00"}
            ]},
            "repos": {
                "org/a": {"labels": [{"name": "area/a", "color": "0052CC", "target": "both"}]},
                "org/b": {"labels": [{"name": "area/a", "color": "0052cc", "target": "issues"}]}
            }
        }));
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn names_unique_ignoring_case_with_old_names() {
        assert_eq!(
            paths(json!({
                "default": {"labels": [{"name": "LGTM"}, {"name": "lgtm"}, {"name": "kind/bug", "previously": [{"name": "Bug"}]}]},
                "repos": {"org/a": {"labels": [{"name": "bug"}, {"name": "a"}, {"name": "b", "previously": [{"name": "A"}]}, {"name": ""}]}}
            })),
            [
                "spec.default.labels[1].name",
                "spec.repos[\"org/a\"].labels[0].name",
                "spec.repos[\"org/a\"].labels[2].previously[0].name",
                "spec.repos[\"org/a\"].labels[3].name",
            ]
        );
    }

    #[test]
    fn descriptions_targets_dates_and_colors() {
        let findings = run(json!({"default": {"labels": [
            {"name": "a", "description": "x".repeat(101)},
            {"name": "b", "description": "x".repeat(100), "target": "pulls"},
            {"name": "c", "deleteAfter": "2024-02-30T00:00:00Z"},
            {"name": "d", "deleteAfter": "tomorrow", "color": "#ff0000"},
            {"name": "e", "previously": [{"name": "f", "target": "all"}]}
        ]}}));
        let found: Vec<(&str, Severity)> = findings.iter().map(|f| (f.path.as_str(), f.severity)).collect();
        assert_eq!(
            found,
            [
                ("spec.default.labels[0].description", Severity::Error),
                ("spec.default.labels[1].target", Severity::Warning),
                ("spec.default.labels[2].deleteAfter", Severity::Error),
                ("spec.default.labels[3].color", Severity::Warning),
                ("spec.default.labels[3].deleteAfter", Severity::Error),
                ("spec.default.labels[4].previously[0].target", Severity::Warning),
            ]
        );
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2024-01-31T00:00:00Z",
            "2024-02-29T23:59:59.123+05:30",
            "2023-12-01t10:00:00z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2024-01-31",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01 00:00:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn an_old_name_shared_by_two_labels_only_warns_as_label_sync_does_not_record_old_names() {
        let found = run(json!({"default": {"labels": [
            {"name": "a", "color": "ffffff", "previously": [{"name": "old"}]},
            {"name": "b", "color": "ffffff", "previously": [{"name": "OLD"}]},
            {"name": "A", "color": "ffffff"}
        ]}}));
        let severities: Vec<(&str, Severity)> = found.iter().map(|f| (f.path.as_str(), f.severity)).collect();
        assert_eq!(
            severities,
            [
                ("spec.default.labels[1].previously[0].name", Severity::Warning),
                ("spec.default.labels[2].name", Severity::Error)
            ]
        );
    }
}
