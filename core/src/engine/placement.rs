//! Where a job's pod runs: the cluster its `spec.cluster` names, among the instance's build
//! clusters, and whether the engine may act there now.
//!
//! Upstream's prow-controller-manager ends a job whose cluster it has no client for in `error`
//! (`Terminal error: unknown cluster alias "X".`), also when the cluster is configured but was
//! unreachable or lacked permissions at start. Here only an alias the instance does not declare
//! ends the job; a declared cluster that cannot be used now holds its own jobs (a deliberate
//! difference) until it can, and the engine resumes them where they were.

use std::collections::BTreeSet;

use prow_api::ProwJob;
use prow_api::job::DEFAULT_CLUSTER;

/// What the engine knows of one declared build cluster right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterHealth {
    /// Its Pods are watched and its credentials may do what jobs need.
    Usable,
    /// The engine is still connecting (its first Pod list has not arrived): jobs wait without
    /// a word, as this takes moments.
    Connecting,
    /// It cannot be used, with why (one clause: `"is Unreachable: ..."`).
    Unusable(String),
}

/// Where a job's pod goes, or why it goes nowhere now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The operator's own cluster.
    Own,
    /// The instance's build cluster of this alias.
    Build(String),
    /// Nowhere yet: the job waits, with the description to show, if any.
    Hold(Option<String>),
    /// Nowhere ever: the alias is not one of the instance's clusters; the job ends `error` with
    /// this description.
    Unknown(String),
}

/// The alias a job names: `spec.cluster`, `default` when unset or empty.
pub fn alias_of(job: &ProwJob) -> &str {
    job.spec
        .cluster
        .as_deref()
        .filter(|c| !c.is_empty())
        .unwrap_or(DEFAULT_CLUSTER)
}

/// What is known of the clusters an instance declares.
#[derive(Clone, Copy, Debug)]
pub enum Declared<'a> {
    /// It declares no build clusters at all.
    Nothing,
    /// Its kubeconfig Secrets have not been read yet; whether one of them may declare `default`
    /// (a Secret of kubeconfig files, or a `spec.buildClusters` entry of that name).
    Unread {
        /// Whether `default` may turn out to be a build cluster.
        may_declare_default: bool,
    },
    /// The aliases it declares.
    Read(&'a BTreeSet<String>),
}

/// Where `alias`'s pod goes, given what the instance declares and the health of each declared
/// cluster. `default` is the operator's own cluster unless a build cluster of that name is
/// declared.
pub fn place(alias: &str, declared: Declared<'_>, health: impl Fn(&str) -> ClusterHealth) -> Placement {
    let declared = match declared {
        Declared::Nothing => &BTreeSet::new(),
        Declared::Unread { may_declare_default } => {
            return match alias {
                DEFAULT_CLUSTER if !may_declare_default => Placement::Own,
                // Read at the instance's next reconcile: moments away.
                _ => Placement::Hold(None),
            };
        }
        Declared::Read(declared) => declared,
    };
    if !declared.contains(alias) {
        return match alias {
            DEFAULT_CLUSTER => Placement::Own,
            _ => Placement::Unknown(unknown(alias, declared)),
        };
    }
    match health(alias) {
        ClusterHealth::Usable => Placement::Build(alias.to_string()),
        ClusterHealth::Connecting => Placement::Hold(None),
        ClusterHealth::Unusable(why) => Placement::Hold(Some(held(alias, &why))),
    }
}

/// The description of a job whose cluster is not the instance's: upstream's words, then the
/// clusters there are.
fn unknown(alias: &str, declared: &BTreeSet<String>) -> String {
    let mut known: BTreeSet<&str> = declared.iter().map(String::as_str).collect();
    known.insert(DEFAULT_CLUSTER);
    let known: Vec<String> = known.iter().map(|k| format!("{k:?}")).collect();
    format!(
        "Terminal error: unknown cluster alias {alias:?}. The instance's clusters are {}.",
        known.join(", ")
    )
}

/// The prefix of every description a held job carries.
pub const HELD_PREFIX: &str = "Waiting for build cluster ";

/// The description of a job held by its cluster.
pub fn held(alias: &str, why: &str) -> String {
    format!("{HELD_PREFIX}{alias:?}, which {why}.")
}

/// Whether `description` is one [`held`] wrote.
pub fn is_held(description: Option<&str>) -> bool {
    description.is_some_and(|d| d.starts_with(HELD_PREFIX))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn declared(aliases: &[&str]) -> BTreeSet<String> {
        aliases.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn an_instance_without_build_clusters_runs_default_at_home_and_nothing_else() {
        let never = |_: &str| -> ClusterHealth { unreachable!("no cluster is declared") };
        assert_eq!(place("default", Declared::Nothing, never), Placement::Own);
        assert_eq!(
            place("gpu", Declared::Nothing, never),
            Placement::Unknown(
                r#"Terminal error: unknown cluster alias "gpu". The instance's clusters are "default"."#.into()
            )
        );
    }

    #[test]
    fn a_declared_cluster_runs_its_jobs_when_usable_and_holds_them_otherwise() {
        let set = declared(&["build", "gke_p_z_c"]);
        let health = |alias: &str| match alias {
            "build" => ClusterHealth::Usable,
            _ => ClusterHealth::Unusable("is Unreachable: connection refused".into()),
        };
        assert_eq!(
            place("build", Declared::Read(&set), health),
            Placement::Build("build".into())
        );
        let held = place("gke_p_z_c", Declared::Read(&set), health);
        assert_eq!(
            held,
            Placement::Hold(Some(
                r#"Waiting for build cluster "gke_p_z_c", which is Unreachable: connection refused."#.into()
            ))
        );
        let Placement::Hold(Some(description)) = held else {
            unreachable!()
        };
        assert!(is_held(Some(&description)));
        assert!(!is_held(Some("Job triggered.")));
        assert_eq!(
            place("build", Declared::Read(&set), |_| ClusterHealth::Connecting),
            Placement::Hold(None)
        );
        assert_eq!(place("default", Declared::Read(&set), health), Placement::Own);
        assert_eq!(
            place("elsewhere", Declared::Read(&set), health),
            Placement::Unknown(
                r#"Terminal error: unknown cluster alias "elsewhere". The instance's clusters are "build", "default", "gke_p_z_c"."#.into()
            )
        );
    }

    #[test]
    fn a_build_cluster_named_default_takes_the_place_of_the_operators_own() {
        let set = declared(&["default"]);
        assert_eq!(
            place("default", Declared::Read(&set), |_| ClusterHealth::Usable),
            Placement::Build("default".into())
        );
    }

    #[test]
    fn until_the_instance_is_read_its_build_clusters_jobs_wait_without_a_word() {
        let usable = |_: &str| ClusterHealth::Usable;
        let unread = |may_declare_default| Declared::Unread { may_declare_default };
        assert_eq!(place("build", unread(false), usable), Placement::Hold(None));
        // `default` runs at home at once, unless a Secret of kubeconfig files may name it.
        assert_eq!(place("default", unread(false), usable), Placement::Own);
        assert_eq!(place("default", unread(true), usable), Placement::Hold(None));
    }

    proptest! {
        #[test]
        fn only_an_undeclared_alias_ends_a_job(alias in "[a-z_]{1,12}", names in proptest::collection::btree_set("[a-z_]{1,12}", 0..4), usable in any::<bool>()) {
            let health = |_: &str| if usable { ClusterHealth::Usable } else { ClusterHealth::Unusable("is Unreachable: x".into()) };
            let placed = place(&alias, Declared::Read(&names), health);
            let is_unknown = matches!(placed, Placement::Unknown(_));
            prop_assert_eq!(is_unknown, !names.contains(&alias) && alias != DEFAULT_CLUSTER);
            if names.contains(&alias) {
                prop_assert_eq!(matches!(placed, Placement::Build(_)), usable);
            }
        }
    }
}
