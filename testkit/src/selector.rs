//! Label and field selectors.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldReq {
    path: String,
    value: String,
    negate: bool,
}

/// A parsed `labelSelector` plus `fieldSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selectors {
    labels: Vec<LabelReq>,
    fields: Vec<FieldReq>,
}

/// Splits on commas outside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn parse_set(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set, found {s:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn check_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("invalid label key {key:?}"));
    }
    Ok(key.to_string())
}

fn parse_label_req(part: &str) -> Result<LabelReq, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelReq::NotExists(check_key(key)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(LabelReq::NotEq(check_key(k)?, v.trim().to_string()));
    }
    if let Some((k, v)) = part.split_once("==") {
        return Ok(LabelReq::Eq(check_key(k)?, v.trim().to_string()));
    }
    if let Some((k, v)) = part.split_once('=') {
        return Ok(LabelReq::Eq(check_key(k)?, v.trim().to_string()));
    }
    let key_end = part.find(|c: char| c.is_whitespace() || c == '(').unwrap_or(part.len());
    let key = check_key(&part[..key_end])?;
    let rest = part[key_end..].trim();
    if rest.is_empty() {
        Ok(LabelReq::Exists(key))
    } else if let Some(set) = rest.strip_prefix("notin") {
        Ok(LabelReq::NotIn(key, parse_set(set)?))
    } else if let Some(set) = rest.strip_prefix("in") {
        Ok(LabelReq::In(key, parse_set(set)?))
    } else {
        Err(format!("unable to parse requirement {part:?}"))
    }
}

fn lookup_path(obj: &Value, path: &str) -> String {
    let mut cur = obj;
    for seg in path.split('.') {
        cur = &cur[seg];
    }
    match cur {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Selectors {
    pub(crate) fn parse(label: Option<&str>, field: Option<&str>) -> Result<Self, String> {
        let labels = split_top_level(label.unwrap_or_default())
            .into_iter()
            .map(parse_label_req)
            .collect::<Result<_, _>>()?;
        let fields = split_top_level(field.unwrap_or_default())
            .into_iter()
            .map(|part| {
                let (path, value, negate) = if let Some((p, v)) = part.split_once("!=") {
                    (p, v, true)
                } else if let Some((p, v)) = part.split_once("==") {
                    (p, v, false)
                } else if let Some((p, v)) = part.split_once('=') {
                    (p, v, false)
                } else {
                    return Err(format!("invalid field selector {part:?}"));
                };
                Ok(FieldReq {
                    path: path.trim().to_string(),
                    value: value.trim().to_string(),
                    negate,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Selectors { labels, fields })
    }

    /// Adds `metadata.name=name` (watching a single object by path).
    pub(crate) fn with_name(mut self, name: &str) -> Self {
        self.fields.push(FieldReq {
            path: "metadata.name".into(),
            value: name.into(),
            negate: false,
        });
        self
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        let label = |k: &str| labels[k].as_str();
        let labels_ok = self.labels.iter().all(|req| match req {
            LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => label(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
        });
        labels_ok
            && self
                .fields
                .iter()
                .all(|f| (lookup_path(obj, &f.path) == f.value) != f.negate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}, "status": {"phase": "Running"}})
    }

    fn m(label: &str, o: &Value) -> bool {
        Selectors::parse(Some(label), None).unwrap().matches(o)
    }

    #[test]
    fn label_operators() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let bare = obj(json!({}));
        assert!(m("app=web", &o) && m("app==web", &o) && !m("app=db", &o));
        assert!(m("app!=db", &o) && m("app!=db", &bare));
        assert!(m("app in (web, db)", &o) && !m("app in (db)", &o) && !m("app in (web)", &bare));
        assert!(m("app notin (db,x)", &o) && !m("app notin (web)", &o) && m("app notin (web)", &bare));
        assert!(m("app", &o) && !m("app", &bare) && m("!app", &bare) && !m("!app", &o));
        assert!(m("app in (web),tier=front,!gone", &o));
        assert!(m("", &bare));
        assert!(Selectors::parse(Some("app foo (x)"), None).is_err());
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        let f = |s: &str| Selectors::parse(None, Some(s)).unwrap().matches(&o);
        assert!(f("metadata.name=a") && f("metadata.namespace==ns") && f("metadata.name!=b"));
        assert!(f("status.phase=Running") && !f("metadata.name=b,metadata.namespace=ns"));
    }
}
