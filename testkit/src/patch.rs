//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { unreachable!() };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<(&str, String), String> {
    if !path.starts_with('/') {
        return Err(format!("invalid JSON pointer {path:?}"));
    }
    let idx = path.rfind('/').unwrap_or(0);
    Ok((&path[..idx], unescape(&path[idx + 1..])))
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let i: usize = token.parse().map_err(|_| format!("invalid array index {token:?}"))?;
    let max = if allow_end { len } else { len.saturating_sub(1) };
    if i > max || (!allow_end && len == 0) {
        return Err(format!("array index {i} out of bounds"));
    }
    Ok(i)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(last, value);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = array_index(&last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => m.remove(&last).ok_or_else(|| format!("path {path:?} does not exist")),
        Some(Value::Array(a)) => {
            let i = array_index(&last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

pub(crate) fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("a JSON patch must be an array")?;
    for op in ops {
        let name = op["op"].as_str().ok_or("patch operation without \"op\"")?;
        let path = op["path"].as_str().ok_or("patch operation without \"path\"")?;
        let value = || op.get("value").cloned().ok_or(format!("{name} without \"value\""));
        let from = || op["from"].as_str().ok_or(format!("{name} without \"from\""));
        match name {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                let v = value()?;
                let slot = doc.pointer_mut(path).ok_or(format!("path {path:?} does not exist"))?;
                *slot = v;
            }
            "move" => {
                let v = remove(doc, from()?)?;
                add(doc, path, v)?;
            }
            "copy" => {
                let src = from()?;
                let v = doc
                    .pointer(src)
                    .cloned()
                    .ok_or(format!("path {src:?} does not exist"))?;
                add(doc, path, v)?;
            }
            "test" => {
                let expected = value()?;
                if doc.pointer(path) != Some(&expected) {
                    return Err(format!("test failed at {path:?}"));
                }
            }
            other => return Err(format!("unknown patch operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": 1}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {"x": 1}}));
        let mut t = json!({"a": 1});
        merge_patch(&mut t, &json!(["x"]));
        assert_eq!(t, json!(["x"]));
    }

    #[test]
    fn rfc6902_ops() {
        let mut d = json!({"metadata": {"labels": {"a/b": "1"}}, "l": [1, 2]});
        json_patch(
            &mut d,
            &json!([
                {"op": "test", "path": "/metadata/labels/a~1b", "value": "1"},
                {"op": "add", "path": "/metadata/labels/c", "value": "2"},
                {"op": "remove", "path": "/metadata/labels/a~1b"},
                {"op": "add", "path": "/l/-", "value": 3},
                {"op": "add", "path": "/l/0", "value": 0},
                {"op": "replace", "path": "/l/1", "value": 9},
                {"op": "copy", "from": "/l", "path": "/m"},
                {"op": "move", "from": "/m", "path": "/n"},
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"metadata": {"labels": {"c": "2"}}, "l": [0, 9, 2, 3], "n": [0, 9, 2, 3]})
        );
        assert!(json_patch(&mut d, &json!([{"op": "test", "path": "/l/0", "value": 1}])).is_err());
        assert!(json_patch(&mut d, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(json_patch(&mut d, &json!([{"op": "replace", "path": "/nope", "value": 1}])).is_err());
    }
}

/// The field set (managedFields `fieldsV1` shape, `{"f:spec": {"f:replicas": {}}}`) of a patch or
/// applied body: every object key, recursively; lists and scalars are leaves. Identity and
/// server-owned metadata are left out.
pub(crate) fn field_set(body: &Value) -> Value {
    fn walk(value: &Value) -> Value {
        match value {
            Value::Object(map) if !map.is_empty() => Value::Object(
                map.iter()
                    .map(|(key, child)| (format!("f:{key}"), walk(child)))
                    .collect(),
            ),
            _ => Value::Object(Map::new()),
        }
    }
    let mut set = Map::new();
    if let Value::Object(map) = body {
        for (key, value) in map {
            match key.as_str() {
                "apiVersion" | "kind" => {}
                "metadata" => {
                    let mut meta = Map::new();
                    for field in ["labels", "annotations", "ownerReferences", "finalizers"] {
                        if let Some(child) = value.get(field) {
                            meta.insert(format!("f:{field}"), walk(child));
                        }
                    }
                    if !meta.is_empty() {
                        set.insert("f:metadata".into(), Value::Object(meta));
                    }
                }
                _ => {
                    set.insert(format!("f:{key}"), walk(value));
                }
            }
        }
    }
    Value::Object(set)
}

/// `a` without the leaves that are in `b`: what `a` owns that `b` does not.
pub(crate) fn subtract_fields(a: &Value, b: &Value) -> Value {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    for (key, child) in a {
        match b.get(key) {
            None => {
                out.insert(key.clone(), child.clone());
            }
            Some(other) => {
                let is_leaf = |v: &Value| v.as_object().is_none_or(|m| m.is_empty());
                if is_leaf(child) {
                    continue;
                }
                // `labels: {}` applied after `labels: {a: ..}`: the manager no longer sets `a`.
                let rest = subtract_fields(child, other);
                if rest.as_object().is_some_and(|m| !m.is_empty()) {
                    out.insert(key.clone(), rest);
                }
            }
        }
    }
    Value::Object(out)
}

/// Removes from `object` every leaf of the field set `fields`.
pub(crate) fn remove_fields(object: &mut Value, fields: &Value) {
    let (Value::Object(object), Value::Object(fields)) = (object, fields) else {
        return;
    };
    for (key, child) in fields {
        let Some(name) = key.strip_prefix("f:") else {
            continue;
        };
        if child.as_object().is_none_or(|m| m.is_empty()) {
            object.remove(name);
        } else if let Some(inner) = object.get_mut(name) {
            remove_fields(inner, child);
            if inner.as_object().is_some_and(|m| m.is_empty()) {
                object.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod field_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_sets_subtract_and_remove() {
        let old = field_set(
            &json!({"apiVersion": "v1", "metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k1": "v", "k2": "v"}}),
        );
        assert_eq!(
            old,
            json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:data": {"f:k1": {}, "f:k2": {}}})
        );
        let new = field_set(&json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k1": "v"}}));
        let gone = subtract_fields(&old, &new);
        assert_eq!(gone, json!({"f:data": {"f:k2": {}}}));
        let mut object = json!({"data": {"k1": "v", "k2": "v"}, "metadata": {"labels": {"a": "1"}}});
        remove_fields(&mut object, &gone);
        assert_eq!(object, json!({"data": {"k1": "v"}, "metadata": {"labels": {"a": "1"}}}));
        let emptied = field_set(&json!({"metadata": {"labels": {}}}));
        assert_eq!(
            subtract_fields(&old, &emptied),
            json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:data": {"f:k1": {}, "f:k2": {}}})
        );
    }
}
