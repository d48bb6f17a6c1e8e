//! `prow-operator mkpj`: the ProwJob of one configured job, ready to `kubectl create`, as
//! upstream's `mkpj` makes it for manual runs and debugging.

use prow_api::ProwJob;
use prow_api::job::{Pull, Refs};

use crate::engine::prowjob;
use crate::input::Inputs;
use prow_core::trigger::branch_matches;

/// The refs a presubmit or postsubmit runs against, from the command line.
#[derive(Clone, Debug, Default)]
pub struct RefsArgs {
    /// The base branch.
    pub base_ref: Option<String>,
    /// The base commit.
    pub base_sha: Option<String>,
    /// The pull request number (presubmits).
    pub pull: Option<i64>,
    /// The pull request's head commit.
    pub pull_sha: Option<String>,
    /// The pull request's author.
    pub author: Option<String>,
}

/// Why no ProwJob could be made.
#[derive(Debug, thiserror::Error)]
pub enum MkpjError {
    /// No job has that name.
    #[error("no job named {0:?} in the input")]
    NotFound(String),
    /// Several jobs have that name and the base ref does not tell them apart.
    #[error("several jobs are named {name:?} ({candidates}); give --base-ref to pick one")]
    Ambiguous {
        /// The name.
        name: String,
        /// Where they are.
        candidates: String,
    },
    /// A flag the job type needs is missing.
    #[error("{job} is a {kind}: it needs --{flag}")]
    Missing {
        /// The job.
        job: String,
        /// Its type.
        kind: &'static str,
        /// The missing flag.
        flag: &'static str,
    },
}

/// Makes the ProwJob of the job named `name`. When several jobs have that name (in several
/// repositories, or told apart by `branches`), `--base-ref` picks the one that runs on it; a single
/// job is made whatever the base ref, as upstream's `mkpj` does.
pub fn make(inputs: &Inputs, name: &str, args: &RefsArgs, namespace: &str) -> Result<ProwJob, MkpjError> {
    let mut found = find(inputs, name);
    if found.len() > 1
        && let Some(base_ref) = &args.base_ref
    {
        let on_base: Vec<_> = found
            .iter()
            .copied()
            .filter(|(_, kind)| kind.brancher().is_none_or(|b| branch_matches(b, base_ref).is_ok()))
            .collect();
        if !on_base.is_empty() {
            found = on_base;
        }
    }
    match found.as_slice() {
        [] => Err(MkpjError::NotFound(name.to_string())),
        [one] => build(inputs, name, *one, args, namespace),
        many => Err(MkpjError::Ambiguous {
            name: name.to_string(),
            candidates: many
                .iter()
                .map(|(repo, kind)| match repo {
                    Some(repo) => format!("{} of {repo}", kind.type_name()),
                    None => kind.type_name().to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The ProwJob of each job named `name`, whatever its branches, in input order: what `make` picks
/// from (upstream's `mkpj` takes the first it meets, in Go's map order across repositories).
pub fn make_each(inputs: &Inputs, name: &str, args: &RefsArgs, namespace: &str) -> Result<Vec<ProwJob>, MkpjError> {
    let found = find(inputs, name);
    if found.is_empty() {
        return Err(MkpjError::NotFound(name.to_string()));
    }
    found
        .into_iter()
        .map(|job| build(inputs, name, job, args, namespace))
        .collect()
}

/// Every job named `name`, with its repository (none for periodics).
fn find<'a>(inputs: &'a Inputs, name: &str) -> Vec<(Option<&'a str>, Kind<'a>)> {
    let mut found = Vec::new();
    for set in inputs.job_configs.iter().map(|c| &c.object.spec.jobs) {
        for (repo, list) in &set.presubmits {
            found.extend(
                list.iter()
                    .filter(|j| j.base.name == name)
                    .map(|j| (Some(repo.as_str()), Kind::Presubmit(j))),
            );
        }
        for (repo, list) in &set.postsubmits {
            found.extend(
                list.iter()
                    .filter(|j| j.base.name == name)
                    .map(|j| (Some(repo.as_str()), Kind::Postsubmit(j))),
            );
        }
        found.extend(
            set.periodics
                .iter()
                .filter(|j| j.base.name == name)
                .map(|j| (None, Kind::Periodic(j))),
        );
    }
    found
}

/// The ProwJob of one job, with the refs of `args`.
fn build(
    inputs: &Inputs,
    name: &str,
    (repo, kind): (Option<&str>, Kind<'_>),
    args: &RefsArgs,
    namespace: &str,
) -> Result<ProwJob, MkpjError> {
    let creation = inputs.preview_creation(namespace).named(name);
    let missing = |flag| MkpjError::Missing {
        job: name.to_string(),
        kind: kind.type_name(),
        flag,
    };
    let (org, repo_name) = split_repo(repo.unwrap_or_default());
    let refs = || -> Result<Refs, MkpjError> {
        Ok(Refs {
            org: org.to_string(),
            repo: repo_name.to_string(),
            base_ref: Some(args.base_ref.clone().ok_or_else(|| missing("base-ref"))?),
            base_sha: Some(args.base_sha.clone().ok_or_else(|| missing("base-sha"))?),
            ..Refs::default()
        })
    };
    match kind {
        Kind::Presubmit(job) => {
            let mut refs = refs()?;
            refs.pulls = Some(vec![Pull {
                number: args.pull.ok_or_else(|| missing("pull"))?,
                sha: args.pull_sha.clone().ok_or_else(|| missing("pull-sha"))?,
                author: args.author.clone().ok_or_else(|| missing("author"))?,
                ..Pull::default()
            }]);
            Ok(prowjob::presubmit(job, refs, &creation))
        }
        Kind::Postsubmit(job) => Ok(prowjob::postsubmit(job, refs()?, &creation)),
        Kind::Periodic(job) => Ok(prowjob::periodic(job, &creation)),
    }
}

/// `org` and `repo` of a repository key: `org/repo`, or for Gerrit `https://host/path/to/repo`,
/// whose org is the host's URL and whose repository is the whole path (upstream's
/// `SplitRepoName`).
fn split_repo(full_name: &str) -> (&str, &str) {
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|scheme| full_name.starts_with(scheme))
        .map_or(0, str::len);
    let full_name = if scheme > 0 {
        full_name.trim_end_matches('/')
    } else {
        full_name
    };
    match full_name[scheme..].split_once('/') {
        Some((host, path)) => (&full_name[..scheme + host.len()], path),
        None => (full_name, ""),
    }
}

#[derive(Clone, Copy)]
enum Kind<'a> {
    Presubmit(&'a prow_api::job::Presubmit),
    Postsubmit(&'a prow_api::job::Postsubmit),
    Periodic(&'a prow_api::job::Periodic),
}

impl<'a> Kind<'a> {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Presubmit(_) => "presubmit",
            Kind::Postsubmit(_) => "postsubmit",
            Kind::Periodic(_) => "periodic",
        }
    }

    /// The branches a presubmit or postsubmit runs on; none for periodics.
    fn brancher(self) -> Option<&'a prow_api::job::Brancher> {
        match self {
            Kind::Presubmit(job) => Some(&job.brancher),
            Kind::Postsubmit(job) => Some(&job.brancher),
            Kind::Periodic(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn inputs() -> Inputs {
        let mut inputs = Inputs::default();
        inputs.read_text(
            Path::new("jobs.yaml"),
            "apiVersion: operator.prow.dev/v1alpha1\nkind: JobConfig\nmetadata: {name: j, namespace: prow}\nspec:\n  \
             presubmits:\n    org/repo:\n    - {name: unit, always_run: true, branches: [main]}\n    - {name: unit, always_run: true, branches: [release-1.0]}\n    \
             - {name: verify-release-0-10, branches: [release-0.10]}\n  \
             postsubmits:\n    org/repo:\n    - {name: publish}\n  periodics:\n  - {name: nightly, interval: 24h}\n",
        );
        assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
        inputs
    }

    #[test]
    fn periodics_need_only_their_name() {
        let pj = make(&inputs(), "nightly", &RefsArgs::default(), "prow").unwrap();
        assert_eq!(pj.spec.job, "nightly");
        assert_eq!(pj.metadata.generate_name.as_deref(), Some("nightly-"));
    }

    #[test]
    fn presubmits_need_the_pull_and_pick_their_branch() {
        let ambiguous = make(&inputs(), "unit", &RefsArgs::default(), "prow").unwrap_err();
        assert!(ambiguous.to_string().contains("--base-ref"), "{ambiguous}");
        let mut args = RefsArgs {
            base_ref: Some("main".into()),
            base_sha: Some("abc".into()),
            ..RefsArgs::default()
        };
        let missing = make(&inputs(), "unit", &args, "prow").unwrap_err();
        assert_eq!(missing.to_string(), "unit is a presubmit: it needs --pull");
        args.pull = Some(3);
        args.pull_sha = Some("def".into());
        args.author = Some("alice".into());
        let pj = make(&inputs(), "unit", &args, "prow").unwrap();
        assert_eq!(pj.spec.refs.unwrap().pulls.unwrap()[0].number, 3);
        let post = make(&inputs(), "publish", &args, "prow").unwrap();
        assert_eq!(post.spec.job_type, prow_api::ProwJobType::Postsubmit);
        assert!(make(&inputs(), "nope", &args, "prow").is_err());
    }

    /// Found on GoogleCloudPlatform/oss-test-infra by the mkpj oracle: the org of
    /// `https://linux-review.googlesource.com/linux/kernel/git/torvalds/linux` is the host, and the
    /// repository the whole path, as upstream's `SplitRepoName` has it (we took `torvalds`'s URL
    /// as the org and `linux` as the repository).
    #[test]
    fn gerrit_repositories_split_after_the_host_as_upstream_does() {
        assert_eq!(split_repo("org/repo"), ("org", "repo"));
        assert_eq!(split_repo("org/repo/sub"), ("org", "repo/sub"));
        assert_eq!(
            split_repo("http://fakegerritserver/gerrit-test-infra-0"),
            ("http://fakegerritserver", "gerrit-test-infra-0")
        );
        assert_eq!(
            split_repo("https://linux-review.googlesource.com/linux/kernel/git/torvalds/linux/"),
            (
                "https://linux-review.googlesource.com",
                "linux/kernel/git/torvalds/linux"
            )
        );
    }

    #[test]
    fn a_single_job_is_made_whatever_the_base_ref_as_upstream_does() {
        let args = RefsArgs {
            base_ref: Some("main".into()),
            base_sha: Some("abc".into()),
            pull: Some(3),
            pull_sha: Some("def".into()),
            author: Some("alice".into()),
        };
        let pj = make(&inputs(), "verify-release-0-10", &args, "prow").unwrap();
        assert_eq!(pj.spec.refs.unwrap().base_ref.as_deref(), Some("main"));
        let each = make_each(&inputs(), "unit", &args, "prow").unwrap();
        assert_eq!(each.len(), 2, "both jobs named unit, whatever their branches");
    }
}
