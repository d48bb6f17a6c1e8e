//! Text exactly as Go's `encoding/json` and `time.Duration` write it.
//!
//! The pod utilities read their options from JSON in env vars (`JOB_SPEC`, `CLONEREFS_OPTIONS`,
//! …) that upstream writes with `json.Marshal`. To produce the same bytes, structs serialize their
//! fields in upstream's declaration order (see [`super::options`] and [`super::jobspec`]), and
//! strings are escaped as Go escapes them: `<`, `>` and `&` as `\u003c`, `\u003e` and `\u0026`,
//! and the line and paragraph separators U+2028 and U+2029.

use std::io;
use std::time::Duration;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};

/// A compact JSON formatter that escapes strings as Go's `encoding/json` does.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            let escape = match ch {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(writer, char_escape)
    }
}

/// `value` as compact JSON, escaped as Go's `json.Marshal` escapes it.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    value.serialize(&mut Serializer::with_formatter(&mut out, GoFormatter))?;
    // The serializer writes only UTF-8 (strings are `str`, escapes are ASCII).
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A duration as Go's `time.Duration.String` writes it: `2h0m0s`, `1m30s`, `10s`, `1.5s`,
/// `300ms`, `0s`.
pub fn duration(value: Duration) -> String {
    let nanos = value.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 6));
    }
    let seconds = nanos / 1_000_000_000;
    let (hours, minutes) = (seconds / 3600, (seconds / 60) % 60);
    let seconds = decimal(nanos % 60_000_000_000, 9);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `value / 10^digits` with the fraction's trailing zeros dropped (`1500, 3` is `1.5`).
fn decimal(value: u128, digits: u32) -> String {
    let scale = 10u128.pow(digits);
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0width$}", width = digits as usize);
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_go_escapes_them() {
        assert_eq!(
            to_string(&["a<b>&c", "line\u{2028}", "tab\t\"q\"", "é"]).unwrap(),
            r#"["a\u003cb\u003e\u0026c","line\u2028","tab\t\"q\"","é"]"#
        );
    }

    #[test]
    fn durations_are_written_as_go_writes_them() {
        for (value, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(7200), "2h0m0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(1500), "1.5µs"),
            (Duration::from_nanos(12), "12ns"),
            (Duration::from_secs(26 * 3600 + 61), "26h1m1s"),
        ] {
            assert_eq!(duration(value), text, "{value:?}");
        }
    }
}
