//! The three types of job a configuration holds, as check names them in its messages.

use std::fmt;

/// The type of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobType {
    /// Runs on pull requests.
    Presubmit,
    /// Runs on pushes.
    Postsubmit,
    /// Runs on a schedule.
    Periodic,
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobType::Presubmit => "presubmit",
            JobType::Postsubmit => "postsubmit",
            JobType::Periodic => "periodic",
        })
    }
}
