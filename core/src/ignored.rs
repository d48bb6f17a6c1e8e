//! What a typed read left out: the paths `serde_ignored` reports (keys a Go type has no field
//! for, which upstream's `encoding/json` drops), as segments, and their removal from the value.

use serde_json::Value;

/// One step of a path inside a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A key of an object.
    Key(String),
    /// An item of a list.
    Index(usize),
}

/// The segments of an ignored path, from the root.
pub fn segments_of(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut current = path;
    loop {
        match current {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Segment::Index(*index));
                current = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Segment::Key(key.clone()));
                current = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => current = parent,
        }
    }
    out.reverse();
    out
}

/// Removes the key at `segments` from `value`, when it is there.
pub fn remove(value: &mut Value, segments: &[Segment]) {
    let Some((Segment::Key(last), parents)) = segments.split_last() else {
        return;
    };
    let mut node = value;
    for segment in parents {
        let next = match (segment, node) {
            (Segment::Key(key), Value::Object(map)) => map.get_mut(key),
            (Segment::Index(index), Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(child) => node = child,
            None => return,
        }
    }
    if let Value::Object(map) = node {
        map.remove(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_a_nested_key_and_leaves_a_missing_one_alone() {
        let mut value = json!({"containers": [{"image": "x", "limits": {"cpu": "1"}}]});
        let path = [
            Segment::Key("containers".into()),
            Segment::Index(0),
            Segment::Key("limits".into()),
        ];
        remove(&mut value, &path);
        assert_eq!(value, json!({"containers": [{"image": "x"}]}));
        remove(&mut value, &[Segment::Key("absent".into()), Segment::Key("x".into())]);
        assert_eq!(value, json!({"containers": [{"image": "x"}]}));
    }
}
