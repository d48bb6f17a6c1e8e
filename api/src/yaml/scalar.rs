//! How a YAML scalar becomes a value, exactly as upstream Prow's readers decide it.
//!
//! Upstream reads YAML with go-yaml v2 (a YAML 1.1 reader) under sigs.k8s.io/yaml, which turns
//! the result into JSON. The rules, from go-yaml v2's `resolve`:
//! - quoted and block scalars are strings, unless explicitly tagged;
//! - a plain scalar is looked up first: `y Y yes Yes YES true True TRUE on On ON` are true,
//!   `n N no No NO false False FALSE off Off OFF` false, `~ null Null NULL` and the empty scalar
//!   null, `.inf`/`+.inf`/`-.inf` and `.nan` (and their `Inf`/`INF`/`NaN`/`NAN` spellings)
//!   infinite and not-a-number floats;
//! - otherwise a plain scalar starting with a digit or a sign is, with every `_` removed: an
//!   integer as Go's `strconv.ParseInt(s, 0, 64)` reads it (`0x1F`, `0o17`, `0b101`, `017` octal,
//!   a sign allowed), else an unsigned one (up to 2^64-1), else a float if it is written as one
//!   (`[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`) and does not overflow. A float that
//!   overflows (`80e591`, a color) stays the string as written. Timestamps stay the string
//!   as written;
//! - a plain scalar starting with `.` is a float if it is one (`.5`, `.5e3`), else a string;
//! - anything else is a string.
//!
//! sigs.k8s.io/yaml then writes a number or boolean read into a Go string field as text: an
//! integer in decimal, a float as Go's `strconv.FormatFloat(f, 'g', -1, 32)` (so `1e6` is
//! `"1e+06"` and `3.14159265` is `"3.1415927"`), a boolean as `true`/`false`. Mapping keys are
//! written the same way (a float key as `.inf`, `-.inf`, `.nan` when not finite).

/// A scalar as upstream resolves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, the empty plain scalar.
    Null,
    /// YAML 1.1 booleans.
    Bool(bool),
    /// An integer within `i64`.
    Int(i64),
    /// An integer above `i64::MAX`, within `u64`.
    Uint(u64),
    /// A float, possibly infinite or NaN.
    Float(f64),
    /// Everything else, as written.
    Str(String),
}

/// An explicit tag (`!!int 10`) that does not fit its scalar, as go-yaml v2 refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{text}` as a !!{tag}")]
pub struct TagMismatch {
    /// The scalar as written.
    pub text: String,
    /// The tag's suffix (`int`, `bool`...).
    pub tag: String,
}

/// Resolves a plain (unquoted, untagged) scalar.
pub fn resolve_plain(text: &str) -> Scalar {
    if let Some(known) = lookup(text) {
        return known;
    }
    match text.as_bytes().first() {
        Some(b'0'..=b'9' | b'+' | b'-') => number(text).unwrap_or_else(|| Scalar::Str(text.to_string())),
        Some(b'.') => dot_float(text).map_or_else(|| Scalar::Str(text.to_string()), Scalar::Float),
        _ => Scalar::Str(text.to_string()),
    }
}

/// Resolves a scalar with an explicit tag of YAML's core schema, given by its suffix (`str`,
/// `int`, `float`, `bool`, `null`, `timestamp`...). Other tags keep the scalar as a string.
pub fn resolve_tagged(text: &str, tag: &str) -> Result<Scalar, TagMismatch> {
    let mismatch = || TagMismatch {
        text: text.to_string(),
        tag: tag.to_string(),
    };
    match tag {
        "int" | "float" | "bool" | "null" => {
            let resolved = resolve_plain(text);
            match (tag, resolved) {
                ("int", value @ (Scalar::Int(_) | Scalar::Uint(_))) => Ok(value),
                ("float", value @ Scalar::Float(_)) => Ok(value),
                ("float", Scalar::Int(i)) => Ok(Scalar::Float(i as f64)),
                ("bool", value @ Scalar::Bool(_)) => Ok(value),
                ("null", Scalar::Null) => Ok(Scalar::Null),
                _ => Err(mismatch()),
            }
        }
        _ => Ok(Scalar::Str(text.to_string())),
    }
}

/// The fixed spellings of go-yaml v2's resolution table.
fn lookup(text: &str) -> Option<Scalar> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Scalar::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Scalar::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// A plain scalar starting with a digit or a sign: integer, unsigned integer or float.
fn number(text: &str) -> Option<Scalar> {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(value) = go_parse_int(&plain) {
        return Some(Scalar::Int(value));
    }
    if let Some(value) = go_parse_uint(&plain) {
        return Some(Scalar::Uint(value));
    }
    if is_yaml_float(&plain) {
        return finite_float(&plain).map(Scalar::Float);
    }
    None
}

/// A plain scalar starting with `.`: go-yaml v2 tries Go's `ParseFloat` on it as written, which
/// takes decimal digits, an optional exponent, and `_` only between two digits (`.5_0`).
fn dot_float(text: &str) -> Option<f64> {
    if !go_underscores_ok(text) {
        return None;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    is_yaml_float(&plain).then(|| finite_float(&plain)).flatten()
}

/// Go's rule for `_` in a number: each one between two digits.
fn go_underscores_ok(text: &str) -> bool {
    let mut previous_digit = false;
    let mut after_underscore = false;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                previous_digit = true;
                after_underscore = false;
            }
            '_' if previous_digit => {
                previous_digit = false;
                after_underscore = true;
            }
            '_' => return false,
            _ if after_underscore => return false,
            _ => previous_digit = false,
        }
    }
    !after_underscore
}

/// Parses a float Go's `ParseFloat` accepts, refusing overflow as Go does (an underflow is 0).
fn finite_float(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, go-yaml v2's float syntax.
fn is_yaml_float(text: &str) -> bool {
    let bytes = text.strip_prefix(['+', '-']).unwrap_or(text).as_bytes();
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut at = 0;
    if bytes.first() == Some(&b'.') {
        let fraction = digits(1);
        if fraction == 0 {
            return false;
        }
        at = 1 + fraction;
    } else {
        let whole = digits(0);
        if whole == 0 {
            return false;
        }
        at += whole;
        if bytes.get(at) == Some(&b'.') {
            at += 1 + digits(at + 1);
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == bytes.len()
}

/// Splits Go's base prefix off (`0x`, `0o`, `0b`, or a leading `0` for octal).
fn base_and_digits(text: &str) -> (u32, &str) {
    let lower = |i: usize| text.as_bytes().get(i).map(u8::to_ascii_lowercase);
    match (lower(0), lower(1)) {
        (Some(b'0'), Some(b'x')) => (16, &text[2..]),
        (Some(b'0'), Some(b'o')) => (8, &text[2..]),
        (Some(b'0'), Some(b'b')) => (2, &text[2..]),
        (Some(b'0'), Some(_)) => (8, &text[1..]),
        _ => (10, text),
    }
}

/// Go's `strconv.ParseUint(text, 0, 64)` on a text without `_`.
fn go_parse_uint(text: &str) -> Option<u64> {
    let (base, digits) = base_and_digits(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u64::from_str_radix(digits, base).ok()
}

/// Go's `strconv.ParseInt(text, 0, 64)` on a text without `_`.
fn go_parse_int(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = go_parse_uint(unsigned)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.FormatFloat(value, 'g', -1, 32)`: how sigs.k8s.io/yaml writes a float read into
/// a string field or used as a mapping key.
pub fn go_format_float32(value: f64) -> String {
    let single = value as f32;
    if single.is_nan() {
        return "NaN".to_string();
    }
    if single.is_infinite() {
        return if single > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // Rust's `{:e}` gives the shortest digits that read back as the same f32, as Go does.
    let scientific = format!("{single:e}");
    let (sign, unsigned) = match scientific.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", scientific.as_str()),
    };
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exponent_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

/// The text sigs.k8s.io/yaml gives a scalar read into a Go string field; `None` for a null (the
/// field keeps its zero value) and for a string (unchanged).
pub fn string_field_text(scalar: &Scalar) -> Option<String> {
    match scalar {
        Scalar::Null | Scalar::Str(_) => None,
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Int(i) => Some(i.to_string()),
        Scalar::Uint(u) => Some(u.to_string()),
        Scalar::Float(f) => Some(go_format_float32(*f)),
    }
}

/// A mapping key as sigs.k8s.io/yaml writes it into JSON; `None` for a null key and an integer
/// above `i64::MAX`, which it refuses.
pub fn key_text(scalar: Scalar) -> Option<String> {
    match scalar {
        Scalar::Null | Scalar::Uint(_) => None,
        Scalar::Str(text) => Some(text),
        Scalar::Float(f) => Some(match go_format_float32(f).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            finite => finite.to_string(),
        }),
        other => string_field_text(&other),
    }
}
