//! A small model of the API server's OpenAPI validation of custom resources: types, required
//! fields, enums, patterns, lengths and bounds. CEL rules are left to kube's `cel` feature.

use serde_json::Value;

/// Validates `value` against `schema`, returning one message per problem, each prefixed by its
/// path.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    walk(schema, value, "", &mut problems);
    problems
}

fn walk(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && !path.is_empty() {
            problems.push(format!("{path}: must not be null"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            problems.push(format!("{path}: must be an integer or a string"));
        }
        return;
    }
    let here = if path.is_empty() { "<root>" } else { path };
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            problems.push(format!("{here}: must be of type {kind}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problems.push(format!(
            "{here}: {value} is not one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            problems.push(format!("{here}: {text:?} is shorter than {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            problems.push(format!("{here}: the value is longer than {max} characters ({length})"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            let regex = regex::Regex::new(pattern).expect("schema patterns compile");
            if !regex.is_match(text) {
                problems.push(format!("{here}: {text:?} does not match pattern {pattern}"));
            }
        }
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            problems.push(format!("{here}: {number} is less than the minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            problems.push(format!("{here}: {number} is greater than the maximum {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str()
                && !object.contains_key(name)
            {
                problems.push(format!("{here}: missing required field {name:?}"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        for (key, item) in object {
            let child = format!("{path}.{key}");
            if let Some(property) = properties.and_then(|p| p.get(key)) {
                walk(property, item, &child, problems);
            } else if let Some(additional) = additional {
                walk(additional, item, &child, problems);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            walk(items, item, &format!("{path}[{index}]"), problems);
        }
    }
}
