//! `check` against upstream Prow's own `checkconfig`, built by `tests/oracle/build.sh` (`make
//! oracle`), on every configuration of `tests/oracle/configs.tsv` that is here (the four of
//! `../shared/corpus` always; the extracted ones when `tests/oracle/configs.sh` has run).
//!
//! Upstream's `checkconfig` runs on the configuration's files three ways: with no flags, with
//! `--strict`, and with the flags the project's own checkconfig job passes. Ours imports the same
//! files (for the oracle's upstream version, so that version-dependent answers are asked of the
//! same version) and checks them as `prow-operator check` does. Then:
//! - every error of ours must be an error of upstream's without flags (same job, key or plugin
//!   named): where upstream is silent we report at most warnings;
//! - every error upstream reports must be one of ours; under `--strict`, where upstream's warnings
//!   are errors, one of our findings (error or warning) must name the same thing or carry the
//!   warning's name as its rule.
//!
//! A plugin upstream's 2024 version does not know and ours says is newer (`plugin-version`) is a
//! version-dependent answer: when ours agrees, the plugin is taken out of a scratch copy of
//! plugins.yaml and upstream runs again, so that the rest is still compared. Upstream's warning
//! that it cannot download a build-cluster status file (no network here) is set aside.
//!
//! A table per configuration shows the jobs, the agreements and the disagreements by class; any
//! disagreement that is not in [`DOCUMENTED`] (the README's deliberate differences) fails the
//! test. Skipped, with a loud warning, when the oracle is not built;
//! failed then when `ORACLE_REQUIRED=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use prow_api::status::Severity;
use prow_operator::pipeline;
use serde_json::Value;
use support::configs::{self, Configuration};
use support::oracle::{self, ORACLE_VERSION};

/// One finding of ours, flattened: where (file, object, field path), what, and its rule.
struct Ours {
    error: bool,
    place: String,
    message: String,
    rule: String,
}

impl Ours {
    fn text(&self) -> String {
        format!("{}: {} [{}]", self.place, self.message, self.rule)
    }
}

/// What upstream's checkconfig said in one run: its fatal errors, and its warnings (each a line
/// upstream prints; one line may list many jobs or repositories).
#[derive(Default, Debug)]
struct Upstream {
    errors: Vec<String>,
    warnings: Vec<String>,
    /// Whether `--strict` made the warnings fatal.
    strict_failed: bool,
}

impl Upstream {
    /// What upstream refuses: its errors, and its warnings when `--strict` made them fatal.
    fn refusals(&self) -> Vec<String> {
        let mut refused = self.errors.clone();
        if self.strict_failed {
            refused.extend(self.warnings.iter().cloned());
        }
        refused
    }
}

/// Upstream's warnings that say something about this machine, not the configuration.
fn environmental(warning: &str) -> bool {
    warning.contains("error opening build cluster status file")
}

fn checkconfig(bin: &Path, configuration: &Configuration, plugins: &Path, flags: &[String]) -> Upstream {
    let root = &configuration.root;
    let output = Command::new(bin.join("checkconfig"))
        .arg(format!("--config-path={}", root.join(&configuration.config).display()))
        .arg(format!(
            "--job-config-path={}",
            root.join(&configuration.jobs).display()
        ))
        .arg(format!("--plugin-config={}", plugins.display()))
        .args(flags)
        .output()
        .unwrap_or_else(|e| panic!("cannot run upstream checkconfig: {e}"));
    let mut upstream = Upstream::default();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let level = entry["level"].as_str().unwrap_or_default();
        let said = entry["error"]
            .as_str()
            .or(entry["msg"].as_str())
            .unwrap_or_default()
            .to_string();
        match level {
            "fatal" if said == "Strict is set and there were warnings" => upstream.strict_failed = true,
            "fatal" => upstream.errors.push(said),
            "warning" if entry["func"] == "main.reportWarning" && !environmental(&said) => {
                upstream.warnings.push(said);
            }
            _ => {}
        }
    }
    if !output.status.success() && upstream.errors.is_empty() && !upstream.strict_failed {
        upstream.errors.push(format!("checkconfig failed: {}", text.trim()));
    }
    upstream
}

/// Our findings on the configuration, imported for the oracle's version: the import's warnings, then
/// what `check` reports; an import that fails is one error.
fn ours(configuration: &Configuration) -> (i64, Vec<Ours>) {
    let imported = match configuration.import(Some(ORACLE_VERSION)) {
        Ok(imported) => imported,
        Err(error) => {
            return (
                0,
                vec![Ours {
                    error: true,
                    place: "import".into(),
                    message: error.to_string(),
                    rule: "import".into(),
                }],
            );
        }
    };
    let inputs = support::inputs(&imported);
    let jobs = imported
        .job_configs
        .iter()
        .map(|c| {
            let counts = c.spec.jobs.counts();
            counts.presubmits + counts.postsubmits + counts.periodics
        })
        .sum::<i64>();
    let import_warnings = imported.warnings.iter().map(|warning| Ours {
        error: false,
        place: "import".into(),
        message: warning.clone(),
        rule: "import".into(),
    });
    let findings = import_warnings
        .chain(pipeline::check_all(&inputs).into_iter().flat_map(|report| {
            let place = format!("{}: {}", report.source, report.object);
            report.findings.into_iter().map(move |f| Ours {
                error: f.severity == Severity::Error,
                place: format!("{place}: {}", f.path),
                message: f.message,
                rule: f.rule.unwrap_or_else(|| "-".into()),
            })
        }))
        .collect();
    (jobs, findings)
}

/// The name of upstream's warning a line of its output is (`--warnings=NAME`), when known.
fn warning_name(said: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("too long (should be at most", "long-job-names"),
        ("do not use the pod utilities", "non-decorated-jobs"),
        ("do not have the trigger plugin enabled", "missing-trigger"),
        ("label for merging but do not enable", "mismatched-tide"),
        ("unknown field", "unknown-fields"),
        ("unknown plugin", "plugin-version"),
    ];
    NAMES
        .iter()
        .find(|(phrase, _)| said.contains(phrase))
        .map(|(_, name)| *name)
}

/// A class of upstream's answers: the warning's name, else its first words.
fn upstream_class(said: &str) -> String {
    warning_name(said).map_or_else(
        || {
            said.split(['"', ':', '['])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        },
        str::to_string,
    )
}

/// What an upstream answer names: its quoted strings and identifiers (jobs, keys, plugins; a
/// repository only when nothing else).
fn named(said: &str) -> Vec<String> {
    let mut names: Vec<String> = said.split('"').skip(1).step_by(2).map(str::to_string).collect();
    names.extend(
        said.split([' ', ',', '[', ']'])
            .map(|w| w.trim_end_matches([':', '.']))
            .filter(|w| w.len() >= 4 && w.contains(['-', '/', '_']) && !w.contains("://"))
            .map(str::to_string),
    );
    names.retain(|n| n.len() >= 3);
    // A repository names where, not what: it counts only when nothing more precise is named.
    if names.iter().any(|n| !n.contains('/')) {
        names.retain(|n| !n.contains('/'));
    }
    names
}

/// Whether a finding of ours is the same answer as upstream's `said`.
fn same(said: &str, finding: &Ours) -> bool {
    let text = finding.text();
    warning_name(said).is_some_and(|name| finding.rule == name) || named(said).iter().any(|n| text.contains(n.as_str()))
}

/// The plugins of upstream's "unknown plugin" answers that ours says the oracle's version does not
/// have yet (a `plugin-version` error naming them).
fn version_dependent(refusals: &[String], ours: &[Ours]) -> Vec<String> {
    refusals
        .iter()
        .filter_map(|said| said.split("unknown plugin: ").nth(1))
        .map(|plugin| plugin.trim().to_string())
        .filter(|plugin| {
            ours.iter()
                .any(|f| f.error && f.rule == "plugin-version" && f.message.contains(&format!("{plugin:?}")))
        })
        .collect()
}

/// plugins.yaml without `plugins`, written (as JSON) into `scratch`.
fn without_plugins(configuration: &Configuration, plugins: &[String], scratch: &Path) -> PathBuf {
    let out = scratch.join(format!("{}-plugins.yaml", configuration.name));
    support::plugins::write_without_plugins(&configuration.root.join(&configuration.plugins), plugins, &out);
    out
}

/// The answers of upstream's checkconfig we deliberately do not give, each listed with its reason
/// in the README ("Deliberate differences from upstream"): (class, what the answer says, why).
const DOCUMENTED: &[(&str, &str, &str)] = &[
    (
        "missing-trigger",
        "",
        "with no trigger plugin the operator's native trigger runs the jobs (native.trigger), so nothing is missing",
    ),
    (
        "unknown-fields",
        "unknown field \"scheduling_options\"",
        "decoration_config.scheduling_options is newer than the 2024 oracle, which does not know it",
    ),
];

fn documented(class: &str, said: &str) -> Option<&'static str> {
    DOCUMENTED
        .iter()
        .find(|(c, text, _)| *c == class && said.contains(text))
        .map(|(_, _, why)| *why)
}

/// The comparison of one configuration.
#[derive(Default)]
struct Comparison {
    agreements: usize,
    /// Class → (count, an example).
    disagreements: BTreeMap<String, (usize, String)>,
    lines: Vec<String>,
}

impl Comparison {
    fn disagree(&mut self, class: String, example: String) {
        let entry = self.disagreements.entry(class).or_insert((0, example));
        entry.0 += 1;
    }

    fn total(&self) -> usize {
        self.disagreements.values().map(|(n, _)| n).sum()
    }
}

fn compare(bin: &Path, configuration: &Configuration, scratch: &Path) -> (i64, Comparison) {
    let (jobs, ours) = ours(configuration);
    let mut comparison = Comparison::default();
    let errors = ours.iter().filter(|f| f.error).count();
    comparison.lines.push(format!(
        "ours (for {ORACLE_VERSION}): {errors} errors, {} warnings",
        ours.len() - errors
    ));
    let mut modes: Vec<(String, Vec<String>)> = vec![
        ("checkconfig".into(), vec![]),
        ("checkconfig --strict".into(), vec!["--strict".into()]),
    ];
    let project = &configuration.checkconfig_flags;
    if !modes.iter().any(|(_, flags)| flags == project) {
        modes.push((format!("checkconfig {}", project.join(" ")), project.clone()));
    }
    let mut plugins = configuration.root.join(&configuration.plugins);
    let mut upstream_errors = Vec::new();
    for (index, (mode, flags)) in modes.iter().enumerate() {
        let mut upstream = checkconfig(bin, configuration, &plugins, flags);
        let newer = version_dependent(&upstream.errors, &ours);
        if !newer.is_empty() {
            comparison.agreements += newer.len();
            comparison.lines.push(format!(
                "{mode}: refuses {} (unknown to {ORACLE_VERSION}; ours agrees: plugin-version); compared again without them",
                newer.join(", ")
            ));
            plugins = without_plugins(configuration, &newer, scratch);
            upstream = checkconfig(bin, configuration, &plugins, flags);
        }
        let refusals = upstream.refusals();
        let strict = upstream.strict_failed;
        // Upstream passes: ours agrees unless it reports an error (counted below).
        comparison.agreements += usize::from(refusals.is_empty());
        for said in &refusals {
            let matched = ours
                .iter()
                .any(|f| (f.error || strict) && same(said, f) && f.rule != "plugin-version");
            if matched {
                comparison.agreements += 1;
            } else if let Some(why) = documented(&upstream_class(said), said) {
                comparison.agreements += 1;
                comparison
                    .lines
                    .push(format!("{mode}: {} [documented: {why}]", upstream_class(said)));
            } else {
                comparison.disagree(
                    format!("missed ({mode}): {}", upstream_class(said)),
                    said.chars().take(300).collect(),
                );
            }
        }
        comparison.lines.push(format!(
            "{mode}: {}",
            if refusals.is_empty() {
                "passes".to_string()
            } else {
                let mut classes: Vec<String> = refusals.iter().map(|s| upstream_class(s)).collect();
                classes.dedup();
                format!("refuses ({})", classes.join(", "))
            }
        ));
        if index == 0 {
            upstream_errors = upstream.errors;
        }
    }
    for finding in ours.iter().filter(|f| f.error && f.rule != "plugin-version") {
        if upstream_errors.iter().any(|said| same(said, finding)) {
            comparison.agreements += 1;
        } else {
            comparison.disagree(
                format!("false error: [{}] where checkconfig is silent", finding.rule),
                finding.text().chars().take(300).collect(),
            );
        }
    }
    (jobs, comparison)
}

#[test]
fn check_agrees_with_upstream_checkconfig() {
    let Some(bin) = oracle::binaries(&["checkconfig"]) else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("prow-operator-oracle-check-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut report = String::new();
    let mut failed = false;
    let (mut all_jobs, mut all_configurations) = (0, 0);
    for configuration in configs::configurations() {
        let (jobs, comparison) = compare(&bin, &configuration, &scratch);
        all_jobs += jobs;
        all_configurations += 1;
        report.push_str(&format!(
            "check vs checkconfig · {} ({}): {jobs} jobs, {} agreements, {} disagreements\n",
            configuration.name,
            configuration.repository,
            comparison.agreements,
            comparison.total()
        ));
        for line in &comparison.lines {
            report.push_str(&format!("    {line}\n"));
        }
        for (class, (count, example)) in &comparison.disagreements {
            report.push_str(&format!("    {count:>5}  {class}\n           e.g. {example}\n"));
        }
        failed |= comparison.total() > 0;
    }
    std::fs::remove_dir_all(&scratch).ok();
    eprintln!("{report}{all_configurations} configurations, {all_jobs} jobs");
    assert!(
        !failed,
        "check disagrees with upstream checkconfig (table above):\n{report}"
    );
}

/// The matching itself: an upstream answer is ours when a finding names what it names, or carries
/// its warning's name as the rule.
#[test]
fn an_upstream_answer_is_matched_by_what_it_names_or_its_warning_name() {
    let finding = |rule: &str, message: &str| Ours {
        error: false,
        place: "jobconfigs/a.yaml: JobConfig prow/a: spec.presubmits[\"org/repo\"][0].name".into(),
        message: message.into(),
        rule: rule.into(),
    };
    let long = r#"name of Presubmit job "pull-a-very-long-name" (for repo "org/repo") too long (should be at most 63 characters)"#;
    assert!(same(long, &finding("long-job-names", "anything")));
    assert!(same(long, &finding("other", "job pull-a-very-long-name is odd")));
    assert!(!same(long, &finding("other", "something else")));
    assert_eq!(upstream_class(long), "long-job-names");
    assert_eq!(
        upstream_class("error loading prow config: foo"),
        "error loading prow config"
    );
}

#[test]
fn a_newer_plugin_is_taken_out_of_every_list_and_the_rest_is_kept() {
    let dir = std::env::temp_dir().join(format!("prow-operator-without-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plugins = dir.join("plugins.yaml");
    std::fs::write(
        &plugins,
        "plugins:\n  acme: [trigger, issue-management, lgtm]\n  acme/widgets:\n    plugins: [issue-management, hold]\n\
         triggers: [{repos: [acme]}]\n",
    )
    .unwrap();
    let out = dir.join("out.yaml");
    support::plugins::write_without_plugins(&plugins, &["issue-management"], &out);
    let stripped: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        stripped,
        serde_json::json!({
            "plugins": {"acme": ["trigger", "lgtm"], "acme/widgets": {"plugins": ["hold"]}},
            "triggers": [{"repos": ["acme"]}],
        })
    );
    let _ = std::fs::remove_dir_all(&dir);
}
