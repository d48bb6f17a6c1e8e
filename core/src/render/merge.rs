//! Merging JSON values: the `config` overlay over derived keys, and PluginConfigs together.

use serde_json::Value;

/// Lays `over` onto `base`: objects merge key by key, anything else in `over` replaces what
/// `base` has.
pub fn overlay(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) => overlay(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Merges `from` into `into` without letting either win: objects merge key by key, lists are
/// concatenated, equal values are kept, and two different values for one key are a conflict,
/// reported with the key's path.
pub fn combine(into: &mut Value, from: &Value, path: &str) -> Result<(), String> {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match into.get_mut(key) {
                    Some(existing) => combine(existing, value, &child)?,
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
            Ok(())
        }
        (Value::Array(into), Value::Array(from)) => {
            into.extend(from.iter().cloned());
            Ok(())
        }
        (into, from) if *into == *from => Ok(()),
        (into, from) if into.is_null() => {
            *into = from.clone();
            Ok(())
        }
        (_, from) if from.is_null() => Ok(()),
        (into, from) => Err(format!("{path} is set to both {into} and {from}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlay_wins_and_merges_objects() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "l": [1], "s": "base"});
        overlay(&mut base, &json!({"a": {"y": 3}, "l": [2], "n": true}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3}, "l": [2], "s": "base", "n": true}));
    }

    #[test]
    fn combine_concatenates_and_reports_conflicts() {
        let mut into = json!({"approve": [{"repos": ["a"]}], "lgtm": {"review_acts_as_lgtm": true}});
        combine(
            &mut into,
            &json!({"approve": [{"repos": ["b"]}], "lgtm": {"review_acts_as_lgtm": true}}),
            "",
        )
        .unwrap();
        assert_eq!(into["approve"].as_array().unwrap().len(), 2);
        let error = combine(&mut into, &json!({"lgtm": {"review_acts_as_lgtm": false}}), "").unwrap_err();
        assert_eq!(error, "lgtm.review_acts_as_lgtm is set to both true and false");
    }
}
