//! Duration fields as upstream's `prowapi.Duration` reads them: a Go duration string, or an
//! integer number of nanoseconds (`timeout: 7200000000000`), which upstream writes back as the
//! duration string Go's `time.Duration.String` makes (`2h0m0s`). Ours keeps that string.

use serde::{Deserialize, Deserializer};

/// Reads an optional duration: a string as written, an integer as Go's string of that many
/// nanoseconds.
pub(crate) fn string_or_nanoseconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Nanoseconds(i64),
    }
    Ok(match Option::<Written>::deserialize(deserializer)? {
        None => None,
        Some(Written::Text(text)) => Some(text),
        Some(Written::Nanoseconds(nanos)) => Some(go_string(nanos)),
    })
}

/// Go's `time.Duration(nanos).String()`: `2h0m0s`, `1m30s`, `15s`, `1.5s`, `500ms`, `0s`.
fn go_string(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000_000_000 {
        let (unit, size) = match n {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", decimal(n, size));
    }
    let (hours, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let seconds = decimal(rest, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `n / size` with its fraction, trailing zeros dropped (`1500, 1000` is `1.5`).
fn decimal(n: u64, size: u64) -> String {
    let (whole, fraction) = (n / size, n % size);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = size.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_are_written_as_go_writes_them() {
        for (nanos, text) in [
            (7_200_000_000_000, "2h0m0s"),
            (15_000_000_000, "15s"),
            (90_000_000_000, "1m30s"),
            (1_500_000_000, "1.5s"),
            (500_000_000, "500ms"),
            (1_500, "1.5µs"),
            (7, "7ns"),
            (0, "0s"),
            (-60_000_000_000, "-1m0s"),
            (3_661_000_000_001, "1h1m1.000000001s"),
        ] {
            assert_eq!(go_string(nanos), text, "{nanos}");
        }
    }

    /// Found on GoogleCloudPlatform/oss-test-infra's config.yaml by the checkconfig oracle:
    /// `plank.default_decoration_config_entries[].config.timeout: 7200000000000`.
    #[test]
    fn a_decoration_config_reads_integer_durations_as_nanoseconds() {
        let config: crate::job::DecorationConfig = serde_json::from_value(
            serde_json::json!({"timeout": 7_200_000_000_000_i64, "grace_period": 15_000_000_000_i64}),
        )
        .expect("upstream accepts integer durations");
        assert_eq!(config.timeout.as_deref(), Some("2h0m0s"));
        assert_eq!(config.grace_period.as_deref(), Some("15s"));
        let config: crate::job::DecorationConfig =
            serde_json::from_value(serde_json::json!({"timeout": "1h"})).expect("a duration string");
        assert_eq!(config.timeout.as_deref(), Some("1h"));
    }
}
