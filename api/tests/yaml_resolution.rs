//! How a YAML scalar becomes a value, checked against upstream's own readers.
//!
//! Every row was produced by running go-yaml v2 (go.yaml.in/yaml/v2 v2.4.4) under
//! sigs.k8s.io/yaml v1.6.0, the readers of upstream Prow, on the scalar `S` written as:
//! - `v: S` converted to JSON with no target type (what `kubectl` and untyped fields get);
//! - `v: S` read into a Go struct whose `v` is a `string`;
//! - `num: S` read into a Go struct whose `num` is an `int`;
//! - `S: 1` converted to JSON (the key's text).
//!
//! `None` is upstream refusing the document. [`Untyped::NotJson`] is a non-finite float outside
//! a string field: upstream refuses the file (`json: unsupported value: +Inf`); we read it as the
//! text a string field would get, with a warning (a documented deliberate difference).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use proptest::prelude::*;
use prow_api::yaml::{self, from_value, scalar};
use serde::Deserialize;
use serde_json::Value;

enum Untyped {
    Json(&'static str),
    NotJson,
    Refused,
}

#[derive(Deserialize)]
struct StringField {
    v: Option<String>,
}

#[derive(Deserialize)]
struct IntField {
    num: Option<i64>,
}

/// (scalar, untyped JSON, read into a string field, read into an int field, as a key)
type Row = (
    &'static str,
    Untyped,
    Option<&'static str>,
    Option<i64>,
    Option<&'static str>,
);

#[rustfmt::skip]
const UPSTREAM: &[Row] = &[
    ("! 12", Untyped::Json("\"12\""), Some("12"), None, Some("12")),
    ("!!bool \"yes\"", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("!!float 1", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("!!int \"10\"", Untyped::Json("10"), Some("10"), Some(10), Some("10")),
    ("!!int 1.5", Untyped::Refused, None, None, None),
    ("!!str 10", Untyped::Json("\"10\""), Some("10"), None, Some("10")),
    ("!foo 12", Untyped::Json("\"12\""), Some("12"), None, Some("12")),
    ("\"yes\"", Untyped::Json("\"yes\""), Some("yes"), None, Some("yes")),
    ("'0'", Untyped::Json("\"0\""), Some("0"), None, Some("0")),
    ("+", Untyped::Json("\"+\""), Some("+"), None, Some("+")),
    ("+.5", Untyped::Json("0.5"), Some("0.5"), None, Some("0.5")),
    ("+.inf", Untyped::NotJson, Some("+Inf"), None, Some(".inf")),
    ("+0x10", Untyped::Json("16"), Some("16"), Some(16), Some("16")),
    ("+1", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("+_1", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("-", Untyped::Refused, None, None, Some("-")),
    ("-.5", Untyped::Json("-0.5"), Some("-0.5"), None, Some("-0.5")),
    ("-.inf", Untyped::NotJson, Some("-Inf"), None, Some("-.inf")),
    ("-0", Untyped::Json("0"), Some("0"), Some(0), Some("0")),
    ("-0b11", Untyped::Json("-3"), Some("-3"), Some(-3), Some("-3")),
    ("-0x10", Untyped::Json("-16"), Some("-16"), Some(-16), Some("-16")),
    ("-1.5", Untyped::Json("-1.5"), Some("-1.5"), None, Some("-1.5")),
    ("-3.0", Untyped::Json("-3"), Some("-3"), Some(-3), Some("-3")),
    ("-80e591", Untyped::Json("\"-80e591\""), Some("-80e591"), None, Some("-80e591")),
    ("-9223372036854775809", Untyped::Json("-9223372036854776000"), Some("-9.223372e+18"), None, Some("-9.223372e+18")),
    (".", Untyped::Json("\".\""), Some("."), None, Some(".")),
    (".5", Untyped::Json("0.5"), Some("0.5"), None, Some("0.5")),
    (".5_", Untyped::Json("\".5_\""), Some(".5_"), None, Some(".5_")),
    (".5_0", Untyped::Json("0.5"), Some("0.5"), None, Some("0.5")),
    (".5e1_0", Untyped::Json("5000000000"), Some("5e+09"), Some(5000000000), Some("5e+09")),
    (".5e3", Untyped::Json("500"), Some("500"), Some(500), Some("500")),
    (".INF", Untyped::NotJson, Some("+Inf"), None, Some(".inf")),
    (".Inf", Untyped::NotJson, Some("+Inf"), None, Some(".inf")),
    (".NaN", Untyped::NotJson, Some("NaN"), None, Some(".nan")),
    ("._", Untyped::Json("\"._\""), Some("._"), None, Some("._")),
    ("._5", Untyped::Json("\"._5\""), Some("._5"), None, Some("._5")),
    (".inf", Untyped::NotJson, Some("+Inf"), None, Some(".inf")),
    (".nan", Untyped::NotJson, Some("NaN"), None, Some(".nan")),
    ("0", Untyped::Json("0"), Some("0"), Some(0), Some("0")),
    ("0.0", Untyped::Json("0"), Some("0"), Some(0), Some("0")),
    ("0.0001", Untyped::Json("0.0001"), Some("0.0001"), None, Some("0.0001")),
    ("0.1", Untyped::Json("0.1"), Some("0.1"), None, Some("0.1")),
    ("0.5e-1", Untyped::Json("0.05"), Some("0.05"), None, Some("0.05")),
    ("0555", Untyped::Json("365"), Some("365"), Some(365), Some("365")),
    ("09", Untyped::Json("9"), Some("9"), Some(9), Some("9")),
    ("0O17", Untyped::Json("15"), Some("15"), Some(15), Some("15")),
    ("0X1f", Untyped::Json("31"), Some("31"), Some(31), Some("31")),
    ("0_1", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("0b", Untyped::Json("\"0b\""), Some("0b"), None, Some("0b")),
    ("0b101", Untyped::Json("5"), Some("5"), Some(5), Some("5")),
    ("0o17", Untyped::Json("15"), Some("15"), Some(15), Some("15")),
    ("0x", Untyped::Json("\"0x\""), Some("0x"), None, Some("0x")),
    ("0x1F", Untyped::Json("31"), Some("31"), Some(31), Some("31")),
    ("0x1p3", Untyped::Json("\"0x1p3\""), Some("0x1p3"), None, Some("0x1p3")),
    ("0x_1F", Untyped::Json("31"), Some("31"), Some(31), Some("31")),
    ("1,000", Untyped::Json("\"1,000\""), Some("1,000"), None, Some("1,000")),
    ("1.", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("1.0", Untyped::Json("1"), Some("1"), Some(1), Some("1")),
    ("1.5", Untyped::Json("1.5"), Some("1.5"), None, Some("1.5")),
    ("1.5e300", Untyped::Json("1.5e+300"), Some("+Inf"), None, Some(".inf")),
    ("100000", Untyped::Json("100000"), Some("100000"), Some(100000), Some("100000")),
    ("1234567.0", Untyped::Json("1234567"), Some("1.234567e+06"), Some(1234567), Some("1.234567e+06")),
    ("12e", Untyped::Json("\"12e\""), Some("12e"), None, Some("12e")),
    ("16777217.0", Untyped::Json("16777217"), Some("1.6777216e+07"), Some(16777217), Some("1.6777216e+07")),
    ("18446744073709551615", Untyped::Json("18446744073709551615"), Some("18446744073709551615"), None, None),
    ("18446744073709551616", Untyped::Json("18446744073709552000"), Some("1.8446744e+19"), None, Some("1.8446744e+19")),
    ("1:20", Untyped::Json("\"1:20\""), Some("1:20"), None, Some("1:20")),
    ("1E3", Untyped::Json("1000"), Some("1000"), Some(1000), Some("1000")),
    ("1_000", Untyped::Json("1000"), Some("1000"), Some(1000), Some("1000")),
    ("1_000.5", Untyped::Json("1000.5"), Some("1000.5"), None, Some("1000.5")),
    ("1_0e1", Untyped::Json("100"), Some("100"), Some(100), Some("100")),
    ("1__0_", Untyped::Json("10"), Some("10"), Some(10), Some("10")),
    ("1e", Untyped::Json("\"1e\""), Some("1e"), None, Some("1e")),
    ("1e+6", Untyped::Json("1000000"), Some("1e+06"), Some(1000000), Some("1e+06")),
    ("1e-400", Untyped::Json("0"), Some("0"), Some(0), Some("0")),
    ("1e-5", Untyped::Json("1e-05"), Some("1e-05"), None, Some("1e-05")),
    ("1e20", Untyped::Json("100000000000000000000"), Some("1e+20"), None, Some("1e+20")),
    ("1e21", Untyped::Json("1e+21"), Some("1e+21"), None, Some("1e+21")),
    ("1e3", Untyped::Json("1000"), Some("1000"), Some(1000), Some("1000")),
    ("1e39", Untyped::Json("1e+39"), Some("+Inf"), None, Some(".inf")),
    ("1e6", Untyped::Json("1000000"), Some("1e+06"), Some(1000000), Some("1e+06")),
    ("2.0", Untyped::Json("2"), Some("2"), Some(2), Some("2")),
    ("2001-12-14", Untyped::Json("\"2001-12-14\""), Some("2001-12-14"), None, Some("2001-12-14")),
    ("2001-12-14 21:59:43.10", Untyped::Json("\"2001-12-14 21:59:43.10\""), Some("2001-12-14 21:59:43.10"), None, Some("2001-12-14 21:59:43.10")),
    ("2001-12-14T21:59:43.10Z", Untyped::Json("\"2001-12-14T21:59:43.10Z\""), Some("2001-12-14T21:59:43.10Z"), None, Some("2001-12-14T21:59:43.10Z")),
    ("3.14159265358979", Untyped::Json("3.14159265358979"), Some("3.1415927"), None, Some("3.1415927")),
    ("80e591", Untyped::Json("\"80e591\""), Some("80e591"), None, Some("80e591")),
    ("9223372036854775807", Untyped::Json("9223372036854775807"), Some("9223372036854775807"), Some(9223372036854775807), Some("9223372036854775807")),
    ("9223372036854775808", Untyped::Json("9223372036854775808"), Some("9223372036854775808"), None, None),
    ("N", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("NULL", Untyped::Json("null"), Some(""), Some(0), None),
    ("No", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("Null", Untyped::Json("null"), Some(""), Some(0), None),
    ("ON", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("On", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("TRUE", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("True", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("Y", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("YES", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("Yes", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("_1", Untyped::Json("\"_1\""), Some("_1"), None, Some("_1")),
    ("false", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("inf", Untyped::Json("\"inf\""), Some("inf"), None, Some("inf")),
    ("n", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("nUll", Untyped::Json("\"nUll\""), Some("nUll"), None, Some("nUll")),
    ("nan", Untyped::Json("\"nan\""), Some("nan"), None, Some("nan")),
    ("no", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("null", Untyped::Json("null"), Some(""), Some(0), None),
    ("off", Untyped::Json("false"), Some("false"), None, Some("false")),
    ("on", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("tRUE", Untyped::Json("\"tRUE\""), Some("tRUE"), None, Some("tRUE")),
    ("true", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("y", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("yES", Untyped::Json("\"yES\""), Some("yES"), None, Some("yES")),
    ("yes", Untyped::Json("true"), Some("true"), None, Some("true")),
    ("~", Untyped::Json("null"), Some(""), Some(0), None),
];

/// Numbers are equal when their values are (Go's JSON writes `1.0` as `1`).
fn same(ours: &Value, upstream: &Value) -> bool {
    match (ours, upstream) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => ours == upstream,
    }
}

#[test]
fn scalars_resolve_as_upstream_resolves_them() {
    let mut wrong = Vec::new();
    for (text, untyped, as_string, as_int, as_key) in UPSTREAM {
        let document = format!("v: {text}\n");
        let read = yaml::load_single(&document);
        match (untyped, &read) {
            (Untyped::Json(json), Ok((value, warnings))) => {
                let expected: Value = serde_json::from_str(json).unwrap();
                if !same(&value["v"], &expected) || !warnings.is_empty() {
                    wrong.push(format!("{text:?}: read {} {warnings:?}, upstream {json}", value["v"]));
                }
            }
            (Untyped::NotJson, Ok((value, warnings))) => {
                if !value["v"].is_string() || warnings.is_empty() {
                    wrong.push(format!("{text:?}: read {} without a warning", value["v"]));
                }
            }
            (Untyped::Refused, Err(_)) => {}
            (_, other) => wrong.push(format!("{text:?}: read {other:?}")),
        }
        let string = yaml::load_single(&document)
            .ok()
            .and_then(|(value, _)| from_value::<StringField>(value).ok())
            .map(|field| field.v.unwrap_or_default());
        if string.as_deref() != *as_string {
            wrong.push(format!(
                "{text:?} in a string field: {string:?}, upstream {as_string:?}"
            ));
        }
        let int = yaml::load_single(&format!("num: {text}\n"))
            .ok()
            .and_then(|(value, _)| from_value::<IntField>(value).ok())
            .map(|field| field.num.unwrap_or_default());
        if int != *as_int {
            wrong.push(format!("{text:?} in an int field: {int:?}, upstream {as_int:?}"));
        }
        let key = yaml::load_single(&format!("{text}: 1\n"))
            .ok()
            .and_then(|(value, _)| value.as_object().and_then(|o| o.keys().next().cloned()));
        if key.as_deref() != *as_key {
            wrong.push(format!("{text:?} as a key: {key:?}, upstream {as_key:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ from upstream:\n{}",
        wrong.len(),
        UPSTREAM.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_key_written_before_a_merge_is_replaced_by_it_as_go_yaml_v2_does() {
    let (value, _) = yaml::load_single("base: &base {a: 1, b: 2}\njob:\n  a: 10\n  <<: *base\n  b: 20\n").unwrap();
    assert_eq!(value["job"], serde_json::json!({"a": 1, "b": 20}));
}

#[test]
fn a_number_in_a_string_field_is_read_as_upstream_writes_it() {
    #[derive(Deserialize)]
    struct Env {
        name: String,
        value: String,
    }
    let (value, _) =
        yaml::load_single("- {name: X, value: 0}\n- {NAME: W, value: y}\n- {name: Z, value: 1.5}\n").unwrap();
    let env: Vec<Env> = from_value(value).unwrap();
    let read: Vec<(&str, &str)> = env.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect();
    assert_eq!(read, [("X", "0"), ("W", "true"), ("Z", "1.5")]);
}

/// Found on kubevirt's jobs by the checkconfig oracle: a list item left empty (`- ` on its own
/// line) in a container's `command`. Go's encoding/json leaves a string at "" for a JSON null.
#[test]
fn a_null_in_a_string_field_is_read_as_an_empty_string() {
    let (value, _) = yaml::load_single("command:\n- /bin/sh\n-\nname: ~\n").unwrap();
    #[derive(Deserialize)]
    struct Container {
        command: Vec<String>,
        name: String,
    }
    let container: Container = from_value(value).unwrap();
    assert_eq!(container.command, ["/bin/sh", ""]);
    assert_eq!(container.name, "");
}

proptest! {
    #[test]
    fn every_string_written_reads_back_the_same(text in "\\PC{0,12}") {
        let written = yaml::to_string(&serde_json::json!({"v": text})).unwrap();
        let (value, _) = yaml::load_single(&written).unwrap();
        prop_assert_eq!(&value["v"], &Value::String(text), "{}", written);
    }

    #[test]
    fn integers_read_in_every_base_and_with_separators(n in any::<u32>(), split in 1usize..9) {
        let decimal = n.to_string();
        let separated = if split < decimal.len() {
            format!("{}_{}", &decimal[..split], &decimal[split..])
        } else {
            decimal.clone()
        };
        for written in [format!("0x{n:x}"), format!("0o{n:o}"), format!("0{n:o}"), format!("0b{n:b}"), separated] {
            prop_assert_eq!(scalar::resolve_plain(&written), scalar::Scalar::Int(i64::from(n)), "{}", written);
        }
    }

    #[test]
    fn a_float_in_a_string_field_reads_back_as_the_same_float32(bits in any::<u32>()) {
        let single = f32::from_bits(bits);
        prop_assume!(single.is_finite());
        let text = scalar::go_format_float32(f64::from(single));
        prop_assert_eq!(text.parse::<f32>().ok(), Some(single), "{}", text);
    }
}
