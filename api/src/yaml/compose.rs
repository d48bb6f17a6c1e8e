//! Builds JSON values from YAML parser events, as go-yaml v2 composes them: scalars resolved by
//! [`super::scalar`], anchors and aliases, merge keys applied where they are written (a merged
//! key replaces one written before the `<<`, one written after it wins; in `<<: [*a, *b]` the
//! earlier source wins), keys written as sigs.k8s.io/yaml writes them into JSON.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};

use super::YamlError;
use super::scalar::{self, Scalar};

/// At most this many values may be copied by aliases, so a small "billion laughs" text cannot
/// exhaust memory (real configurations stay far below it).
const MAX_ALIAS_COPIES: usize = 20_000_000;

/// One document's value and its warnings (path, message).
pub(super) struct Composed {
    pub value: Value,
    pub warnings: Vec<(String, String)>,
}

/// Every document of a text, empty ones included as `Value::Null`.
pub(super) fn documents(text: &str) -> Result<Vec<Composed>, YamlError> {
    let mut composer = Composer {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        path: Vec::new(),
        warnings: Vec::new(),
        alias_copies: 0,
    };
    let mut documents = Vec::new();
    while let Some((event, span)) = composer.next()? {
        match event {
            Event::DocumentStart(..) => composer.anchors.clear(),
            Event::DocumentEnd | Event::StreamStart | Event::StreamEnd => {}
            node => {
                let (value, _) = composer.node(node, span)?;
                documents.push(Composed {
                    value,
                    warnings: std::mem::take(&mut composer.warnings),
                });
            }
        }
    }
    Ok(documents)
}

/// One step of the path to the node being composed.
enum Segment {
    /// An item of a sequence.
    Index(usize),
    /// The value of a mapping key (held here while the value is composed, then moved into the
    /// mapping: no copy of the key).
    Key(String),
    /// A merge key's value.
    Merge,
}

struct Composer<'input> {
    parser: Parser<'input, StrInput<'input>>,
    /// Anchored values with their sizes (number of values inside, for the alias limit).
    anchors: HashMap<usize, (Value, usize)>,
    path: Vec<Segment>,
    warnings: Vec<(String, String)>,
    alias_copies: usize,
}

fn at(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError::Syntax {
        line: span.start.line() as u64,
        column: span.start.col() as u64 + 1,
        message: message.into(),
    }
}

/// The core-schema suffix of a tag (`int` for `!!int`), or `None` for an application tag.
fn core_suffix(tag: &Tag) -> Option<&str> {
    tag.is_yaml_core_schema().then(|| tag.suffix())
}

impl<'input> Composer<'input> {
    fn next(&mut self) -> Result<Option<(Event<'input>, Span)>, YamlError> {
        loop {
            match self.parser.next_event() {
                None => return Ok(None),
                Some(Err(error)) => {
                    let marker = error.marker();
                    return Err(YamlError::Syntax {
                        line: marker.line() as u64,
                        column: marker.col() as u64 + 1,
                        message: error.info(),
                    });
                }
                Some(Ok((event, span))) => match event {
                    Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::SequenceEnd
                    | Event::MappingStart(..)
                    | Event::MappingEnd
                    | Event::Alias(_)
                    | Event::DocumentStart(..)
                    | Event::DocumentEnd
                    | Event::StreamStart
                    | Event::StreamEnd => return Ok(Some((event, span))),
                    // Comments and anchor names carry no data.
                    _ => continue,
                },
            }
        }
    }

    fn next_required(&mut self) -> Result<(Event<'input>, Span), YamlError> {
        self.next()?
            .ok_or_else(|| YamlError::Invalid("the YAML text ends inside a collection".into()))
    }

    fn warn(&mut self, message: String) {
        self.warnings.push((self.path_text(), message));
    }

    fn path_text(&self) -> String {
        let mut text = String::new();
        for segment in &self.path {
            match segment {
                Segment::Index(index) => text.push_str(&format!("[{index}]")),
                Segment::Key(_) | Segment::Merge => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(key_or_merge(segment));
                }
            }
        }
        text
    }

    /// Composes the node starting with `event`; returns it with its size.
    fn node(&mut self, event: Event<'input>, span: Span) -> Result<(Value, usize), YamlError> {
        let (value, size, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = self.scalar(&text, style, tag.as_deref(), &span)?;
                (value, 1, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let (value, size) = self.sequence()?;
                (value, size, anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                let (value, size) = self.mapping()?;
                (value, size, anchor)
            }
            Event::Alias(id) => {
                let Some((value, size)) = self.anchors.get(&id) else {
                    return Err(at(&span, "alias to an unknown anchor"));
                };
                self.alias_copies += size;
                if self.alias_copies > MAX_ALIAS_COPIES {
                    return Err(at(&span, "the document contains excessive aliasing"));
                }
                return Ok((value.clone(), *size));
            }
            _ => return Err(at(&span, "unexpected YAML event")),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        Ok((value, size))
    }

    /// A mapping key, as sigs.k8s.io/yaml writes it into JSON.
    fn key(&mut self, event: Event<'input>, span: &Span) -> Result<String, YamlError> {
        let refused = |what: &str| {
            at(
                span,
                format!("a mapping key must be a string, a number or a boolean, not {what}"),
            )
        };
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let resolved = resolve(&text, style, tag.as_deref(), span)?;
                let key = scalar::key_text(resolved).ok_or_else(|| refused(&format!("`{text}`")))?;
                if anchor != 0 {
                    self.anchors.insert(anchor, (Value::String(key.clone()), 1));
                }
                Ok(key)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((Value::String(text), _)) => Ok(text.clone()),
                Some((Value::Bool(b), _)) => Ok(b.to_string()),
                Some((Value::Number(n), _)) if n.is_i64() => Ok(n.to_string()),
                Some((Value::Number(n), _)) if n.is_f64() => {
                    Ok(scalar::key_text(Scalar::Float(n.as_f64().unwrap_or(0.0))).unwrap_or_default())
                }
                Some((other, _)) => Err(refused(&other.to_string())),
                None => Err(at(span, "alias to an unknown anchor")),
            },
            _ => Err(refused("a list or a mapping")),
        }
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: &Span) -> Result<Value, YamlError> {
        Ok(match resolve(text, style, tag, span)? {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Number(i.into()),
            Scalar::Uint(u) => Value::Number(u.into()),
            Scalar::Str(s) => Value::String(s),
            Scalar::Float(f) => match Number::from_f64(f) {
                Some(number) => Value::Number(number),
                None => {
                    let read = scalar::go_format_float32(f);
                    self.warn(format!(
                        "`{text}` is not a finite number, which JSON cannot hold: upstream Prow refuses it except in \
                         a string field, where it reads {read:?}; it is read as {read:?}"
                    ));
                    Value::String(read)
                }
            },
        })
    }

    fn sequence(&mut self) -> Result<(Value, usize), YamlError> {
        let mut items = Vec::new();
        let mut size = 1;
        loop {
            let (event, span) = self.next_required()?;
            if matches!(event, Event::SequenceEnd) {
                return Ok((Value::Array(items), size));
            }
            self.path.push(Segment::Index(items.len()));
            let (item, item_size) = self.node(event, span)?;
            self.path.pop();
            size += item_size;
            items.push(item);
        }
    }

    fn mapping(&mut self) -> Result<(Value, usize), YamlError> {
        let mut entries = Map::new();
        // Keys only a merge key set so far: writing one of them is no repetition.
        let mut merged_only = HashSet::new();
        let mut size = 1;
        loop {
            let (event, span) = self.next_required()?;
            if matches!(event, Event::MappingEnd) {
                return Ok((Value::Object(entries), size));
            }
            let merge = matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<")
                || matches!(&event, Event::Scalar(text, _, _, Some(tag)) if text == "<<" && core_suffix(tag) == Some("merge"));
            if merge {
                self.path.push(Segment::Merge);
                let (event, value_span) = self.next_required()?;
                let (sources, merged_size) = self.node(event, value_span)?;
                self.path.pop();
                size += merged_size;
                merge_into(&mut entries, sources, &mut merged_only).map_err(|message| at(&span, message))?;
                continue;
            }
            let key = self.key(event, &span)?;
            self.path.push(Segment::Key(key));
            let (event, value_span) = self.next_required()?;
            let (value, value_size) = self.node(event, value_span)?;
            let Some(Segment::Key(key)) = self.path.pop() else {
                return Err(at(&span, "the composer lost its path"));
            };
            size += value_size;
            if entries.contains_key(&key) && !merged_only.remove(&key) {
                self.warn(format!(
                    "key {key:?} is set more than once; the last value is used, as upstream Prow does"
                ));
            }
            entries.insert(key, value);
        }
    }
}

/// Resolves a scalar by its style and tag.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>, span: &Span) -> Result<Scalar, YamlError> {
    Ok(match (tag, style) {
        (None, ScalarStyle::Plain) => scalar::resolve_plain(text),
        (None, _) => Scalar::Str(text.to_string()),
        (Some(tag), _) => match core_suffix(tag) {
            Some(suffix) => scalar::resolve_tagged(text, suffix).map_err(|e| at(span, e.to_string()))?,
            None => Scalar::Str(text.to_string()),
        },
    })
}

/// The text of a key or merge segment of a path.
fn key_or_merge(segment: &Segment) -> &str {
    match segment {
        Segment::Key(key) => key,
        Segment::Index(_) | Segment::Merge => "<<",
    }
}

/// Applies a merge key's value to the mapping being built; the keys it adds that were not set
/// before join `merged_only`.
fn merge_into(
    entries: &mut Map<String, Value>,
    sources: Value,
    merged_only: &mut HashSet<String>,
) -> Result<(), String> {
    const WANT_MAP: &str = "a merge key (<<) needs a mapping or a list of mappings";
    let mut merge = |source: Map<String, Value>| {
        for (key, value) in source {
            if !entries.contains_key(&key) {
                merged_only.insert(key.clone());
            }
            entries.insert(key, value);
        }
    };
    match sources {
        Value::Object(source) => merge(source),
        Value::Array(sources) => {
            if !sources.iter().all(Value::is_object) {
                return Err(WANT_MAP.to_string());
            }
            // Earlier sources win: apply them last.
            for source in sources.into_iter().rev() {
                if let Value::Object(source) = source {
                    merge(source);
                }
            }
        }
        _ => return Err(WANT_MAP.to_string()),
    }
    Ok(())
}
