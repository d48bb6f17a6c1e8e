//! Git references a job runs against: upstream's `Refs` and `Pull`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keys that upstream Prow does not accept at this level; kept so that nothing is lost on a round
/// trip, and reported by `prow-operator check` as `unknown-fields`.
pub type UnknownFields = BTreeMap<String, Value>;

/// A repository and the commits to check out: the base ref and SHA, plus any pull requests merged
/// on top of it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Refs {
    /// The GitHub organisation (or Gerrit host) of the repository.
    pub org: String,
    /// The repository name.
    pub repo: String,
    /// A link to the repository, used in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_link: Option<String>,
    /// The branch or tag to check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ref: Option<String>,
    /// The commit of `base_ref` to check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    /// A link to the base commit (the compare URL for postsubmits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_link: Option<String>,
    /// The pull requests to merge on top of the base, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulls: Option<Vec<Pull>>,
    /// The import path to clone into below `$GOPATH/src`, instead of `github.com/org/repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_alias: Option<String>,
    /// Whether the test container's working directory is this repository's clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<bool>,
    /// Marks extra refs that only support the job and do not identify it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary: Option<bool>,
    /// The URI to clone from, instead of the GitHub one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_uri: Option<String>,
    /// Skips cloning git submodules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_submodules: Option<bool>,
    /// The git clone depth; 0 (or none) clones the full history.
    #[serde(default, skip_serializing_if = "is_full_clone")]
    pub clone_depth: Option<i64>,
    /// Skips fetching `FETCH_HEAD`, for repositories that are too large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_fetch_head: Option<bool>,
    /// Fetches without blobs (`--filter=blob:none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobless_fetch: Option<bool>,
    /// Paths to check out sparsely; everything when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_checkout_files: Option<Vec<String>>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// A pull request to merge on top of the base ref.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
pub struct Pull {
    /// The pull request number.
    pub number: i64,
    /// The GitHub login of the pull request's author.
    pub author: String,
    /// The head commit of the pull request.
    pub sha: String,
    /// The pull request's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The git ref to fetch instead of `pull/<number>/head`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub git_ref: Option<String>,
    /// The name of the pull request's head branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_ref: Option<String>,
    /// A link to the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A link to the head commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_link: Option<String>,
    /// A link to the author's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_link: Option<String>,
    /// Keys upstream does not accept here.
    #[serde(flatten)]
    #[schemars(skip)]
    pub unknown: UnknownFields,
}

/// Whether a clone depth asks for the full history: none, or 0, which upstream's Refs (an `int`
/// with `omitempty`) leaves out when it writes a ProwJob, as this does.
fn is_full_clone(depth: &Option<i64>) -> bool {
    depth.is_none_or(|d| d == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_clone_depth_is_left_out_as_upstream_leaves_it_out() {
        let full = Refs {
            clone_depth: Some(0),
            ..Refs::default()
        };
        assert!(serde_json::to_value(&full).unwrap().get("clone_depth").is_none());
        let shallow = Refs {
            clone_depth: Some(1),
            ..Refs::default()
        };
        assert_eq!(serde_json::to_value(&shallow).unwrap()["clone_depth"], 1);
    }
}
