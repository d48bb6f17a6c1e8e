//! `prow-operator mkpj`: the ProwJob of one configured job, ready to `kubectl create`, as
//! upstream's `mkpj` makes it for manual runs and debugging.

use prow_api::ProwJob;
use prow_api::job::{Pull, Refs};

use crate::engine::prowjob;
use crate::engine::trigger::branch_matches;
use crate::input::Inputs;

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

/// Makes the ProwJob of the job named `name`.
pub fn make(inputs: &Inputs, name: &str, args: &RefsArgs, namespace: &str) -> Result<ProwJob, MkpjError> {
    let creation = inputs.preview_creation(namespace).named(name);
    let jobs = inputs.job_configs.iter().map(|c| &c.object.spec.jobs);
    let mut found = Vec::new();
    for set in jobs {
        for (repo, list) in &set.presubmits {
            found.extend(
                list.iter()
                    .filter(|j| j.base.name == name)
                    .map(|j| (repo.as_str(), Kind::Presubmit(j))),
            );
        }
        for (repo, list) in &set.postsubmits {
            found.extend(
                list.iter()
                    .filter(|j| j.base.name == name)
                    .map(|j| (repo.as_str(), Kind::Postsubmit(j))),
            );
        }
        if let Some(job) = set.periodics.iter().find(|j| j.base.name == name) {
            return Ok(prowjob::periodic(job, &creation));
        }
    }
    if let Some(base_ref) = &args.base_ref {
        found.retain(|(_, kind)| branch_matches(kind.brancher(), base_ref).is_ok());
    }
    let (repo, kind) = match found.as_slice() {
        [] => return Err(MkpjError::NotFound(name.to_string())),
        [one] => *one,
        many => {
            return Err(MkpjError::Ambiguous {
                name: name.to_string(),
                candidates: many
                    .iter()
                    .map(|(repo, kind)| format!("{} of {repo}", kind.type_name()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let missing = |flag| MkpjError::Missing {
        job: name.to_string(),
        kind: kind.type_name(),
        flag,
    };
    let (org, repo_name) = repo.split_once('/').unwrap_or((repo, ""));
    let mut refs = Refs {
        org: org.to_string(),
        repo: repo_name.to_string(),
        base_ref: Some(args.base_ref.clone().ok_or_else(|| missing("base-ref"))?),
        base_sha: Some(args.base_sha.clone().ok_or_else(|| missing("base-sha"))?),
        ..Refs::default()
    };
    match kind {
        Kind::Presubmit(job) => {
            refs.pulls = Some(vec![Pull {
                number: args.pull.ok_or_else(|| missing("pull"))?,
                sha: args.pull_sha.clone().ok_or_else(|| missing("pull-sha"))?,
                author: args.author.clone().ok_or_else(|| missing("author"))?,
                ..Pull::default()
            }]);
            Ok(prowjob::presubmit(job, refs, &creation))
        }
        Kind::Postsubmit(job) => Ok(prowjob::postsubmit(job, refs, &creation)),
    }
}

#[derive(Clone, Copy)]
enum Kind<'a> {
    Presubmit(&'a prow_api::job::Presubmit),
    Postsubmit(&'a prow_api::job::Postsubmit),
}

impl<'a> Kind<'a> {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Presubmit(_) => "presubmit",
            Kind::Postsubmit(_) => "postsubmit",
        }
    }

    fn brancher(self) -> &'a prow_api::job::Brancher {
        match self {
            Kind::Presubmit(job) => &job.brancher,
            Kind::Postsubmit(job) => &job.brancher,
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
             presubmits:\n    org/repo:\n    - {name: unit, always_run: true, branches: [main]}\n    - {name: unit, always_run: true, branches: [release-1.0]}\n  \
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
}
