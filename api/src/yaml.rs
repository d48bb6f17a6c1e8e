//! YAML reading and writing, the way upstream Prow reads YAML.
//!
//! Upstream loads its files with go-yaml v2, a YAML 1.1 reader. The parser here is
//! [`serde_saphyr`], set up to read the same way:
//! - plain scalars resolve as YAML 1.1 does: `0555` is the octal integer 365 (a PodSpec's
//!   `defaultMode`), `yes`/`on` are booleans; quoted scalars stay strings;
//! - anchors, aliases and merge keys (`<<: *anchor`, `<<: [*a, *b]`) are resolved, with YAML's
//!   rule that keys written in the mapping win over merged ones;
//! - a key repeated in one mapping is accepted as upstream accepts it (the last one wins) and
//!   reported as a [`YamlWarning`] with its path;
//! - non-string keys (`1:`, `true:`) become strings, as JSON requires.
//!
//! Writing quotes every string a YAML 1.1 reader would take for something else (`"yes"`,
//! `"0555"`, `"1_000"`), so upstream components read our rendered files as we meant them.

use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{DuplicateKeyPolicy, MergeKeyPolicy, Options};

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

impl YamlError {
    fn from_parser(error: &serde_saphyr::Error) -> Self {
        let text = error.to_string();
        match error.location() {
            Some(location) => {
                // The parser's message may carry its own "line L column C" prefix; we keep the
                // position in fields.
                let message = match text.split_once(": ") {
                    Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
                    _ => text,
                };
                let message = message.lines().next().unwrap_or_default().to_string();
                YamlError::Syntax {
                    line: location.line(),
                    column: location.column(),
                    message,
                }
            }
            None => YamlError::Invalid(text),
        }
    }
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
    /// Every non-empty document, in order (documents holding only comments are skipped).
    pub values: Vec<Value>,
    /// Repeated keys and similar findings.
    pub warnings: Vec<YamlWarning>,
}

/// How upstream's go-yaml v2 reads YAML (see the module documentation).
fn options() -> Options {
    let mut options = Options::default();
    options.legacy_octal_numbers = true;
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.merge_keys = MergeKeyPolicy::Merge;
    options.emit_comments = false;
    // Real job configs run to megabytes; alias bombs are still bounded by the alias limits.
    options.budget = None;
    options.with_snippet = false;
    options
}

/// Reads every document of a YAML text.
pub fn load_documents(text: &str) -> Result<Documents, YamlError> {
    let nodes: Vec<Node> =
        serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| YamlError::from_parser(&e))?;
    let mut documents = Documents::default();
    for (index, node) in nodes.into_iter().enumerate() {
        documents
            .warnings
            .extend(node.warnings.into_iter().map(|(path, message)| YamlWarning {
                document: index,
                path,
                message,
            }));
        documents.values.push(node.value);
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

/// A value being read, with the warnings found inside it, their paths relative to it.
struct Node {
    value: Value,
    warnings: Vec<(String, String)>,
}

impl Node {
    fn plain(value: Value) -> Self {
        Self {
            value,
            warnings: Vec::new(),
        }
    }

    /// Adopts a child's warnings, prefixing their paths with the child's place.
    fn adopt(warnings: &mut Vec<(String, String)>, child: Vec<(String, String)>, place: &str) {
        for (path, message) in child {
            let path = match (place.starts_with('['), path.is_empty()) {
                (_, true) => place.to_string(),
                (_, false) if path.starts_with('[') => format!("{place}{path}"),
                _ => format!("{place}.{path}"),
            };
            warnings.push((path, message));
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Reads a mapping key as a string, whatever scalar it is.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
        Ok(Key(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key("null".to_string()))
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::plain(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::plain(Value::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::plain(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(|n| Node::plain(Value::Number(n)))
            .ok_or_else(|| E::custom(format!("the number {v} cannot be represented in JSON")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::plain(Value::String(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::plain(Value::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::plain(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::plain(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut warnings = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            Node::adopt(&mut warnings, item.warnings, &format!("[{}]", items.len()));
            items.push(item.value);
        }
        Ok(Node {
            value: Value::Array(items),
            warnings,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Map::new();
        let mut warnings = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let child = map.next_value::<Node>()?;
            Node::adopt(&mut warnings, child.warnings, &key);
            if entries.insert(key.clone(), child.value).is_some() {
                warnings.push((
                    String::new(),
                    format!("key {key:?} is set more than once; the last value is used, as upstream Prow does"),
                ));
            }
        }
        Ok(Node {
            value: Value::Object(entries),
            warnings,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A custom tag such as `!Thing value`: the tag carries no meaning for Prow, keep the value.
        let (_tag, variant): (Key, _) = data.variant()?;
        variant.newtype_variant::<Node>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
