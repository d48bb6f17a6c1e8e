//! YAML reading and writing, the way upstream Prow's loader reads it.
//!
//! The parser is [`yaml_serde`], The YAML Organization's maintained continuation of `serde_yaml`.
//! Documents are read into [`serde_json::Value`] through our own visitor so that:
//! - anchors and aliases are resolved (by the parser);
//! - merge keys (`<<: *anchor`, `<<: [*a, *b]`) are applied with YAML's rules: keys written in
//!   the mapping win over merged ones, and earlier merged mappings win over later ones;
//! - a key repeated in one mapping is accepted as upstream's loader accepts it (the last one
//!   wins) and reported as a [`YamlWarning`] with its path;
//! - non-string keys (`1:`, `true:`) become strings, as JSON requires.

use std::cell::RefCell;
use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The merge key of YAML 1.1.
const MERGE_KEY: &str = "<<";

/// A YAML text that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The text is not valid YAML, or holds something JSON cannot represent.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
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
    fn from_parser(error: &yaml_serde::Error) -> Self {
        let text = error.to_string();
        match error.location() {
            Some(location) => {
                // The parser appends " at line L column C" to its message; we carry them as fields.
                let message = text.split(" at line ").next().unwrap_or(text.as_str()).to_string();
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
    /// 0-based index of the document in a multi-document text.
    pub document: usize,
    /// Path of the mapping holding the problem, as `a.b[2].c`.
    pub path: String,
    /// What was found.
    pub message: String,
}

impl fmt::Display for YamlWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}, {}: {}", self.document, self.path, self.message)
    }
}

/// The documents of one YAML text, as JSON values, and the warnings raised while reading them.
#[derive(Debug, Default)]
pub struct Documents {
    /// Every document, in order. Empty documents (comments only) are `Value::Null`.
    pub values: Vec<Value>,
    /// Repeated keys and similar findings.
    pub warnings: Vec<YamlWarning>,
}

/// Reads every document of a YAML text.
pub fn load_documents(text: &str) -> Result<Documents, YamlError> {
    let mut documents = Documents::default();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let warnings = RefCell::new(Vec::new());
        let seed = ValueSeed {
            path: &Path::Root,
            warnings: &warnings,
            document: index,
        };
        let value = seed.deserialize(document).map_err(|e| YamlError::from_parser(&e))?;
        documents.values.push(value);
        documents.warnings.extend(warnings.into_inner());
    }
    Ok(documents)
}

/// Reads a YAML text that must hold exactly one document (an empty text is `Value::Null`).
pub fn load_single(text: &str) -> Result<(Value, Vec<YamlWarning>), YamlError> {
    let documents = load_documents(text)?;
    match documents.values.len() {
        0 => Ok((Value::Null, documents.warnings)),
        1 => Ok((
            documents.values.into_iter().next().unwrap_or(Value::Null),
            documents.warnings,
        )),
        n => Err(YamlError::Invalid(format!("expected one YAML document, found {n}"))),
    }
}

/// Writes a value as one YAML document (without the leading `---`).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, YamlError> {
    yaml_serde::to_string(value).map_err(|e| YamlError::Write(e.to_string()))
}

/// Where a value sits in its document, for warnings.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("<root>"),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    path: &'a Path<'a>,
    warnings: &'a RefCell<Vec<YamlWarning>>,
    document: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Reads a mapping key as a string, whatever scalar it is.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{}: the number {v} cannot be represented in JSON", self.path)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            let path = Path::Index(self.path, items.len());
            let seed = ValueSeed { path: &path, ..self };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Map::new();
        let mut merged: Vec<Value> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let path = Path::Key(self.path, &key);
            let value = map.next_value_seed(ValueSeed { path: &path, ..self })?;
            if key == MERGE_KEY {
                merged.push(value);
                continue;
            }
            if entries.insert(key.clone(), value).is_some() {
                self.warnings.borrow_mut().push(YamlWarning {
                    document: self.document,
                    path: self.path.to_string(),
                    message: format!(
                        "key {key:?} is set more than once; the last value is used, as upstream Prow does"
                    ),
                });
            }
        }
        for source in merged {
            merge_into(&mut entries, source).map_err(|what| {
                de::Error::custom(format!(
                    "{}: merge key `<<` must refer to a mapping or a list of mappings, found {what}",
                    self.path
                ))
            })?;
        }
        Ok(Value::Object(entries))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A custom tag such as `!Thing value`: the tag carries no meaning for Prow, keep the value.
        let (_tag, variant): (String, _) = data.variant_seed(KeySeed)?;
        variant.newtype_variant_seed(self)
    }
}

/// Applies one merge-key source: keys already present (explicit, or from an earlier source) win.
fn merge_into(entries: &mut Map<String, Value>, source: Value) -> Result<(), &'static str> {
    match source {
        Value::Object(mapping) => {
            for (key, value) in mapping {
                entries.entry(key).or_insert(value);
            }
            Ok(())
        }
        Value::Array(sources) => {
            for source in sources {
                match source {
                    Value::Object(_) => merge_into(entries, source)?,
                    _ => return Err("a list holding something other than a mapping"),
                }
            }
            Ok(())
        }
        Value::Null => Err("null"),
        _ => Err("a scalar"),
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
        assert!(warnings.is_empty());
        assert_eq!(value["job"], json!({"b": 20, "a": 1, "c": 3}));
    }

    #[test]
    fn earlier_merge_sources_win() {
        let text = "x: &x {k: 1}\ny: &y {k: 2}\nz:\n  <<: [*x, *y]\n";
        let (value, _) = load_single(text).unwrap();
        assert_eq!(value["z"], json!({"k": 1}));
    }

    #[test]
    fn repeated_key_last_wins_with_warning() {
        let text = "a:\n  b: 1\n  b: 2\n";
        let (value, warnings) = load_single(text).unwrap();
        assert_eq!(value, json!({"a": {"b": 2}}));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "a");
        assert!(warnings[0].message.contains("\"b\""));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = load_documents("a: [1, 2\nb: c\n").unwrap_err();
        match err {
            YamlError::Syntax { line, column, .. } => assert!(line >= 1 && column >= 1),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn merge_of_scalar_is_an_error() {
        let err = load_documents("a: &a 1\nb:\n  <<: *a\n").unwrap_err();
        assert!(err.to_string().contains("merge key"), "{err}");
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = load_documents("# only a comment\n---\na: 1\n---\n- x\n").unwrap();
        let non_null: Vec<_> = docs.values.iter().filter(|v| !v.is_null()).collect();
        assert_eq!(non_null, vec![&json!({"a": 1}), &json!(["x"])]);
    }

    #[test]
    fn non_string_keys_become_strings() {
        let (value, _) = load_single("1: a\ntrue: b\n").unwrap();
        assert_eq!(value, json!({"1": "a", "true": "b"}));
    }
}
