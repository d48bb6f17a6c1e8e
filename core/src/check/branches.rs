//! Branch filters: their regexes, and when two jobs can run on the same branch.
//!
//! Two jobs of one repository with the same name (or the same GitHub context) are a problem only
//! if they can run on the same branch. Whether two sets of regexes can match a common branch is
//! undecidable in general, so this follows upstream Prow's own rule (`Brancher.Intersects`),
//! which is simple and which every production config already satisfies:
//!
//! - a job with neither `branches` nor `skip_branches` runs on every branch, so it overlaps with
//!   every job;
//! - two jobs that both list `branches` overlap when the lists share an entry, written the same;
//!   `[main]` and `[release-1.0]` do not overlap, nor do `["^main$"]` and `["^release-1.0$"]`;
//! - a job that lists `branches` and one that only lists `skip_branches` overlap when one of the
//!   first job's entries, read as a branch name, is not skipped by the second;
//! - two jobs that only list `skip_branches` overlap.

use std::sync::Arc;

use regex::Regex;

use prow_api::job::Brancher;

use super::{Findings, field, item, rule};

/// Compiles `pattern` (Go RE2 syntax, which the `regex` crate reads the same way for everything
/// Prow configs use), reporting an error at `path` when it does not compile.
pub(crate) fn check_regex(pattern: &str, path: &str, what: &str, findings: &mut Findings) -> Option<Arc<Regex>> {
    match crate::patterns::compile(pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            let reason = error.lines().last().unwrap_or_default().trim().to_string();
            findings.error(
                path,
                rule::INVALID_REGEX,
                format!("{what} {pattern:?} is not a valid regular expression (RE2 syntax): {reason}"),
            );
            None
        }
    }
}

/// Checks that every `branches` and `skip_branches` entry compiles.
pub(crate) fn check_brancher(brancher: &Brancher, path: &str, findings: &mut Findings) {
    for (key, list) in [
        ("branches", &brancher.branches),
        ("skip_branches", &brancher.skip_branches),
    ] {
        for (index, pattern) in list.iter().flatten().enumerate() {
            check_regex(pattern, &item(&field(path, key), index), "branch regex", findings);
        }
    }
}

/// Which branches a job runs on, ready to compare with another job's.
#[derive(Debug, Clone)]
pub(crate) struct BranchMatcher {
    branches: Vec<String>,
    skip_branches: Vec<String>,
    run: Option<Arc<Regex>>,
    skip: Option<Arc<Regex>>,
}

impl BranchMatcher {
    /// Builds the matcher of a job. Regexes that do not compile match everything (the job is
    /// reported for them anyway), so overlaps are never missed.
    pub(crate) fn new(brancher: &Brancher) -> Self {
        let branches: Vec<String> = brancher.branches.clone().unwrap_or_default();
        let skip_branches: Vec<String> = brancher.skip_branches.clone().unwrap_or_default();
        let join = |list: &[String]| {
            if list.is_empty() {
                None
            } else {
                crate::patterns::compile(&list.join("|")).ok()
            }
        };
        let run = join(&branches);
        let skip = join(&skip_branches);
        Self {
            branches,
            skip_branches,
            run,
            skip,
        }
    }

    fn runs_against_all_branches(&self) -> bool {
        self.branches.is_empty() && self.skip_branches.is_empty()
    }

    /// Whether the job runs on `branch`: `skip_branches` wins, then `branches` (unanchored, as
    /// upstream), and no `branches` means every branch.
    pub(crate) fn should_run(&self, branch: &str) -> bool {
        if self.runs_against_all_branches() {
            return true;
        }
        // A skip list that does not compile is taken to skip nothing, and a branch list that
        // does not compile to match everything.
        if self.skip.as_ref().is_some_and(|skip| skip.is_match(branch)) {
            return false;
        }
        self.branches.is_empty() || self.run.as_ref().is_none_or(|run| run.is_match(branch))
    }

    /// Whether two jobs can run on a common branch, by upstream's rule (see the module docs).
    pub(crate) fn intersects(&self, other: &BranchMatcher) -> bool {
        if self.runs_against_all_branches() || other.runs_against_all_branches() {
            return true;
        }
        if !self.branches.is_empty() {
            if !other.branches.is_empty() {
                return self.branches.iter().any(|b| other.branches.contains(b));
            }
            return self.branches.iter().any(|b| other.should_run(b));
        }
        if other.branches.is_empty() {
            return true;
        }
        other.intersects(self)
    }
}

/// A job taking part in duplicate detection.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    /// The object holding it (index into the checked sets; 0 within one set).
    pub owner: usize,
    /// Its field path.
    pub path: String,
    /// Its name.
    pub name: &'a str,
    /// Its GitHub context, for jobs that report one.
    pub context: Option<&'a str>,
    /// Whether the context is written in the job (rather than defaulted to the name).
    pub context_explicit: bool,
    /// Its branches.
    pub matcher: BranchMatcher,
}

/// What two jobs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clash {
    /// The same name on overlapping branches.
    Name,
    /// The same context on overlapping branches (with different names).
    Context,
}

/// Every pair `(earlier, later, clash)` of entries (by index, `earlier < later`) of one repository
/// that clash. With `across_owners_only`, pairs within one owner are left out (they are reported
/// by the per-object check).
pub(crate) fn clashes(entries: &[Entry<'_>], across_owners_only: bool) -> Vec<(usize, usize, Clash)> {
    let mut out = Vec::new();
    for later in 0..entries.len() {
        for earlier in 0..later {
            let (a, b) = (&entries[earlier], &entries[later]);
            if across_owners_only && a.owner == b.owner {
                continue;
            }
            let clash = if a.name == b.name {
                Clash::Name
            } else if a.context.is_some() && a.context == b.context {
                Clash::Context
            } else {
                continue;
            };
            if a.matcher.intersects(&b.matcher) {
                out.push((earlier, later, clash));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brancher(branches: &[&str], skip: &[&str]) -> BranchMatcher {
        let list = |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| s.to_string()).collect());
        BranchMatcher::new(&Brancher {
            branches: list(branches),
            skip_branches: list(skip),
        })
    }

    #[test]
    fn all_branches_overlap_with_everything() {
        assert!(brancher(&[], &[]).intersects(&brancher(&["main"], &[])));
        assert!(brancher(&["main"], &[]).intersects(&brancher(&[], &[])));
        assert!(brancher(&[], &[]).intersects(&brancher(&[], &["main"])));
    }

    #[test]
    fn branch_lists_overlap_when_they_share_an_entry() {
        assert!(brancher(&["main"], &[]).intersects(&brancher(&["main"], &[])));
        assert!(brancher(&["main", "dev"], &[]).intersects(&brancher(&["dev"], &[])));
        assert!(!brancher(&["main"], &[]).intersects(&brancher(&["release-1.0"], &[])));
        assert!(!brancher(&["^main$"], &[]).intersects(&brancher(&["^release-1\\.0$"], &[])));
        assert!(!brancher(&["^release-v1.147$"], &[]).intersects(&brancher(&["^release-v1.148$"], &[])));
    }

    #[test]
    fn branches_against_skip_branches() {
        assert!(!brancher(&["main"], &[]).intersects(&brancher(&[], &["main"])));
        assert!(!brancher(&[], &["main"]).intersects(&brancher(&["main"], &[])));
        assert!(brancher(&["release-1.0"], &[]).intersects(&brancher(&[], &["^main$"])));
        assert!(brancher(&[], &["a"]).intersects(&brancher(&[], &["b"])));
    }

    #[test]
    fn should_run_is_unanchored_and_skip_wins() {
        let m = brancher(&["main"], &["maintenance"]);
        assert!(m.should_run("main"));
        assert!(m.should_run("not-main"));
        assert!(!m.should_run("maintenance"));
        assert!(!m.should_run("dev"));
    }

    #[test]
    fn regexes_are_checked() {
        let mut findings = Findings::default();
        check_brancher(
            &Brancher {
                branches: Some(vec!["main".into(), "release-(".into()]),
                skip_branches: Some(vec!["[".into()]),
            },
            "spec.presubmits[\"o/r\"][0]",
            &mut findings,
        );
        let paths: Vec<String> = findings.into_vec().into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "spec.presubmits[\"o/r\"][0].branches[1]",
                "spec.presubmits[\"o/r\"][0].skip_branches[0]"
            ]
        );
        // A matcher with a bad regex still overlaps conservatively.
        let bad = brancher(&["release-("], &[]);
        assert!(bad.should_run("anything"));
    }

    #[test]
    fn clashes_by_name_and_context() {
        let entry = |owner, name: &'static str, context: &'static str, branches: &[&str]| Entry {
            owner,
            path: String::new(),
            name,
            context: Some(context),
            context_explicit: true,
            matcher: brancher(branches, &[]),
        };
        let entries = [
            entry(0, "unit", "unit", &["main"]),
            entry(0, "unit", "unit", &["release-1"]),
            entry(1, "unit", "unit", &["main"]),
            entry(1, "other", "unit", &["release-1"]),
        ];
        assert_eq!(clashes(&entries, false), [(0, 2, Clash::Name), (1, 3, Clash::Context)]);
        assert_eq!(clashes(&entries, true), [(0, 2, Clash::Name), (1, 3, Clash::Context)]);
        let same_owner = [entry(0, "unit", "unit", &[]), entry(0, "unit", "unit", &["x"])];
        assert_eq!(clashes(&same_owner, false), [(0, 1, Clash::Name)]);
        assert!(clashes(&same_owner, true).is_empty());
    }
}
