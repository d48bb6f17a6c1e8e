//! Periodic schedules in robfig/cron syntax, as upstream Prow (horologium) reads them, in UTC.
//!
//! Accepted:
//! - five fields (`minute hour day-of-month month day-of-week`), or six with seconds first;
//! - the descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and
//!   `@hourly`;
//! - `@every <go duration>`, such as `@every 1h30m`.
//!
//! The fields themselves are parsed by `croner`; its extensions that robfig does not have
//! (`L`, `W`, `#`, a `+` prefix, a year field) are refused, so a schedule accepted here is
//! accepted upstream too. Weekday and month names (`MON`, `JAN`) and `?` are robfig syntax and
//! accepted.

use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::duration::{self, DurationError};

/// A parsed periodic schedule.
// A schedule is parsed once per periodic and kept; the size of `Cron` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A cron expression (five or six fields, or a descriptor), evaluated in UTC.
    Cron(Cron),
    /// `@every <duration>`: runs this long after the previous run started.
    Every(Duration),
}

/// A schedule that robfig/cron would refuse.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    /// The spec is empty.
    #[error(
        "empty cron schedule: write five fields such as \"0 6 * * *\", or a descriptor such as @daily or @every 1h"
    )]
    Empty,
    /// The spec has the wrong number of fields.
    #[error(
        "cron schedule {spec:?} has {found} fields: write five (minute hour day-of-month month day-of-week) or six (with seconds first)"
    )]
    FieldCount {
        /// The spec as written.
        spec: String,
        /// How many fields it has.
        found: usize,
    },
    /// A descriptor that does not exist.
    #[error(
        "unknown cron descriptor {0:?}: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"
    )]
    UnknownDescriptor(String),
    /// `@every` with a bad duration.
    #[error("invalid @every schedule {spec:?}: {source}")]
    Every {
        /// The spec as written.
        spec: String,
        /// Why the duration was refused.
        #[source]
        source: DurationError,
    },
    /// `@every` with a zero duration.
    #[error("invalid @every schedule {0:?}: the interval must be longer than zero")]
    ZeroEvery(String),
    /// Syntax that croner accepts but robfig/cron (upstream) does not.
    #[error("cron schedule {spec:?} uses {what}, which upstream Prow's cron parser (robfig/cron) does not support")]
    Unsupported {
        /// The spec as written.
        spec: String,
        /// The unsupported feature.
        what: &'static str,
    },
    /// A time zone prefix; Prow always evaluates schedules in UTC.
    #[error("cron schedule {0:?} sets a time zone: Prow evaluates every schedule in UTC, remove the TZ= prefix")]
    TimeZone(String),
    /// A field that does not parse.
    #[error("invalid cron schedule {spec:?}: {message}")]
    Field {
        /// The spec as written.
        spec: String,
        /// croner's explanation.
        message: String,
    },
}

/// Parses a robfig-style cron spec.
pub fn parse(spec: &str) -> Result<Schedule, CronError> {
    let trimmed = spec.trim();
    if trimmed.is_empty() {
        return Err(CronError::Empty);
    }
    if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
        return Err(CronError::TimeZone(spec.to_string()));
    }
    if let Some(descriptor) = trimmed.strip_prefix('@') {
        return parse_descriptor(spec, descriptor);
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != 5 && fields.len() != 6 {
        return Err(CronError::FieldCount {
            spec: spec.to_string(),
            found: fields.len(),
        });
    }
    for field in &fields {
        let upper = field.to_ascii_uppercase();
        // Names (MON, JAN, …) may contain these letters; strip them before looking.
        let without_names = strip_names(&upper);
        if without_names.contains('#') {
            return Err(unsupported(spec, "'#' (nth weekday)"));
        }
        if without_names.contains('L') {
            return Err(unsupported(spec, "'L' (last day)"));
        }
        if without_names.contains('W') {
            return Err(unsupported(spec, "'W' (nearest weekday)"));
        }
        if field.starts_with('+') {
            return Err(unsupported(spec, "a '+' prefix"));
        }
    }
    // robfig's day-of-week range is 0-6 (croner also takes 7 for Sunday).
    if let Some(day_of_week) = fields.last()
        && day_of_week
            .split(',')
            .flat_map(|part| part.split('/').next().unwrap_or_default().split('-'))
            .any(|value| value.parse::<u32>().is_ok_and(|n| n > 6))
    {
        return Err(CronError::Field {
            spec: spec.to_string(),
            message: "day of week must be 0-6 (0 is Sunday) or SUN-SAT".to_string(),
        });
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        // robfig accepts `5/15` (from 5, every 15).
        .sloppy_ranges(true)
        .build();
    parser
        .parse(&fields.join(" "))
        .map(Schedule::Cron)
        .map_err(|e| CronError::Field {
            spec: spec.to_string(),
            message: e.to_string(),
        })
}

fn parse_descriptor(spec: &str, descriptor: &str) -> Result<Schedule, CronError> {
    let (name, argument) = match descriptor.split_once(char::is_whitespace) {
        Some((name, argument)) => (name, argument.trim()),
        None => (descriptor, ""),
    };
    let equivalent = match name {
        "yearly" | "annually" => "0 0 0 1 1 *",
        "monthly" => "0 0 0 1 * *",
        "weekly" => "0 0 0 * * 0",
        "daily" | "midnight" => "0 0 0 * * *",
        "hourly" => "0 0 * * * *",
        "every" => {
            let every = duration::parse(argument).map_err(|source| CronError::Every {
                spec: spec.to_string(),
                source,
            })?;
            if every.is_zero() {
                return Err(CronError::ZeroEvery(spec.to_string()));
            }
            return Ok(Schedule::Every(every));
        }
        _ => return Err(CronError::UnknownDescriptor(spec.to_string())),
    };
    if !argument.is_empty() {
        return Err(CronError::UnknownDescriptor(spec.to_string()));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(equivalent)
        .map(Schedule::Cron)
        .map_err(|e| CronError::Field {
            spec: spec.to_string(),
            message: e.to_string(),
        })
}

fn unsupported(spec: &str, what: &'static str) -> CronError {
    CronError::Unsupported {
        spec: spec.to_string(),
        what,
    }
}

/// Removes weekday and month names so that their letters are not taken for `L` or `W`.
fn strip_names(field: &str) -> String {
    const NAMES: [&str; 19] = [
        "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
        "OCT", "NOV", "DEC",
    ];
    NAMES.iter().fold(field.to_string(), |acc, name| acc.replace(name, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_five_and_six_fields() {
        for spec in [
            "0 6 * * *",
            "4 */9 * * *",
            "00 00 31 2 1",
            "7 2 * * */3",
            "30 0 6 * * *",
            "*/10 * * * * ?",
            "0 9 * * MON-FRI",
            "0 0 1 JAN,JUL *",
            "5/15 * * * *",
            "  0 6 * * *  ",
        ] {
            assert!(matches!(parse(spec), Ok(Schedule::Cron(_))), "{spec}");
        }
    }

    #[test]
    fn parses_descriptors() {
        for spec in [
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ] {
            assert!(matches!(parse(spec), Ok(Schedule::Cron(_))), "{spec}");
        }
        assert!(matches!(parse("@every 1h30m"), Ok(Schedule::Every(d)) if d == Duration::from_secs(5400)));
        assert!(matches!(parse("@every 90s"), Ok(Schedule::Every(d)) if d == Duration::from_secs(90)));
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(matches!(parse(""), Err(CronError::Empty)));
        assert!(matches!(parse("* * * *"), Err(CronError::FieldCount { found: 4, .. })));
        assert!(matches!(
            parse("0 0 0 1 1 * 2030"),
            Err(CronError::FieldCount { found: 7, .. })
        ));
        assert!(matches!(parse("@fortnightly"), Err(CronError::UnknownDescriptor(_))));
        assert!(matches!(parse("@daily now"), Err(CronError::UnknownDescriptor(_))));
        assert!(matches!(parse("@every 1d"), Err(CronError::Every { .. })));
        assert!(matches!(parse("@every"), Err(CronError::Every { .. })));
        assert!(matches!(parse("@every 0s"), Err(CronError::ZeroEvery(_))));
        assert!(matches!(parse("@every -1h"), Err(CronError::Every { .. })));
        assert!(matches!(parse("60 * * * *"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 24 * * *"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 0 32 * *"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 0 * 13 *"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 0 * * 7"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 0 * * 5-7"), Err(CronError::Field { .. })));
        assert!(parse("0 0 * * */7").is_ok());
        assert!(matches!(parse("a b c d e"), Err(CronError::Field { .. })));
        assert!(matches!(parse("0 0 L * *"), Err(CronError::Unsupported { .. })));
        assert!(matches!(parse("0 0 15W * *"), Err(CronError::Unsupported { .. })));
        assert!(matches!(parse("0 0 * * 5#2"), Err(CronError::Unsupported { .. })));
        assert!(matches!(parse("0 0 1 * +MON"), Err(CronError::Unsupported { .. })));
        assert!(matches!(
            parse("TZ=Europe/Berlin 0 6 * * *"),
            Err(CronError::TimeZone(_))
        ));
        let message = parse("* * * *").unwrap_err().to_string();
        assert!(message.contains("five"), "{message}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(spec in "\\PC{0,40}") {
            let _ = parse(&spec);
        }

        #[test]
        fn never_panics_on_cron_like_text(spec in "[0-9*/,?LW#+@A-Za-z -]{0,30}") {
            let _ = parse(&spec);
        }
    }

    #[test]
    fn odd_fields_are_errors_not_panics() {
        for spec in [
            "*/0 * * * *",
            "5-1 * * * *",
            "99999999999999999999 * * * *",
            "0-0/0 * * * *",
            "/ / / / /",
            "- - - - -",
            ", , , , ,",
            "@every 99999999999h",
        ] {
            let _ = parse(spec);
        }
    }
}
