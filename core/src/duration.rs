//! Go duration strings (`time.ParseDuration`): `1h30m`, `2.5s`, `300ms`, `1us`, `1µs`, `-1h`, `0`.
//!
//! Upstream Prow writes every timeout, interval and grace period this way. [`parse_signed`]
//! accepts exactly what Go accepts (negative values included); [`parse`] is the same but refuses
//! negative values, which is what every Prow setting wants.

use std::fmt;
use std::time::Duration;

/// The largest magnitude Go can hold: `i64::MAX` nanoseconds (`-i64::MIN` for negative values).
const MAX_NANOS: u128 = i64::MAX as u128;

/// A duration string Go would not accept, or a negative one where that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty.
    #[error("empty duration: write a number with a unit, such as 30s, 15m or 2h")]
    Empty,
    /// The text is not a Go duration.
    #[error(
        "invalid duration {text:?}: {reason} (Go durations are numbers with units ns, us, ms, s, m or h, such as 1h30m or 2.5s; there is no d unit)"
    )]
    Invalid {
        /// The text as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The value does not fit in Go's 64-bit nanosecond count (about 292 years).
    #[error("duration {0:?} is too large: at most about 2562047h (292 years)")]
    Overflow(String),
    /// A negative duration where only zero or more makes sense.
    #[error("duration {0:?} is negative: write zero or a positive duration")]
    Negative(String),
}

/// A Go duration, which may be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignedDuration {
    /// Whether the duration is below zero.
    pub negative: bool,
    /// The absolute value.
    pub magnitude: Duration,
}

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            write!(f, "-{:?}", self.magnitude)
        } else {
            write!(f, "{:?}", self.magnitude)
        }
    }
}

/// Parses a Go duration that must not be negative (`-0s` is zero and accepted).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let signed = parse_signed(text)?;
    if signed.negative && !signed.magnitude.is_zero() {
        return Err(DurationError::Negative(text.to_string()));
    }
    Ok(signed.magnitude)
}

/// Parses a Go duration exactly as `time.ParseDuration` does, sign included.
pub fn parse_signed(text: &str) -> Result<SignedDuration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = |reason: &str| DurationError::Invalid {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let mut rest = text;
    let mut negative = false;
    if let Some(stripped) = rest.strip_prefix('-') {
        negative = true;
        rest = stripped;
    } else if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    }
    // Special case: a bare zero needs no unit.
    if rest == "0" {
        return Ok(SignedDuration {
            negative,
            magnitude: Duration::ZERO,
        });
    }
    if rest.is_empty() {
        return Err(invalid("a sign must be followed by a number and a unit"));
    }
    let limit = if negative { MAX_NANOS + 1 } else { MAX_NANOS };
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The leading integer.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        // The fraction.
        let (frac_digits, after_frac) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid("expected a number"));
        }
        // The unit: everything up to the next digit or dot.
        let unit_len = after_frac
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after_frac.len(), |(at, _)| at);
        let (unit, after_unit) = after_frac.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid("missing unit after a number"));
        }
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            other => return Err(invalid(&format!("unknown unit {other:?}"))),
        };
        let overflow = || DurationError::Overflow(text.to_string());
        // Integer part, checked for overflow digit by digit.
        let mut value: u128 = 0;
        for digit in int_digits.bytes() {
            value = value * 10 + u128::from(digit - b'0');
            if value > limit {
                return Err(overflow());
            }
        }
        let mut nanos = value.checked_mul(unit_nanos).ok_or_else(overflow)?;
        if nanos > limit {
            return Err(overflow());
        }
        // Fraction: as Go, digits beyond what can matter are dropped.
        if !frac_digits.is_empty() {
            let mut fraction: u128 = 0;
            let mut scale: u128 = 1;
            for digit in frac_digits.bytes() {
                if scale >= 10u128.pow(30) {
                    break;
                }
                fraction = fraction * 10 + u128::from(digit - b'0');
                scale *= 10;
            }
            nanos += fraction * unit_nanos / scale;
            if nanos > limit {
                return Err(overflow());
            }
        }
        total += nanos;
        if total > limit {
            return Err(overflow());
        }
        rest = after_unit;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| DurationError::Overflow(text.to_string()))?;
    // Always below 10^9, so it fits.
    let subsec = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    Ok(SignedDuration {
        negative,
        magnitude: Duration::new(secs, subsec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("2.5s"), Duration::from_millis(2500));
        assert_eq!(ok("300ms"), Duration::from_millis(300));
        assert_eq!(ok("1us"), Duration::from_micros(1));
        assert_eq!(ok("1µs"), Duration::from_micros(1));
        assert_eq!(ok("1μs"), Duration::from_micros(1));
        assert_eq!(ok("15m0s"), Duration::from_secs(900));
        assert_eq!(ok("1h0m0s"), Duration::from_secs(3600));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("1.s"), Duration::from_secs(1));
        assert_eq!(ok("+5s"), Duration::from_secs(5));
        assert_eq!(ok("1ns"), Duration::from_nanos(1));
        assert_eq!(ok("1.0000000001s"), Duration::from_secs(1));
        assert_eq!(ok("2562047h"), Duration::from_secs(2_562_047 * 3600));
        assert_eq!(ok("-0"), Duration::ZERO);
    }

    #[test]
    fn negative_durations_are_signed() {
        let d = parse_signed("-1h").unwrap();
        assert!(d.negative);
        assert_eq!(d.magnitude, Duration::from_secs(3600));
        assert_eq!(parse("-1h"), Err(DurationError::Negative("-1h".to_string())));
        assert!(parse("-1h").unwrap_err().to_string().contains("negative"));
        // Go's minimum is one nanosecond further than its maximum.
        assert!(parse_signed("-9223372036854775808ns").is_ok());
        assert!(parse_signed("9223372036854775808ns").is_err());
    }

    #[test]
    fn rejects_what_go_rejects() {
        for text in [
            "", "1", "1d", "h", "1.5", ".s", "-", "+", "1h 30m", "1hh", "s1", "1e3s", " 1s", "1S",
        ] {
            let err = parse_signed(text).expect_err(text);
            assert!(!err.to_string().is_empty());
        }
        assert!(matches!(parse_signed("3000000h"), Err(DurationError::Overflow(_))));
        assert!(parse("1d").unwrap_err().to_string().contains("no d unit"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_signed(&text);
        }

        #[test]
        fn round_trips_whole_seconds(secs in 0u64..10_000_000) {
            proptest::prop_assert_eq!(parse(&format!("{secs}s")), Ok(Duration::from_secs(secs)));
        }
    }
}
