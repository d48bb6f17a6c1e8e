//! YAML reading and writing, the way upstream Prow reads YAML.
//!
//! Upstream loads its files with go-yaml v2, a YAML 1.1 reader, under sigs.k8s.io/yaml, which
//! turns what it read into JSON and that JSON into Go types. This module does the same, in one
//! place for every reader (job configs, `config.yaml`, `plugins.yaml`, `labels.yaml`, custom
//! resources):
//! - [`scalar`] decides what a scalar is (`0555` is the octal integer 365, `yes`/`on`/`y` are
//!   booleans, `80e591` overflows as a float and stays a string; quoted scalars stay strings);
//! - [`compose`] builds values from the parser's events: anchors, aliases and merge keys
//!   (`<<: *anchor`, `<<: [*a, *b]`) resolved as go-yaml v2 does; a key repeated in one mapping
//!   is accepted as upstream accepts it (the last one wins) and reported as a [`YamlWarning`];
//!   non-string keys (`1:`, `true:`) become strings, as JSON requires;
//! - [`coerce`] reads those values into our types as sigs.k8s.io/yaml reads JSON into Go types:
//!   a number or boolean where the type wants a string becomes that string (`value: 0` is `"0"`).
//!
//! Writing quotes every string a YAML 1.1 reader would take for something else (`"yes"`,
//! `"0555"`, `"1_000"`), so upstream components read our rendered files as we meant them.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub mod coerce;
mod compose;
pub mod scalar;

pub use coerce::{Coercing, from_value};

/// A YAML text that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The text is not valid YAML, or holds something JSON cannot represent.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: u64,
        /// 1-based column of the problem.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The text is not valid YAML and the parser gave no position.
    #[error("{0}")]
    Invalid(String),
    /// A value could not be written as YAML.
    #[error("cannot write YAML: {0}")]
    Write(String),
}

/// Something accepted in a YAML text that deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlWarning {
    /// 0-based index of the document among the text's non-empty documents.
    pub document: usize,
    /// Path of the mapping holding the problem, as `a.b[2].c`; empty at the top.
    pub path: String,
    /// What was found.
    pub message: String,
}

impl fmt::Display for YamlWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "<top level>"
        } else {
            self.path.as_str()
        };
        write!(f, "document {}, {path}: {}", self.document + 1, self.message)
    }
}

/// The documents of one YAML text, as JSON values, and the warnings raised while reading them.
#[derive(Debug, Default)]
pub struct Documents {
    /// Every non-empty document, in order (empty documents, or ones holding only comments or
    /// `null`, are skipped, as upstream skips them).
    pub values: Vec<Value>,
    /// Repeated keys and similar findings.
    pub warnings: Vec<YamlWarning>,
}

/// Reads every document of a YAML text.
pub fn load_documents(text: &str) -> Result<Documents, YamlError> {
    let mut documents = Documents::default();
    for composed in compose::documents(text)? {
        if composed.value.is_null() {
            continue;
        }
        let document = documents.values.len();
        documents
            .warnings
            .extend(composed.warnings.into_iter().map(|(path, message)| YamlWarning {
                document,
                path,
                message,
            }));
        documents.values.push(composed.value);
    }
    Ok(documents)
}

/// Reads a YAML text that must hold at most one document (an empty text is `Value::Null`).
pub fn load_single(text: &str) -> Result<(Value, Vec<YamlWarning>), YamlError> {
    let documents = load_documents(text)?;
    let count = documents.values.len();
    match documents.values.into_iter().next() {
        None => Ok((Value::Null, documents.warnings)),
        Some(value) if count == 1 => Ok((value, documents.warnings)),
        Some(_) => Err(YamlError::Invalid(format!("expected one YAML document, found {count}"))),
    }
}

/// Writes a value as one YAML document (without the leading `---`).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|e| YamlError::Write(e.to_string()))
}

/// The length in bytes of what [`to_string`] writes for `value`, counted without building the
/// text.
pub fn written_len<T: Serialize>(value: &T) -> Result<usize, YamlError> {
    let mut counter = ByteCounter(0);
    serde_saphyr::to_fmt_writer(&mut counter, value).map_err(|e| YamlError::Write(e.to_string()))?;
    Ok(counter.0)
}

/// A [`fmt::Write`] that only counts the bytes written to it.
struct ByteCounter(usize);

impl fmt::Write for ByteCounter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_len_is_the_length_of_the_written_text() {
        let value = json!({"a": "yes", "b": [1, 2.5, null], "c": {"d": "multi\nline", "e": "0555"}, "é": "ü"});
        assert_eq!(written_len(&value).unwrap(), to_string(&value).unwrap().len());
    }

    #[test]
    fn resolves_anchors_and_merge_keys() {
        let text = "base: &base\n  a: 1\n  b: 2\nother: &other\n  c: 3\njob:\n  <<: [*base, *other]\n  b: 20\n";
        let (value, warnings) = load_single(text).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(value["job"], json!({"a": 1, "b": 20, "c": 3}));
    }

    #[test]
    fn earlier_merge_sources_win() {
        let text = "x: &x {k: 1}\ny: &y {k: 2}\nz:\n  <<: [*x, *y]\n";
        let (value, _) = load_single(text).unwrap();
        assert_eq!(value["z"], json!({"k": 1}));
    }

    #[test]
    fn repeated_key_last_wins_with_warning() {
        let text = "a:\n  list:\n  - b: 1\n    b: 2\n";
        let (value, warnings) = load_single(text).unwrap();
        assert_eq!(value, json!({"a": {"list": [{"b": 2}]}}));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "a.list[0]");
        assert!(warnings[0].message.contains("\"b\""));
    }

    #[test]
    fn scalars_resolve_as_yaml_1_1() {
        let (value, _) =
            load_single("mode: 0555\nquoted: '0555'\nhex: 0x1F\nyes: yes\non: on\nanswer: 'no'\nfloat: 1e3\n").unwrap();
        assert_eq!(value["mode"], 365, "octal, as go-yaml v2 reads defaultMode");
        assert_eq!(value["quoted"], "0555");
        assert_eq!(value["hex"], 31);
        assert_eq!(
            value["true"], true,
            "`yes` as a key is the boolean true, written as a string key"
        );
        assert_eq!(value["answer"], "no");
        assert_eq!(value["float"], 1000.0);
    }

    #[test]
    fn writing_quotes_what_yaml_1_1_would_misread() {
        let text = to_string(&json!({"values": ["yes", "on", "0555", "1_000", "plain"]})).unwrap();
        let (value, _) = load_single(&text).unwrap();
        assert_eq!(
            value["values"],
            json!(["yes", "on", "0555", "1_000", "plain"]),
            "{text}"
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = load_documents("a: [1, 2\nb: c\n").unwrap_err();
        match err {
            YamlError::Syntax {
                line,
                column,
                ref message,
            } => {
                assert!(line >= 1 && column >= 1 && !message.is_empty(), "{err}");
                assert!(!message.contains('\n'));
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn multiple_documents_skip_empty_ones() {
        let docs = load_documents("# only a comment\n---\na: 1\n---\n- x\n").unwrap();
        assert_eq!(docs.values, vec![json!({"a": 1}), json!(["x"])]);
    }

    #[test]
    fn non_string_keys_become_strings() {
        let (value, _) = load_single("1: a\ntrue: b\n").unwrap();
        assert_eq!(value, json!({"1": "a", "true": "b"}));
    }
}
