//! Which hook plugins each upstream version has, for the plugins that came or went.
//!
//! Versions are upstream image tags, `vYYYYMMDD-commit`; their date orders them. A plugin not in
//! [`CHANGES`] exists in every version [`super::plugins::REGISTERED_PLUGINS`] covers.

/// A plugin that appeared or disappeared: (name, date of the first version with it, date of the
/// first version without it), from upstream's history (kubernetes-sigs/prow).
const CHANGES: &[(&str, Option<u32>, Option<u32>)] = &[
    // Added by "plugins: add new plugin for linking and unlinking issues to a PR" (2026-01-10).
    ("issue-management", Some(20_260_110), None),
    // Moved into issue-management by kubernetes-sigs/prow#702 (merged 2026-08-11).
    ("transfer-issue", None, Some(20_260_811)),
];

/// Whether a registered plugin exists in one upstream version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// The version has it (or the version's date is unknown).
    Present,
    /// Only versions from this date on have it.
    AddedLater(u32),
    /// Versions from this date on no longer have it.
    Removed(u32),
}

/// The date of an upstream image tag (`v20260819-7593870dc` is 20260819).
pub fn date_of(version: &str) -> Option<u32> {
    let digits = version.strip_prefix('v')?.get(..8)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())
        .flatten()
}

/// Whether `plugin` exists in `version`.
pub fn availability(plugin: &str, version: &str) -> Availability {
    let Some(date) = date_of(version) else {
        return Availability::Present;
    };
    match CHANGES.iter().find(|(name, _, _)| *name == plugin) {
        Some((_, Some(added), _)) if date < *added => Availability::AddedLater(*added),
        Some((_, _, Some(removed))) if date >= *removed => Availability::Removed(*removed),
        _ => Availability::Present,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_issue_and_issue_management_depend_on_the_version() {
        assert_eq!(
            availability("transfer-issue", "v20240802-66b115076"),
            Availability::Present
        );
        assert_eq!(
            availability("transfer-issue", "v20260819-7593870dc"),
            Availability::Removed(20_260_811)
        );
        assert_eq!(
            availability("issue-management", "v20240802-66b115076"),
            Availability::AddedLater(20_260_110)
        );
        assert_eq!(
            availability("issue-management", "v20260819-7593870dc"),
            Availability::Present
        );
        assert_eq!(availability("lgtm", "v20240802-66b115076"), Availability::Present);
        assert_eq!(availability("transfer-issue", "latest"), Availability::Present);
    }
}
